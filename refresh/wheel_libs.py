"""Shared libraries a wheel ships, measured from its zip central directory (member names only).

auditwheel copies the system libraries a manylinux wheel links into `<pkg>.libs/` (renamed
`libfoo-<8 hex>.so.N`); some projects bundle their own (soundfile: `_soundfile_data/
libsndfile_x86_64.so`). Either way the image needs no apt package for that library. Libraries
auditwheel may not bundle (libGL, glib: the manylinux policy's system set) stay unbundled.

Library names are compared in one canonical form (`library_key`): lowercase, without `-`, `_`
and `.`, so `libglib-2.0-3a1b2c3d.so.0` (a wheel member) and `libglib2.0-0` (the apt package)
meet at `libglib20`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from launchbuild.core.records import dataclass
from launchbuild.refresh import pypi, wheelzip
from launchbuild.refresh.http import Fetcher, UrlRange

_SHARED_OBJECT = re.compile(r"\.so(?:\.[0-9]+)*$")
_SUFFIX = re.compile(r"\.so(?:\.[0-9]+)*$")
# auditwheel repair renames a grafted library libfoo-<8 hex of its sha256>, keeping any version
# that followed the name (libopenblas-r0-f650aae0.3.3.so)
_AUDITWHEEL_HASH = re.compile(r"-[0-9a-f]{8}(?:\.[0-9]+)*$")
_MACHINE_SUFFIX = re.compile(r"[_-](?:x86_64|amd64|aarch64|arm64)$")
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(x86_64|aarch64)$")
_LEGACY = {"manylinux1": "2.5", "manylinux2010": "2.12", "manylinux2014": "2.17"}
# Debian Policy 8.1: a run-time shared library's package is named after its SONAME, the library
# name then its soversion, with a hyphen between when the name ends in a digit (libfoo.so.1 ->
# libfoo1, libfoo2.0.so.0 -> libfoo2.0-0); 8.4: its development package adds -dev.
DEBIAN_POLICY = "https://www.debian.org/doc/debian-policy/ch-sharedlibs.html#run-time-shared-libraries"
_DEBIAN_DIGIT_NAME = re.compile(r"^(lib[a-z0-9.+]*[0-9])-[0-9][a-z0-9.+]*$")
_DEBIAN_NAME = re.compile(r"^(lib[a-z0-9.+-]*[a-z+])[0-9][a-z0-9.+]*$")
_DEBIAN_DEV = re.compile(r"^(lib[a-z0-9.+-]*?)(?:-dev)$")


def library_key(name: str) -> str:
    return re.sub(r"[-_.]", "", name.lower())


def shared_objects(names: list[str]) -> list[str]:
    """The sorted basenames of the `*.so*` members (extension modules included)."""
    return sorted({n.rsplit("/", 1)[-1] for n in names if _SHARED_OBJECT.search(n) and not n.endswith("/")})


def library_of(basename: str) -> str | None:
    """The library a shared object is ('libsndfile_x86_64.so' -> 'libsndfile'), canonical; None
    for extension modules and other non-`lib*` files."""
    stem = _SUFFIX.sub("", basename)
    if not stem.lower().startswith("lib") or "cpython-" in stem or stem.endswith(".abi3"):
        return None
    stem = _MACHINE_SUFFIX.sub("", _AUDITWHEEL_HASH.sub("", stem))
    key = library_key(stem)
    return key if len(key) > 3 else None


def libraries(basenames: list[str]) -> list[str]:
    return sorted({k for b in basenames if (k := library_of(b)) is not None})


def apt_library(apt: str) -> str | None:
    """The library a Debian package ships by the policy's naming rule ('libsndfile1' ->
    'libsndfile', 'libglib2.0-0' -> 'libglib20', 'libcairo2-dev' -> 'libcairo'), canonical;
    None for packages that are not named after a library (ffmpeg, pkg-config)."""
    name = apt.lower()
    dev = _DEBIAN_DEV.match(name)
    if dev:
        name = dev.group(1)
        if not re.search(r"[0-9]$", name):
            return library_key(name) if len(name) > 3 else None
    m = _DEBIAN_DIGIT_NAME.match(name) or _DEBIAN_NAME.match(name)
    return library_key(m.group(1)) if m else None


def manylinux_floor(filename: str) -> dict[str, str]:
    """machine -> the lowest glibc the wheel's manylinux tags accept ({'x86_64': '2.28'})."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return {}
    out: dict[str, tuple[int, int]] = {}
    for t in tags:
        plat = t.platform
        for legacy, glibc in _LEGACY.items():
            if plat.startswith(legacy + "_"):
                plat = f"manylinux_{glibc.replace('.', '_')}_{plat[len(legacy) + 1:]}"
        m = _MANYLINUX.match(plat)
        if m:
            v = (int(m.group(1)), int(m.group(2)))
            out[m.group(3)] = min(out.get(m.group(3), v), v)
    return {k: f"{a}.{b}" for k, (a, b) in out.items()}


