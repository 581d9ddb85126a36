"""Framework-kernel rules (compat-sources.md sections 2-4): whether the locked frameworks
ship kernels for the GPUs (LB203), were built for the image's CUDA (LB205), and are GPU
builds at all (LB207). Each rule's declaration sits with its pure check."""

from __future__ import annotations

from collections.abc import Iterator

from launchbuild.compat import cuda, data
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence, Finding, Severity
from launchbuild.core.fixes import Advice, AddPackage, ChangeImageCuda, Fix, InstallVariant, ReplacePackage, SetOption
from launchbuild.core.rule import GPU_CUDA, Rule
from launchbuild.compat.rules._common import (
    TORCH_INDEX,
    major_minor,
    ev_gpu,
    ev_image,
    ev_lock,
    image_cuda,
    suggest_image,
    tf_build,
    torch_build,
    cuda_uses,
)


# ---- LB203 -------------------------------------------------------------------------------


def _torch_suggestion(cc, current_minor: str | None) -> InstallVariant | None:
    """The first torch release/variant whose official build runs natively on `cc`,
    preferring another variant of the same release."""
    releases = sorted(data.torch_releases().values(), key=lambda r: data.parse_version(r.torch))
    builds = data.torch_builds()
    ordered = [r for r in releases if r.torch == current_minor] + [
        r for r in releases if current_minor is None or data.parse_version(r.torch) > data.parse_version(current_minor)
    ]
    if current_minor is not None and not any(r.torch == current_minor for r in ordered[:1]):
        ordered = releases
    for r in ordered:
        for variant in r.variants:
            b = builds.get((r.torch, variant))
            if b is not None and cuda.runs_on(b, cc) == "cubin":
                return InstallVariant("torch", variant=variant, version=f"=={r.torch}.*", index=TORCH_INDEX.format(variant=variant),
                                      phrase=f"use torch>={r.torch} built for {{variant}} (pip install 'torch{{version}}' from {{index}})")
    for r in releases:  # an old GPU: newest releases may have dropped it; any release that runs it
        for variant in r.variants:
            b = builds.get((r.torch, variant))
            if b is not None and cuda.runs_on(b, cc) == "cubin":
                return InstallVariant("torch", variant=variant, version=f"=={r.torch}.*", index=TORCH_INDEX.format(variant=variant),
                                      phrase=f"use torch {r.torch} built for {{variant}} (from {{index}})")
    return None


LB203 = Rule(
    "LB203",
    Severity.ERROR,
    "Framework build has no kernels for the GPU",
    "Official framework wheels ship cubins for a fixed list of compute capabilities, plus PTX "
    "for some. A cubin runs on the same major with an equal or higher minor; crossing a major "
    "needs PTX. Architecture-specific code (sm_100a) runs on exactly its compute capability. Otherwise every CUDA call fails with 'no kernel image is available'. A GPU "
    "reached only by the driver JIT-compiling PTX is a warning: slow first start, and JIT "
    "failures are reported (TensorFlow on Blackwell). So is a torch build of unmeasured kernels "
    "whose CUDA predates the GPU's architecture (cu113 on an H800): it cannot have its cubins.",
    "Install a framework release/variant whose arch list covers the GPU.",
    ("gpu", "framework"),
    GPU_CUDA,
)


