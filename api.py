"""The public API: `check` and `build` return the `Report` the CLI renders.

A queue agent can embed launchbuild with `launchbuild.check(job, flags={...})`. The pipeline:
job → source → resolver → compat → builder → report. All I/O happens in the stage modules;
this module only wires them together and keeps the order of precedence straight.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from launchbuild.compat.facts import ImageFacts
from launchbuild.compat.findings import Severity
from launchbuild.limits import clip, write_output
from launchbuild.report.plain import add_plain_row, plain
from launchbuild.errors import BadInput
from launchbuild.jobs.model import Job, Origin, Sourced
from launchbuild.options import Options, resolve_options
from launchbuild.report.model import Report, TargetSummary
from launchbuild.resolver.model import ResolveResult

# --- progress ----------------------------------------------------------------------------------

# The interface library users pass (a no-op by default); the CLI's implementations live in
# launchbuild/progress.py.
from launchbuild.progress import Progress  # noqa: E402


def console_progress(*, quiet: bool = False, verbose: bool = False, mode: str = "auto") -> Progress:
    from launchbuild.progress import for_cli

    return for_cli("quiet" if quiet else mode, verbose=verbose)


# --- job and options ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    job: Job
    options: Options
    source_dir: Path | None
    commit: str | None
    explicit_frozen: Path | None = None  # --frozen: it outranks a detected requirements file


def _job_overrides(options: Options, *, ref, subdir, entrypoint, frozen, run_metadata, queue_config):
    from launchbuild.jobs.spec import JobOverrides

    def opt(name: str) -> Sourced[Any] | None:
        s = options.values[name]
        return None if s.origin is Origin.DEFAULT or s.value is None else s

    return JobOverrides(
        ref=ref,
        subdir=subdir,
        entrypoint=entrypoint if entrypoint is not None else opt("entrypoint"),
        python=opt("python"),
        accelerator_base_image=opt("base-image"),
        python_base_image=opt("python-base-image"),
        queue_config=queue_config,
        frozen=frozen,
        run_metadata=run_metadata,
    )


@contextlib.contextmanager
def _prepare(
    job_arg: str | None,
    *,
    flags: Mapping[str, Any],
    ref: str | None = None,
    subdir: str | None = None,
    entrypoint: str | None = None,
    frozen: Path | None = None,
    run_metadata: Path | None = None,
    queue_config: Path | None = None,
    progress: Progress,
    config: Path | None = None,
    on_source: Callable[[Path], None] | None = None,
) -> Iterator[_Prepared]:
    """Load the job, fetch its source into a temp dir (always removed), then layer options
    again with the job's own config file, which sits inside the source.

    `on_source` sees the fetched code root before its config file is read: the service uses
    it to refuse operator options in an untrusted job's launchbuild.toml."""
    from launchbuild.jobs.fetch import materialize
    from launchbuild.jobs.spec import load_job

    kw = dict(ref=ref, subdir=subdir, entrypoint=entrypoint, frozen=frozen, run_metadata=run_metadata,
              queue_config=queue_config)
    options = resolve_options(flags, operator_config=config)
    job = load_job(job_arg, _job_overrides(options, **kw))
    with _report_on_error(job), contextlib.ExitStack() as stack:
        with progress.phase("fetching source" if job.builds_image else "reading job"):
            workspace = stack.enter_context(materialize(job))
        source_dir = getattr(workspace, "path", workspace)
        commit = getattr(workspace, "commit", None)
        if source_dir is not None:
            if on_source is not None:
                on_source(Path(source_dir))
            options = resolve_options(flags, source_dir=source_dir, operator_config=config)
            job = load_job(job_arg, _job_overrides(options, **kw))
        progress.options(options)
        yield _Prepared(job, options, source_dir, commit, explicit_frozen=frozen)


