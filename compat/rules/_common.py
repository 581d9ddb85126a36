"""What the locked Python packages say about CUDA, shared by the GPU and package rules.

Pure reads of the lock and the data tables; every value carries how it was known, so
evidence can say "lock" or "PyPI default for torch 2.4 (data/torch.json)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from launchbuild.compat import cuda, data
from launchbuild.compat.context import CheckContext
from launchbuild.compat.findings import Evidence

TORCH_INDEX = "the PyTorch wheel index for {variant} (…/whl/{variant})"
KNOWN_IMAGE_CUDAS = ("11.8.0", "12.1.1", "12.4.1", "12.6.3", "12.8.1", "12.9.1", "13.0.2")


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


def ev_image(ctx: CheckContext, fact: str, value: str) -> Evidence:
    source = ctx.image.source_of(fact) if ctx.image is not None else "unknown"
    return Evidence(fact, value, source)


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


def image_cudnn(ctx: CheckContext) -> tuple[int, int] | None:
    if ctx.image is None or not ctx.image.cudnn_version:
        return None
    m = re.match(r"^(\d+)\.(\d+)", ctx.image.cudnn_version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def suggest_image(min_cuda: tuple[int, int] | None = None, max_cuda: tuple[int, int] | None = None) -> str | None:
    """A real nvidia/cuda runtime tag within [min, max] (newest first)."""
    for text in reversed(KNOWN_IMAGE_CUDAS):
        v = data.parse_version(text)[:2]
        if (min_cuda is None or v >= min_cuda) and (max_cuda is None or v <= max_cuda):
            return f"nvidia/cuda:{text}-runtime-ubuntu22.04"
    return None


@dataclass(frozen=True)
class TorchBuild:
    version: str  # as locked, "2.4.0+cu121"
    minor: str  # "2.4"
    variant: str | None  # "cu121", "cpu", or None when unknown
    how: str  # where the variant came from

    @property
    def cpu_only(self) -> bool:
        return self.variant == "cpu"

    @property
    def cuda(self) -> tuple[int, int] | None:
        return cuda.variant_cuda(self.variant) if self.variant else None

    def label(self) -> str:
        return f"torch {self.version} ({self.variant or 'unknown variant'}, {self.how})"

    def arch_build(self) -> data.ArchBuild | None:
        if not self.variant:
            return None
        return data.torch_builds().get((self.minor, self.variant))


def torch_build(ctx: CheckContext) -> TorchBuild | None:
    version = ctx.locked("torch")
    if version is None:
        return None
    minor = minor_of(version) or version
    local = local_of(version)
    if local and (local == "cpu" or local.startswith(("cu", "rocm"))):
        return TorchBuild(version, minor, local, "lock")
    for pkg, variant in ctx.lock.cuda_variants if ctx.lock else ():
        if pkg == "torch":
            return TorchBuild(version, minor, variant, "lock")
    release = data.torch_releases().get(minor)
    if release is not None and release.pypi_default:
        return TorchBuild(version, minor, release.pypi_default, f"PyPI default for torch {minor}, data/torch.json")
    return TorchBuild(version, minor, None, "unknown")


@dataclass(frozen=True)
class TfBuild:
    name: str  # "tensorflow" | "tensorflow-cpu"
    version: str
    minor: str
    and_cuda: bool  # nvidia-*-cu12 wheels in the lock: TF uses them, not the image's CUDA

    @property
    def cpu_only(self) -> bool:
        return self.name == "tensorflow-cpu"

    def release(self) -> data.TfRelease | None:
        return data.tf_releases().get(self.minor)


def tf_build(ctx: CheckContext) -> TfBuild | None:
    for name in ("tensorflow", "tensorflow-cpu"):
        version = ctx.locked(name)
        if version is not None:
            and_cuda = any(n.startswith("nvidia-") and n.endswith("-cu12") for n in ctx.locked_names)
            if name == "tensorflow-cpu" and ctx.locked("tensorflow") is not None:
                continue
            return TfBuild(name, version, minor_of(version) or version, and_cuda)
    return None


_NVIDIA_WHEEL = re.compile(r"^nvidia-.+-cu(\d+)$")
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
        m = _JAX_PLUGIN.match(p.name)
        if m:
            uses.append(CudaUse(p.name, p.version, int(m.group(1)), None, "lock", False))
            continue
        if p.name == "jaxlib":
            local = local_of(p.version) or ""
            lm = _JAXLIB_LOCAL.match(local)
            if lm:
                uses.append(CudaUse(p.name, p.version, int(lm.group(1)), None, "lock", False))
            continue
        if p.name in cupy:
            uses.append(CudaUse(p.name, p.version, cupy[p.name], None, "data/jax_cupy.json", False))
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