@dataclass(frozen=True)
class Target:
    """One manylinux wheel to measure for data/wheel_libs.json: the package version, machine and
    glibc floor it stands for."""

    package: str
    version: str
    machine: str
    glibc: str
    wheel: pypi.WheelFile


def targets(wheels: list[pypi.WheelFile], package: str, minors: int, max_versions: int) -> list[Target]:
    """Every manylinux x86_64/aarch64 wheel of the final releases in the newest `minors`
    major.minor series (at most `max_versions` releases): a lock may pin any patch."""
    finals = sorted({w.version for w in wheels if not (w.version.is_prerelease or w.version.is_devrelease or w.version.local)},
                    reverse=True)
    series: list[tuple[int, int]] = []
    keep: list[Version] = []
    for v in finals:
        if (v.major, v.minor) not in series:
            if len(series) == minors:
                continue
            series.append((v.major, v.minor))
        if len(keep) < max_versions:
            keep.append(v)
    out = []
    for w in wheels:
        if w.version in keep:
            for machine, glibc in sorted(manylinux_floor(w.filename).items()):
                out.append(Target(package, str(w.version), machine, glibc, w))
    return sorted(out, key=lambda t: (t.version, t.machine, t.wheel.filename))


def measure(src: wheelzip.RangeSource, budget: wheelzip.Budget) -> list[str]:
    """The wheel's shared-object basenames, from its central directory alone."""
    return shared_objects([m.name for m in wheelzip.central_directory(src, budget)])


def apt_rows(packages_doc: dict, today: str) -> list[dict]:
    """apt package -> the library it ships, for every apt name in packages.json that the naming
    rule maps to a library (ffmpeg, pkg-config and the like are not libraries: no row)."""
    names = sorted({a for r in packages_doc.get("packages", []) for a in r.get("apt", [])})
    return [{"apt": a, "library": lib, "source": f"{DEBIAN_POLICY} (the package name, data/packages.json)", "checked": today}
            for a in names if (lib := apt_library(a)) is not None]


def measured_packages(packages_doc: dict) -> list[str]:
    """Packages whose packages.json row names an apt package that is a library."""
    return sorted(r["name"] for r in packages_doc.get("packages", []) if any(apt_library(a) for a in r.get("apt", [])))


def row_key(r: dict) -> tuple:
    try:
        v = Version(r["version"])
    except InvalidVersion:
        v = Version("0")  # the schema check names such a row; the order check must not crash on it
    return (r["package"], v, r["machine"], r["sha256"])


@dataclass
class Run:
    """One refresh of the table: the rows kept and measured, and what was spent."""

    fetcher: Fetcher
    today: str
    budget: wheelzip.Budget
    wheel_budget: int
    log: Callable[[str], None] = print
    measured: int = 0
    failed: int = 0


def refresh_rows(run: Run, names: list[str], old_rows: list[dict], minors: int, max_versions: int) -> list[dict]:
    known = {r["sha256"]: r for r in old_rows if r["package"] in names}
    rows: dict[str, dict] = {}
    for name in names:
        page = pypi.parse_simple_page(run.fetcher.get(pypi.SIMPLE.format(name=name), accept=pypi.ACCEPT_JSON))
        for t in targets(page, name, minors, max_versions):
            w = t.wheel
            if not w.sha256:
                continue
            if w.sha256 in known and known[w.sha256]["machine"] == t.machine:
                # a wheel is measured once (its sha256 is its content); the library names are
                # derived again, so a change to `library_of` reaches every row
                rows[w.sha256 + t.machine] = {**known[w.sha256], "libraries": libraries(known[w.sha256]["shared_objects"])}
                continue
            per_wheel = wheelzip.Budget(min(run.wheel_budget, run.budget.limit - run.budget.used))
            try:
                objects = measure(UrlRange(run.fetcher, w.url), per_wheel)
            except (wheelzip.BudgetExceeded, wheelzip.BadZip) as exc:
                run.log(f"wheel-libs: {w.filename}: not measured ({exc})")
                run.budget.used += per_wheel.used
                run.failed += 1
                continue
            run.budget.used += per_wheel.used
            run.measured += 1
            rows[w.sha256 + t.machine] = {
                "package": name, "version": t.version, "machine": t.machine, "glibc": t.glibc, "sha256": w.sha256,
                "wheel": w.filename, "shared_objects": objects, "libraries": libraries(objects),
                "source": f"{w.url} (zip central directory; sha256 {w.sha256})", "checked": run.today,
            }
            if run.budget.used >= run.budget.limit:
                run.log("wheel-libs: byte budget spent; the rest stays unmeasured (run again to continue)")
                return sorted(rows.values(), key=row_key)
    return sorted(rows.values(), key=row_key)