def framework_lacks_arch(ctx: CheckContext) -> Iterator[Finding]:
    if not ctx.gpus or ctx.lock is None:
        return
    tb = torch_build(ctx)
    if tb is not None and not tb.cpu_only:
        build = tb.arch_build()
        if build is not None:
            for gpu in ctx.gpus:
                if cuda.runs_on(build, gpu.cc) is None:
                    # No official build at all: nothing to install, the text says so (advice only).
                    yield LB203.finding(
                        f"torch {tb.version} ({tb.variant}) ships no kernels for {gpu.describe()}: "
                        f"it supports {build.describe()}",
                        _torch_suggestion(gpu.cc, tb.minor) or f"no official torch build supports {gpu.sm}",
                        [
                            ev_lock("torch", tb.version),
                            Evidence("torch CUDA variant", tb.variant or "", tb.how),
                            Evidence(f"torch {tb.version} {tb.variant} kernels", build.describe(), tb.arch_source),
                            ev_gpu(ctx, gpu),
                        ],
                    )
                elif cuda.runs_on(build, gpu.cc) == "ptx" and build.ptx is not None and build.ptx[0] < gpu.cc[0]:
                    yield _jit_only("torch", tb.version, build, gpu, ctx, tb.arch_source)
        elif tb.cuda is not None:
            # The kernels of this build are not known (LB211), but its CUDA bounds them: a toolkit
            # older than the first one that compiles for the GPU cannot have produced its cubins.
            for gpu in ctx.gpus:
                first = cuda.first_toolkit_for(gpu.cc)
                if first is not None and tuple(tb.cuda) < tuple(first[:2]) and cuda.toolkit_covers(tb.cuda, gpu.cc) is None:
                    yield LB203.finding(
                        f"torch {tb.version} was built with CUDA {major_minor(tb.cuda)}, which cannot compile kernels for "
                        f"{gpu.describe()} (the first CUDA that can is {major_minor(first)}): it can reach it only through PTX JIT, "
                        "if the build ships PTX",
                        _torch_suggestion(gpu.cc, tb.minor) or InstallVariant(
                            "torch", cuda=major_minor(first), phrase="use a torch build for CUDA {cuda} or newer"),
                        [ev_lock("torch", tb.version), Evidence("torch CUDA variant", tb.variant or "", tb.how),
                         Evidence(f"first CUDA for {gpu.sm}", major_minor(first), "data/cuda_archs.json"), ev_gpu(ctx, gpu)],
                        severity=Severity.WARNING,
                    )
    tf = tf_build(ctx)
    if tf is not None and not tf.cpu_only:
        build = tf.arch_build()
        if build is not None:
            for gpu in ctx.gpus:
                runs = cuda.runs_on(build, gpu.cc)
                if runs is None:
                    # Advice only: no tensorflow release in the data runs there, and which GPU the
                    # job gets is the operator's choice, not an option value.
                    yield LB203.finding(
                        f"tensorflow {tf.version} ships no kernels or PTX for {gpu.describe()}: it supports {build.describe()}",
                        "use a GPU that TensorFlow supports, or a tensorflow release built for it",
                        [ev_lock(tf.name, tf.version), Evidence("tensorflow kernels", build.describe(), tf.arch_source), ev_gpu(ctx, gpu)],
                    )
                elif runs == "ptx" and build.ptx is not None and build.ptx[0] < gpu.cc[0]:
                    # Within a major the JIT of the same architecture's PTX is routine (TF <= 2.15's
                    # compute_80 on Ampere); across majors it is where the failures are reported.
                    yield _jit_only(tf.name, tf.version, build, gpu, ctx, tf.arch_source)
    if ctx.locked("jax") is not None or ctx.locked("jaxlib") is not None:
        majors = sorted({u.major for u in cuda_uses(ctx) if u.package.startswith(("jax", "jaxlib"))}) or [12]
        by_major = data.jax_facts().get("min_cc_by_cuda", {})
        for major in majors:
            min_cc = data.cc_tuple(by_major.get(str(major), data.jax_facts()["min_cc"]))
            for gpu in ctx.gpus:
                if gpu.cc < min_cc:
                    # A newer GPU is the operator's choice (advice); the CUDA 12 build, where it
                    # reaches the GPU, is a variant to install.
                    cuda12 = major >= 13 and gpu.cc >= data.cc_tuple(by_major.get("12", "5.2"))
                    yield LB203.finding(
                        f"JAX on CUDA {major} needs compute capability >= {major_minor(min_cc)}; {gpu.describe()} is older",
                        (Advice("run JAX on a newer GPU"), InstallVariant("jax", cuda="12", extra="cuda12",
                                                                          phrase="install the CUDA 12 build (jax[{extra}])"))
                        if cuda12 else "run JAX on a newer GPU",
                        [ev_lock("jax", ctx.locked("jax") or ctx.locked("jaxlib") or ""),
                         Evidence(f"jax CUDA {major} minimum CC", major_minor(min_cc), "data/jax_cupy.json (cubins measured in the jax-cudaNN-plugin wheel)"), ev_gpu(ctx, gpu)],
                    )
    cupy = [n for n in ctx.locked_names if n in data.cupy_cuda_majors()]
    if cupy:
        min_cc = data.cupy_min_cc(cupy[0])
        for gpu in ctx.gpus:
            if gpu.cc < min_cc:
                # Advice only: every CuPy build needs this compute capability; the GPU is the operator's choice.
                yield LB203.finding(
                    f"CuPy needs compute capability >= {major_minor(min_cc)}; {gpu.describe()} is older",
                    "run CuPy on a newer GPU",
                    [ev_lock(cupy[0], ctx.locked(cupy[0]) or ""), ev_gpu(ctx, gpu)],
                )


