"""Facts measured from the artifacts themselves (data/pypi_wheels.json, data/wheel_archs.json),
produced by `launchbuild data refresh`. Loaded lazily, once per process."""

from __future__ import annotations

import dataclasses
import functools

from launchbuild.compat import data
from launchbuild.compat.data import ArchBuild
from launchbuild.core.platform import SUPPORTED_PLATFORMS, wheel_machine
from launchbuild.core.records import dataclass

# The tables key wheels by CPU name; the target says a Docker platform (core/platform.py).
MACHINE = {p: wheel_machine(p) for p in SUPPORTED_PLATFORMS}


@dataclass(frozen=True)
class WheelFacts:
    """PyPI facts of one package version's wheel for one machine (data/pypi_wheels.json): the
    Pythons it installs on and the CUDA it pins."""

    package: str
    version: str
    machine: str
    pythons: tuple[str, ...]
    abi3: bool
    requires_python: str | None
    cuda: str | None  # "12.4" or a bare major "12"; None: pins no CUDA
    extras_cuda: tuple[tuple[str, str], ...]
    sha256: str
    source: str
    checked: str
    measured_version: str | None = None  # set when these are the facts of another patch of the same minor

    def cuda_for(self, extras: tuple[str, ...] = ()) -> str | None:
        found = dict(self.extras_cuda)
        for e in extras:
            if e in found:
                return found[e]
        return self.cuda


@dataclass(frozen=True)
class ArchMeasurement:
    """The GPU kernels measured in one package version's wheel for one machine
    (data/wheel_archs.json, or the on-demand cache), and how they were read."""

    package: str
    version: str
    machine: str
    member: str | None  # None: no fatbin found in the members tried
    cuda_named: int  # shared objects named like CUDA code; 0 and no member: a CPU-only wheel
    method: str  # "arch-flags": the release's own compiled-in list; "fatbin": one library's kernels
    build: ArchBuild
    ptx_all: tuple[int, ...]
    source: str
    checked: str
    measured_version: str | None = None  # set when measured on another patch of the same minor
    source_table: str = "data/wheel_archs.json"  # or the on-demand cache

    @property
    def has_cuda_code(self) -> bool:
        return self.member is not None

    @property
    def cpu_only(self) -> bool:
        return self.member is None and self.cuda_named == 0


def _rows(table: str) -> list[dict]:
    try:
        return data.load(table)["wheels"]
    except (FileNotFoundError, KeyError):
        return []  # not refreshed yet: every fact from it is unknown (LB211 says so)


@functools.cache
def _wheels() -> dict[tuple[str, str, str], WheelFacts]:
    out = {}
    for r in _rows("pypi_wheels"):
        out[(r["package"], r["version"], r["machine"])] = WheelFacts(
            r["package"], r["version"], r["machine"], tuple(r["pythons"]), bool(r.get("abi3")),
            r.get("requires_python"), r.get("cuda"), tuple(sorted((r.get("extras_cuda") or {}).items())),
            r["sha256"], r["source"], r["checked"])
    return out


def _cc(sm: int) -> tuple[int, int]:
    return sm // 10, sm % 10


def build_of(row: dict) -> ArchBuild:
    """The ArchBuild of a wheel_archs row: its portable cubins, its lowest PTX (JIT runs it on any
    later CC), and its architecture-specific cubins and PTX (`cubins_a`, `ptx_a`: exactly that CC)."""
    ptx = row["ptx"]
    return ArchBuild(tuple(_cc(sm) for sm in row["cubins"]), _cc(min(ptx)) if ptx else None,
                     tuple(_cc(sm) for sm in row.get("cubins_a", ())), tuple(_cc(sm) for sm in row.get("ptx_a", ())))


@functools.cache
def _archs() -> dict[tuple[str, str, str], ArchMeasurement]:
    out = {}
    for r in _rows("wheel_archs"):
        out[(r["package"], r["version"], r["machine"])] = ArchMeasurement(
            r["package"], r["version"], r["machine"], r.get("member"), int(r.get("cuda_named", -1)), r.get("method", "fatbin"),
            build_of(r), tuple(r["ptx"]), r["source"], r["checked"])
    return out


def base_version(version: str) -> str:
    """'2.6.0+cu124' -> '2.6.0'; PyPI wheels carry no local version."""
    return version.split("+", 1)[0]


def _same_minor(table: dict, package: str, version: str, machine: str):
    """The row of the exact version, else of the newest measured patch of the same minor release:
    PyPI wheels of one minor keep its CUDA and arch list (the tables hold the newest patch)."""
    exact = table.get((package, version, machine))
    if exact is not None:
        return exact
    parts = version.split(".")
    if len(parts) < 3 or parts[:2] == ["0", "0"]:
        return None  # 0.0.N packages (xformers) release on N: no "same minor" to borrow from
    prefix = ".".join(parts[:2]) + "."
    same = [k for k in table if k[0] == package and k[2] == machine and k[1].startswith(prefix) and k[1].count(".") == version.count(".")]
    if not same:
        return None
    key = max(same, key=lambda k: tuple(int(p) if p.isdigit() else -1 for p in k[1].split(".")))
    return dataclasses.replace(table[key], measured_version=key[1])


def wheel(package: str, version: str, platform: str) -> WheelFacts | None:
    return _same_minor(_wheels(), package, base_version(version), MACHINE.get(platform, "x86_64"))


def archs(package: str, version: str, platform: str, extra: tuple[ArchMeasurement, ...] = ()) -> ArchMeasurement | None:
    """Kernels of package==version for the platform: a measurement made for this check (`extra`,
    on demand), else the table's."""
    machine = MACHINE.get(platform, "x86_64")
    for m in extra:
        if (m.package, m.version, m.machine) == (package, base_version(version), machine):
            return m
    return _same_minor(_archs(), package, base_version(version), machine)


def measured_packages() -> frozenset[str]:
    """Packages the refresh pipeline measures kernels for (every package with a row)."""
    return frozenset(p for (p, _v, _m) in _archs())


def known_versions(package: str, platform: str) -> tuple[str, ...]:
    m = MACHINE.get(platform, "x86_64")
    return tuple(v for (p, v, mm) in _wheels() if p == package and mm == m)


def newest_checked() -> str:
    return max(data.table_checked("pypi_wheels"), data.table_checked("wheel_archs"))
