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
from launchbuild.jobs.model import CodeSource, GitSource
from launchbuild.pipeline.check import Checked
from launchbuild.pipeline.prepare import Prepared, report_on_error
from launchbuild.progress import Progress
from launchbuild.report.model import Report

if TYPE_CHECKING:
    from launchbuild.builder.model import Manifests
    from launchbuild.builder.plan import BuildPlan
    from launchbuild.resolver.model import Lock


def plan(checked: Checked) -> BuildPlan:
    """The build plan from a checked job: everything the Dockerfile and tag depend on."""
    from launchbuild.core.version import __version__
    from launchbuild.builder.plan import BuildPlan, cache_scope_of, normalize_entrypoint
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
        bytecode=bool(options["bytecode"]),
        cache_scope=cache_scope_of(options["cache-scope"], _source_identity(prepared)),
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
        **_layer_split(checked, lock),
    )


def _source_identity(prepared: Prepared) -> str:
    """What makes two builds the same job's, for the cache scope: the git remote (without its
    credentials, whatever the ref), or the real path of the code folder or archive on this host
    (the service saves each upload in a folder of its own, so an upload shares with nothing)."""
    from urllib.parse import urlsplit

    src = prepared.job.source
    if isinstance(src, GitSource):
        remote = src.remote
        if "://" in remote:  # the user and the token say who fetched, not which repository
            parts = urlsplit(remote)
            host = (parts.netloc.rpartition("@")[2]).lower()
            remote = f"{parts.scheme}://{host}{parts.path}"
        else:  # scp-like git@host:path
            remote = remote.rpartition("@")[2] if "@" in remote.partition(":")[0] else remote
        return "git\0" + remote.rstrip("/").removesuffix(".git")
    if isinstance(src, CodeSource):
        return "code\0" + str(Path(src.path).resolve()) + (f"\0{src.subdir}" if src.subdir else "")
    return "image\0" + src.image  # nothing is built, so nothing is installed from a cache


def _layer_split(checked: Checked, lock: Lock | None) -> dict[str, Any]:
    """The heavy roots of the environment's layer split, by the index's wheel sizes."""
    if lock is None or not checked.prepared.job.builds_image:
        return {}
    from launchbuild.builder.layers import canonical, choose_heavy, heavy_threshold

    packages = checked.environment.packages if checked.environment else ()
    choice = choose_heavy([p.name for p in lock.packages], {canonical(p.name): p.wheel_bytes for p in packages},
                          heavy_threshold())
    return {"layer_roots": choice.roots, "layer_roots_by_name": choice.heuristic}


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
    from launchbuild.builder.plan import Frontend

    fitted = prepare_plan(plan(checked), frontend=Frontend.BUILDKIT,
                          ca_bundle=_ca_bundle(checked.prepared.options), uv_binary=find_uv_binary())
    return render(fitted) or ""


def _ca_bundle(options: Any) -> Path | None:
    """The CA bundle, checked here where the option's origin is known: a bad
    LAUNCHBUILD_CA_BUNDLE or config value is named as such, not as --ca-bundle."""
    from launchbuild.builder.plan import find_ca_bundle

    return find_ca_bundle(options["ca-bundle"], where=options.where("ca-bundle"))


def build(
    checked: Checked,
    *,
    force: bool,
    no_cache: bool,
    dry_run: bool,
    output: Path | None,
    progress: Progress,
) -> Report | Manifests:
    """Refuse on errors (unless `force`) or an environment that did not lock; else plan,
    build, verify and push. A Kubernetes dry run answers its `Manifests` (also written to
    `output` when given; never printed)."""
    prepared = checked.prepared
    report = checked.report
    if any(f.severity is Severity.ERROR for f in report.findings) and not force:
        return replace(report, notes=report.notes + ("build refused: check found errors (use --force to build anyway)",))
    if checked.environment is not None and checked.environment.lock is None \
            and checked.environment.input_kind != "none":
        return replace(report, notes=report.notes + ("build refused: the environment did not lock",))
    build_plan = plan(checked)
    with report_on_error(prepared.job, report, stage="build"):
        _ca_bundle(prepared.options)  # before any engine: they are handed the value alone
    engine = prepared.options["engine"]
    if engine == "kubernetes":
        return _build_on_cluster(checked, build_plan, dry_run=dry_run, output=output, progress=progress)
    if dry_run:
        raise BadInput("--dry-run applies to --engine kubernetes", hint="add --engine kubernetes, or drop --dry-run")
    return _build_locally(checked, build_plan, engine=engine, force=force, no_cache=no_cache, progress=progress)


