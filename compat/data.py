"""Typed, cached access to the sourced tables in `launchbuild/data/*.json`.

Rules read facts only through here, so a table can be refreshed without touching code.
Tables are parsed once per process (`functools.cache`): a warm `check` must stay fast.
"""

from __future__ import annotations

import functools
from typing import Any

from launchbuild.core.records import dataclass
from launchbuild.core.tables import cpython_releases, load, released_cpythons, table_checked  # noqa: F401  (rules read them here)

Version = tuple[int, ...]


def parse_version(text: str) -> Version:
    """'12.1.1' -> (12, 1, 1). Raises ValueError on anything that is not dotted integers."""
    parts = str(text).strip().split(".")
    if not parts or any(not p.isdigit() for p in parts):
        raise ValueError(f"not a dotted numeric version: {text!r}")
    return tuple(int(p) for p in parts)


def cc_tuple(text: str) -> tuple[int, int]:
    major, minor = parse_version(text)[:2] if "." in str(text) else (int(text), 0)
    return (major, minor)


def _padded(v: Version, n: int = 3) -> Version:
    return tuple(v) + (0,) * (n - len(v))


def version_cmp_key(v: Version) -> Version:
    """Compare '570.26' and '570.26.0' as equal, as semver does for short versions."""
    return _padded(v, 4)


TABLES = (
    "cuda_drivers",
    "cuda_archs",
    "gpus",
    "torch",
    "tensorflow",
    "jax_cupy",
    "distro_pythons",
    "distro_glibc",
    "nvidia_cuda_images",
    "packages",
    "pypi_wheels",
    "wheel_archs",
    "wheel_libs",
)


# ---- CUDA toolkit -> driver -------------------------------------------------------------


@dataclass(frozen=True)
class ToolkitDriver:
    """One row of data/cuda_drivers.json: a CUDA toolkit release and the minimum driver it needs
    (Table 3 of NVIDIA's release notes)."""

    cuda: Version  # (12, 1, 1)
    driver: Version  # (530, 30, 2)
    driver_text: str


@functools.cache
def toolkit_drivers() -> tuple[ToolkitDriver, ...]:
    rows = load("cuda_drivers")["toolkits"]
    return tuple(
        ToolkitDriver(parse_version(r["cuda"]), parse_version(r["driver"]), r["driver"]) for r in rows
    )


@functools.cache
def minor_compat_minimums() -> dict[int, tuple[Version, str]]:
    """CUDA major -> (minimum driver for minor-version compatibility, as text)."""
    return {
        int(r["major"]): (parse_version(r["driver"]), r["driver"])
        for r in load("cuda_drivers")["minor_compat"]
    }


# ---- CUDA toolkit -> offline SM targets -------------------------------------------------


@functools.cache
def cuda_arch_rows() -> tuple[tuple[Version, frozenset[int]], ...]:
    return tuple(
        (parse_version(r["from"]), frozenset(r["sm"])) for r in load("cuda_archs")["rows"]
    )


# ---- GPUs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuRow:
    """One GPU model of data/gpus.json: its compute capability, its forward-compatibility class
    (`datacenter`) and its other names."""

    name: str
    cc: tuple[int, int]
    datacenter: bool | None
    aliases: tuple[str, ...]
    # Not a table row: a model the table lacks, given the capability its listed family shares
    # (compat/gpus.py). Names that family; LB211 says the fact is inferred.
    inferred_from: str = ""


@functools.cache
def gpu_rows() -> tuple[GpuRow, ...]:
    return tuple(
        # `datacenter` is the forward-compatibility class: Data Center GPUs, Server Editions and
        # Jetson boards (rows with "forward_compat": true) run forward-compatible images.
        GpuRow(r["name"], cc_tuple(r["cc"]), r.get("forward_compat", r["datacenter"]), tuple(r["aliases"]))
        for r in load("gpus")["gpus"]
    )


# ---- frameworks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchRelease:
    """One PyTorch minor release of data/torch.json: its Python range, its CUDA variants, and the
    variant the PyPI wheel bundles."""

    torch: str  # "2.4"
    python: tuple[str, str]  # inclusive X.Y range
    variants: tuple[str, ...]
    pypi_default: str | None  # "cu121"


@dataclass(frozen=True)
class ArchBuild:
    """What a framework build ships: cubins per CC, and the PTX CC if any (JIT by the driver)."""

    archs: tuple[tuple[int, int], ...]
    ptx: tuple[int, int] | None
    # Architecture-specific code (sm_100a, compute_100a) runs on exactly its CC, never on a later
    # minor of the major: FlashMLA's sm_100a kernels do not load on a B300 (sm_103).
    archs_a: tuple[tuple[int, int], ...] = ()
    ptx_a: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        parts = sorted([(cc, f"sm_{cc[0]}{cc[1]}") for cc in self.archs] + [(cc, f"sm_{cc[0]}{cc[1]}a") for cc in self.archs_a])
        text = [name for _cc, name in parts]
        if self.ptx:
            text.append(f"compute_{self.ptx[0]}{self.ptx[1]}")
        text += [f"compute_{a}{b}a" for a, b in self.ptx_a]
        return " ".join(text)