@contextlib.contextmanager
def _report_on_error(job: Job, report: Report | None = None, stage: str = "check") -> Iterator[None]:
    """An error after the job was read carries the report so far (`exc.report`), so the CLI
    still writes every requested format: the findings, the failure and its fix."""
    from launchbuild.errors import LaunchbuildError
    from launchbuild.report.failure import with_error

    try:
        yield
    except LaunchbuildError as exc:
        if getattr(exc, "report", None) is None:
            exc.report = with_error(report or Report(job=_job_label(job), target=TargetSummary()),  # type: ignore[attr-defined]
                                    exc, stage=stage)
        raise


def _source_root(job: Job) -> str | None:
    """The job's local source directory (finding paths are relative to it), else None."""
    path = getattr(job.source, "path", None)
    if path is None or not Path(path).is_dir():
        return None
    root = Path(path) / (job.source.subdir or "")  # type: ignore[union-attr]
    return str(root.resolve())


# --- check ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    report: Report
    prepared: _Prepared
    base_image: str
    facts: ImageFacts | None
    environment: ResolveResult | None


def _python_inputs(job: Job) -> tuple[Sourced[str] | None, Sourced[str] | None]:
    """(explicit, job runtime) for the resolver's selection order."""
    if job.python is None:
        return None, None
    if job.python.origin in (Origin.FLAG, Origin.ENV, Origin.CONFIG_FILE):
        return job.python, None
    return None, job.python


def _inspect(ref: str, *, platform: str, offline: bool, progress: Progress) -> tuple[ImageFacts | None, str | None]:
    """Facts, or why the image could not be read (LB104). Unreachable infra propagates."""
    from launchbuild.compat.inspect import ImageNotFound, inspect_image

    with progress.phase(f"inspecting {ref}"):
        try:
            return inspect_image(ref, platform=platform, offline=offline), None
        except ImageNotFound as exc:
            return None, str(exc)


def _index_hosts(options: Options) -> frozenset[str] | None:
    from launchbuild.resolver.index_hosts import allowed_hosts

    chosen = options.values["allow-index-host"]
    return allowed_hosts(chosen.value, chosen.describe())


def _gpus(options: Options, run_metadata: Any) -> tuple[tuple[Any, ...], tuple[Sourced[str], ...], Any, Sourced[str] | None]:
    from launchbuild.compat.target import parse_driver, parse_gpu

    names: list[Sourced[str]] = []
    gpu_opt = options.values["gpu"]
    driver_opt = options.sourced("driver")
    if gpu_opt.value:
        if [g.lower() for g in gpu_opt.value] == ["auto"]:
            from launchbuild.compat.nvml import local_gpus

            found, driver = local_gpus()
            names = [Sourced(n, Origin.INFERRED, "NVML") for n in found]
            if driver_opt is None and driver:
                driver_opt = Sourced(driver, Origin.INFERRED, "NVML")
        else:
            names = [Sourced(g, gpu_opt.origin, gpu_opt.detail) for g in gpu_opt.value]
    elif run_metadata is not None and run_metadata.gpu:
        names = [Sourced(run_metadata.gpu, Origin.RUN_METADATA, run_metadata.path)]
    gpus = tuple(parse_gpu(s.value) for s in names)
    driver = parse_driver(driver_opt.value) if driver_opt is not None else None
    return gpus, tuple(names), driver, driver_opt


