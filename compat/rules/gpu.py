"""GPU, driver and CUDA rules (compat-sources.md sections 2-4)."""

from __future__ import annotations

from collections.abc import Iterator

from launchbuild.compat import cuda, data, requirecuda
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence, Finding, Severity
from launchbuild.core.fixes import UpgradeDriver
from launchbuild.core.rule import GPU_CUDA, Rule
from launchbuild.compat.target import Gpu
from launchbuild.compat.rules._common import (
    TORCH_INDEX,
    ev_driver,
    ev_gpu,
    ev_image,
    ev_lock,
    image_cuda,
    suggest_image,
    tf_build,
    torch_build,
    cuda_uses,
    image_toolkit_users,
)
from launchbuild.errors import BadInput


def _mm(v) -> str:
    return f"{v[0]}.{v[1]}"


# ---- LB201 -------------------------------------------------------------------------------


LB201 = Rule(
    "LB201",
    Severity.ERROR,
    "Image CUDA toolkit cannot target the GPU",
    "Each CUDA toolkit compiles for a fixed range of compute capabilities (CUDA 11.7 has no "
    "sm_90; CUDA 12 dropped Kepler; CUDA 13 dropped Maxwell/Pascal/Volta). It matters only "
    "when something uses the image's own toolkit: nvcc or JIT extensions in a devel image, "
    "packages that compile CUDA code at install, TensorFlow without [and-cuda], CuPy without "
    "[ctk], jax *-local. pip wheels that bring their CUDA (torch, nvidia-*) do not use it.",
    "Use an image whose CUDA version supports the GPU's compute capability.",
    ("gpu", "cuda", "image"),
    GPU_CUDA,
)


def toolkit_cannot_target(ctx: CheckContext) -> Iterator[Finding]:
    version = image_cuda(ctx)
    if version is None or not ctx.gpus or ctx.image is None:  # no image: no version either
        return
    users = image_toolkit_users(ctx)
    if not users:
        return  # pip wheels bring their own CUDA (loaded through RPATH): the image's toolkit is unused
    hard = [u for u in users if u.hard]
    for gpu in ctx.gpus:
        cover = cuda.toolkit_covers(version, gpu.cc)
        if cover == "native":
            continue
        evidence = [
            ev_image(ctx, "cuda_version", ctx.image.cuda_version),
            ev_gpu(ctx, gpu),
            Evidence(f"CUDA {_mm(version)} offline targets", " ".join(f"sm_{s}" for s in sorted(cuda.offline_targets(version) or ())), "data/cuda_archs.json"),
        ] + [Evidence("uses the image's CUDA", u.what, u.how) for u in users[:3]]
        first = cuda.first_toolkit_for(gpu.cc)
        last = cuda.last_toolkit_for(gpu.cc)
        if last is not None and version[:2] > last[:2]:
            image = suggest_image(max_cuda=last[:2])
            fix = f"use an image with CUDA {_mm(last)} or older" + (f", e.g. {image}" if image else "")
        else:
            image = suggest_image(min_cuda=first[:2] if first else None)
            fix = f"use an image with CUDA {_mm(first) if first else 'newer'} or later" + (f", e.g. {image}" if image else "")
        who = ", ".join(u.what for u in users[:2])
        if cover == "same-major" or not hard:
            yield LB201.finding(
                f"CUDA {ctx.image.cuda_version} cannot compile native code for {gpu.describe()}"
                + ("; only cubins of a lower " + f"sm_{gpu.cc[0]}x run there" if cover == "same-major" else "")
                + f", and {who} use{'s' if len(users) == 1 else ''} the image's toolkit: code built in the image at run time may fail",
                fix,
                evidence,
                severity=Severity.WARNING,
            )
        else:
            yield LB201.finding(
                f"CUDA {ctx.image.cuda_version} cannot target {gpu.describe()} (no {gpu.sm} in its architectures), "
                f"and {who} use{'s' if len(users) == 1 else ''} the image's CUDA",
                fix,
                evidence,
            )


# ---- LB202 -------------------------------------------------------------------------------


def _disabled(ctx: CheckContext) -> bool:
    env = dict(ctx.image.env) if ctx.image else {}
    return env.get("NVIDIA_DISABLE_REQUIRE", "").lower() in ("1", "true", "yes")


def _required_cuda_driver(req):
    """The toolkit row (minimum driver) of the CUDA an image's requirement names, if known."""
    need = next((c for c in req.clauses if not c.forward_compat), None)
    cond = next((c for c in need.conditions if c.prop == "cuda"), None) if need is not None else None
    return cuda.toolkit_driver(data.parse_version(cond.value)) if cond is not None else None


