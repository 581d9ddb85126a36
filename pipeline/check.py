"""Check: facts (the base image, the GPUs, the locked environment, the source scan) and the
rules over them -> a `Report`. Returns frozen values; never prints (progress goes through
`progress.Progress`)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.options import Options
from launchbuild.pipeline.prepare import Prepared, job_label, python_inputs, source_root
from launchbuild.progress import Progress
from launchbuild.report.model import Report, TargetSummary
from launchbuild.resolver.model import ResolveResult

if TYPE_CHECKING:
    from launchbuild.compat.target import DriverVersion, Gpu
    from launchbuild.resolver.api import ResolveOptions
    from launchbuild.resolver.metadata import RunMetadata


@dataclass(frozen=True)
class Checked:
    """A checked job: its report, and what the build needs from the check."""

    report: Report
    prepared: Prepared
    base_image: str
    facts: ImageFacts | None
    environment: ResolveResult | None


def inspect(ref: str, *, platform: str, offline: bool, progress: Progress) -> tuple[ImageFacts | None, str | None]:
    """Facts, or why the image could not be read (LB104). Unreachable infra propagates."""
    from launchbuild.compat.facts.inspect import ImageNotFound, inspect_image

    with progress.phase(f"inspecting {ref}"):
        try:
            return inspect_image(ref, platform=platform, offline=offline), None
        except ImageNotFound as exc:
            return None, str(exc)


def gpus(options: Options, run_metadata: RunMetadata | None) -> tuple[
        tuple[Gpu, ...], tuple[Sourced[str], ...], DriverVersion | None, Sourced[str] | None]:
    """(parsed GPUs, their names as given, the parsed driver, the driver as given)."""
    from launchbuild.compat.target import parse_driver, parse_gpu

    names: list[Sourced[str]] = []
    gpu_opt = options.values["gpu"]
    driver_opt = options.sourced("driver")
    if gpu_opt.value:
        if [g.lower() for g in gpu_opt.value] == ["auto"]:
            from launchbuild.compat.facts.nvml import local_gpus

            found, nvml_driver = local_gpus()
            names = [Sourced(n, Origin.INFERRED, "NVML") for n in found]
            if driver_opt is None and nvml_driver:
                driver_opt = Sourced(nvml_driver, Origin.INFERRED, "NVML")
        elif "auto" in (g.lower() for g in gpu_opt.value):
            # Not a GPU model ("did you mean DRIVE PX 2 AutoChauffeur?"): NVML's list or names, not both.
            from launchbuild.errors import BadInput

            where = _where(Sourced("", gpu_opt.origin, gpu_opt.detail), "gpu", options)
            raise BadInput(f"{where}: 'auto' reads every GPU of this host from NVML and cannot be combined with "
                           f"named GPUs ({', '.join(g for g in gpu_opt.value if g.lower() != 'auto')})",
                           hint="pass --gpu auto alone, or only GPU names")
        else:
            names = [Sourced(g, gpu_opt.origin, gpu_opt.detail) for g in gpu_opt.value]
    elif run_metadata is not None and run_metadata.gpu:
        names = [Sourced(run_metadata.gpu, Origin.RUN_METADATA, run_metadata.path)]
    # A bad value is named where it came from: the flag, the variable, the file and its key.
    parsed = tuple(parse_gpu(s.value, _where(s, "gpu", options)) for s in names)
    driver = parse_driver(driver_opt.value, _where(driver_opt, "driver", options)) if driver_opt is not None else None
    return parsed, tuple(names), driver, driver_opt


def _where(value: Sourced[str], name: str, options: Options) -> str:
    if value.origin is Origin.INFERRED:
        return f"{name} from {value.detail or 'the host'}"
    if value.origin is Origin.RUN_METADATA:
        return f"{value.detail}: {name}"
    return options.where(name)


def resolve_options_for(prepared: Prepared, *, requirements: Path | None, extras: Sequence[str],
                        **more: Any) -> ResolveOptions:
    """The resolver's options from the prepared job's options (shared by check and resolve)."""
    from launchbuild.resolver.api import ResolveOptions
    from launchbuild.resolver.sandbox import SandboxOptions

    options = prepared.options
    explicit, _ = python_inputs(prepared.job)
    base = dict(
        requirements=requirements,
        frozen=prepared.explicit_frozen,
        extras=tuple(extras) or tuple(options["extra"] or ()),
        groups=tuple(options["group"] or ()),
        python=explicit,
        platform=options["platform"],
        backend=options["resolver"],
        offline=bool(options["offline"]),
        torch_index_url=options["torch-index-url"],
        allowed_index_hosts=_index_hosts(options),
        sandbox=SandboxOptions(image=options["build-sandbox-image"], host_builds=bool(options["host-builds"])),
    )
    return ResolveOptions(**{**base, **more})


def _index_hosts(options: Options) -> frozenset[str] | None:
    """The operator's `allow-index-host` list (None: any host), checked before any connection."""
    from launchbuild.resolver.index_hosts import allowed_hosts

    chosen = options.values["allow-index-host"]
    return allowed_hosts(chosen.value, chosen.describe())