def _check(
    prepared: _Prepared,
    *,
    requirements: Path | None,
    extras: Sequence[str],
    is_build: bool,
    progress: Progress,
) -> _Checked:
    from launchbuild.compat.catalog import evaluate, normalize_ignore
    from launchbuild.compat.context import CheckContext
    from launchbuild.compat.ondemand import measure_locked
    from launchbuild.compat.source_scan import scan_source
    from launchbuild.compat.target import parse_platform
    from launchbuild.resolver.api import ResolveOptions, resolve, select_target
    from launchbuild.resolver.metadata import read_run_metadata

    started = time.perf_counter()
    job, options, source_dir = prepared.job, prepared.options, prepared.source_dir
    normalize_ignore(options["ignore"])  # an unknown rule ID is bad input before any slow work
    platform_s = options.values["platform"]
    platform = parse_platform(platform_s.value)
    offline = bool(options["offline"])
    run_metadata = read_run_metadata(job.run_metadata) if job.run_metadata else None
    gpus, gpu_names, driver, driver_s = _gpus(options, run_metadata)

    accelerator = job.accelerator_base_image
    facts: ImageFacts | None = None
    image_error: str | None = None
    image_pythons: tuple[str, ...] = ()
    if accelerator is not None:
        facts, image_error = _inspect(accelerator.value, platform=platform, offline=offline, progress=progress)
        image_pythons = facts.pythons if facts else ()
    elif job.builds_image:
        fixed = (job.python_base_image.value if job.python_base_image else options["python-base-image"]) or ""
        if "{python}" not in fixed:
            # A Python base image named outright: its own Python decides a requires-python range.
            facts, image_error = _inspect(fixed, platform=platform, offline=offline, progress=progress)
            image_pythons = facts.pythons if facts else ()

    explicit, runtime = _python_inputs(job)
    resolve_options = ResolveOptions(
        requirements=requirements,
        frozen=prepared.explicit_frozen,
        extras=tuple(extras) or tuple(options["extra"] or ()),
        groups=tuple(options["group"] or ()),
        python=explicit,
        platform=platform,
        glibc=facts.glibc if facts else None,
        backend=options["resolver"],
        offline=offline,
        torch_index_url=options["torch-index-url"],
        image_pythons=image_pythons,
        allowed_index_hosts=_index_hosts(options),
    )
    environment: ResolveResult | None = None
    if job.builds_image:
        _, python = select_target(source_dir, job, resolve_options)
        if accelerator is None:
            # Without an accelerator image, Python comes with a Python base image of the
            # target's version; its glibc decides which wheels the lock may use.
            template = job.python_base_image or Sourced(options["python-base-image"], Origin.DEFAULT)
            base = Sourced(template.value.replace("{python}", python.value), template.origin, template.detail)
            facts, image_error = _inspect(base.value, platform=platform, offline=offline, progress=progress)
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
        facts, image_error = _inspect(base.value, platform=platform, offline=offline, progress=progress)
        source = None
        # The image's own environment: a launchbuild image's lock label, checked like the job.
        from launchbuild.compat.image_env import built_image_environment

        environment, image_python = built_image_environment(facts, python=python.value if python else None,
                                                             platform=platform)
        if python is None and image_python:
            python = Sourced(image_python, Origin.INFERRED, "image label io.launchbuild.python")
        from launchbuild.compat.image_env import with_label_python

        facts = with_label_python(facts, image_python)
        # The local engine is not the network: --offline still reads an image it holds.
        if environment is None and facts is not None and (not offline or facts.provider == "docker"):
            from launchbuild.compat.image_env import installed_environment

            facts, environment, python = installed_environment(facts, python, platform, progress)

    ctx = CheckContext(
        image=facts,
        image_error=image_error,
        accelerator_image=accelerator is not None,
        python=python,
        platform=platform,
        platform_origin=platform_s.describe(),
        gpus=gpus,
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
        measurements=measure_locked(environment.lock, platform, offline) if environment and (gpus or accelerator) else (),
        image_job=not job.builds_image,
    )
    findings, checked = evaluate(ctx, options["ignore"])
    report = Report(
        job=_job_label(job),
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
        source_root=_source_root(job),
    )
    return _Checked(report, prepared, base.value, facts, environment)


def _job_label(job: Job) -> str:
    from launchbuild.jobs.urls import redact_url

    src = job.source
    if hasattr(src, "remote"):
        return redact_url(src.remote) + (f"@{src.ref}" if src.ref else "")
    if hasattr(src, "image"):
        return f"image:{src.image}"
    from launchbuild.paths import display_path

    return display_path(Path(job.spec_path or src.path))