LB202 = Rule(
    "LB202",
    Severity.ERROR,
    "Node driver too old for the image",
    "The NVIDIA container runtime refuses to start a container whose NVIDIA_REQUIRE_CUDA the "
    "host does not satisfy ('unsatisfied condition: cuda>=12.1'). Space-separated terms are "
    "alternatives; brand/driver terms hold only through forward compatibility, which works "
    "on data-center GPUs only.",
    "Upgrade the node driver, or use an image built for an older CUDA.",
    ("gpu", "driver", "image"),
    GPU_CUDA,
)


def driver_too_old_for_image(ctx: CheckContext) -> Iterator[Finding]:
    img = ctx.image
    if img is None or ctx.driver is None or _disabled(ctx):
        return
    try:
        if img.require_cuda:
            req = requirecuda.parse(img.require_cuda, f"NVIDIA_REQUIRE_CUDA of {img.reference}")
            req_ev = ev_image(ctx, "require_cuda", img.require_cuda)
        elif img.cuda_version:
            req = requirecuda.implied_by_cuda_version(img.cuda_version, f"CUDA_VERSION of {img.reference}")
            req_ev = ev_image(ctx, "cuda_version", f"{img.cuda_version} (implies {req.text})")
        else:
            return
    except BadInput as exc:
        yield LB202.finding(
            f"cannot evaluate the image's CUDA requirement: {exc.message}",
            "use an official nvidia/cuda image, or fix NVIDIA_REQUIRE_CUDA in the image",
            [ev_image(ctx, "require_cuda", img.require_cuda or "")],
            severity=Severity.WARNING,
        )
        return
    dcuda = ctx.driver.cuda
    targets = ctx.gpus or (None,)
    for gpu in targets:
        result = requirecuda.evaluate(
            req,
            driver=ctx.driver.text,
            driver_cuda=_mm(dcuda) if dcuda else "0.0",
            arch=_mm(gpu.cc) if gpu else None,
        )
        evidence = [req_ev, ev_driver(ctx)] + ([ev_gpu(ctx, gpu)] if gpu else [])
        if not result.satisfied and cuda.driver_newer_than_data(ctx.driver.parts):
            continue  # the driver's CUDA is not known: LB211 says so instead of a guess
        if not result.satisfied and dcuda is None and _required_cuda_driver(req) is None:
            # A driver older than every toolkit row, and an image whose CUDA has no row either
            # (CUDA 9.x): neither side is known, so LB211 names the gap instead of a verdict.
            continue
        if not result.satisfied:
            need = next((c for c in req.clauses if not c.forward_compat), None)
            minimum = None
            if need is not None:
                cond = next(c for c in need.conditions if c.prop == "cuda")
                row = cuda.toolkit_driver(data.parse_version(cond.value))
                minimum = row.driver_text if row else None
            older = suggest_image(max_cuda=dcuda) if dcuda else None
            fix = f"upgrade the node driver to >= {minimum}" if minimum else "upgrade the node driver"
            fix += f", or use an image built for CUDA {_mm(dcuda)} or older" if dcuda else ""
            fix += f" (e.g. {older})" if older else ""
            # An inferred tag the data has no row for: its forward-compatibility branches are not
            # known, so on a GPU that could use them this is a likely failure, not a certain one.
            guessed = img.provider == "inferred" and not img.require_cuda and not (gpu is not None and gpu.datacenter is False)
            yield LB202.finding(
                f"driver {ctx.driver.text} does not satisfy {img.reference}'s requirement "
                f"({requirecuda.summary(req)}): the container will not start"
                + (f" on {gpu.describe()}" if gpu else "")
                + (" unless the image lists the driver's branch for forward compatibility (not in the data)" if guessed else ""),
                fix,
                evidence,
                severity=Severity.WARNING if guessed else None,
            )
        elif result.via_forward_compat and not (gpu is not None and gpu.datacenter is True):
            # Forward compatibility (the image's cuda-compat libraries) works on Data Center GPUs,
            # Server Editions and Jetson only: on a consumer card CUDA fails to initialise
            # ("forward compatibility was attempted on non supported HW"), if the brand even matches.
            consumer = gpu is not None and gpu.datacenter is False
            who = gpu.describe() if gpu else "the target GPU (none given)"
            yield LB202.finding(
                f"driver {ctx.driver.text} meets {img.reference}'s requirement only through the "
                f"forward-compatibility term '{result.matched}', which works on data-center GPUs only; "
                + (f"{who} is not one, so CUDA will not initialise" if consumer else f"{who} may not run it"),
                f"upgrade the node driver to a branch that supports CUDA {img.cuda_version or 'of the image'} natively, "
                "or run on data-center GPUs",
                evidence + [Evidence("GPU class", "consumer/workstation" if consumer else "unknown", "data/gpus.json")],
                severity=Severity.ERROR if consumer else Severity.WARNING,
            )