def _jit_only(package: str, version: str, build, gpu, ctx: CheckContext, source: str) -> Finding:
    """No cubin for the GPU, only PTX of an older architecture: the driver JIT-compiles every
    kernel at first use. That can take very long, and on a newer architecture it is where the
    reported failures come from (TensorFlow on Blackwell: CUDA_ERROR_INVALID_PTX).
    Advice only: the data names no build with those kernels, and testing on the GPU is a person's step."""
    return LB203.finding(
        f"{package} {version} has no kernels built for {gpu.describe()}: it reaches it only by the driver "
        f"JIT-compiling its {build.describe().split()[-1]} PTX (slow first start; JIT failures such as "
        "CUDA_ERROR_INVALID_PTX are reported)",
        f"use a {package} build that ships {gpu.sm} kernels, or test the job on this GPU before relying on it",
        [ev_lock(package, version), Evidence(f"{package} kernels", build.describe(), source), ev_gpu(ctx, gpu)],
        severity=Severity.WARNING,
    )


# ---- LB205 -------------------------------------------------------------------------------


LB205 = Rule(
    "LB205",
    Severity.ERROR,
    "Framework CUDA variant does not match the image's CUDA",
    "Packages that use the system CUDA (TensorFlow without [and-cuda], cupy-cudaNNx, "
    "jax[cudaNN_local]) need the image's CUDA libraries of the same major, at least as new.",
    "Install the framework's bundled-CUDA variant (tensorflow[and-cuda], jax[cuda12]) or use a "
    "matching image.",
    ("cuda", "framework", "image"),
    GPU_CUDA,
)


