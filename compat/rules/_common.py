"""What the locked Python packages say about CUDA, shared by the GPU and package rules.

Pure reads of the lock and the data tables; every value carries how it was known, so
evidence can say "lock" or "PyPI default for torch 2.4 (data/torch.json)".
"""

from __future__ import annotations

import dataclasses
import re

from packaging.version import InvalidVersion, Version

from launchbuild.compat import cuda, data, measured
from launchbuild.compat.measured import ArchMeasurement, WheelFacts
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence
from launchbuild.core.records import dataclass

TORCH_INDEX = "the PyTorch wheel index for {variant} (…/whl/{variant})"


def major_minor(version) -> str:
    """'12.1' for (12, 1, ...): how rules print a CUDA or compute-capability version."""
    return f"{version[0]}.{version[1]}"


def minor_of(version: str) -> str | None:
    try:
        v = Version(version)
    except InvalidVersion:
        return None
    return f"{v.major}.{v.minor}"


def local_of(version: str) -> str | None:
    try:
        return Version(version).local
    except InvalidVersion:
        return None


def ev_image(ctx: CheckContext, fact: str, value: str | None) -> Evidence:
    source = ctx.image.source_of(fact) if ctx.image is not None else "unknown"
    return Evidence(fact, value if value is not None else "unknown", source)


def ev_lock(name: str, version: str) -> Evidence:
    return Evidence(name, version, "lock")


def ev_driver(ctx: CheckContext) -> Evidence:
    assert ctx.driver is not None
    dc = ctx.driver.cuda
    suffix = f" (supports CUDA {dc[0]}.{dc[1]})" if dc else ""
    return Evidence("driver", f"{ctx.driver.text}{suffix}", ctx.driver_origin)


def ev_gpu(ctx: CheckContext, gpu) -> Evidence:
    return Evidence("gpu", gpu.describe(), ctx.gpus_origin)


def image_cuda(ctx: CheckContext) -> data.Version | None:
    if ctx.image is None or not ctx.image.cuda_version:
        return None
    try:
        return data.parse_version(ctx.image.cuda_version.split("-")[0])
    except ValueError:
        return None


def image_cudnn(ctx: CheckContext) -> tuple[int, int | None] | None:
    """(major, minor) of the image's cuDNN; minor None when only the major is known (a `-cudnn8-`
    tag); (0, None) for a cuDNN of unknown version (a `-cudnn-` tag); None: no cuDNN."""
    if ctx.image is None or not ctx.image.cudnn_version:
        return None
    m = re.match(r"^(\d+)(?:\.(\d+))?", ctx.image.cudnn_version)
    if not m:
        return (0, None)
    return (int(m.group(1)), int(m.group(2)) if m.group(2) is not None else None)


def _image_cudas() -> tuple[str, ...]:
    """CUDA versions with an ubuntu22.04/24.04 runtime image in data/nvidia_cuda_images.json, oldest first."""
    seen = {k[0] for k in data.nvidia_cuda_images() if k[1] in ("ubuntu22.04", "ubuntu24.04") and k[2] == "amd64"}
    return tuple(sorted(seen, key=data.parse_version))


def suggest_image(min_cuda: tuple[int, ...] | None = None, max_cuda: tuple[int, ...] | None = None) -> str | None:
    """A real nvidia/cuda runtime tag within [min, max] (newest first)."""
    images = data.nvidia_cuda_images()
    for text in reversed(_image_cudas()):
        v = data.parse_version(text)[:2]
        if (min_cuda is None or v >= min_cuda) and (max_cuda is None or v <= max_cuda):
            os_label = "ubuntu22.04" if (text, "ubuntu22.04", "amd64") in images else "ubuntu24.04"
            return f"nvidia/cuda:{text}-runtime-{os_label}"
    return None


def cuda_variant_of(cuda_text: str | None) -> str | None:
    """'12.4' -> 'cu124'; a bare major or None -> None."""
    if not cuda_text or "." not in cuda_text:
        return None
    major, minor = cuda_text.split(".")[:2]
    return f"cu{major}{minor}"