def check(
    prepared: Prepared,
    *,
    requirements: Path | None,
    extras: Sequence[str],
    is_build: bool,
    progress: Progress,
) -> Checked:
    from launchbuild.compat.catalog import evaluate, normalize_ignore
    from launchbuild.compat.context import CheckContext
    from launchbuild.compat.facts.ondemand import measure_locked
    from launchbuild.compat.facts.source_scan import scan_source
    from launchbuild.core.platform import parse_platform
    from launchbuild.resolver.api import resolve, select_target
    from launchbuild.resolver.metadata import read_run_metadata

    started = time.perf_counter()
    job, options, source_dir = prepared.job, prepared.options, prepared.source_dir
    normalize_ignore(options["ignore"], options.where("ignore"))  # bad input before any slow work
    platform_s = options.values["platform"]
    platform = parse_platform(platform_s.value, options.where("platform"))
    offline = bool(options["offline"])
    run_metadata = read_run_metadata(job.run_metadata) if job.run_metadata else None
    parsed_gpus, gpu_names, driver, driver_s = gpus(options, run_metadata)

    accelerator = job.accelerator_base_image
    facts: ImageFacts | None = None
    image_error: str | None = None
    image_pythons: tuple[str, ...] = ()
    fixed_inspected = False  # a Python base image named outright is read once, here
    if accelerator is not None:
        facts, image_error = inspect(accelerator.value, platform=platform, offline=offline, progress=progress)
        image_pythons = facts.pythons if facts else ()
    elif job.builds_image:
        fixed = (job.python_base_image.value if job.python_base_image else options["python-base-image"]) or ""
        if "{python}" not in fixed:
            # A Python base image named outright: its own Python decides a requires-python range.
            facts, image_error = inspect(fixed, platform=platform, offline=offline, progress=progress)
            image_pythons = facts.pythons if facts else ()
            fixed_inspected = True

    explicit, runtime = python_inputs(job)
    resolve_options = resolve_options_for(prepared, requirements=requirements, extras=extras, platform=platform,
                                          glibc=facts.glibc if facts else None, image_pythons=image_pythons)
    environment: ResolveResult | None = None
    python: Sourced[str] | None
    if job.builds_image:
        _, python = select_target(source_dir, job, resolve_options)
        if accelerator is None:
            # Without an accelerator image, Python comes with a Python base image of the
            # target's version; its glibc decides which wheels the lock may use.
            template = job.python_base_image or Sourced(options["python-base-image"], Origin.DEFAULT)
            base = Sourced(template.value.replace("{python}", python.value), template.origin, template.detail)
            if not fixed_inspected:  # a template: the image is known only now that Python is
                facts, image_error = inspect(base.value, platform=platform, offline=offline, progress=progress)
            if facts is not None and facts.glibc:
                resolve_options = replace(resolve_options, glibc=facts.glibc)
        else:
            base = accelerator
        with progress.phase("resolving the environment"):
            environment = resolve(source_dir, job, replace(resolve_options, python=python))
        source = scan_source(source_dir, job.entrypoint.value if job.entrypoint else None) if source_dir else None
    else:
        base = Sourced(job.source.image, Origin.JOB_SPEC if job.spec_path else Origin.FLAG)  # type: ignore[union-attr]
        python = explicit or runtime
        facts, image_error = inspect(base.value, platform=platform, offline=offline, progress=progress)
        source = None
        # The image's own environment: a launchbuild image's lock label, checked like the job.
        from launchbuild.compat.facts.image_env import built_image_environment

        environment, image_python = built_image_environment(facts, python=python.value if python else None,
                                                             platform=platform)
        if python is None and image_python:
            python = Sourced(image_python, Origin.INFERRED, "image label io.launchbuild.python")
        from launchbuild.compat.facts.image_env import with_label_python

        facts = with_label_python(facts, image_python)
        # The local engine is not the network: --offline still reads an image it holds.
        if environment is None and facts is not None and (not offline or facts.provider == "docker"):
            from launchbuild.compat.facts.image_env import inherited_labels, installed_environment

            inherited = inherited_labels(facts)
            facts, environment, python = installed_environment(facts, python, platform, progress)
            if inherited and environment is not None:
                environment = replace(environment, input_reason=f"{base.value}: {inherited}")

    ctx = CheckContext(
        image=facts,
        image_error=image_error,
        accelerator_image=accelerator is not None,
        python=python,
        platform=platform,
        platform_origin=platform_s.describe(),
        gpus=parsed_gpus,
        gpus_origin=gpu_names[0].describe() if gpu_names else "flag",
        driver=driver,
        driver_origin=driver_s.describe() if driver_s else "flag",
        lock=environment.lock if environment else None,
        packages=environment.packages if environment else (),
        resolver_findings=environment.findings if environment else (),
        source=source,
        entrypoint=job.entrypoint.value if job.entrypoint else None,
        is_build=is_build,
        # Locked wheels no table has measured: measured now (bounded, cached by sha256; issue #12).
        measurements=measure_locked(environment.lock, platform, offline) if environment and (parsed_gpus or accelerator) else (),
        image_job=not job.builds_image,
    )
    findings, checked = evaluate(ctx, options["ignore"])
    report = Report(
        job=job_label(job),
        target=TargetSummary(
            image=base,
            python=python,
            platform=Sourced(platform, platform_s.origin, platform_s.detail),
            gpus=gpu_names,
            driver=driver_s,
            entrypoint=job.entrypoint,
        ),
        findings=findings,
        rules_checked=checked,
        environment=environment,
        image=facts,
        ignored=tuple(options["ignore"]),
        strict=bool(options["strict"]),
        duration_s=time.perf_counter() - started,
        source_root=source_root(job),
    )
    return Checked(report, prepared, base.value, facts, environment)
