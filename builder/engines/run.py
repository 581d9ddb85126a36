"""`run(plan, options, progress)`: the one function the pipeline calls to build, for every engine.

Local engines (`auto`, `buildkit`, `classic`) go through `builder.api.build_image`; the
cluster engine through `engines.kubernetes.build_on_cluster`. Both compute the tag with
`builder.api.fit_and_tag`, render the same Dockerfile for the same plan, verify the image
with the same probe and judge (`builder.verify`), and answer with the same `BuildSummary`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchbuild.builder.plan import BuildPlan
from launchbuild.errors import BadInput

if TYPE_CHECKING:  # kept out of the import path of `check`
    from launchbuild.builder.kubernetes import KubernetesBuildOptions
    from launchbuild.compat.findings import Finding
    from launchbuild.report.model import BuildSummary

ENGINES = ("auto", "buildkit", "classic", "kubernetes")


@dataclass(frozen=True)
class EngineOptions:
    engine: str = "auto"
    source_dir: Path | None = None  # the job's source (git and code jobs)
    push: str | None = None  # a repository; the content tag is appended
    force: bool = False
    no_cache: bool = False
    ca_bundle: str | None = None  # the user's CA bundle option (local installs only)
    credentials: Any = None  # the lock's Credentials: files holding them stay out of the code copy
    # The operator's cluster options. `destination`, `platform` and `dockerfile` are set by the
    # engine from the plan and the content tag; whatever the caller put there is replaced.
    kubernetes: KubernetesBuildOptions | None = None
    dry_run: bool = False  # kubernetes: write the manifests to `output`, submit nothing
    output: Path | str | None = None
    base_digest: str | None = None  # the digest the check read; used only when no local engine answers
    client: Any = None  # a docker SDK client (tests); found when None
    kube_api_client: Any = None  # a kubernetes ApiClient (tests: the fake API server); from kubeconfig when None
    poll_interval_s: float = 2.0  # how often the cluster Job and verification Pod are read


@dataclass(frozen=True)
class BuildOutcome:
    """What a build answered. `summary` is None for a dry run (the manifests were written) and
    when a finding found before submission stopped it (`findings`, e.g. LB404)."""

    summary: BuildSummary | None
    findings: tuple[Finding, ...] = ()


def run(plan: BuildPlan, options: EngineOptions, progress: Any = None) -> BuildOutcome:
    """Build, verify and tag (or push) the image for `plan` with `options.engine`.

    Raises BadInput (exit 2), InfraUnavailable (exit 3) and BuildFailed (exit 1, with the
    engine's log tail); a failed verification is a summary whose `verification` says so."""
    if options.engine not in ENGINES:
        raise BadInput(f"engine {options.engine!r} is unknown", hint="use " + ", ".join(ENGINES))
    if options.engine == "kubernetes":
        from launchbuild.builder.engines.kubernetes import build_on_cluster

        return build_on_cluster(plan, options, progress)
    if options.dry_run:
        raise BadInput("--dry-run applies to --engine kubernetes", hint="add --engine kubernetes, or drop --dry-run")
    from launchbuild.builder.api import build_image

    summary = build_image(
        plan, options.source_dir, engine=options.engine, push=options.push, force=options.force,
        no_cache=options.no_cache, ca_bundle=options.ca_bundle, client=options.client,
        on_progress=getattr(progress, "build_event", None), credentials=options.credentials,
    )
    return BuildOutcome(summary)
