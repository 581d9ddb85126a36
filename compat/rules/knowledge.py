"""What the tables do not know is a finding (LB211), and the per-GPU driver floor (LB212).

A rule that lacks a fact skips its check; LB211 then says which fact is missing, where it
would come from and how to get it, so a gap in the data never reads as a pass. `--strict`
makes these warnings failures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from launchbuild.compat import cuda, data, measured
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence, Finding, Severity
from launchbuild.core.fixes import Advice, Fix, PinPackage, RefreshData, ReplacePackage, SetOption, UpgradeDriver
from launchbuild.core.rule import GPU_CUDA, Rule
from launchbuild.compat.measured import MACHINE
from launchbuild.compat.rules._common import (
    cuda_uses, ev_driver, ev_gpu, ev_image, ev_lock, image_cuda, image_cudnn, system_cudnn_needs, tf_build, torch_build,
)

REFRESH = "launchbuild data refresh"
_CUPY_NAME = re.compile(r"^cupy-cuda\d")
_JAX_PLUGIN = re.compile(r"^jax-cuda\d+-(?:plugin|pjrt)$")


def _age(table: str) -> Evidence:
    return Evidence(f"data/{table}.json", f"checked {data.table_checked(table)}", "launchbuild data")


def _version(text: str | None) -> tuple[int, ...] | None:
    try:
        return data.parse_version(text.split("-")[0]) if text else None
    except ValueError:
        return None


def _unknown(what: str, fix: str | Fix | tuple[Fix, ...], evidence: list[Evidence]) -> Finding:
    return LB211.finding(what, fix, evidence)


def _measure(package: str, phrase: str = "run `{command}`") -> RefreshData:
    """The refresh that measures which GPUs `package`'s wheels have kernels for."""
    return RefreshData(("--only", "pypi", "--only", "archs", "--package", package), phrase)


LB211 = Rule(
    "LB211",
    Severity.WARNING,
    "A compatibility fact the check needs is not known",
    "When the data has no row for a release, variant, driver, image or distribution, the rule that "
    "needs it cannot decide. Instead of passing silently, this names the missing fact, the table it "
    "belongs in and its date. A base image that nothing could read (no engine holds it, its registry "
    "does not answer, or --offline without a cached sheet) is checked on facts guessed from its tag: "
    "this says so too. --strict makes it a failure.",
    "Refresh the data (`launchbuild data refresh`), pass the fact explicitly, or pin something the data covers.",
    ("data", "gpu", "image"),
    GPU_CUDA,
)


def _within_newest_row(ctx: CheckContext) -> bool:
    """Every CUDA the job needs (the image's, each locked package's) is known and no newer than the
    newest toolkit row: a driver newer than that row's runs all of them, so nothing went unjudged."""
    newest = cuda.newest_known_driver().cuda[:2]
    needs: list[tuple[int, int | None]] = []
    img = image_cuda(ctx)
    if ctx.image is not None and ctx.image.cuda_version and img is None:
        return False  # a CUDA the image names that could not be read
    if img is not None:
        needs.append((img[0], img[1] if len(img) > 1 else None))
    needs += [(u.major, u.minor) for u in cuda_uses(ctx)]
    return all(major < newest[0] or (minor is not None and (major, minor) <= newest) for major, minor in needs)


