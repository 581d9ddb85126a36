"""Node driver and CUDA rules (compat-sources.md sections 2-4): whether the image's CUDA
toolkit can target the GPUs (LB201), whether the node driver runs the image (LB202) and the
CUDA the Python packages bundle (LB204), and one CUDA major among the packages (LB206).
Each rule's declaration sits with its pure check."""

from __future__ import annotations

from collections.abc import Iterator

from launchbuild.compat import cuda, data, requirecuda
from launchbuild.compat.data import ToolkitDriver
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence, Finding, Severity
from launchbuild.core.fixes import Advice, ChangeImageCuda, Fix, InstallVariant, UnifyCuda, UpgradeDriver
from launchbuild.core.rule import GPU_CUDA, Rule
from launchbuild.compat.target import Gpu
from launchbuild.compat.rules._common import (
    TORCH_INDEX,
    major_minor,
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
            Evidence(f"CUDA {major_minor(version)} offline targets", " ".join(f"sm_{s}" for s in sorted(cuda.offline_targets(version) or ())), "data/cuda_archs.json"),
        ] + [Evidence("uses the image's CUDA", u.what, u.how) for u in users[:3]]
        first = cuda.first_toolkit_for(gpu.cc)
        last = cuda.last_toolkit_for(gpu.cc)
        if last is not None and version[:2] > last[:2]:
            image = suggest_image(max_cuda=last[:2])
            fix = ChangeImageCuda(maximum=major_minor(last), example=image or "",
                                  phrase="use an image with CUDA {maximum} or older" + (", e.g. {example}" if image else ""))
        else:
            image = suggest_image(min_cuda=first[:2] if first else None)
            fix = ChangeImageCuda(minimum=major_minor(first) if first else "", example=image or "",
                                  phrase="use an image with CUDA " + ("{minimum}" if first else "newer")
                                  + " or later" + (", e.g. {example}" if image else ""))
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


# The NVIDIA runtime reads NVIDIA_DISABLE_REQUIRE with Go's strconv.ParseBool and takes any other
# value ("yes", "on", " true") as false: the requirement is then checked, so it is checked here too.
_GO_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})


def _disabled(ctx: CheckContext) -> bool:
    env = dict(ctx.image.env) if ctx.image else {}
    return env.get("NVIDIA_DISABLE_REQUIRE", "") in _GO_TRUE


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
    "host does not satisfy ('unsatisfied condition: cuda>=12.1'), nor one whose other "
    "NVIDIA_REQUIRE_* variables (NVIDIA_REQUIRE_DRIVER, NVIDIA_REQUIRE_ARCH; not JETPACK's) it "
    "does not satisfy. Space-separated terms are "
    "alternatives; brand/driver terms hold only through forward compatibility, which works "
    "on data-center GPUs only.",
    "Upgrade the node driver, or use an image built for an older CUDA.",
    ("gpu", "driver", "image"),
    GPU_CUDA,
)