def check(
    job: str | None = None,
    *,
    ref: str | None = None,
    subdir: str | None = None,
    entrypoint: str | None = None,
    requirements: Path | None = None,
    frozen: Path | None = None,
    run_metadata: Path | None = None,
    queue_config: Path | None = None,
    extras: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
    config: Path | None = None,
    progress: Progress | None = None,
    on_source: Callable[[Path], None] | None = None,
) -> Report:
    """Pre-flight check a job. `flags` are option overrides by name (`{"gpu": ["H100"]}`)."""
    progress = progress or Progress()
    with _prepare(job, flags=dict(flags or {}), ref=ref, subdir=subdir, entrypoint=entrypoint, frozen=frozen,
                  run_metadata=run_metadata, queue_config=queue_config, progress=progress, config=config,
                  on_source=on_source) as prepared:
        return _check(prepared, requirements=requirements, extras=extras, is_build=False, progress=progress).report


# --- build ---------------------------------------------------------------------------------------


def _plan(checked: _Checked) -> Any:
    """The build plan from a checked job: everything the Dockerfile and tag depend on."""
    from launchbuild import __version__
    from launchbuild.builder.plan import BuildPlan, normalize_entrypoint
    from launchbuild.builder.tags import validate_repository
    from launchbuild.compat.target import parse_platform
    from launchbuild.jobs.spec import require_entrypoint
    from launchbuild.jobs.urls import redact_url

    prepared = checked.prepared
    job, options = prepared.job, prepared.options
    lock = checked.environment.lock if checked.environment else None
    src = job.source
    label = redact_url(src.remote) if hasattr(src, "remote") else (job.name or "code")
    return BuildPlan(
        source_kind=job.kind,
        base_image=checked.base_image,
        python=checked.report.target.python.value if checked.report.target.python else "",
        accelerator=job.accelerator_base_image is not None,
        lock_text=lock.text if lock else "",
        entrypoint=normalize_entrypoint(require_entrypoint(job)) if job.builds_image else (),
        apt_packages=_apt_fixes(checked.report),
        uid=int(options["uid"]),
        gid=int(options["uid"]),
        source_label=label,
        commit=prepared.commit,
        version=__version__,
        index_urls=lock.index_urls if lock else (),
        find_links=lock.find_links if lock else (),
        index_credentials=bool(lock and lock.credentials and lock.credentials.for_indexes),
        install_projects=lock.own_projects if lock else (),
        wheel_files=lock.wheels if lock else (),
        platform=parse_platform(options["platform"]),
        repository=validate_repository(f"launchbuild/{_slug(job.name or 'job')}"),
        extra_labels=_image_labels(checked, lock),
    )


def _image_labels(checked: _Checked, lock: Any) -> tuple[tuple[str, str], ...]:
    """The lock, the facts it was checked against and the rule set, for `check image:`."""
    if not checked.prepared.job.builds_image:
        return ()
    from launchbuild.builder.labels import image_labels
    from launchbuild.builder.plan import LOCK_IN_IMAGE
    from launchbuild.compat.target import parse_platform

    return image_labels(
        lock_text=lock.text if lock else "", lock_path=LOCK_IN_IMAGE, facts=checked.facts,
        python=checked.report.target.python.value if checked.report.target.python else "",
        platform=parse_platform(checked.prepared.options["platform"]),
        cuda_variants=lock.cuda_variants if lock else (),
    )


def _slug(name: str) -> str:
    import re

    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")
    return slug or "job"


def _apt_fixes(report: Report) -> tuple[str, ...]:
    """System libraries LB304 asked for: its evidence names the apt packages to add."""
    packages: list[str] = []
    for f in report.findings:
        if f.rule == "LB304":
            for e in f.evidence:
                if e.fact == "apt packages":
                    packages += [p for p in e.value.split() if p not in packages]
    return tuple(packages)