def unknown_facts(ctx: CheckContext) -> Iterator[Finding]:
    machine = MACHINE.get(ctx.platform, "x86_64")
    for gpu in ctx.gpus:
        if getattr(gpu, "inferred_from", ""):
            yield _unknown(
                f"{gpu.name} is not in data/gpus.json: its compute capability ({gpu.sm}) and GPU class were "
                f"inferred from the models of its family that the table lists ({gpu.inferred_from}), so every GPU "
                "verdict for it rests on that inference",
                # Adding the model to the hand-kept table takes its datasheet: a person's step.
                (SetOption("gpu", gpu.sm, phrase="pass its compute capability instead (--gpu {value} if that is right)"),
                 Advice("add the model to data/gpus.json")),
                [Evidence("gpu", gpu.describe(), "inferred from its family"), _age("gpus")],
            )
    img = ctx.image
    if img is not None and img.provider == "inferred":
        # Nothing could read the image (no engine holds it, its registry did not answer, or
        # --offline): every image fact the rules used is a guess from its name, and tags are
        # mutable. A check that passes on those guesses has not checked the image.
        missing = [name for name, value in (("architecture", img.architecture), ("digest", img.digest)) if not value]
        yield _unknown(
            f"the facts of {img.reference} were not read, only guessed from its tag: its OS, CUDA and Pythons are what "
            "the name says" + (f", and its {' and '.join(missing)} are not known" if missing else "")
            + ", so the image checks (LB101-LB105, LB201, LB202, LB208-LB210) judged a guess, not the image",
            "let the check read the image (a Docker engine that holds it, or a registry that answers), then check again",
            [Evidence("image", img.reference, "inferred from the tag"),
             *(Evidence(f"provider {name}", why, "not read") for name, why in img.attempts if name != "inferred")],
        )
    if ctx.image_job and ctx.lock is None and img is not None and (ctx.gpus or ctx.driver is not None) \
            and (img.pythons or "pythons" not in dict(img.fact_sources)):
        # The image's packages could not be read (a layer that did not stream, facts inferred from
        # a tag): the GPU and driver rules over them (LB203, LB204, ...) had nothing to judge.
        yield _unknown(
            f"what {img.reference} installs is not known (its layers were not read: {img.source_of('pythons')}), "
            "so its packages were not checked against the GPU and driver",
            "let the check read the image's layers (the local engine holds it, or its registry answers), then check again",
            [Evidence("image", img.reference, img.provider)],
        )
    if ctx.gpus and ctx.lock is not None:
        tb = torch_build(ctx)
        if tb is not None and not tb.cpu_only and tb.arch_build() is None:
            yield _unknown(
                f"which GPUs torch {tb.version} ({tb.variant or 'unknown variant'}, {machine}) has kernels for is not known, "
                "so LB203 could not check it",
                (_measure("torch", "run `{command}` to measure the wheel"),
                 PinPackage("torch", phrase="pin a torch release with a +cuXYZ variant that data/torch.json lists")),
                [ev_lock("torch", tb.version), Evidence("torch variant", tb.variant or "unknown", tb.how), _age("wheel_archs"), _age("torch")],
            )
        tf = tf_build(ctx)
        if tf is not None and not tf.cpu_only and tf.arch_build() is None:
            yield _unknown(
                f"which GPUs tensorflow {tf.version} has kernels for is not known, so LB203 could not check it",
                _measure("tensorflow"),
                [ev_lock(tf.name, tf.version), _age("tensorflow"), _age("wheel_archs")],
            )
    if ctx.gpus and ctx.lock is not None:
        # Packages with CUDA kernels of their own: those the pipeline measures (vllm, xformers,
        # bitsandbytes, ...) and those that compile them at install (flash-attn, apex, ...). A
        # release no row measured may lack the GPU ("FlashAttention only supports Ampere GPUs or
        # newer", vllm wheels without sm_120); torch and TensorFlow are named above.
        kernel_packages = (measured.measured_packages() | set(data.nvcc_needs())) - {"torch", "tensorflow", "tensorflow-cpu"}
        for name in sorted(kernel_packages):
            version = ctx.locked(name)
            if version is None:
                continue
            m = measured.archs(name, version, ctx.platform, ctx.measurements)
            if m is not None:
                found = _measured_gap(name, version, m, ctx)
                if found is not None:
                    yield found
                continue
            measurable = name in measured.measured_packages()
            yield _unknown(
                f"which GPUs {name} {version} has kernels for is not known (no measurement of its {machine} "
                + ("wheel" if measurable else "build: it compiles them at install") + "), "
                f"so whether it runs on {', '.join(g.describe() for g in ctx.gpus)} was not checked",
                (_measure(name, "run `{command}` to measure it"), PinPackage(name, phrase="pin a measured release"))
                # A package that compiles its kernels at install cannot be measured: a person reads its docs.
                if measurable else f"check {name}'s supported GPU generations before running it on this GPU",
                [ev_lock(name, version), *(ev_gpu(ctx, g) for g in ctx.gpus), _age("wheel_archs")],
            )
    if ctx.lock is not None:
        # CuPy's binary packages name the CUDA they load from the system (cupy-cuda117: CUDA 11.7,
        # cupy-cuda12x: 12.x); one the table does not list would otherwise read as CUDA-free.
        cupy = data.cupy_cuda_majors()
        for p in ctx.lock.packages:
            if _CUPY_NAME.match(p.name) and p.name not in cupy:
                yield _unknown(
                    f"{p.name} {p.version} loads CUDA from the system, but data/jax_cupy.json does not list it: which "
                    "CUDA and GPUs it needs was not checked",
                    # Adding a package to the refresh's list is an edit to the code: a person's step.
                    (Advice(f"add {p.name} to PACKAGES in launchbuild/refresh/pypi.py and run `{REFRESH} --only pypi "
                            f"--package {p.name}` then `{REFRESH} --only frameworks`"),
                     ReplacePackage(p.name, "cupy-cuda12x", "use cupy-cuda12x or cupy-cuda13x instead")),
                    [ev_lock(p.name, p.version), _age("jax_cupy")],
                )
    # The next findings are advice only: the missing rows come from NVIDIA's release notes or a
    # newer checkout of its images repository, which a person reads; a refresh cannot invent them.
    for gpu in ctx.gpus:
        if cuda.first_toolkit_for(gpu.cc) is None:
            yield _unknown(
                f"no CUDA release in the data compiles for {gpu.describe()}; its toolkit, kernel and driver checks are guesses",
                f"add its compute capability to data/cuda_archs.json from NVIDIA's release notes, then `{REFRESH} --check`",
                [ev_gpu(ctx, gpu), _age("cuda_archs")],
            )
    if ctx.driver is not None and cuda.driver_newer_than_data(ctx.driver.parts) and not _within_newest_row(ctx):
        newest = cuda.newest_known_driver()
        yield _unknown(
            f"driver {ctx.driver.text} is newer than the data (newest row: CUDA {cuda.cuda_text(newest.cuda)} with driver "
            f"{newest.driver_text}): which CUDA it supports beyond {cuda.cuda_text(newest.cuda[:2])} is not known, so "
            "requirements above that were not judged",
            "add the CUDA release that ships this driver to data/cuda_drivers.json (NVIDIA's CUDA release notes, Table 3), "
            f"then `{REFRESH} --check`",
            [ev_driver(ctx), _age("cuda_drivers")],
        )
    img_cuda = image_cuda(ctx)
    toolkit = _version(img.cuda_toolkit_version) if img is not None else None
    if img is not None and img_cuda is not None and toolkit is not None and toolkit[:2] != img_cuda[:2]:
        # CUDA_VERSION is what the rules (and the NVIDIA runtime's requirement) go by; a toolkit
        # installed over it (another release in /usr/local/cuda) is what nvcc and its libraries are.
        yield _unknown(
            f"{img.reference} says CUDA {img.cuda_version} (CUDA_VERSION), but its toolkit's version file says "
            f"{img.cuda_toolkit_version}: the checks went by {cuda.cuda_text(img_cuda[:2])}, and whatever compiles with "
            f"or loads the image's own toolkit gets {cuda.cuda_text(toolkit[:2])}",
            "set CUDA_VERSION to the toolkit the image has, or use an image whose toolkit is the one it names",
            [ev_image(ctx, "cuda_version", img.cuda_version), ev_image(ctx, "cuda_toolkit_version", img.cuda_toolkit_version)],
        )
    if img is not None and img_cuda is not None:
        if cuda.toolkit_driver(img_cuda) is None:
            yield _unknown(
                f"the minimum driver of CUDA {img.cuda_version} ({img.reference}) is not in the data, so the driver checks "
                "cannot say which driver it needs",
                "add that CUDA release to data/cuda_drivers.json from NVIDIA's release notes (Table 3), or use an image "
                "whose CUDA the data knows",
                [ev_image(ctx, "cuda_version", img.cuda_version), _age("cuda_drivers")],
            )
        if img.provider == "inferred" and not img.require_cuda and img.reference.startswith(("nvidia/cuda:", "nvcr.io/nvidia/cuda:")):
            yield _unknown(
                f"NVIDIA_REQUIRE_CUDA of {img.reference} is not in the data (version, OS flavour or architecture missing); "
                f"assumed cuda>={cuda.cuda_text(img_cuda[:2])} without forward-compatibility branches",
                f"let the check read the image (a Docker engine or registry), or run `{REFRESH} --only nvidia-images "
                "--nvidia-dockerfiles DIR` with a newer checkout of NVIDIA's container-images repository",
                [ev_image(ctx, "cuda_version", img.cuda_version), _age("nvidia_cuda_images")],
            )
        cudnn = image_cudnn(ctx)
        if cudnn is not None and cudnn[1] is None and ctx.lock is not None:
            # Every package that loads the image's cuDNN (LB209 skips an unknown minor): a
            # TensorFlow the table has no release for has no known minimum, so it is open too.
            wants: list[tuple[str, tuple[int, int] | None]] = [
                (f"{n.package} {n.version}", n.minimum) for n in system_cudnn_needs(ctx)]
            tf = tf_build(ctx)
            if tf is not None and not tf.and_cuda and not tf.cpu_only and tf.release() is None:
                wants.append((f"{tf.name} {tf.version}", None))
            for who, want in wants:
                # A known major decides it: another major is LB209's error, and the same major meets
                # an X.0 minimum whatever its minor (a '-cudnn8-' tag for TensorFlow 2.4's cuDNN 8.0).
                if want is not None and cudnn[0] and (int(cudnn[0]) != want[0] or want[1] == 0):
                    continue
                yield _unknown(
                    f"{img.reference} has cuDNN {'of unknown version' if not cudnn[0] else cudnn[0]}; whether it is new "
                    f"enough for {who}" + (f" (cuDNN {want[0]}.{want[1]} or newer)" if want else "") + " is not known",
                    "let the check read the image (its NV_CUDNN_VERSION), or use a tag the data knows",
                    [ev_image(ctx, "cudnn_version", img.cudnn_version or ""), _age("nvidia_cuda_images")],
                )
    if img is not None and ctx.accelerator_image and img.debian_compatible is None and img.has_apt is None:
        # The probe or layer walk could not tell the OS or apt-get (no /bin/sh, a probe past its
        # time): LB101 and LB102 could not decide, and the build's apt-get may not be there.
        yield _unknown(
            f"whether {img.reference} has apt-get, and which OS it is, is not known "
            f"({img.source_of('has_apt')}), so LB101 and LB102 could not check it",
            "let the check read the image's files (a Docker engine that can run it, or its registry), or use a "
            "Debian/Ubuntu-based accelerator image",
            [ev_image(ctx, "os_id", img.os_id), ev_image(ctx, "has_apt", None)],
        )
    # Any Debian-compatible image: a derivative (ID=linuxmint, ID_LIKE=ubuntu) or one with only
    # /etc/debian_version has no row in the table either, and LB102 cannot decide for it.
    elif img is not None and ctx.accelerator_image and ctx.python is not None and img.apt_pythons is None \
            and img.debian_compatible is not False and data.apt_pythons(img.os_id, img.os_version, img.os_codename) is None:
        release = " ".join(x for x in (img.os_id, img.os_version or img.os_codename) if x) or "an unnamed release"
        yield _unknown(
            f"which Pythons apt offers on {release} ({img.reference}) is not known, so LB102 could not check Python "
            f"{ctx.python.value}",
            f"let the check read the image (a Docker engine or registry), or add the release to "
            f"launchbuild/refresh/distros.py and run `{REFRESH} --only distros`",
            [ev_image(ctx, "os_version", release), _age("distro_pythons")],
        )
    if img is not None and not ctx.accelerator_image and not img.pythons and ctx.python is not None \
            and "pythons" not in dict(img.fact_sources):
        # A Python base image or an image job whose files could not be read: LB102 cannot tell
        # whether the image has the Python the job runs with.
        yield _unknown(
            f"which Pythons {img.reference} has is not known ({img.source_of('pythons')}), so LB102 could not "
            f"check Python {ctx.python.value}",
            "let the check read the image's files (a Docker engine that can run it, or its registry)",
            [ev_image(ctx, "pythons", None)],
        )


