"""Pure CUDA facts derived from the tables: driver minimums, a driver's CUDA version, which
SM targets a toolkit can compile, and whether a build's cubins/PTX run on a GPU.

Binary rules (compat-sources.md section 2.2): a cubin sm_XY runs on X.Z for Z >= Y within
the same major only; crossing a major needs PTX compute_XY <= the GPU's CC, which the driver
JIT-compiles (and so needs a driver new enough for that PTX).
"""

from __future__ import annotations

from launchbuild.compat import data
from launchbuild.compat.data import ArchBuild, ToolkitDriver, Version

CC = tuple[int, int]


def cuda_text(v: Version) -> str:
    return ".".join(str(p) for p in v)


def cc_text(cc: CC) -> str:
    return f"{cc[0]}.{cc[1]}"


def sm_text(cc: CC) -> str:
    return f"sm_{cc[0]}{cc[1]}"


def toolkit_driver(cuda: Version) -> ToolkitDriver | None:
    """The Table 3 row for that release; for 'X.Y' (or an unlisted patch) the X.Y GA row,
    since a later update never needs less than its GA."""
    rows = data.toolkit_drivers()
    exact = [r for r in rows if data.version_cmp_key(r.cuda) == data.version_cmp_key(cuda)]
    if exact:
        return exact[0]
    same_minor = [r for r in rows if r.cuda[:2] == tuple(cuda[:2])]
    if not same_minor:
        return None
    if len(cuda) >= 3:
        # An unlisted update: the newest listed one at or below it is the closest floor.
        lower = [r for r in same_minor if r.cuda <= tuple(cuda)]
        if lower:
            return lower[-1]
    return same_minor[0]


def minor_compat_minimum(major: int) -> tuple[Version, str] | None:
    return data.minor_compat_minimums().get(major)


def driver_cuda(driver: Version) -> tuple[int, int] | None:
    """The CUDA version a driver reports (what `nvidia-smi` prints as 'CUDA Version').

    nvidia-smi's CUDA version is per driver branch: every R580 driver reports 13.0, including
    early ones below 13.0's GA driver 580.65.06. So: the newest toolkit whose GA driver's
    branch is at or below this driver's branch. A driver of a branch newer than every row is
    capped at the newest known CUDA; `driver_newer_than_data` says so, and rules treat the
    newer CUDA versions it may support as unknown rather than unsupported."""
    best: tuple[int, int] | None = None
    ga_rows: dict[tuple[int, int], ToolkitDriver] = {}
    for r in data.toolkit_drivers():
        ga_rows.setdefault((r.cuda[0], r.cuda[1]), r)
    for mm, r in ga_rows.items():
        if r.driver[0] <= driver[0]:
            if best is None or mm > best:
                best = mm
    return best


def newest_known_driver() -> ToolkitDriver:
    return data.toolkit_drivers()[-1]


def driver_newer_than_data(driver: Version) -> bool:
    """A driver branch newer than the newest toolkit row: the CUDA it supports is not known."""
    return driver[0] > newest_known_driver().driver[0]


def arch_minimum_driver(cc: CC) -> tuple[Version, str, Version] | None:
    """A driver older than this cannot know the GPU: the driver of the last toolkit release before
    the first toolkit that compiles for `cc` (that toolkit's own driver is the first that may).
    Returns (driver version, its text, the first toolkit), or None when the data has no such row."""
    first = first_toolkit_for(cc)
    if first is None:
        return None
    before = [r for r in data.toolkit_drivers() if r.cuda[:2] < tuple(first[:2])]
    if not before:
        return None
    last = before[-1]
    return last.driver, last.driver_text, first


def offline_targets(cuda: Version) -> frozenset[int] | None:
    """SM numbers (e.g. 90) the toolkit X.Y can compile cubins for; None before 10.0."""
    chosen = None
    for start, sms in data.cuda_arch_rows():
        if tuple(cuda[:2]) >= start[:2]:
            chosen = sms
    return chosen


def toolkit_covers(cuda: Version, cc: CC) -> str | None:
    """'native' if the toolkit compiles sm_<cc>; 'same-major' if only a lower minor of the
    same major (whose cubins run on this GPU); None if it cannot produce code that runs."""
    targets = offline_targets(cuda)
    if targets is None:
        return None
    sm = cc[0] * 10 + cc[1]
    if sm in targets:
        return "native"
    if any(t // 10 == cc[0] and t % 10 <= cc[1] for t in targets):
        return "same-major"
    return None


def first_toolkit_for(cc: CC) -> Version | None:
    """The oldest toolkit that compiles native code for this CC."""
    sm = cc[0] * 10 + cc[1]
    for start, sms in data.cuda_arch_rows():
        if sm in sms:
            return start
    return None


def last_toolkit_for(cc: CC) -> Version | None:
    """The newest toolkit that still compiles for this CC, or None if the newest still does."""
    rows = data.cuda_arch_rows()
    sm = cc[0] * 10 + cc[1]
    if sm in rows[-1][1]:
        return None
    last = None
    for start, sms in rows:
        if sm in sms:
            last = start
    return last


def runs_on(build: ArchBuild, cc: CC) -> str | None:
    """'cubin' if some cubin runs natively on that CC, 'ptx' if only through PTX JIT,
    None if the build ships nothing that runs there."""
    if any(a[0] == cc[0] and a[1] <= cc[1] for a in build.archs) or tuple(cc) in build.archs_a:
        return "cubin"
    if build.ptx is not None and build.ptx <= cc or tuple(cc) in build.ptx_a:
        return "ptx"
    return None


def variant_cuda(variant: str) -> tuple[int, int] | None:
    """'cu121' -> (12, 1); 'cu118' -> (11, 8); 'cu102' -> (10, 2); 'cpu'/'rocm' -> None."""
    if not variant.startswith("cu") or not variant[2:].isdigit() or len(variant) < 5:
        return None
    digits = variant[2:]
    return (int(digits[:-1]), int(digits[-1]))
