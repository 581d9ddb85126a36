"""Build: a checked job -> a `BuildPlan` -> the engine -> verification -> push, as a `Report`
with its `BuildSummary`. Never prints (progress goes through `progress.Progress`); the one
exception is the Kubernetes dry run, which writes its manifests (see `_build_on_cluster`)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchbuild.core.findings import Severity
from launchbuild.errors import BadInput
from launchbuild.jobs.model import GitSource
from launchbuild.pipeline.check import Checked
from launchbuild.pipeline.prepare import Prepared, report_on_error
from launchbuild.progress import Progress
from launchbuild.report.model import Report

if TYPE_CHECKING:
    from launchbuild.builder.plan import BuildPlan
    from launchbuild.resolver.model import Lock


def plan(checked: Checked) -> BuildPlan:
    """The build plan from a checked job: everything the Dockerfile and tag depend on."""
    from launchbuild.core.version import __version__
    from launchbuild.builder.plan import BuildPlan, normalize_entrypoint
    from launchbuild.builder.tags import validate_repository
    from launchbuild.core.platform import parse_platform
    from launchbuild.jobs.spec import require_entrypoint
    from launchbuild.jobs.urls import redact_url

    prepared = checked.prepared
    job, options = prepared.job, prepared.options
    lock = checked.environment.lock if checked.environment else None
    src = job.source
    label = redact_url(src.remote) if isinstance(src, GitSource) else (job.name or "code")
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


def _image_labels(checked: Checked, lock: Lock | None) -> tuple[tuple[str, str], ...]:
    """The lock, the facts it was checked against and the rule set, for `check image:`."""
    if not checked.prepared.job.builds_image:
        return ()
    from launchbuild.builder.labels import image_labels
    from launchbuild.builder.plan import LOCK_IN_IMAGE
    from launchbuild.core.platform import parse_platform

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


# Moved verbatim from api.py; branch a-rules replaces it with the typed fixes of LB304.
def _apt_fixes(report: Report) -> tuple[str, ...]:
    """The system packages the findings' typed fixes ask for (LB304's AptPackages), in order."""
    from launchbuild.core.fixes import AptPackages, of_type

    packages: list[str] = []
    for fix in of_type(report.findings, AptPackages):
        packages += [p for p in fix.packages if p not in packages]
    return tuple(packages)


def dockerfile(checked: Checked) -> str:
    """The Dockerfile a BuildKit build of the checked job would use (deterministic)."""
    from launchbuild.builder.api import prepare_plan
    from launchbuild.builder.dockerfile import render
    from launchbuild.builder.engine import find_uv_binary
    from launchbuild.builder.plan import Frontend, find_ca_bundle

    fitted = prepare_plan(plan(checked), frontend=Frontend.BUILDKIT,
                          ca_bundle=find_ca_bundle(checked.prepared.options["ca-bundle"]), uv_binary=find_uv_binary())
    return render(fitted) or ""


def build(
    checked: Checked,
    *,
    force: bool,
    no_cache: bool,
    dry_run: bool,
    output: Path | None,
    progress: Progress,
) -> Report | None:
    """Refuse on errors (unless `force`) or an environment that did not lock; else plan,
    build, verify and push. None after a Kubernetes dry run."""
    prepared = checked.prepared
    report = checked.report
    if any(f.severity is Severity.ERROR for f in report.findings) and not force:
        return replace(report, notes=report.notes + ("build refused: check found errors (use --force to build anyway)",))
    if checked.environment is not None and checked.environment.lock is None \
            and checked.environment.input_kind != "none":
        return replace(report, notes=report.notes + ("build refused: the environment did not lock",))
    build_plan = plan(checked)
    engine = prepared.options["engine"]
    if engine == "kubernetes":
        return _build_on_cluster(checked, build_plan, dry_run=dry_run, output=output, progress=progress)
    if dry_run:
        raise BadInput("--dry-run applies to --engine kubernetes", hint="add --engine kubernetes, or drop --dry-run")
    return _build_locally(checked, build_plan, engine=engine, force=force, no_cache=no_cache, progress=progress)


def _build_locally(checked: Checked, build_plan: BuildPlan, *, engine: str, force: bool, no_cache: bool,
                   progress: Progress) -> Report:
    from launchbuild.builder.api import build_image
    from launchbuild.errors import BuildFailed
    from launchbuild.report.failure import with_build_failure, with_verification_failure

    prepared: Prepared = checked.prepared
    report = checked.report
    on_progress = progress.build_event  # steps, their N/M and own elapsed time: progress.py
    lock = checked.environment.lock if checked.environment else None
    build_started = time.perf_counter()
    with report_on_error(prepared.job, report, stage="build"):
        try:
            with progress.phase("building the image"):
                summary = build_image(
                    build_plan, prepared.source_dir, engine=engine, push=prepared.options["push"], force=force,
                    no_cache=no_cache, ca_bundle=prepared.options["ca-bundle"], on_progress=on_progress,
                    credentials=lock.credentials if lock else None,
                )
        except BuildFailed as exc:  # the engine's failure: a report, not just an error line
            return with_build_failure(report, exc, engine=engine, duration_s=time.perf_counter() - build_started)
    return with_verification_failure(replace(report, build=summary))


# --- the cluster path --------------------------------------------------------------------------
# Moved verbatim from api.build's Kubernetes branch and api._build_kubernetes. It renders and
# tags on its own and runs no verification (a known gap, issue #14); branch a-engines replaces
# these two functions with the Kubernetes engine behind builder/engines/ (one plan, one tag,
# one verification). Do not grow them.


def _build_on_cluster(checked: Checked, plan: Any, *, dry_run: bool, output: Path | None,
                      progress: Progress) -> Report | None:
    """`--engine kubernetes`: the whole branch, so one call replaces it."""
    if plan.index_credentials:
        raise BadInput("the job's index credentials reach installs only as a local BuildKit secret; "
                       "--engine kubernetes has no way to pass them yet", hint="build with --engine buildkit")
    from launchbuild.errors import BuildFailed
    from launchbuild.report.failure import with_build_failure

    report = checked.report
    with report_on_error(checked.prepared.job, report, stage="build"):
        try:
            return _build_kubernetes(checked, plan, dry_run=dry_run, output=output, progress=progress)
        except BuildFailed as exc:  # the cluster builder's failure: a report, with its log tail
            return with_build_failure(report, exc, engine="kubernetes")


def _build_kubernetes(checked: Checked, plan: Any, *, dry_run: bool, output: Path | None, progress: Progress) -> Report | None:
    from launchbuild.builder import kubernetes as k8s
    from launchbuild.builder.api import prepare_plan
    from launchbuild.builder.context import DOCKERFILE_PATH, build_context, content_hash, scan
    from launchbuild.builder.dockerfile import render
    from launchbuild.builder.plan import Frontend
    from launchbuild.builder.tags import content_tag, image_ref
    from launchbuild.options.kubernetes import build_options

    options = checked.prepared.options
    push = options["push"]
    if not push:
        raise BadInput("--engine kubernetes needs --push REGISTRY/REPO: the cluster builder pushes there",
                       hint="add --push registry.example:5000/team/job")
    if checked.facts is None or not checked.facts.digest:
        raise BadInput(f"base image {plan.base_image}: its digest is unknown, so the content tag cannot be computed",
                       hint="make the image readable from its registry or the local engine")
    # The cluster gets a small context: the venv's pip installs, so no 40 MB uv travels along.
    # Its CA is the --kubernetes-ca-configmap option's, never this shell's CA variables (the
    # BuildKit Dockerfile's CA secret mount is optional, so the tag is the same either way).
    plan = prepare_plan(plan, frontend=Frontend.BUILDKIT, ca_bundle=None, uv_binary=None)
    dockerfile = render(plan)
    source_dir = checked.prepared.source_dir
    if dockerfile is None or source_dir is None:
        raise BadInput("an image: job has nothing to build on the cluster", hint="give the job's code, or check the image")
    entries = scan(source_dir)
    tag = content_tag(dockerfile=dockerfile, lock_text=plan.lock_text, code_hash=content_hash(entries),
                      base_digest=checked.facts.digest, options={"platform": plan.platform})
    kube = build_options(options, destination=image_ref(push, tag), platform=plan.platform, dockerfile=DOCKERFILE_PATH)
    with build_context(source_dir, dockerfile=dockerfile, lock_text=plan.lock_text,
                       entries=entries) as ctx:
        from launchbuild.builder.wheels_in_context import place

        place(ctx, plan)  # wheels built or copied on this host travel with the context
        if dry_run:
            archive = (k8s.build_context_archive(ctx, dockerfile=DOCKERFILE_PATH)
                       if k8s.ContextStore.parse(kube.context_store).kind == "configmap" else None)
            k8s.write_manifests(k8s.render_manifests(kube, context_archive=archive), output)
            return None
        with progress.phase("building on the cluster"):
            from launchbuild.builder.kubernetes_submit import submit

            result = submit(ctx, kube)
    from launchbuild.builder.model import BuildSummary

    return replace(checked.report, build=BuildSummary(
        tag=result.destination, skipped=result.reused, reason="built by a Kubernetes Job " + result.job_name,
        duration_s=result.duration_s, digest=result.digest, pushed=result.destination, engine="kubernetes"))