def _measured_gap(name: str, version: str, m: measured.ArchMeasurement, ctx: CheckContext) -> Finding | None:
    """A measured wheel of a package no GPU rule reads (vllm, xformers, bitsandbytes, onnxruntime-gpu,
    torchvision, ...): the measurement settles the GPUs only when the library it read has code that
    runs on each of them. A row without GPU code in a CUDA-named wheel (no fatbin found), or a library
    that lacks a target GPU, leaves the question open: the one library read may not be the one the job
    loads (vllm's smallest is FlashMLA, Hopper and Blackwell only), so it is unknown, never a pass.
    JAX's plugins are judged by LB203 and a CPU-only wheel has nothing to run on the GPU."""
    if m.cpu_only or _JAX_PLUGIN.match(name):
        return None
    machine = MACHINE.get(ctx.platform, "x86_64")
    of = f" of {m.measured_version}" if m.measured_version else ""
    source = f"{m.source_table}, checked {m.checked}"
    if not m.has_cuda_code:
        what = (f"the measurement of {name}'s {machine} wheel{of} found no GPU code in the libraries it read, "
                f"so which GPUs {name} {version} has kernels for is not known and whether it runs on "
                f"{', '.join(g.describe() for g in ctx.gpus)} was not checked")
        evidence = [ev_lock(name, version), Evidence(f"{name} GPU code", "none found in the libraries read", source)]
    else:
        missing = [g for g in ctx.gpus if cuda.runs_on(m.build, g.cc) is None]
        if not missing:
            return None
        what = (f"the one library measured in {name}'s {machine} wheel{of} ({m.member}) has code for "
                f"{m.build.describe()}, none of which runs on {', '.join(g.describe() for g in missing)}; whether "
                f"{name} {version}'s other libraries do was not measured, so it was not checked")
        evidence = [ev_lock(name, version), Evidence(f"{name} kernels ({m.member})", m.build.describe(), source)]
    return _unknown(
        what,
        # Which of the package's libraries the job loads is its own business: a person checks its docs.
        f"check {name}'s supported GPU generations before running it on this GPU",
        evidence + [*(ev_gpu(ctx, g) for g in ctx.gpus), _age("wheel_archs")],
    )


