"""Facts measured from the artifacts themselves (data/pypi_wheels.json, data/wheel_archs.json),
produced by `launchbuild data refresh`. Loaded lazily, once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from launchbuild.compat import data
from launchbuild.compat.data import ArchBuild

MACHINE = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}


@dataclass(frozen=True)
class WheelFacts:
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

    def cuda_for(self, extras: tuple[str, ...] = ()) -> str | None:
        found = dict(self.extras_cuda)
        for e in extras:
            if e in found:
                return found[e]
        return self.cuda


@dataclass(frozen=True)
class ArchMeasurement:
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


@functools.cache
def _archs() -> dict[tuple[str, str, str], ArchMeasurement]:
    out = {}
    for r in _rows("wheel_archs"):
        ptx = tuple(r["ptx"])
        build = ArchBuild(tuple((sm // 10, sm % 10) for sm in r["cubins"]), (min(ptx) // 10, min(ptx) % 10) if ptx else None)
        out[(r["package"], r["version"], r["machine"])] = ArchMeasurement(
            r["package"], r["version"], r["machine"], r.get("member"), int(r.get("cuda_named", -1)), r.get("method", "fatbin"), build, ptx, r["source"], r["checked"])
    return out


def base_version(version: str) -> str:
    """'2.6.0+cu124' -> '2.6.0'; PyPI wheels carry no local version."""
    return version.split("+", 1)[0]


def wheel(package: str, version: str, platform: str) -> WheelFacts | None:
    return _wheels().get((package, base_version(version), MACHINE.get(platform, "x86_64")))


def archs(package: str, version: str, platform: str) -> ArchMeasurement | None:
    return _archs().get((package, base_version(version), MACHINE.get(platform, "x86_64")))


def known_versions(package: str, platform: str) -> tuple[str, ...]:
    m = MACHINE.get(platform, "x86_64")
    return tuple(v for (p, v, mm) in _wheels() if p == package and mm == m)


def newest_checked() -> str:
    return max(data.table_checked("pypi_wheels"), data.table_checked("wheel_archs"))