@dataclass(frozen=True)
class TorchBuild:
    """The torch a lock pins and which build it is (CUDA variant, measured kernels, PyPI facts),
    with how that was known; the GPU and package rules read it."""

    version: str  # as locked, "2.4.0+cu121"
    minor: str  # "2.4"
    variant: str | None  # "cu121", "cpu", or None when unknown
    how: str  # where the variant came from
    # The module's types by name: the field `measured` shadows the module inside the class.
    measured: ArchMeasurement | None = None  # kernels measured in this very wheel
    wheel: WheelFacts | None = None  # its PyPI metadata, when the lock uses the PyPI wheel

    @property
    def cpu_only(self) -> bool:
        return self.variant == "cpu"

    @property
    def cuda(self) -> tuple[int, int] | None:
        return cuda.variant_cuda(self.variant) if self.variant else None

    def label(self) -> str:
        return f"torch {self.version} ({self.variant or 'unknown variant'}, {self.how})"

    def _table_build(self) -> data.ArchBuild | None:
        return data.torch_builds().get((self.minor, self.variant)) if self.variant else None

    def arch_build(self) -> data.ArchBuild | None:
        """The measurement of this very wheel first: its compiled-in arch list when read; a single
        library's fatbin otherwise, to which a table row for the release adds its cubins (a library
        may be built for fewer SMs than the release). PTX comes from the measurement alone, since
        release wheels strip the PTX that build scripts list."""
        table = self._table_build()
        if self.measured is not None and self.measured.has_cuda_code:
            m = self.measured.build
            if table is None or self.measured.method == "arch-flags":
                return m  # the wheel's own TORCH_CUDA_ARCH_LIST: nothing to add
            return dataclasses.replace(m, archs=tuple(sorted(set(m.archs) | set(table.archs))))
        return table

    @property
    def arch_source(self) -> str:
        if self.measured is not None and self.measured.has_cuda_code:
            of = f" of {self.measured.measured_version}" if self.measured.measured_version else ""
            where = f"measured in the wheel{of} ({self.measured.member}; {self.measured.source_table}, checked {self.measured.checked})"
            if self.measured.method == "arch-flags":
                where = f"the compiled-in arch list of the wheel{of} ({self.measured.member}; {self.measured.source_table}, checked {self.measured.checked})"
                return where
            return where + (" + data/torch.json cubins" if self._table_build() is not None else "")
        return "data/torch.json"


def torch_build(ctx: CheckContext) -> TorchBuild | None:
    version = ctx.locked("torch")
    if version is None:
        return None
    minor = minor_of(version) or version
    # The PyPI wheel: its own metadata says the CUDA it pins, its binaries the kernels it has.
    wheel = measured.wheel("torch", version, ctx.platform)
    arch = measured.archs("torch", version, ctx.platform, ctx.measurements)
    local = local_of(version)
    variant = local if local and (local == "cpu" or local.startswith(("cu", "rocm"))) else None
    for pkg, v in ctx.lock.cuda_variants if ctx.lock and variant is None else ():
        if pkg == "torch":
            variant = v
    if variant is not None:
        # A +cuXYZ wheel of the PyPI default's CUDA is the same build as the PyPI wheel (PyTorch
        # publishes that variant to both), so the measurement of the PyPI wheel applies to it.
        same_build = wheel is not None and cuda_variant_of(wheel.cuda) == variant
        return TorchBuild(version, minor, variant, "lock", arch if same_build else None, wheel)
    machine = measured.MACHINE.get(ctx.platform, "x86_64")
    if wheel is not None:
        variant = cuda_variant_of(wheel.cuda)
        if variant is not None:
            of = f" of {wheel.measured_version}, the same minor release" if wheel.measured_version else ""
            return TorchBuild(version, minor, variant, f"Requires-Dist of the PyPI {machine} wheel{of}, data/pypi_wheels.json", arch, wheel)
        if arch is not None and arch.cpu_only:
            return TorchBuild(version, minor, "cpu", f"the PyPI {machine} wheel pins no CUDA and has no GPU code (data/wheel_archs.json)", arch, wheel)
    if machine == "aarch64":
        return TorchBuild(version, minor, None, "unknown", arch, wheel)  # x86_64 rows say nothing about aarch64
    release = data.torch_releases().get(minor)
    if release is not None and release.pypi_default:
        return TorchBuild(version, minor, release.pypi_default, f"PyPI default for torch {minor}, data/torch.json", arch, wheel)
    return TorchBuild(version, minor, None, "unknown", arch, wheel)