def build(
    job: str | None = None,
    *,
    ref: str | None = None,
    subdir: str | None = None,
    entrypoint: str | None = None,
    requirements: Path | None = None,
    frozen: Path | None = None,
    run_metadata: Path | None = None,
    queue_config: Path | None = None,
    extras: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
    config: Path | None = None,
    force: bool = False,
    no_cache: bool = False,
    dry_run: bool = False,
    output: Path | None = None,
    progress: Progress | None = None,
    on_source: Callable[[Path], None] | None = None,
) -> Report | None:
    """Check, then build, then verify. Refuses to build when check has errors unless `force`.

    With `--engine kubernetes --dry-run` the manifests are written (to `output` or stdout)
    and None is returned."""
    from launchbuild.jobs.spec import require_entrypoint

    progress = progress or Progress()
    with _prepare(job, flags=dict(flags or {}), ref=ref, subdir=subdir, entrypoint=entrypoint, frozen=frozen,
                  run_metadata=run_metadata, queue_config=queue_config, progress=progress, config=config,
                  on_source=on_source) as prepared:
        if prepared.job.builds_image:
            require_entrypoint(prepared.job)  # bad input (exit 2) before any work
        checked = _check(prepared, requirements=requirements, extras=extras, is_build=True, progress=progress)
        report = checked.report
        if any(f.severity is Severity.ERROR for f in report.findings) and not force:
            return replace(report, notes=report.notes + ("build refused: check found errors (use --force to build anyway)",))
        if checked.environment is not None and checked.environment.lock is None \
                and checked.environment.input_kind != "none":
            return replace(report, notes=report.notes + ("build refused: the environment did not lock",))
        plan = _plan(checked)
        engine = prepared.options["engine"]
        if engine == "kubernetes":
            if plan.index_credentials:
                raise BadInput("the job's index credentials reach installs only as a local BuildKit secret; "
                               "--engine kubernetes has no way to pass them yet", hint="build with --engine buildkit")
            from launchbuild.errors import BuildFailed
            from launchbuild.report.failure import with_build_failure

            with _report_on_error(prepared.job, report, stage="build"):
                try:
                    return _build_kubernetes(checked, plan, dry_run=dry_run, output=output, progress=progress)
                except BuildFailed as exc:  # the cluster builder's failure: a report, with its log tail
                    return with_build_failure(report, exc, engine="kubernetes")
        if dry_run:
            raise BadInput("--dry-run applies to --engine kubernetes", hint="add --engine kubernetes, or drop --dry-run")
        from launchbuild.builder.api import build_image

        on_progress = progress.build_event  # steps, their N/M and own elapsed time: progress.py

        from launchbuild.errors import BuildFailed
        from launchbuild.report.failure import with_build_failure, with_verification_failure

        build_started = time.perf_counter()
        with _report_on_error(prepared.job, report, stage="build"):
            try:
                with progress.phase("building the image"):
                    summary = build_image(
                        plan, prepared.source_dir, engine=engine, push=prepared.options["push"], force=force,
                        no_cache=no_cache, ca_bundle=prepared.options["ca-bundle"], on_progress=on_progress,
                        credentials=checked.environment.lock.credentials if checked.environment and checked.environment.lock else None,
                    )
            except BuildFailed as exc:  # the engine's failure: a report, not just an error line
                return with_build_failure(report, exc, engine=engine, duration_s=time.perf_counter() - build_started)
        return with_verification_failure(replace(report, build=summary))