# ---- LB203 -------------------------------------------------------------------------------


def _torch_suggestion(cc, current_minor: str | None) -> str | None:
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
                index = TORCH_INDEX.format(variant=variant)
                return f"use torch>={r.torch} built for {variant} (pip install 'torch=={r.torch}.*' from {index})"
    for r in releases:  # an old GPU: newest releases may have dropped it; any release that runs it
        for variant in r.variants:
            b = builds.get((r.torch, variant))
            if b is not None and cuda.runs_on(b, cc) == "cubin":
                return f"use torch {r.torch} built for {variant} (from {TORCH_INDEX.format(variant=variant)})"
    return None


LB203 = Rule(
    "LB203",
    Severity.ERROR,
    "Framework build has no kernels for the GPU",
    "Official framework wheels ship cubins for a fixed list of compute capabilities, plus PTX "
    "for some. A cubin runs on the same major with an equal or higher minor; crossing a major "
    "needs PTX. Otherwise every CUDA call fails with 'no kernel image is available'. A GPU "
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
                        f"torch {tb.version} was built with CUDA {_mm(tb.cuda)}, which cannot compile kernels for "
                        f"{gpu.describe()} (the first CUDA that can is {_mm(first)}): it can reach it only through PTX JIT, "
                        "if the build ships PTX",
                        _torch_suggestion(gpu.cc, tb.minor) or f"use a torch build for CUDA {_mm(first)} or newer",
                        [ev_lock("torch", tb.version), Evidence("torch CUDA variant", tb.variant or "", tb.how),
                         Evidence(f"first CUDA for {gpu.sm}", _mm(first), "data/cuda_archs.json"), ev_gpu(ctx, gpu)],
                        severity=Severity.WARNING,
                    )
    tf = tf_build(ctx)
    if tf is not None and not tf.cpu_only:
        build = tf.arch_build()
        if build is not None:
            for gpu in ctx.gpus:
                runs = cuda.runs_on(build, gpu.cc)
                if runs is None:
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
                    yield LB203.finding(
                        f"JAX on CUDA {major} needs compute capability >= {_mm(min_cc)}; {gpu.describe()} is older",
                        "run JAX on a newer GPU" + (", or install the CUDA 12 build (jax[cuda12])" if major >= 13 and gpu.cc >= data.cc_tuple(by_major.get("12", "5.2")) else ""),
                        [ev_lock("jax", ctx.locked("jax") or ctx.locked("jaxlib") or ""),
                         Evidence(f"jax CUDA {major} minimum CC", _mm(min_cc), "data/jax_cupy.json (cubins measured in the jax-cudaNN-plugin wheel)"), ev_gpu(ctx, gpu)],
                    )
    cupy = [n for n in ctx.locked_names if n in data.cupy_cuda_majors()]
    if cupy:
        min_cc = data.cupy_min_cc(cupy[0])
        for gpu in ctx.gpus:
            if gpu.cc < min_cc:
                yield LB203.finding(
                    f"CuPy needs compute capability >= {_mm(min_cc)}; {gpu.describe()} is older",
                    "run CuPy on a newer GPU",
                    [ev_lock(cupy[0], ctx.locked(cupy[0]) or ""), ev_gpu(ctx, gpu)],
                )


def _jit_only(package: str, version: str, build, gpu, ctx: CheckContext, source: str) -> Finding:
    """No cubin for the GPU, only PTX of an older architecture: the driver JIT-compiles every
    kernel at first use. That can take very long, and on a newer architecture it is where the
    reported failures come from (TensorFlow on Blackwell: CUDA_ERROR_INVALID_PTX)."""
    return LB203.finding(
        f"{package} {version} has no kernels built for {gpu.describe()}: it reaches it only by the driver "
        f"JIT-compiling its {build.describe().split()[-1]} PTX (slow first start; JIT failures such as "
        "CUDA_ERROR_INVALID_PTX are reported)",
        f"use a {package} build that ships {gpu.sm} kernels, or test the job on this GPU before relying on it",
        [ev_lock(package, version), Evidence(f"{package} kernels", build.describe(), source), ev_gpu(ctx, gpu)],
        severity=Severity.WARNING,
    )


# ---- LB204 -------------------------------------------------------------------------------