@dataclass(frozen=True)
class TfBuild:
    """The TensorFlow a lock pins: the distribution and release, whether nvidia-*-cu12 wheels in
    the lock bring its CUDA, and its measured kernels."""

    name: str  # "tensorflow" | "tensorflow-cpu"
    version: str
    minor: str
    and_cuda: bool  # nvidia-*-cuNN wheels of its [and-cuda] CUDA major in the lock: TF uses them, not the image's CUDA
    measured: measured.ArchMeasurement | None = None

    @property
    def cpu_only(self) -> bool:
        """tensorflow-cpu, or a wheel whose own build_info says is_cuda_build=False (PyPI's aarch64)."""
        m = self.measured
        return self.name == "tensorflow-cpu" or (m is not None and m.method == "build-info" and not m.has_cuda_code)

    def release(self) -> data.TfRelease | None:
        return data.tf_releases().get(self.minor)

    def arch_build(self) -> data.ArchBuild | None:
        if self.measured is not None and self.measured.has_cuda_code:
            return self.measured.build
        return data.tf_arch_build(self.minor)

    @property
    def arch_source(self) -> str:
        if self.measured is not None and self.measured.has_cuda_code:
            of = f" of {self.measured.measured_version}" if self.measured.measured_version else ""
            return f"the build info of the wheel{of} ({self.measured.member}; {self.measured.source_table}, checked {self.measured.checked})"
        return "data/tensorflow.json"


def _tf_pip_cuda_major(ctx: CheckContext, name: str, version: str) -> str | None:
    """The CUDA major of the nvidia-*-cuNN wheels this TensorFlow loads from site-packages: its
    [and-cuda] extra's (2.14: CUDA 11.8, 2.15+: 12.x; data/pypi_wheels.json). A release without
    that extra (<= 2.13) loads only the system CUDA, whatever pip wheels the lock has (its install
    guide set LD_LIBRARY_PATH to them). A release the table lacks: the CUDA its build names."""
    wheel = measured.wheel(name, version, ctx.platform)
    if wheel is not None:
        want = dict(wheel.extras_cuda).get("and-cuda")
        return want.split(".")[0] if want else None
    release = data.tf_releases().get(minor_of(version) or version)
    return release.cuda.split(".")[0] if release is not None else "12"


def tf_build(ctx: CheckContext) -> TfBuild | None:
    for name in ("tensorflow", "tensorflow-cpu"):
        version = ctx.locked(name)
        if version is not None:
            major = _tf_pip_cuda_major(ctx, "tensorflow", version)
            and_cuda = major is not None and any(n.startswith("nvidia-") and n.endswith(f"-cu{major}") for n in ctx.locked_names)
            if name == "tensorflow-cpu" and ctx.locked("tensorflow") is not None:
                continue
            return TfBuild(name, version, minor_of(version) or version, and_cuda, measured.archs(name, version, ctx.platform, ctx.measurements))
    return None


_NVIDIA_WHEEL = re.compile(r"^nvidia-.+-cu(\d+)$")
# CUDA 13 runtime wheels dropped the -cuNN suffix (nvidia-cuda-runtime, nvidia-cublas, ...): their
# version's major is the CUDA major.
_NVIDIA_UNSUFFIXED = re.compile(r"^nvidia-(?:cuda-runtime|cuda-nvrtc|cuda-nvcc|cuda-cupti|cublas|cufft|curand|cusolver|cusparse|nvjitlink|nvtx|npp|nvjpeg)$")
_JAX_PLUGIN = re.compile(r"^jax-cuda(\d+)-(plugin|pjrt)$")
_JAXLIB_LOCAL = re.compile(r"^cuda(\d+)(?:\.cudnn(\d)(\d+))?$")