def _build_kubernetes(checked: _Checked, plan: Any, *, dry_run: bool, output: Path | None, progress: Progress) -> Report | None:
    from launchbuild.builder import kubernetes as k8s
    from launchbuild.builder.api import prepare_plan
    from launchbuild.builder.context import DOCKERFILE_PATH, build_context, content_hash, scan
    from launchbuild.builder.dockerfile import render
    from launchbuild.builder.plan import Frontend, find_ca_bundle
    from launchbuild.builder.tags import content_tag, image_ref

    options = checked.prepared.options
    push = options["push"]
    if not push:
        raise BadInput("--engine kubernetes needs --push REGISTRY/REPO: the cluster builder pushes there",
                       hint="add --push registry.example:5000/team/job")
    if checked.facts is None or not checked.facts.digest:
        raise BadInput(f"base image {plan.base_image}: its digest is unknown, so the content tag cannot be computed",
                       hint="make the image readable from its registry or the local engine")
    ca = find_ca_bundle(options["ca-bundle"])
    # The cluster gets a small context: the venv's pip installs, so no 40 MB uv travels along.
    plan = prepare_plan(plan, frontend=Frontend.BUILDKIT, ca_bundle=ca, uv_binary=None)
    dockerfile = render(plan)
    entries = scan(checked.prepared.source_dir)
    tag = content_tag(dockerfile=dockerfile, lock_text=plan.lock_text, code_hash=content_hash(entries),
                      base_digest=checked.facts.digest, options={"platform": plan.platform})
    kube = k8s.KubernetesBuildOptions(
        destination=image_ref(push, tag),
        context_store=options["kubernetes-context-store"],
        builder=options["kubernetes-builder"],
        namespace=options["kubernetes-namespace"],
        ca_configmap="launchbuild-ca" if ca else None,
        platform=plan.platform,
        dockerfile=DOCKERFILE_PATH,
    )
    with build_context(checked.prepared.source_dir, dockerfile=dockerfile, lock_text=plan.lock_text,
                       entries=entries) as ctx:
        from launchbuild.builder.wheels_in_context import place

        place(ctx, plan)  # wheels built or copied on this host travel with the context
        if dry_run:
            archive = (k8s.build_context_archive(ctx, dockerfile=DOCKERFILE_PATH)
                       if k8s.ContextStore.parse(kube.context_store).kind == "configmap" else None)
            k8s.write_manifests(k8s.render_manifests(kube, context_archive=archive), output)
            return None
        with progress.phase("building on the cluster"):
            result = k8s.submit(ctx, kube)
    from launchbuild.report.model import BuildSummary

    return replace(checked.report, build=BuildSummary(
        tag=result.destination, skipped=result.reused, reason="built by a Kubernetes Job " + result.job_name,
        duration_s=result.duration_s, digest=result.digest, pushed=result.destination, engine="kubernetes"))


# --- resolve, dockerfile, inspect, show, rules -----------------------------------------------------


def resolve(
    job: str | None = None,
    *,
    ref: str | None = None,
    subdir: str | None = None,
    requirements: Path | None = None,
    frozen: Path | None = None,
    run_metadata: Path | None = None,
    queue_config: Path | None = None,
    extras: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
    config: Path | None = None,
    progress: Progress | None = None,
) -> ResolveResult:
    """Lock the job's environment for its target Python and platform."""
    from launchbuild.resolver.api import ResolveOptions
    from launchbuild.resolver.api import resolve as resolve_env

    progress = progress or Progress()
    with _prepare(job, flags=dict(flags or {}), ref=ref, subdir=subdir, frozen=frozen, run_metadata=run_metadata,
                  queue_config=queue_config, progress=progress, config=config) as prepared:
        if not prepared.job.builds_image:
            raise BadInput("an image job has no environment to resolve", hint="pass a git or code job")
        explicit, _ = _python_inputs(prepared.job)
        options = prepared.options
        return resolve_env(prepared.source_dir, prepared.job, ResolveOptions(
            requirements=requirements, frozen=prepared.explicit_frozen,
            extras=tuple(extras) or tuple(options["extra"] or ()), groups=tuple(options["group"] or ()),
            python=explicit, platform=options["platform"],
            backend=options["resolver"], offline=bool(options["offline"]),
            torch_index_url=options["torch-index-url"], fetch_package_facts=False,
            allowed_index_hosts=_index_hosts(options),
        ))


