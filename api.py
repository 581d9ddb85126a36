"""The public API: what `launchbuild check|build|resolve|dockerfile|inspect|show|rules` do,
as functions that return values and never print.

A queue agent embeds launchbuild with one frozen request::

    import launchbuild

    report = launchbuild.check(launchbuild.JobRequest(
        "examples/demo", queue_config=Path("examples/demo/queue.json"),
        options={"gpu": ["H100"], "driver": "535.104.05"}))

The CLI builds the same `JobRequest` from its flags and renders what comes back
(`report/formats/`, `report/tables.py`); the service builds it from a request body. The
work happens in `pipeline/` (prepare, check, build); this module only names the entry points.
Errors are `launchbuild.errors` classes: `BadInput` (exit 2), `InfraUnavailable` (3), and
after the job was read each carries the report so far as `exc.report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Union

from launchbuild.builder.model import Manifests
from launchbuild.errors import BadInput
from launchbuild.pipeline import check as _check
from launchbuild.pipeline.prepare import JobView, describe, prepare
from launchbuild.pipeline.request import JobRequest
from launchbuild.progress import Progress
from launchbuild.report.model import Report

if TYPE_CHECKING:
    from launchbuild.compat.catalog import Rule
    from launchbuild.compat.image_facts import ImageFacts
    from launchbuild.resolver.model import ResolveResult

__all__ = ["JobRequest", "JobView", "Manifests", "Progress", "check", "build", "resolve", "dockerfile", "inspect", "show", "rules"]

# A request, or just the JOB argument (a path, a git URL, `image:REF`); None: the current directory.
RequestLike = Union[JobRequest, str, None]
OnSource = Callable[[Path], None]


def _request(request: RequestLike) -> JobRequest:
    return request if isinstance(request, JobRequest) else JobRequest(job=request)


def check(request: RequestLike = None, *, progress: Progress | None = None,
          on_source: OnSource | None = None) -> Report:
    """Pre-flight check a job: its base image, GPUs, driver, CUDA, locked packages and source.

    `progress` sees phases and log lines (default: nothing is shown). `on_source` sees the
    fetched code root before its own config file is read (the service refuses operator
    options there). The report's `exit_code` is what the CLI exits with."""
    req = _request(request)
    progress = progress or Progress()
    with prepare(req, progress=progress, on_source=on_source) as prepared:
        return _check.check(prepared, requirements=req.requirements, extras=req.extras, is_build=False,
                            progress=progress).report


def build(
    request: RequestLike = None,
    *,
    force: bool = False,
    no_cache: bool = False,
    dry_run: bool = False,
    output: Path | None = None,
    progress: Progress | None = None,
    on_source: OnSource | None = None,
) -> Report | Manifests:
    """Check, then build, then verify (and push with the `push` option).

    Refuses to build when the check has errors unless `force` (the report says why);
    `no_cache` rebuilds an existing content tag. With the `engine` option `kubernetes` and
    `dry_run`, nothing is submitted: the Job's `Manifests` are returned (and written to
    `output` when given; never printed)."""
    from launchbuild.jobs.spec import require_entrypoint
    from launchbuild.pipeline import build as _build

    req = _request(request)
    progress = progress or Progress()
    with prepare(req, progress=progress, on_source=on_source) as prepared:
        if prepared.job.builds_image:
            require_entrypoint(prepared.job)  # bad input (exit 2) before any work
        checked = _check.check(prepared, requirements=req.requirements, extras=req.extras, is_build=True,
                               progress=progress)
        return _build.build(checked, force=force, no_cache=no_cache, dry_run=dry_run, output=output,
                            progress=progress)


def resolve(request: RequestLike = None, *, progress: Progress | None = None) -> ResolveResult:
    """Lock the job's environment for its target Python and platform (no image is read)."""
    from launchbuild.resolver.api import resolve as resolve_env

    req = _request(request)
    progress = progress or Progress()
    with prepare(req, progress=progress) as prepared:
        if not prepared.job.builds_image:
            raise BadInput("an image job has no environment to resolve", hint="pass a git or code job")
        options = _check.resolve_options_for(prepared, requirements=req.requirements, extras=req.extras,
                                             fetch_package_facts=False)
        return resolve_env(prepared.source_dir, prepared.job, options)


def dockerfile(request: RequestLike = None) -> str:
    """The Dockerfile a BuildKit build of the job would use (deterministic: the same job gives
    the same text, and so the same content tag)."""
    from launchbuild.pipeline import build as _build

    req = _request(request)
    progress = Progress()
    with prepare(req, progress=progress) as prepared:
        if not prepared.job.builds_image:
            raise BadInput("an image job builds nothing, so it has no Dockerfile", hint="pass a git or code job")
        checked = _check.check(prepared, requirements=req.requirements, extras=req.extras, is_build=True,
                               progress=progress)
        return _build.dockerfile(checked)


def inspect(image: str, *, platform: str = "linux/amd64", offline: bool = False) -> ImageFacts:
    """The fact sheet of an image: from the local engine, its registry, or (last) its tag."""
    from launchbuild.compat.facts.inspect import inspect_image
    from launchbuild.core.platform import parse_platform

    return inspect_image(image, platform=parse_platform(platform), offline=offline)


def show(request: RequestLike = None) -> JobView:
    """The job as understood, without fetching it: source, entrypoint, Python, base image,
    each with where it came from, and the options it was read with."""
    return describe(_request(request))


def rules() -> tuple[Rule, ...]:
    """The rule catalog, by ID: stable IDs, severities, titles, descriptions and fixes."""
    from launchbuild.compat.catalog import RULES

    return tuple(RULES[k] for k in sorted(RULES))