def framework_cuda_mismatch(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.lock is None or ctx.image is None:
        return
    img_cuda = image_cuda(ctx)
    tf = tf_build(ctx)
    release = tf.release() if tf is not None and not tf.cpu_only and not tf.and_cuda and ctx.targets_gpu else None
    if tf is not None and release is not None:
        want = data.parse_version(release.cuda)[:2]
        ev = [ev_lock(tf.name, tf.version), Evidence(f"tensorflow {tf.minor} CUDA", release.cuda, "data/tensorflow.json"),
              Evidence("nvidia-*-cu12 wheels", "none in the lock", "lock")]
        image = suggest_image(min_cuda=want)
        fix = (InstallVariant("tensorflow", extra="and-cuda", version=f"=={tf.version}",
                              phrase="install tensorflow[{extra}]{version}"),
               ChangeImageCuda(minimum=release.cuda, example=image or "",
                               phrase="use a CUDA {minimum} image" + (" such as {example}" if image else "")))
        if img_cuda is None:
            yield LB205.finding(
                f"tensorflow {tf.version} without [and-cuda] uses the system CUDA {release.cuda}, "
                f"but {ctx.image.reference} has no CUDA: it will run on the CPU",
                fix,
                ev + [ev_image(ctx, "cuda_version", "none")],
            )
        elif img_cuda[0] != want[0] or img_cuda[:2] < want:
            yield LB205.finding(
                f"tensorflow {tf.version} without [and-cuda] needs the system CUDA {release.cuda}; "
                f"{ctx.image.reference} has CUDA {ctx.image.cuda_version}",
                fix,
                ev + [ev_image(ctx, "cuda_version", ctx.image.cuda_version)],
                severity=Severity.ERROR if img_cuda[0] != want[0] else Severity.WARNING,
            )
    bundled_majors = {u.major for u in cuda_uses(ctx) if u.bundles_runtime}
    for use in cuda_uses(ctx):
        if use.bundles_runtime or use.package.startswith(("jax", "jaxlib")) and use.major in bundled_majors:
            continue
        if use.major in bundled_majors:
            continue
        if img_cuda is None:
            if ctx.targets_gpu:
                same = suggest_image(min_cuda=(use.major, 0), max_cuda=(use.major, 9)) or ""
                yield LB205.finding(
                    f"{use.package} {use.version} uses the system CUDA {use.major}.x, but {ctx.image.reference} has no CUDA",
                    (ChangeImageCuda(minimum=str(use.major), maximum=str(use.major), example=same,
                                     phrase="use a CUDA {minimum} image" + (" such as {example}" if same else "")),
                     AddPackage(f"nvidia-cuda-runtime-cu{use.major}")),
                    [ev_lock(use.package, use.version), ev_image(ctx, "cuda_version", "none")],
                )
        elif img_cuda[0] != use.major:
            alt = _cupy_for(img_cuda[0]) if use.package.startswith("cupy-") else None
            yield LB205.finding(
                f"{use.package} {use.version} is built for CUDA {use.major}.x, but {ctx.image.reference} has CUDA {ctx.image.cuda_version}",
                (ReplacePackage(use.package, alt, phrase="install {replacement} instead") if alt
                 else InstallVariant(use.package, cuda=str(img_cuda[0])),
                 ChangeImageCuda(minimum=str(use.major), maximum=str(use.major), phrase="use a CUDA {minimum} image")),
                [ev_lock(use.package, use.version), ev_image(ctx, "cuda_version", ctx.image.cuda_version)],
            )


def _cupy_for(major: int) -> str | None:
    return next((n for n, m in data.cupy_cuda_majors().items() if m == major and n.endswith("x")), None)


# ---- LB207 -------------------------------------------------------------------------------


LB207 = Rule(
    "LB207",
    Severity.WARNING,
    "GPU target with a CPU-only framework build",
    "torch '+cpu', tensorflow-cpu, or jax without a CUDA plugin run on the CPU even on a GPU "
    "node; the job is slow rather than broken, which is easy to miss.",
    "Install the CUDA build of the framework.",
    ("gpu", "framework"),
    GPU_CUDA,
)


def cpu_only_framework(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.lock is None or not ctx.targets_gpu:
        return
    why_gpu = Evidence("gpu", ", ".join(g.describe() for g in ctx.gpus), ctx.gpus_origin) if ctx.gpus else ev_image(ctx, "cuda_version", ctx.image.cuda_version if ctx.image and ctx.image.cuda_version else "accelerator image")
    tb = torch_build(ctx)
    if tb is not None and tb.cpu_only:
        fix: str | Fix
        if tb.how == "lock":
            fix = InstallVariant("torch", version=f"=={tb.version.split('+')[0]}",
                                 phrase="install torch{version} without +cpu (the default index bundles CUDA)")
        else:
            # Advice only: the data names no release whose wheel for this platform bundles CUDA.
            fix = f"install a torch release whose PyPI {ctx.platform} wheel bundles CUDA, or torch from the PyTorch CUDA wheel index for {ctx.platform}"
        yield LB207.finding(
            f"torch {tb.version} is a CPU-only build on {ctx.platform}, but the job targets a GPU",
            fix,
            [ev_lock("torch", tb.version), Evidence("torch build", "CPU-only", tb.how), why_gpu],
        )
    tf = tf_build(ctx)
    if tf is not None and tf.cpu_only:
        yield LB207.finding(
            f"{tf.name} {tf.version} never uses the GPU the job targets"
            + ("" if tf.name == "tensorflow-cpu" else f": its PyPI {ctx.platform} wheel is a CPU build"),
            ReplacePackage("tensorflow-cpu", f"tensorflow[and-cuda]=={tf.version}", phrase="install {replacement} instead of {package}")
            if tf.name == "tensorflow-cpu"
            else (SetOption("platform", "linux/amd64", phrase="run TensorFlow on {value} GPU nodes"),
                  Advice("use a CUDA build of TensorFlow for this platform")),  # none is published: a person's build
            [ev_lock("tensorflow-cpu", tf.version), why_gpu],
        )
    jax = ctx.locked("jax")
    if jax is not None:
        has_plugin = any(u.package.startswith(("jax-cuda", "jaxlib")) for u in cuda_uses(ctx))
        if not has_plugin:
            yield LB207.finding(
                f"jax {jax} has no CUDA plugin in the lock (jax-cuda13-plugin or jax-cuda12-plugin), so it runs on the CPU",
                InstallVariant("jax", cuda="13", extra="cuda13", version=f"=={jax}",
                               phrase="install jax[{extra}]{version} (or jax[cuda12] for GPUs older than sm_75)"),
                [ev_lock("jax", jax), why_gpu],
            )