def _driver_runs_major(ctx: CheckContext, major: int) -> bool:
    """Minor-version compatibility: any X.y runtime runs on a driver >= the X.x minimum."""
    minimum = cuda.minor_compat_minimum(major)
    dcuda = ctx.driver.cuda if ctx.driver else None
    return minimum is not None and ctx.driver is not None and ctx.driver.at_least(minimum[0]) and dcuda is not None and dcuda[0] >= major


def _ptx_users(ctx: CheckContext) -> Iterator[tuple[str, str, tuple[int, ...], Gpu]]:
    """(package, version, CUDA major.minor it was built with, gpu) for builds that reach a
    GPU only through PTX JIT."""
    tb = torch_build(ctx)
    if tb is not None and tb.cuda is not None:
        build = tb.arch_build()
        for gpu in ctx.gpus:
            if build is not None and cuda.runs_on(build, gpu.cc) == "ptx":
                yield "torch", tb.version, tb.cuda, gpu
    tf = tf_build(ctx)
    release = tf.release() if tf is not None and not tf.cpu_only else None
    if tf is not None and release is not None:
        build = tf.arch_build()
        tf_cuda = data.parse_version(release.cuda)[:2]
        for gpu in ctx.gpus:
            if build is not None and cuda.runs_on(build, gpu.cc) == "ptx":
                yield tf.name, tf.version, tf_cuda, gpu


LB204 = Rule(
    "LB204",
    Severity.ERROR,
    "Node driver too old for the CUDA the Python packages bundle",
    "pip wheels bring their own CUDA runtime (torch's default wheel, nvidia-*-cuNN pins, "
    "jax[cudaNN]); the node driver must support that CUDA major (minor-version "
    "compatibility: 11.x >= 450.80.02, 12.x >= 525.60.13, 13.x >= 580). PTX JIT is not "
    "covered by minor-version compatibility: it needs the toolkit's own driver.",
    "Upgrade the node driver, or install builds for an older CUDA.",
    ("gpu", "driver", "packages"),
    GPU_CUDA,
)