@functools.cache
def torch_releases() -> dict[str, TorchRelease]:
    return {
        r["torch"]: TorchRelease(r["torch"], tuple(r["python"]), tuple(r["variants"]), r.get("pypi_default"))
        for r in load("torch")["releases"]
    }


@functools.cache
def torch_builds() -> dict[tuple[str, str], ArchBuild]:
    """(torch major.minor, variant) -> ArchBuild."""
    return {
        (r["torch"], r["variant"]): ArchBuild(
            tuple(cc_tuple(a) for a in r["archs"]), cc_tuple(r["ptx"]) if r.get("ptx") else None
        )
        for r in load("torch")["builds"]
    }


@dataclass(frozen=True)
class TfRelease:
    """One TensorFlow release of data/tensorflow.json: the CUDA and cuDNN its wheel was built
    with, and its Python range."""

    tensorflow: str
    cuda: str  # "12.5"
    cudnn: str  # "9.3"
    python: tuple[str, str]


@functools.cache
def tf_releases() -> dict[str, TfRelease]:
    return {
        r["tensorflow"]: TfRelease(r["tensorflow"], r["cuda"], r["cudnn"], tuple(r["python"]))
        for r in load("tensorflow")["releases"]
    }


def tf_arch_build(tf_minor: str) -> ArchBuild | None:
    """The arch list official TF wheels of that release compile (rows apply from 'from' on)."""
    v = parse_version(tf_minor)
    chosen = None
    for row in load("tensorflow")["arch_lists"]:
        if parse_version(row["from"]) <= v:
            chosen = row
    if chosen is None:
        return None
    return ArchBuild(tuple(cc_tuple(a) for a in chosen["archs"]), cc_tuple(chosen["ptx"]) if chosen.get("ptx") else None)


def jax_facts() -> dict[str, Any]:
    return load("jax_cupy")["jax"]


@functools.cache
def cupy_cuda_majors() -> dict[str, int]:
    return {r["name"]: int(r["cuda_major"]) for r in load("jax_cupy")["cupy"]["packages"]}


@functools.cache
def cupy_cuda_minors() -> dict[str, int]:
    """The CUDA minor a per-minor CuPy package names (cupy-cuda102: 2); the -cudaNNx ones name none."""
    out = {}
    for r in load("jax_cupy")["cupy"]["packages"]:
        parts = str(r.get("cuda") or "").split(".")
        if len(parts) >= 2 and parts[1].isdigit():
            out[r["name"]] = int(parts[1])
    return out


def cupy_min_cc(package: str | None = None) -> tuple[int, int]:
    """The lowest CC the package's CUDA major compiles for (cupy-cuda13x: 7.5); without a
    package, or for one the table lacks, the lowest of all."""
    cupy = load("jax_cupy")["cupy"]
    row = next((r for r in cupy["packages"] if r["name"] == package and r.get("min_cc")), None)
    return cc_tuple(row["min_cc"] if row else cupy["min_cc"])


def jax_local_cudnn(plugin: str, version: str | None) -> str:
    """The cuDNN floor of a jax-cudaNN-plugin release (its [with-cuda] nvidia-cudnn pin); a
    release the table lacks takes its minor's measured patch, else the newest measured release
    below it, else the table's cuda_local floor."""
    jax = jax_facts()
    floors = jax.get("cudnn_min_by_plugin", {}).get(plugin, {})
    if version is not None and floors:
        try:
            want = _padded(parse_version(version.split("+")[0]), 4)
            # rows are the newest patch of each minor: 0.6.1 is built like 0.6.2, not like 0.5.3
            same = [v for v in floors if parse_version(v)[:2] == want[:2]]
            below = same or [v for v in floors if _padded(parse_version(v), 4) <= want]
        except ValueError:
            below = []
        if below:
            return floors[max(below, key=lambda v: _padded(parse_version(v), 4))]
    return jax["cuda_local"]["cudnn_min"]


def jaxlib_cuda_minor(version: str, major: int) -> int | None:
    """The CUDA minor of `jaxlib X+cudaNN...`, whose tag names only the major: jax X's cudaNN
    extra pins nvidia-cuda-runtime-cuNN at it (0.4.20+cuda11 -> 11.8). None when not known."""
    cuda = jax_facts().get("jaxlib_cuda_by_jax", {}).get(version.split("+")[0], {}).get(str(major))
    return int(cuda.split(".")[1]) if cuda else None


# ---- distributions and packages -----------------------------------------------------------