def driver_too_old_for_image(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.image is None or ctx.driver is None or _disabled(ctx):
        return
    yield from _cuda_requirement(ctx)
    yield from _other_requirements(ctx)


def _other_requirements(ctx: CheckContext) -> Iterator[Finding]:
    """The runtime passes every NVIDIA_REQUIRE_* variable but NVIDIA_REQUIRE_JETPACK* to
    nvidia-container-cli, and each must hold (cuda_image.go GetRequirements): an image's
    NVIDIA_REQUIRE_DRIVER or NVIDIA_REQUIRE_ARCH refuses a node as NVIDIA_REQUIRE_CUDA does."""
    img, driver = ctx.image, ctx.driver
    assert img is not None and driver is not None
    dcuda = driver.cuda
    for name, value in sorted(img.env):
        if not name.startswith("NVIDIA_REQUIRE_") or name == "NVIDIA_REQUIRE_CUDA" or name.startswith("NVIDIA_REQUIRE_JETPACK"):
            continue
        ev = ev_image(ctx, "env", f"{name}={value}")
        try:
            req = requirecuda.parse(value, f"{name} of {img.reference}")
        except BadInput as exc:
            yield LB202.finding(f"cannot evaluate the image's requirement: {exc.message}",
                                f"fix {name} in the image, or use another image", [ev], severity=Severity.WARNING)
            continue
        for gpu in ctx.gpus or (None,):
            result = requirecuda.evaluate(req, driver=driver.text, driver_cuda=major_minor(dcuda) if dcuda else "0.0",
                                          arch=major_minor(gpu.cc) if gpu else None)
            if result.satisfied or (cuda.driver_newer_than_data(driver.parts)
                                    and any(c.prop == "cuda" for t in req.clauses for c in t.conditions)):
                continue  # a driver newer than the data: its CUDA is not known (LB211 says so)
            floor = next((c.value for t in req.clauses for c in t.conditions if c.prop == "driver" and c.op in (">=", ">")), "")
            # Which image to use instead, or which GPU, is not in the facts: beside a driver floor, advice.
            fix: tuple[Fix, ...] = ((UpgradeDriver(floor),) if floor else ()) + (
                Advice(f"use an image without this {name}, or run on nodes that meet it"),)
            yield LB202.finding(
                f"driver {driver.text}" + (f" on {gpu.describe()}" if gpu else "")
                + f" does not satisfy {img.reference}'s {name} ({req.text}; unmet: {', '.join(result.unmet)}): "
                "the container will not start",
                fix,
                [ev, ev_driver(ctx)] + ([ev_gpu(ctx, gpu)] if gpu else []),
            )


def _cuda_requirement(ctx: CheckContext) -> Iterator[Finding]:
    img = ctx.image
    assert img is not None and ctx.driver is not None
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
        # Advice only: the image's own label is malformed, and which image should replace it is
        # not something the facts name.
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
            driver_cuda=major_minor(dcuda) if dcuda else "0.0",
            arch=major_minor(gpu.cc) if gpu else None,
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
            fix: tuple[Fix, ...] = (UpgradeDriver(minimum or ""),)
            if dcuda:
                fix += (ChangeImageCuda(maximum=major_minor(dcuda), example=older or "",
                                        phrase="use an image built for CUDA {maximum} or older" + (" (e.g. {example})" if older else "")),)
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
                # Which GPUs the job is scheduled on is the operator's choice, not an option: advice.
                (UpgradeDriver(cuda=img.cuda_version or "", native=True), Advice("run on data-center GPUs")),
                evidence + [Evidence("GPU class", "consumer/workstation" if consumer else "unknown", "data/gpus.json")],
                severity=Severity.ERROR if consumer else Severity.WARNING,
            )


# ---- LB204 -------------------------------------------------------------------------------


def _driver_runs_major(ctx: CheckContext, major: int) -> bool:
    """Minor-version compatibility: any X.y runtime runs on a driver >= the X.x minimum."""
    minimum = cuda.minor_compat_minimum(major)
    dcuda = ctx.driver.cuda if ctx.driver else None
    return minimum is not None and ctx.driver is not None and ctx.driver.at_least(minimum[0]) and dcuda is not None and dcuda[0] >= major