def driver_too_old_for_packages(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.driver is None or ctx.lock is None:
        return
    dcuda = ctx.driver.cuda
    by_major: dict[int, list] = {}
    for use in cuda_uses(ctx):
        by_major.setdefault(use.major, []).append(use)
    for major, uses in sorted(by_major.items()):
        minimum = cuda.minor_compat_minimum(major)
        if minimum is None:
            continue
        if _driver_runs_major(ctx, major):
            continue
        names = ", ".join(f"{u.package} {u.version}" for u in uses[:4]) + (" ..." if len(uses) > 4 else "")
        first = uses[0]
        fix = f"upgrade the node driver to >= {minimum[1]} (CUDA {major}.x)"
        tb = torch_build(ctx)
        if first.package == "torch" and tb is not None and dcuda is not None:
            release = data.torch_releases().get(tb.minor)
            options = [
                v for v in (release.variants if release else ())
                if _driver_runs_major(ctx, (cuda.variant_cuda(v) or (99, 0))[0])
            ]
            if options:
                fix += f", or install torch from {TORCH_INDEX.format(variant=options[-1])}"
        elif dcuda is not None:
            fix += f", or use packages built for CUDA {dcuda[0]}"
        yield LB204.finding(
            f"driver {ctx.driver.text} "
            + (f"supports CUDA {_mm(dcuda)}" if dcuda else "predates CUDA 10")
            + f", but {names} bundle{'s' if len(uses) == 1 else ''} CUDA {major}"
            + (f".{first.minor}" if first.minor is not None else "")
            + f", which needs driver >= {minimum[1]}",
            fix,
            [ev_driver(ctx)]
            + [Evidence(u.package, u.version + ("" if u.how == "lock" else f" (CUDA {u.major}.{u.minor})"), u.how) for u in uses[:4]]
            + [Evidence(f"CUDA {major}.x minimum driver", minimum[1], "data/cuda_drivers.json (minor-version compatibility)")],
        )
    for package, version, built_cuda, gpu in _ptx_users(ctx):
        row = cuda.toolkit_driver(built_cuda)
        if row is None or ctx.driver.at_least(row.driver):
            continue
        yield LB204.finding(
            f"{package} {version} reaches {gpu.describe()} only through PTX built with CUDA {_mm(built_cuda)}; "
            f"driver {ctx.driver.text} is older than {row.driver_text}, so the JIT may fail with "
            "'the provided PTX was compiled with an unsupported toolchain'",
            UpgradeDriver(row.driver_text),
            [ev_driver(ctx), ev_lock(package, version), ev_gpu(ctx, gpu),
             Evidence(f"CUDA {_mm(built_cuda)} toolkit driver", row.driver_text, "data/cuda_drivers.json (Table 3)")],
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
        if img_cuda is None:
            yield LB205.finding(
                f"tensorflow {tf.version} without [and-cuda] uses the system CUDA {release.cuda}, "
                f"but {ctx.image.reference} has no CUDA: it will run on the CPU",
                f"install tensorflow[and-cuda]=={tf.version}, or use a CUDA {release.cuda} image" + (f" such as {image}" if image else ""),
                ev + [ev_image(ctx, "cuda_version", "none")],
            )
        elif img_cuda[0] != want[0] or img_cuda[:2] < want:
            yield LB205.finding(
                f"tensorflow {tf.version} without [and-cuda] needs the system CUDA {release.cuda}; "
                f"{ctx.image.reference} has CUDA {ctx.image.cuda_version}",
                f"install tensorflow[and-cuda]=={tf.version}, or use a CUDA {release.cuda} image" + (f" such as {image}" if image else ""),
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
                yield LB205.finding(
                    f"{use.package} {use.version} uses the system CUDA {use.major}.x, but {ctx.image.reference} has no CUDA",
                    f"use a CUDA {use.major} image" + (f" such as {suggest_image(min_cuda=(use.major, 0), max_cuda=(use.major, 9))}" if suggest_image(min_cuda=(use.major, 0), max_cuda=(use.major, 9)) else "")
                    + f", or add nvidia-cuda-runtime-cu{use.major} to the requirements",
                    [ev_lock(use.package, use.version), ev_image(ctx, "cuda_version", "none")],
                )
        elif img_cuda[0] != use.major:
            alt = _cupy_for(img_cuda[0]) if use.package.startswith("cupy-") else None
            yield LB205.finding(
                f"{use.package} {use.version} is built for CUDA {use.major}.x, but {ctx.image.reference} has CUDA {ctx.image.cuda_version}",
                (f"install {alt} instead" if alt else f"install the CUDA {img_cuda[0]} variant of {use.package}")
                + f", or use a CUDA {use.major} image",
                [ev_lock(use.package, use.version), ev_image(ctx, "cuda_version", ctx.image.cuda_version)],
            )


def _cupy_for(major: int) -> str | None:
    return next((n for n, m in data.cupy_cuda_majors().items() if m == major and n.endswith("x")), None)


# ---- LB206 -------------------------------------------------------------------------------


LB206 = Rule(
    "LB206",
    Severity.ERROR,
    "Mixed CUDA majors among packages",
    "Two CUDA majors in one environment (nvidia-*-cu11 with -cu12, torch cu118 with "
    "jax[cuda12]) load conflicting libraries; one of them fails at import or first use.",
    "Pick one CUDA major for every GPU package.",
    ("cuda", "packages"),
    GPU_CUDA,
)


def mixed_cuda_majors(ctx: CheckContext) -> Iterator[Finding]:
    uses = cuda_uses(ctx)
    majors = sorted({u.major for u in uses})
    if len(majors) < 2:
        return
    groups = {m: [u for u in uses if u.major == m] for m in majors}
    parts = "; ".join(f"CUDA {m}: " + ", ".join(u.package for u in g[:3]) + (" ..." if len(g) > 3 else "") for m, g in groups.items())
    newest = majors[-1]
    yield LB206.finding(
        f"packages target different CUDA majors ({parts})",
        f"use the CUDA {newest} builds of every GPU package (the -cu{newest} / cuda{newest} variants)",
        [Evidence(u.package, u.version, u.how) for u in uses[:6]],
    )


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
        if tb.how == "lock":
            fix = f"install torch=={tb.version.split('+')[0]} without +cpu (the default index bundles CUDA)"
        else:
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
            f"install tensorflow[and-cuda]=={tf.version} instead of tensorflow-cpu" if tf.name == "tensorflow-cpu"
            else "run TensorFlow on linux/amd64 GPU nodes, or use a CUDA build of TensorFlow for this platform",
            [ev_lock("tensorflow-cpu", tf.version), why_gpu],
        )
    jax = ctx.locked("jax")
    if jax is not None:
        has_plugin = any(u.package.startswith(("jax-cuda", "jaxlib")) for u in cuda_uses(ctx))
        if not has_plugin:
            yield LB207.finding(
                f"jax {jax} has no CUDA plugin in the lock (jax-cuda13-plugin or jax-cuda12-plugin), so it runs on the CPU",
                f"install jax[cuda13]=={jax} (or jax[cuda12] for GPUs older than sm_75)",
                [ev_lock("jax", jax), why_gpu],
            )