@functools.cache
def distro_pythons() -> dict[tuple[str, str], tuple[str, ...]]:
    """(os id, VERSION_ID) -> X.Y installable with apt (default first)."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for r in load("distro_pythons")["distros"]:
        out[(r["id"], r["version"])] = (r["default"], *(e["python"] for e in r["extra"]))
    return out


@functools.cache
def distro_codenames() -> dict[tuple[str, str], str]:
    """(os id, codename) -> VERSION_ID, for images whose os-release names only the codename."""
    return {(r["id"], r["codename"]): r["version"] for r in load("distro_pythons")["distros"] if r.get("codename")}


def apt_pythons(os_id: str | None, os_version: str | None, codename: str | None = None) -> tuple[str, ...] | None:
    """X.Y installable with apt on a release (default first), or None when the table has no row."""
    if os_id and not os_version and codename:
        os_version = distro_codenames().get((os_id, codename))
    if not os_id or not os_version:
        return None
    key = (os_id, os_version)
    if key in distro_pythons():
        return distro_pythons()[key]
    # Debian's VERSION_ID is the major ("12"), but /etc/debian_version says "12.5".
    return distro_pythons().get((os_id, os_version.split(".")[0]))


@dataclass(frozen=True)
class SystemNeeds:
    """The apt packages a Python distribution needs at run time, and why (data/packages.json);
    LB304 reads it."""

    name: str
    apt: tuple[str, ...]
    why: str


@functools.cache
def system_library_needs() -> dict[str, SystemNeeds]:
    return {r["name"]: SystemNeeds(r["name"], tuple(r["apt"]), r["why"]) for r in load("packages")["packages"]}


@dataclass(frozen=True)
class WheelLibraries:
    """The shared libraries one manylinux wheel ships (data/wheel_libs.json, measured from the
    wheel's member names); `libraries` are canonical keys ('libsndfile', 'libglib20')."""

    package: str
    version: str
    machine: str  # "x86_64" | "aarch64"
    glibc: str  # the lowest glibc its manylinux tag accepts
    sha256: str
    wheel: str
    libraries: frozenset[str]
    checked: str


def _wheel_libs_table() -> dict[str, Any]:
    try:
        return load("wheel_libs")
    except FileNotFoundError:
        return {}  # not refreshed yet: bundling is unmeasured (LB304 says so)


@functools.cache
def apt_libraries() -> dict[str, str]:
    """apt package -> the canonical name of the library it ships ('libsndfile1' -> 'libsndfile')."""
    return {r["apt"]: r["library"] for r in _wheel_libs_table().get("apt_libraries", [])}


@functools.cache
def wheel_libraries() -> dict[str, tuple[WheelLibraries, ...]]:
    """package -> its measured wheels."""
    out: dict[str, list[WheelLibraries]] = {}
    for r in _wheel_libs_table().get("wheels", []):
        out.setdefault(r["package"], []).append(WheelLibraries(
            r["package"], r["version"], r["machine"], r["glibc"], r["sha256"], r["wheel"], frozenset(r["libraries"]), r["checked"]))
    return {k: tuple(v) for k, v in out.items()}


@functools.cache
def nvcc_needs() -> dict[str, str]:
    return {r["name"]: r["why"] for r in load("packages")["needs_nvcc"]}


@functools.cache
def compiler_needs() -> dict[str, str]:
    return {r["name"]: r["why"] for r in load("packages")["needs_compiler"]}


# ---- images, for tag inference ---------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def distro_glibc() -> dict[tuple[str, str], str]:
    return {(r["id"], r["version"]): r["glibc"] for r in load("distro_glibc")["releases"]}


@dataclass(frozen=True)
class CudaImage:
    """One nvidia/cuda image of data/nvidia_cuda_images.json, with the NVIDIA_REQUIRE_CUDA it
    sets: what tag inference says of an image nothing could read."""

    cuda: str  # "12.8.1"
    os: str  # "ubuntu22.04"
    arch: str  # "amd64" | "arm64"
    cudnn: str | None
    require_cuda: str  # NVIDIA_REQUIRE_CUDA as the Dockerfile sets it
    forward_compat_branches: tuple[int, ...]
    ld_library_path: str | None
    source: str
    checked: str


def _render_require(row: dict[str, Any]) -> str:
    if "require_cuda" in row:
        return row["require_cuda"]
    clauses = [f"brand={b},driver>={br},driver<{br + 1}" for br in row["forward_compat_branches"] for b in row["brands"]]
    return " ".join([f"cuda>={row['require_cuda_min']}", *clauses])


@functools.lru_cache(maxsize=None)
def nvidia_cuda_images() -> dict[tuple[str, str, str], CudaImage]:
    """nvidia/cuda images by (CUDA version, OS flavour 'ubuntu22.04', arch 'amd64'), from NVIDIA's Dockerfiles."""
    return {
        (r["cuda"], r["os"], r["arch"]): CudaImage(
            r["cuda"], r["os"], r["arch"], r.get("cudnn"), _render_require(r),
            tuple(r.get("forward_compat_branches", ())), r.get("ld_library_path"), r["source"], r["checked"])
        for r in load("nvidia_cuda_images")["images"]
    }