@dataclass(frozen=True)
class CudaUse:
    """One locked package that brings or expects CUDA of a given major (and minor if known)."""

    package: str
    version: str
    major: int
    minor: int | None
    how: str  # "lock" or the data table used
    bundles_runtime: bool  # ships the CUDA runtime itself (vs. using the image's)


def cuda_uses(ctx: CheckContext) -> tuple[CudaUse, ...]:
    if ctx.lock is None:
        return ()
    uses: list[CudaUse] = []
    tb = torch_build(ctx)
    if tb is not None and tb.cuda is not None:
        how = "lock" if tb.how == "lock" else tb.how
        uses.append(CudaUse("torch", tb.version, tb.cuda[0], tb.cuda[1], how, True))
    cupy = data.cupy_cuda_majors()
    for p in ctx.lock.packages:
        m = _NVIDIA_WHEEL.match(p.name)
        if m:
            minor = None
            v = re.match(r"^(\d+)\.(\d+)", p.version)
            if v and int(v.group(1)) == int(m.group(1)) and p.name in ("nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime-cu11", "nvidia-cuda-runtime-cu13"):
                minor = int(v.group(2))
            uses.append(CudaUse(p.name, p.version, int(m.group(1)), minor, "lock", True))
            continue
        if _NVIDIA_UNSUFFIXED.match(p.name):
            v = re.match(r"^(\d+)\.(\d+)", p.version)
            if v and int(v.group(1)) >= 13:
                minor = int(v.group(2)) if p.name == "nvidia-cuda-runtime" else None
                uses.append(CudaUse(p.name, p.version, int(v.group(1)), minor, "lock", True))
            continue
        m = _JAX_PLUGIN.match(p.name)
        if m:
            uses.append(CudaUse(p.name, p.version, int(m.group(1)), None, "lock", False))
            continue
        if p.name == "jaxlib":
            local = local_of(p.version) or ""
            lm = _JAXLIB_LOCAL.match(local)
            if lm:
                minor = data.jaxlib_cuda_minor(p.version, int(lm.group(1)))  # from jax X's cudaNN extra pins
                uses.append(CudaUse(p.name, p.version, int(lm.group(1)), minor, "lock" if minor is None else "data/jax_cupy.json", False))
            continue
        if p.name in cupy:
            uses.append(CudaUse(p.name, p.version, cupy[p.name], data.cupy_cuda_minors().get(p.name), "data/jax_cupy.json", False))
        if p.name == "cuda-toolkit":
            v = re.match(r"^(\d+)\.(\d+)", p.version)
            if v:
                uses.append(CudaUse(p.name, p.version, int(v.group(1)), int(v.group(2)), "lock", True))
    return tuple(uses)


def jaxlib_cudnn(ctx: CheckContext) -> tuple[str, tuple[int, int]] | None:
    """jaxlib '0.4.7+cuda12.cudnn89' -> ('0.4.7+cuda12.cudnn89', (8, 9)): the cuDNN it was built with."""
    version = ctx.locked("jaxlib")
    if version is None:
        return None
    lm = _JAXLIB_LOCAL.match(local_of(version) or "")
    if not lm or lm.group(2) is None:
        return None
    return version, (int(lm.group(2)), int(lm.group(3)))


@dataclass(frozen=True)
class CudnnNeed:
    """A locked package that loads the image's own cuDNN, and the oldest cuDNN it accepts
    (same major, this minor or newer)."""

    package: str
    version: str
    minimum: tuple[int, int]
    evidence: Evidence