def emit_resolve(result: ResolveResult, *, output: Path | None, as_json: bool, verbose: bool) -> None:
    from launchbuild.resolver.api import render_lock

    if as_json:
        from launchbuild.report.formats.json import environment_dict

        text = json.dumps(environment_dict(result), indent=2, sort_keys=True) + "\n"
    else:
        text = render_lock(result) if result.lock else ""
    if output and not as_json and result.lock:
        write_output(output, text, "lock")
    elif output and as_json:
        write_output(output, text, "resolve result")
    else:
        sys.stdout.write(text)
    from rich.console import Console

    err = Console(stderr=True, highlight=False)
    for f in result.findings:
        from rich.markup import escape

        err.print(f"[bold red]{f.rule}[/] {escape(f.message)}", markup=True)
        if f.fix:
            err.print(f"  fix: {f.fix}", markup=False)
    if verbose:
        from launchbuild.resolver.describe_inputs import input_lines

        if result.input_path:
            err.print(f"input: {result.input_path} ({result.input_kind})", markup=False)
        for label, line in input_lines(result, verbose=True):
            err.print(f"  {label}: {line}", markup=False)
        for path, why in result.skipped_inputs:
            err.print(f"  skipped {path}: {why}", markup=False)
    if result.lock is None and result.input_kind == "none":
        err.print("no requirements found: requirements.txt, pyproject.toml, environment.yml or a frozen list", markup=False)
    elif result.lock is not None and (verbose or output):
        err.print(f"locked {len(result.lock.packages)} packages from {result.input_path} for Python "
                  f"{result.lock.target.python} on {result.lock.target.platform}"
                  + (" (cache hit)" if result.cache_hit else ""), markup=False)
        for action in result.cleaning:
            err.print(f"  {action.action}: {action.line} ({action.reason})", markup=False)


def dockerfile(
    job: str | None = None,
    *,
    ref: str | None = None,
    subdir: str | None = None,
    entrypoint: str | None = None,
    requirements: Path | None = None,
    frozen: Path | None = None,
    queue_config: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    config: Path | None = None,
) -> str:
    """The Dockerfile a BuildKit build of the job would use (deterministic)."""
    from launchbuild.builder.api import prepare_plan
    from launchbuild.builder.dockerfile import render
    from launchbuild.builder.engine import find_uv_binary
    from launchbuild.builder.plan import Frontend, find_ca_bundle

    progress = Progress()
    with _prepare(job, flags=dict(flags or {}), ref=ref, subdir=subdir, entrypoint=entrypoint, frozen=frozen,
                  queue_config=queue_config, progress=progress, config=config) as prepared:
        if not prepared.job.builds_image:
            raise BadInput("an image job builds nothing, so it has no Dockerfile", hint="pass a git or code job")
        checked = _check(prepared, requirements=requirements, extras=(), is_build=True, progress=progress)
        plan = prepare_plan(_plan(checked), frontend=Frontend.BUILDKIT,
                            ca_bundle=find_ca_bundle(prepared.options["ca-bundle"]), uv_binary=find_uv_binary())
        return render(plan) or ""


def inspect(image: str, *, platform: str = "linux/amd64", offline: bool = False) -> ImageFacts:
    from launchbuild.compat.inspect import inspect_image
    from launchbuild.compat.target import parse_platform

    return inspect_image(image, platform=parse_platform(platform), offline=offline)


