"""`run(plan, options, progress)`: the one function the pipeline calls to build, for every engine.

Local engines (`auto`, `buildkit`, `classic`) go through `builder.api.build_image`; the
cluster engine through `engines.kubernetes.build_on_cluster`. Both compute the tag with
`builder.api.fit_and_tag`, render the same Dockerfile for the same plan, verify the image
with the same probe and judge (`builder.verify`), and answer with the same `BuildSummary`.
"""

from __future__ import annotations

from typing import Any

from launchbuild.builder.engines.base import ENGINES, BuildOutcome, EngineOptions
from launchbuild.builder.plan import BuildPlan
from launchbuild.errors import BadInput

__all__ = ["ENGINES", "BuildOutcome", "EngineOptions", "run"]


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