LB212 = Rule(
    "LB212",
    Severity.ERROR,
    "Node driver older than the GPU",
    "A driver released before a GPU architecture cannot drive it (an H100 on driver 470): no "
    "container starts on it. The floor is the driver of the last CUDA release before the first "
    "one that compiles for the GPU (data/cuda_archs.json and data/cuda_drivers.json); a driver of a "
    "branch between those two releases, which no toolkit shipped with (R565 before CUDA 12.8), "
    "predates the GPU too.",
    "Upgrade the node driver to one that supports the GPU.",
    ("gpu", "driver"),
    GPU_CUDA,
)


def driver_older_than_gpu(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.driver is None:
        return
    for gpu in ctx.gpus:
        floor = cuda.arch_minimum_driver(gpu.cc)
        if floor is None:
            continue
        minimum, text, first = floor
        first_row = cuda.toolkit_driver(first)
        need = first_row.driver_text if first_row else f"a CUDA {cuda.cuda_text(first[:2])} driver"
        if ctx.driver.at_least(minimum):
            # The last pre-architecture toolkit's own branch may carry early support (R515 ran
            # H100 before CUDA 11.8). A branch no toolkit shipped with, between that one and the
            # architecture's first toolkit (R565 before CUDA 12.8's R570), predates the GPU.
            between = first_row is not None and minimum[0] < ctx.driver.major < first_row.driver[0]
            if not between:
                if first_row is not None and ctx.driver.major < first_row.driver[0]:
                    # That early support is per GPU and per point release (R515 drove H100, R560
                    # drives no Blackwell), and no table here says which: an unknown, not a pass.
                    yield _unknown(
                        f"driver {ctx.driver.text} is of the branch of {text}, the last CUDA release before {gpu.sm}'s "
                        f"first ({cuda.cuda_text(first[:2])}): whether it drives {gpu.describe()} early is not in "
                        "launchbuild's data",
                        UpgradeDriver(need, cuda=cuda.cuda_text(first[:2])),
                        [ev_driver(ctx), ev_gpu(ctx, gpu),
                         Evidence(f"first CUDA for {gpu.sm}", cuda.cuda_text(first[:2]), "data/cuda_archs.json"),
                         Evidence(f"CUDA {cuda.cuda_text(first[:2])} driver", need, "data/cuda_drivers.json")],
                    )
                continue
            yield LB212.finding(
                f"driver {ctx.driver.text} predates {gpu.describe()}: its branch is newer than {text} (the driver of the "
                f"last CUDA release before {gpu.sm}) but older than {need}, the driver of CUDA {cuda.cuda_text(first[:2])}, "
                "the first release for it",
                UpgradeDriver(need),
                [ev_driver(ctx), ev_gpu(ctx, gpu),
                 Evidence(f"first CUDA for {gpu.sm}", cuda.cuda_text(first[:2]), "data/cuda_archs.json"),
                 Evidence(f"CUDA {cuda.cuda_text(first[:2])} driver", need, "data/cuda_drivers.json")],
            )
            continue
        yield LB212.finding(
            f"driver {ctx.driver.text} predates {gpu.describe()}: its architecture arrived with CUDA "
            f"{cuda.cuda_text(first[:2])}, and drivers older than {text} (the last release before it) do not support it",
            UpgradeDriver(need),
            [ev_driver(ctx), ev_gpu(ctx, gpu),
             Evidence(f"first CUDA for {gpu.sm}", cuda.cuda_text(first[:2]), "data/cuda_archs.json"),
             Evidence("last driver before it", text, "data/cuda_drivers.json")],
        )


LB213 = Rule(
    "LB213",
    Severity.WARNING,
    "End-of-life target Python",
    "CPython releases get security fixes for five years (python/peps python-releases.toml); "
    "after that, new wheels stop appearing and fixes never come. W&B runs made on such a Python "
    "still produce jobs, so it is accepted, with this warning.",
    "Move the job to a supported Python.",
    ("python",),
    GPU_CUDA,
)


def end_of_life_python(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.python is None:
        return
    py = ctx.python.value
    first, eol = data.cpython_releases().get(py, (None, None))
    if not eol:
        return
    today = ctx.today
    if eol > today[:len(eol)]:
        return
    # Supported: released by today (not the version in development, which --python refuses) and not past its end.
    supported = [v for v, (_f, e) in data.released_cpythons(today).items() if e and e > today[:len(e)]]
    # The typed value is the oldest supported Python (the smallest move); the text lists them all.
    # None supported by the data: advice only.
    yield LB213.finding(
        f"Python {py} reached its end of life in {eol}",
        SetOption("python", supported[0], phrase=f"target a supported Python ({', '.join(supported)})") if supported
        else "target a supported Python",
        [Evidence("target python", py, ctx.python.describe()), Evidence(f"Python {py} end of life", eol, f"data/cpython.json (checked {data.table_checked('cpython')})")],
    )


# Measured tables older than this are worth a refresh: PyPI ships new torch/CUDA wheels monthly.
STALE_DAYS = 120


LB214 = Rule(
    "LB214",
    Severity.INFO,
    "Age of the compatibility data",
    "States how old the tables behind the GPU verdicts are: the measured ones (PyPI wheels, their "
    "kernels, NVIDIA's images) and the oldest hand-kept one. A warning when the measured tables "
    f"are more than {STALE_DAYS} days old.",
    "Run `launchbuild data refresh` (docs/data.md).",
    ("data",),
    GPU_CUDA,
)


def data_age(ctx: CheckContext) -> Iterator[Finding]:
    if not ctx.targets_gpu:
        return
    measured_tables = ("pypi_wheels", "wheel_archs", "nvidia_cuda_images")
    manual_tables = ("cuda_drivers", "gpus", "torch", "tensorflow", "jax_cupy", "cuda_archs")
    dates = {t: data.table_checked(t) for t in (*measured_tables, *manual_tables)}
    newest = min(dates[t] for t in measured_tables)
    oldest_manual = min(manual_tables, key=lambda t: dates[t])
    try:
        age = (_date(ctx.today) - _date(newest)).days
    except ValueError:
        age = None
    stale = age is not None and age > STALE_DAYS
    yield LB214.finding(
        f"compatibility data: measured tables checked {newest}" + (f" ({age} days ago)" if age is not None else "")
        + f"; oldest hand-kept table data/{oldest_manual}.json checked {dates[oldest_manual]}",
        # Fresh data: nothing to act on, so the text is a note, not a fix.
        RefreshData(phrase="run `{command}` to measure newer releases") if stale
        else "nothing to do; `launchbuild data refresh` updates it",
        [Evidence(f"data/{t}.json", f"checked {d}", "launchbuild data") for t, d in dates.items()],
        severity=Severity.WARNING if stale else Severity.INFO,
    )


def _date(iso: str):
    """A date from its ISO text (pure arithmetic; ValueError when it is not one)."""
    from datetime import date

    return date.fromisoformat(iso)
