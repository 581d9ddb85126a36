"""Prepare: read the job, fetch its source, and layer the options (twice: the job's own
config file sits inside the source). Returns a frozen `Prepared`; never prints."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, Job
from launchbuild.options import Options, resolve_options
from launchbuild.pipeline.request import JobRequest
from launchbuild.progress import Progress
from launchbuild.report.model import JobView, Report, TargetSummary

if TYPE_CHECKING:
    from launchbuild.jobs.spec import JobOverrides


@dataclass(frozen=True)
class Prepared:
    """A job ready to check or build: the job as loaded, its layered options, and its fetched
    source (None for an image job), as `prepare` yields it."""

    job: Job
    options: Options
    source_dir: Path | None
    commit: str | None
    explicit_frozen: Path | None = None  # --frozen: it outranks a detected requirements file


def job_overrides(options: Options, request: JobRequest) -> JobOverrides:
    """What the request says about the job, for `jobs.spec.load_job`: its own fields as flags,
    the job-describing options with the origin the options layer gave them."""
    from launchbuild.jobs.spec import JobOverrides

    def opt(name: str) -> Sourced[Any] | None:
        s = options.values[name]
        return None if s.origin is Origin.DEFAULT or s.value is None else s

    return JobOverrides(
        ref=request.ref,
        subdir=request.subdir,
        entrypoint=request.entrypoint if request.entrypoint is not None else opt("entrypoint"),
        python=opt("python"),
        accelerator_base_image=opt("base-image"),
        python_base_image=opt("python-base-image"),
        queue_config=request.queue_config,
        frozen=request.frozen,
        run_metadata=request.run_metadata,
    )


def load(request: JobRequest) -> tuple[Job, Options]:
    """The job as understood without fetching it, and the options it was read with."""
    from launchbuild.jobs.spec import load_job

    options = resolve_options(request.config_names(), operator_config=request.operator_config)
    return load_job(request.job, job_overrides(options, request)), options


def describe(request: JobRequest) -> JobView:
    """The job as `show` prints it. Nothing is fetched; but a job that is a directory on this
    machine has its own config file right there, and `check` would read it: so does `show`
    (the values it sets and where they came from, or the refusal of an operator option)."""
    from launchbuild.jobs.describe import job_to_dict

    job, options = load(request)
    if isinstance(job.source, CodeSource) and _is_local_directory(job.source.path):
        from launchbuild.jobs.fetch import materialize
        from launchbuild.jobs.spec import load_job

        with materialize(job) as workspace:  # a directory: nothing is copied or fetched
            if workspace is not None:
                options = resolve_options(request.config_names(), source_dir=Path(workspace.path),
                                          operator_config=request.operator_config)
        job = load_job(request.job, job_overrides(options, request))
    return JobView(job_label(job), job_to_dict(job), options)


def _is_local_directory(path: Path) -> bool:
    try:
        return Path(path).is_dir()
    except OSError:
        return False


@contextlib.contextmanager
def prepare(
    request: JobRequest,
    *,
    progress: Progress,
    on_source: Callable[[Path], None] | None = None,
) -> Iterator[Prepared]:
    """Load the job, fetch its source into a temp dir (always removed), then layer options
    again with the job's own config file, which sits inside the source.

    `on_source` sees the fetched code root before its config file is read: the service uses
    it to refuse operator options in an untrusted job's launchbuild.toml."""
    from launchbuild.jobs.fetch import materialize
    from launchbuild.jobs.spec import load_job

    flags = request.config_names()
    job, options = load(request)
    with report_on_error(job), contextlib.ExitStack() as stack:
        with progress.phase("fetching source" if job.builds_image else "reading job"):
            workspace = stack.enter_context(materialize(job))
        source_dir = workspace.path if workspace is not None else None
        commit = workspace.commit if workspace is not None else None
        if source_dir is not None:
            if on_source is not None:
                on_source(Path(source_dir))
            options = resolve_options(flags, source_dir=source_dir, operator_config=request.operator_config)
            job = load_job(request.job, job_overrides(options, request))
        from launchbuild.core.platform import parse_platform

        # Every job command reads the platform: a bad one is named where it was set (the flag,
        # the variable, the file and its key) before any slow work.
        parse_platform(options["platform"], options.where("platform"))
        progress.options(options)
        yield Prepared(job, options, source_dir, commit, explicit_frozen=request.frozen)


@contextlib.contextmanager
def report_on_error(job: Job, report: Report | None = None, stage: str = "check") -> Iterator[None]:
    """An error after the job was read carries the report so far (`exc.report`), so the CLI
    still writes every requested format: the findings, the failure and its fix."""
    from launchbuild.errors import LaunchbuildError
    from launchbuild.report.failure import with_error

    try:
        yield
    except LaunchbuildError as exc:
        if getattr(exc, "report", None) is None:
            exc.report = with_error(report or Report(job=job_label(job), target=TargetSummary()),  # type: ignore[attr-defined]
                                    exc, stage=stage)
        raise


def source_root(job: Job) -> str | None:
    """The job's local source directory (finding paths are relative to it), else None."""
    path = getattr(job.source, "path", None)
    if path is None or not Path(path).is_dir():
        return None
    root = Path(path) / (job.source.subdir or "")  # type: ignore[union-attr]
    return str(root.resolve())


def job_label(job: Job) -> str:
    """How reports and tables name the job: its redacted git URL, `image:REF`, or its path."""
    from launchbuild.jobs.urls import redact_url

    src = job.source
    if isinstance(src, GitSource):
        return redact_url(src.remote) + (f"@{src.ref}" if src.ref else "")
    if isinstance(src, ImageSource):
        return f"image:{src.image}"
    from launchbuild.paths import display_path

    assert isinstance(src, CodeSource)
    return display_path(Path(job.spec_path or src.path))


def python_inputs(job: Job) -> tuple[Sourced[str] | None, Sourced[str] | None]:
    """(explicit, job runtime) for the resolver's selection order."""
    if job.python is None:
        return None, None
    if job.python.origin in (Origin.FLAG, Origin.ENV, Origin.CONFIG_FILE):
        return job.python, None
    return None, job.python