def system_cudnn_needs(ctx: CheckContext) -> tuple[CudnnNeed, ...]:
    """Every locked package that loads the system cuDNN, for LB209 (the image's is too old) and
    LB211 (the image's version is not known): TensorFlow without [and-cuda], a jaxlib built
    against a cuDNN, and each jax-cudaNN-plugin (jax[cudaNN-local]) whose nvidia-cudnn-cuNN
    wheel is not in the lock, whatever its CUDA major."""
    if ctx.lock is None:
        return ()
    needs: list[CudnnNeed] = []
    names = set(ctx.locked_names)
    tf = tf_build(ctx)
    release = tf.release() if tf is not None and not tf.cpu_only and not tf.and_cuda else None
    if tf is not None and release is not None and release.cudnn:
        needs.append(CudnnNeed(tf.name, tf.version, data.cc_tuple(release.cudnn),
                               Evidence(f"tensorflow {tf.minor} cuDNN", release.cudnn, "data/tensorflow.json")))
    jl = jaxlib_cudnn(ctx)
    if jl is not None and not any(n.startswith("nvidia-cudnn-cu") for n in names):
        needs.append(CudnnNeed("jaxlib", jl[0], jl[1], Evidence("jaxlib build cuDNN", f"{jl[1][0]}.{jl[1][1]}", "lock (local version)")))
    for name in sorted(names):
        m = _JAX_PLUGIN.match(name)
        if m is None or m.group(2) != "plugin" or f"nvidia-cudnn-cu{m.group(1)}" in names:
            continue
        version = ctx.locked(name) or ""
        floor = data.jax_local_cudnn(name, version)
        needs.append(CudnnNeed(name, version, data.cc_tuple(floor),
                               Evidence(f"jax[cuda{m.group(1)}-local] cuDNN minimum", floor,
                                        "data/jax_cupy.json (the plugin's nvidia-cudnn pin)")))
    return tuple(needs)


@dataclass(frozen=True)
class ToolkitUser:
    """Something in the job that uses the image's own CUDA toolkit rather than pip's."""

    what: str
    how: str
    hard: bool  # certainly uses it (vs. may, e.g. JIT builds in a devel image)


def _pip_cuda(ctx: CheckContext) -> bool:
    return any(n.startswith("nvidia-") or n == "cuda-toolkit" for n in ctx.locked_names)


def image_toolkit_users(ctx: CheckContext) -> tuple[ToolkitUser, ...]:
    if ctx.lock is None:
        users: list[ToolkitUser] = []
    else:
        users = []
        for name in data.nvcc_needs():
            version = ctx.locked(name)
            if version is not None and has_wheel_for_target(ctx, name, version) is not True:
                users.append(ToolkitUser(f"{name} {version} (compiled with nvcc at install)", "data/packages.json", True))
        tf = tf_build(ctx)
        if tf is not None and not tf.cpu_only and not tf.and_cuda:
            users.append(ToolkitUser(f"{tf.name} {tf.version} without [and-cuda]", "lock", True))
        for p in ctx.lock.packages:
            if p.name in data.cupy_cuda_majors() and not _pip_cuda(ctx):
                users.append(ToolkitUser(f"{p.name} {p.version} without [ctk]", "lock", True))
            if _JAX_PLUGIN.match(p.name) and p.name.endswith("plugin") and not _pip_cuda(ctx):
                users.append(ToolkitUser(f"{p.name} {p.version} (jax *-local: the system CUDA)", "lock", True))
    if ctx.image is not None and ctx.image.has_nvcc and ctx.lock is not None and ctx.locked("torch") is not None:
        users.append(ToolkitUser("torch JIT extensions / Triton with the image's nvcc", ev_image(ctx, "has_nvcc", "True").source, False))
    return tuple(users)


def has_wheel_for_target(ctx: CheckContext, name: str, version: str) -> bool | None:
    """A wheel of name==version installs on the target: the resolver's index facts first, then
    the measured PyPI table (Python tag or abi3 floor, and the machine)."""
    for pf in ctx.packages:
        if pf.name == name and pf.version == version and pf.has_target_wheel is not None:
            return pf.has_target_wheel
    wheel = measured.wheel(name, version, ctx.platform)
    if wheel is None:
        # Not in the table: no wheel at all for this release on PyPI is known only if the table
        # has the package's other releases and this one is absent; otherwise unknown.
        return None
    py = ctx.python.value if ctx.python is not None else None
    if py is None:
        return bool(wheel.pythons)
    if py in wheel.pythons or py.split(".")[0] in wheel.pythons:  # "3": a py3 wheel
        return True
    return wheel.abi3 and any(data.parse_version(p) <= data.parse_version(py) for p in wheel.pythons)