def _pre_minor_compat_need(major: int, minors: list[int | None]) -> ToolkitDriver | None:
    """Before CUDA 11 there is no minor-version compatibility (compat-sources.md section 2.1):
    a CUDA 10.2 runtime needs the 10.2 toolkit's own driver (>= 440.33), so the highest Table 3
    row among the minors the packages name; a package that names no minor is held to its
    major's first release (a floor, never more than is known). None for a major that has
    minor-version compatibility, or that the table lacks."""
    if cuda.minor_compat_minimum(major) is not None:
        return None
    rows = []
    for minor in minors:
        row = cuda.toolkit_driver((major, minor)) if minor is not None else None
        if row is None:
            row = next((r for r in data.toolkit_drivers() if r.cuda[0] == major), None)
        if row is not None:
            rows.append(row)
    return max(rows, key=lambda r: data.version_cmp_key(r.driver)) if rows else None


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
    "compatibility: 11.x >= 450.80.02, 12.x >= 525.60.13, 13.x >= 580). Before CUDA 11 there "
    "is none: a 10.2 runtime needs the 10.2 driver (>= 440.33). PTX JIT is not "
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
        exact = _pre_minor_compat_need(major, [u.minor for u in uses])
        if exact is not None:
            # CUDA 10.x and older: the runtime needs its own toolkit's driver ("The NVIDIA driver
            # on your system is too old (found version 10010)" for a cu102 torch on R418).
            if ctx.driver.at_least(exact.driver):
                continue
            minimum = (exact.driver, exact.driver_text)
        elif minimum is None:
            continue
        elif _driver_runs_major(ctx, major):
            continue
        names = ", ".join(f"{u.package} {u.version}" for u in uses[:4]) + (" ..." if len(uses) > 4 else "")
        first = uses[0]
        fix: tuple[Fix, ...] = (UpgradeDriver(minimum[1], cuda=cuda.cuda_text(exact.cuda[:2]) if exact is not None else f"{major}.x"),)
        tb = torch_build(ctx)
        if first.package == "torch" and tb is not None and dcuda is not None:
            release = data.torch_releases().get(tb.minor)
            options = [
                v for v in (release.variants if release else ())
                if _driver_runs_major(ctx, (cuda.variant_cuda(v) or (99, 0))[0])
            ]
            if options:
                fix += (InstallVariant("torch", variant=options[-1], index=TORCH_INDEX.format(variant=options[-1]),
                                       phrase="install torch from {index}"),)
        elif dcuda is not None:
            fix += (UnifyCuda(dcuda[0], tuple(u.package for u in uses), phrase="use packages built for CUDA {major}"),)
        yield LB204.finding(
            f"driver {ctx.driver.text} "
            + (f"supports CUDA {major_minor(dcuda)}" if dcuda else "predates CUDA 10")
            + f", but {names} bundle{'s' if len(uses) == 1 else ''} CUDA {major}"
            + (f".{first.minor}" if first.minor is not None else "")
            + f", which needs driver >= {minimum[1]}",
            fix,
            [ev_driver(ctx)]
            + [Evidence(u.package, u.version + ("" if u.how == "lock" else f" (CUDA {u.major}.{u.minor})"), u.how) for u in uses[:4]]
            + [Evidence(f"CUDA {cuda.cuda_text(exact.cuda[:2])} toolkit driver (no minor-version compatibility before CUDA 11)", minimum[1],
                        "data/cuda_drivers.json (Table 3)") if exact is not None
               else Evidence(f"CUDA {major}.x minimum driver", minimum[1], "data/cuda_drivers.json (minor-version compatibility)")],
        )
    for package, version, built_cuda, gpu in _ptx_users(ctx):
        row = cuda.toolkit_driver(built_cuda)
        if row is None or ctx.driver.at_least(row.driver):
            continue
        yield LB204.finding(
            f"{package} {version} reaches {gpu.describe()} only through PTX built with CUDA {major_minor(built_cuda)}; "
            f"driver {ctx.driver.text} is older than {row.driver_text}, so the JIT may fail with "
            "'the provided PTX was compiled with an unsupported toolchain'",
            UpgradeDriver(row.driver_text),
            [ev_driver(ctx), ev_lock(package, version), ev_gpu(ctx, gpu),
             Evidence(f"CUDA {major_minor(built_cuda)} toolkit driver", row.driver_text, "data/cuda_drivers.json (Table 3)")],
            severity=Severity.WARNING,
        )


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
        UnifyCuda(newest, tuple(dict.fromkeys(u.package for u in uses if u.major != newest))),
        [Evidence(u.package, u.version, u.how) for u in uses[:6]],
    )