def emit_facts(facts: ImageFacts, *, as_json: bool) -> None:
    from launchbuild.compat.factcache import to_json

    if as_json:
        sys.stdout.write(json.dumps(to_json(facts), indent=2, sort_keys=True) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    from rich.text import Text

    console = Console(highlight=False)
    table = Table(title=plain(facts.reference), title_justify="left", show_header=True)
    for col in ("fact", "value", "from"):
        table.add_column(col)
    rows = [
        ("provider", facts.provider, ""),
        ("digest", facts.digest or "?", "digest"),
        ("os", " ".join(x for x in (facts.os_id, facts.os_version, facts.os_codename) if x) or "?", "os_id"),
        ("debian compatible", _yes_no(facts.debian_compatible), "has_apt"),
        ("apt-get", _yes_no(facts.has_apt), "has_apt"),
        ("glibc", facts.glibc or "?", "glibc"),
        ("architecture", "/".join(x for x in (facts.architecture, facts.variant) if x) or "?", "architecture"),
        ("pythons", ", ".join(facts.pythons) or "none", "pythons"),
        ("apt pythons", ", ".join(facts.apt_pythons) if facts.apt_pythons is not None else "?", "apt_pythons"),
        ("cuda", facts.cuda_version or "-", "cuda_version"),
        ("cudnn", facts.cudnn_version or "-", "cudnn_version"),
        ("NVIDIA_REQUIRE_CUDA", facts.require_cuda or "-", "require_cuda"),
        ("nvcc", _yes_no(facts.has_nvcc), "has_nvcc"),
        ("end of life", "yes" if facts.end_of_life else "no", "end_of_life"),
    ]
    for name, value, fact in rows:
        add_plain_row(table, name, value, facts.source_of(fact) if fact else "")
    from launchbuild.compat.image_env import label_rows

    for name, value, source in label_rows(facts):
        add_plain_row(table, name, value, source)  # image labels are foreign text, never markup
    console.print(table)


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def show(
    job: str | None = None,
    *,
    ref: str | None = None,
    subdir: str | None = None,
    entrypoint: str | None = None,
    frozen: Path | None = None,
    run_metadata: Path | None = None,
    queue_config: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    config: Path | None = None,
    as_json: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """The job as understood, without fetching it: source, entrypoint, Python, base image."""
    from launchbuild.jobs.describe import job_to_dict
    from launchbuild.jobs.spec import load_job

    flags = dict(flags or {})
    options = resolve_options(flags, operator_config=config)
    loaded = load_job(job, _job_overrides(options, ref=ref, subdir=subdir, entrypoint=entrypoint, frozen=frozen,
                                          run_metadata=run_metadata, queue_config=queue_config))
    data = job_to_dict(loaded)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return data
    from rich.console import Console
    from rich.table import Table

    from rich.text import Text

    console = Console(highlight=False)
    table = Table(title=plain(f"job: {_job_label(loaded)}"), title_justify="left")
    for col in ("setting", "value", "from"):
        table.add_column(col)
    for key, value in _flatten(data):
        if isinstance(value, dict) and "origin" in value:
            shown = value.get("value")
            shown = " ".join(shown) if isinstance(shown, list) else str(shown)
            origin = value["origin"] + (f" ({value['detail']})" if value.get("detail") else "")
            add_plain_row(table, key, shown, origin)
        elif value is not None:
            add_plain_row(table, key, " ".join(value) if isinstance(value, list) else str(value), "")
    console.print(table)
    if verbose:
        from launchbuild.progress import RichProgress

        RichProgress(verbose=True).options(options)
    return data


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "origin" not in value:
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def emit_rules(*, as_json: bool) -> None:
    from launchbuild.compat.catalog import RULES

    rows = [RULES[k] for k in sorted(RULES)]
    if as_json:
        out = [{"id": r.id, "severity": r.severity.value, "title": r.title, "description": r.description,
                "help": r.help, "tags": list(r.tags), "produced_by": r.produced_by} for r in rows]
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="launchbuild rules", title_justify="left")
    for col in ("rule", "severity", "title", "fix"):
        table.add_column(col, overflow="fold")
    for r in rows:
        add_plain_row(table, r.id, r.severity.value, r.title, r.help)
    Console(highlight=False).print(table)