def _build_locally(checked: Checked, build_plan: BuildPlan, *, engine: str, force: bool, no_cache: bool,
                   progress: Progress) -> Report:
    from launchbuild.builder.engines import EngineOptions, run
    from launchbuild.errors import BuildFailed
    from launchbuild.report.failure import with_build_failure, with_verification_failure

    prepared: Prepared = checked.prepared
    report = checked.report
    lock = checked.environment.lock if checked.environment else None
    build_started = time.perf_counter()
    with report_on_error(prepared.job, report, stage="build"):
        try:
            with progress.phase("building the image"):
                # The one engine entry point; progress sees the steps, their N/M and own time.
                outcome = run(build_plan, EngineOptions(
                    engine=engine, source_dir=prepared.source_dir, push=prepared.options["push"], force=force,
                    no_cache=no_cache, ca_bundle=prepared.options["ca-bundle"],
                    credentials=lock.credentials if lock else None,
                ), progress)
            summary = outcome.summary
            assert summary is not None  # a local engine always answers with a summary
        except BuildFailed as exc:  # the engine's failure: a report, not just an error line
            return with_build_failure(report, exc, engine=engine, duration_s=time.perf_counter() - build_started)
    return with_verification_failure(replace(report, build=summary))


# --- the cluster path --------------------------------------------------------------------------
# The kubernetes engine (builder/engines/kubernetes.py) renders the local Dockerfile, computes
# the local tag, uploads the context, builds, verifies in a Pod with no network and only then
# gives the image its content tag: the same plan, tag and verification as a local build.


def _build_on_cluster(checked: Checked, plan: Any, *, dry_run: bool, output: Path | None,
                      progress: Progress) -> Report | Manifests:
    """`--engine kubernetes`: a report (with the cluster builder's log tail on failure), or
    the manifests a dry run rendered."""
    from launchbuild.errors import BuildFailed
    from launchbuild.report.failure import with_build_failure

    report = checked.report
    with report_on_error(checked.prepared.job, report, stage="build"):
        try:
            return _build_kubernetes(checked, plan, dry_run=dry_run, output=output, progress=progress)
        except BuildFailed as exc:  # the cluster builder's failure: a report, with its log tail
            return with_build_failure(report, exc, engine="kubernetes")


def _build_kubernetes(checked: Checked, plan: Any, *, dry_run: bool, output: Path | None,
                      progress: Progress) -> Report | Manifests:
    """The cluster build through the one engine entry point (same tag, same verification)."""
    from launchbuild.builder.context import DOCKERFILE_PATH
    from launchbuild.builder.engines import EngineOptions, run
    from launchbuild.options.kubernetes import build_options
    from launchbuild.report.failure import with_verification_failure

    options = checked.prepared.options
    lock = checked.environment.lock if checked.environment else None
    outcome = run(plan, EngineOptions(
        engine="kubernetes", source_dir=checked.prepared.source_dir, push=options["push"],
        ca_bundle=options["ca-bundle"], credentials=lock.credentials if lock else None,
        # destination, platform and Dockerfile path are the engine's to set, from the plan and tag
        kubernetes=build_options(options, destination="", platform=plan.platform, dockerfile=DOCKERFILE_PATH),
        dry_run=dry_run, output=output, base_digest=checked.facts.digest if checked.facts else None,
    ), progress)
    report = checked.report
    if outcome.findings:
        from launchbuild.compat.catalog import sort_key

        report = replace(report, findings=tuple(sorted((*report.findings, *outcome.findings), key=sort_key)))
    if outcome.summary is None:
        if outcome.manifests is not None and not any(f.severity is Severity.ERROR for f in outcome.findings):
            return outcome.manifests
        return replace(report, notes=report.notes + ("build refused: found before submitting to the cluster",))
    return with_verification_failure(replace(report, build=outcome.summary))
