"""Measure, for one check, the locked wheels that no table has measured (issue #12).

A locked `torch==X` (or tensorflow) with no row in data/wheel_archs.json for the target machine,
not even of another patch of its minor, is looked up on the package index by the sha256 the lock
pins, and its kernels are read with range requests (launchbuild.refresh.archs), within a byte
budget. Results are cached by sha256 under the cache dir, so a warm check reads one small JSON
file and never the network. Offline, or when the index cannot be reached, nothing is measured and
LB211 says what is unknown.
"""

from __future__ import annotations

from pathlib import Path

from launchbuild.compat import measured
from launchbuild.core import cache as core_cache

ON_DEMAND = ("torch", "tensorflow")
BUDGET = 256 * 1024 * 1024  # bytes per check


def cache_dir() -> Path:
    return core_cache.cache_dir("wheel-archs")


def _from_row(row: dict) -> measured.ArchMeasurement:
    return measured.ArchMeasurement(row["package"], row["version"], row["machine"], row.get("member"),
                                    int(row.get("cuda_named", -1)), row.get("method", "fatbin"), measured.build_of(row),
                                    tuple(row["ptx"]), row["source"], row["checked"],
                                    source_table=f"measured on demand ({cache_dir()})")


def _valid_row(row: dict) -> bool:
    """A cached measurement `_from_row` can read: any other shape is a miss, measured again. So is
    one without `cubins_a` that has an SM with an `a` variant: its reader folded sm_100a into sm_100."""
    def ints(v: object) -> bool:
        return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)

    if not (all(isinstance(row.get(k), str) for k in ("package", "version", "machine", "source", "checked"))
            and ints(row.get("cubins")) and ints(row.get("ptx"))):
        return False
    if "cubins_a" not in row and "ptx_a" not in row:
        from launchbuild.refresh.archs import folded_nothing

        return folded_nothing(row)
    return ints(row.get("cubins_a")) and ints(row.get("ptx_a"))


def _cached(sha: str) -> dict | None:
    row = core_cache.read_json(cache_dir() / f"{sha}.json")  # absent, torn, deep or huge: a miss
    return row if row is not None and _valid_row(row) else None


def _measure(name: str, version: str, machine: str, shas: set[str], budget) -> dict | None:
    """Find the locked wheel on PyPI by its sha256 and measure it; None when it cannot be."""
    import datetime

    from launchbuild.errors import InfraUnavailable
    from launchbuild.refresh import archs, pypi, wheelzip
    from launchbuild.refresh.http import LiveFetcher, UrlRange

    fetcher = LiveFetcher(timeout=20)
    try:
        wheels = pypi.parse_simple_page(fetcher.get(pypi.SIMPLE.format(name=name), accept=pypi.ACCEPT_JSON))
    except (InfraUnavailable, ValueError):
        return None
    wheel = next((w for w in wheels if w.sha256 in shas and machine in w.machines), None)
    if wheel is None:
        return None
    try:
        m = archs.measure(UrlRange(fetcher, wheel.url), budget, package=name)
    except (InfraUnavailable, wheelzip.BadZip, wheelzip.BudgetExceeded):
        return None
    return {"package": name, "version": version, "machine": machine, "sha256": wheel.sha256, "wheel": wheel.filename,
            **archs.row_fields(m),
            "source": f"{wheel.url}#{m.member or 'no-cuda-code'} (sha256 {wheel.sha256})",
            "checked": datetime.date.today().isoformat()}


def measure_locked(lock, platform: str, offline: bool) -> tuple[measured.ArchMeasurement, ...]:
    if lock is None:
        return ()
    machine = measured.MACHINE.get(platform, "x86_64")
    out = []
    budget = None
    for p in lock.packages:
        if p.name not in ON_DEMAND or "+" in p.version or measured.archs(p.name, p.version, platform) is not None:
            continue
        shas = {h.split(":", 1)[1] for h in p.hashes if h.startswith("sha256:")}
        row = next((r for s in sorted(shas) if (r := _cached(s)) is not None and r.get("machine") == machine), None)
        if row is None and not offline and shas:
            if budget is None:
                from launchbuild.refresh import wheelzip

                budget = wheelzip.Budget(BUDGET)
            row = _measure(p.name, measured.base_version(p.version), machine, shas, budget)
            if row is not None:
                core_cache.write_json(cache_dir() / f"{row['sha256']}.json", row)  # unwritable: measured again next time
        if row is not None:
            out.append(_from_row(row))
    return tuple(out)
