"""Library rules: the image's cuDNN against the framework's (LB209), and LD_LIBRARY_PATH
entries that shadow the CUDA libraries of pip wheels (LB210)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from launchbuild.compat import data
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Finding, Severity
from launchbuild.core.fixes import ChangeBaseImage, ChangeImageCuda, Fix, InstallVariant, SetImageEnv
from launchbuild.core.rule import GPU_CUDA, Rule
from launchbuild.compat.rules._common import (
    _NVIDIA_UNSUFFIXED,
    ev_image,
    ev_lock,
    image_cuda,
    image_cudnn,
    system_cudnn_needs,
)


def _mm(v) -> str:
    return f"{v[0]}.{v[1]}"


def _bundled(package: str) -> InstallVariant:
    """The framework's bundled-CUDA extra: the nvidia-cudnn wheel comes with it, not from the image.
    A jax-cudaNN-plugin keeps its CUDA major (jax[cuda13] for jax-cuda13-plugin)."""
    plugin = re.match(r"^jax-cuda(\d+)-plugin$", package)
    framework, extra = (("tensorflow", "and-cuda") if package.startswith("tensorflow")
                        else ("jax", f"cuda{plugin.group(1)}" if plugin else "cuda12"))
    return InstallVariant(framework, extra=extra, phrase="the framework's bundled-CUDA extra ([{extra}])")


def _cudnn_fix(package: str, want, phrase: str) -> tuple[Fix, ...]:
    return (ChangeImageCuda(cudnn=_mm(want), phrase=phrase), _bundled(package))


# ---- LB209 -------------------------------------------------------------------------------


LB209 = Rule(
    "LB209",
    Severity.ERROR,
    "Image cuDNN older than the framework's build cuDNN",
    "Frameworks that load the system cuDNN need the same major and an equal or higher minor "
    "than they were built with ('Loaded runtime CuDNN library: 9.0.0 but source was compiled "
    "with: 9.3.0').",
    "Use an image with a new enough cuDNN, or the framework's bundled-CUDA variant.",
    ("cuda", "framework", "image"),
    GPU_CUDA,
)


def cudnn_too_old(ctx: CheckContext) -> Iterator[Finding]:
    have = image_cudnn(ctx)
    if ctx.lock is None or ctx.image is None:
        return
    needs = [(n.package, n.version, n.minimum, n.evidence) for n in system_cudnn_needs(ctx)]
    for package, version, want, want_ev in needs:
        if have is None:
            if image_cuda(ctx) is not None:
                yield LB209.finding(
                    f"{package} {version} loads the system cuDNN {want[0]}.{want[1]}+, but {ctx.image.reference} has no cuDNN",
                    _cudnn_fix(package, want, "use a -cudnn- variant of the image"),
                    [ev_lock(package, version), want_ev, ev_image(ctx, "cudnn_version", "none")],
                )
            continue
        if have[1] is None:
            if have[0] and have[0] != want[0]:
                yield LB209.finding(
                    f"{ctx.image.reference} has cuDNN {have[0]}, but {package} {version} needs cuDNN {want[0]}.{want[1]} or newer within {want[0]}.x",
                    _cudnn_fix(package, want, f"use an image with cuDNN {{cudnn}} or newer within {want[0]}.x"),
                    [ev_lock(package, version), want_ev, ev_image(ctx, "cudnn_version", ctx.image.cudnn_version)],
                )
            continue  # the minor is not known: LB211 names it
        if have[0] != want[0] or have < want:
            yield LB209.finding(
                f"{ctx.image.reference} has cuDNN {ctx.image.cudnn_version}, but {package} {version} was built with cuDNN "
                f"{want[0]}.{want[1]} and needs the same major and an equal or higher minor",
                _cudnn_fix(package, want, f"use an image with cuDNN {{cudnn}} or newer within {want[0]}.x"),
                [ev_lock(package, version), want_ev, ev_image(ctx, "cudnn_version", ctx.image.cudnn_version)],
            )


# ---- LB210 -------------------------------------------------------------------------------


LB210 = Rule(
    "LB210",
    Severity.WARNING,
    "LD_LIBRARY_PATH shadows the CUDA libraries of pip wheels",
    "torch and other wheels find nvidia-* wheel libraries through RPATH; an LD_LIBRARY_PATH "
    "entry with the image's CUDA libraries wins and mixes versions ('undefined symbol: "
    "__nvJitLinkAddData_12_1').",
    "Drop the CUDA entries from LD_LIBRARY_PATH in the image, or use a runtime image.",
    ("cuda", "image", "packages"),
    GPU_CUDA,
)


def ld_library_path_shadowing(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.image is None or ctx.lock is None:
        return
    path = dict(ctx.image.env).get("LD_LIBRARY_PATH", "")
    shadowing = [p for p in path.split(":") if "/usr/local/cuda" in p]
    wheels = [n for n in ctx.locked_names if n.startswith("nvidia-") and (n[-4:-2] == "cu" or _NVIDIA_UNSUFFIXED.match(n))]
    if not shadowing or not wheels:
        return
    yield LB210.finding(
        f"LD_LIBRARY_PATH in {ctx.image.reference} puts {', '.join(shadowing)} ahead of the pip CUDA wheels "
        f"({', '.join(wheels[:3])}{' ...' if len(wheels) > 3 else ''})",
        (SetImageEnv("LD_LIBRARY_PATH", "/usr/local/nvidia/lib64",
                     phrase="unset LD_LIBRARY_PATH's CUDA entries in the build (ENV {name}={value})"),)
        + ((ChangeBaseImage(clean, "use an image that leaves them out, such as {image}"),) if (clean := _clean_ld_image()) else ()),
        [ev_image(ctx, "env", f"LD_LIBRARY_PATH={path}")] + [ev_lock(n, ctx.locked(n) or "") for n in wheels[:3]],
    )


def _clean_ld_image() -> str | None:
    """The newest nvidia/cuda runtime image whose LD_LIBRARY_PATH has no /usr/local/cuda entry
    (data/nvidia_cuda_images.json: up to 12.8.0 upstream)."""
    clean = [k for k, v in data.nvidia_cuda_images().items()
             if k[2] == "amd64" and k[1] == "ubuntu22.04" and v.ld_library_path and "/usr/local/cuda" not in v.ld_library_path]
    if not clean:
        return None
    version, os_label, _ = max(clean, key=lambda k: data.parse_version(k[0]))
    return f"nvidia/cuda:{version}-runtime-{os_label}"
