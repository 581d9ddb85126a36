"""From the JOB argument, a job spec file, a queue config and the options to one `Job`.

`load_job` merges what JOB names (`jobs.job_arg`: a directory, archive, git URL, `image:REF`
or a `wandb-job.json`-style job spec read by `jobs.job_spec`), the queue config
(`jobs.queue_config`) and the caller's `JobOverrides` (flags, or `Sourced` values from the
options layer). `requirements.frozen.txt` and `wandb-metadata.json` beside the spec become
`Job.frozen_requirements` and `Job.run_metadata`.

Precedence of every setting follows `Origin`'s order: queue config < job spec < config file
< environment < flag. The winner keeps its origin and the file/field or flag it came from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence, TypeVar, Union

from launchbuild.core.imageref import validate_image_ref
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.errors import BadInput
from launchbuild.jobs.fields import parse_entrypoint, parse_python_version, validate_ref, validate_subdir
from launchbuild.jobs.job_arg import parse_job_arg
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, Job, Source
from launchbuild.jobs.precedence import strongest
from launchbuild.jobs.queue_config import BuilderSettings, load_queue_config
from launchbuild.paths import expand_user, not_a_file

T = TypeVar("T")

FROZEN_REQUIREMENTS_NAME = "requirements.frozen.txt"
RUN_METADATA_NAME = "wandb-metadata.json"


# A value the caller passes for one setting: a plain value (it came from a flag), a Sourced
# value (the options layer says where it came from), or None (not given).
Setting = Union[T, Sourced[T], None]


@dataclass(frozen=True)
class JobOverrides:
    """What the CLI flags and the options layer say about the job. Plain values are flags;
    pass `Sourced` values for settings from the config file or the environment."""

    ref: Setting[str] = None
    subdir: Setting[str] = None
    entrypoint: Setting[Union[str, Sequence[str]]] = None  # a string is shlex-split
    python: Setting[str] = None
    accelerator_base_image: Setting[str] = None  # --base-image
    python_base_image: Setting[str] = None
    queue_config: Setting[Path] = None
    frozen: Setting[Path] = None
    run_metadata: Setting[Path] = None


FLAG_NAMES = {
    "ref": "--ref",
    "subdir": "--subdir",
    "entrypoint": "--entrypoint",
    "python": "--python",
    "accelerator_base_image": "--base-image",
    "python_base_image": "--python-base-image",
    "queue_config": "--queue-config",
    "frozen": "--frozen",
    "run_metadata": "--run-metadata",
}


def _as_sourced(overrides: JobOverrides, name: str) -> Sourced[Any] | None:
    value = getattr(overrides, name)
    if value is None:
        return None
    if isinstance(value, Sourced):
        return None if value.value is None else value
    return Sourced(value, Origin.FLAG, FLAG_NAMES[name])


# One precedence engine for options and job settings (jobs/precedence.py).
_pick = strongest


def _where(s: Sourced[Any]) -> str:
    return s.detail or s.origin.value


def load_job(job_arg: str | None, overrides: JobOverrides | None = None) -> Job:
    """The job JOB names, with every setting merged by precedence. Raises only BadInput.

    A job without an entrypoint is valid here (`show`, `check` need none); builds call
    `require_entrypoint`."""
    overrides = overrides or JobOverrides()
    flag = {name: _as_sourced(overrides, name) for name in FLAG_NAMES}
    if job_arg is not None and not isinstance(job_arg, str):
        raise BadInput(f"JOB must be a string, got {type(job_arg).__name__}")

    parsed = parse_job_arg(job_arg)

    queue = BuilderSettings()
    if flag["queue_config"] is not None:
        queue_path = flag["queue_config"].value
        if not isinstance(queue_path, (str, os.PathLike)):
            raise BadInput(f"{_where(flag['queue_config'])}: queue config must be a path")
        queue = load_queue_config(Path(queue_path))

    ref = _pick(parsed.ref, _sourced_checked(flag["ref"], validate_ref))
    # URL@REF and --ref are both on the command line: two different values is a contradiction.
    # A spec's commit, or a ref from the environment, is simply overridden.
    if parsed.ref is not None and flag["ref"] is not None and parsed.ref.value != flag["ref"].value \
            and parsed.ref.origin is Origin.FLAG and flag["ref"].origin is Origin.FLAG:
        raise BadInput(f"JOB names ref {parsed.ref.value!r} but {_where(flag['ref'])} says {flag['ref'].value!r}",
                       hint="give the ref once: URL@REF or --ref")
    subdir = _pick(parsed.subdir, _sourced_checked(flag["subdir"], validate_subdir))
    if subdir is not None and not subdir.value:
        subdir = None
    if ref is not None and not isinstance(parsed.source, GitSource):
        raise BadInput(f"{_where(ref)}: a git ref was given but JOB is not a git source",
                       hint="drop the ref, or pass a git URL as JOB")
    if subdir is not None and isinstance(parsed.source, ImageSource):
        raise BadInput(f"{_where(subdir)}: a subdirectory was given but JOB is an image",
                       hint="drop the subdirectory")

    source: Source = parsed.source
    if isinstance(source, GitSource):
        source = GitSource(source.remote, ref.value if ref else None, subdir.value if subdir else None)
    elif isinstance(source, CodeSource):
        source = CodeSource(source.path, subdir=subdir.value if subdir else None)

    entrypoint = _pick(parsed.entrypoint, _entrypoint_override(flag["entrypoint"]))
    python = _pick(parsed.python, _sourced_checked(flag["python"], parse_python_version))
    accelerator = _pick(queue.accelerator_base_image, parsed.accelerator_base_image,
                        _sourced_checked(flag["accelerator_base_image"], validate_image_ref))
    python_base = _pick(parsed.python_base_image,
                        _sourced_checked(flag["python_base_image"],
                                         lambda v, w: validate_image_ref(v, w, allow_python_placeholder=True)))

    frozen = _file_override(flag["frozen"]) or _beside(parsed.spec_path, FROZEN_REQUIREMENTS_NAME)
    run_metadata = _file_override(flag["run_metadata"]) or _beside(parsed.spec_path, RUN_METADATA_NAME)

    return Job(
        source=source,
        entrypoint=entrypoint,
        python=python,
        accelerator_base_image=accelerator,
        python_base_image=python_base,
        frozen_requirements=frozen,
        run_metadata=run_metadata,
        spec_path=parsed.spec_path,
        name=parsed.name,
        ref=ref,
        subdir=subdir,
    )


def _sourced_checked(value: Sourced[Any] | None, check: Any) -> Sourced[Any] | None:
    if value is None:
        return None
    return Sourced(check(value.value, _where(value)), value.origin, value.detail)


def _entrypoint_override(value: Sourced[Any] | None) -> Sourced[tuple[str, ...]] | None:
    if value is None:
        return None
    argv = parse_entrypoint(value.value, _where(value))
    if argv is None:
        raise BadInput(f"{_where(value)}: entrypoint is empty", hint='give the command, e.g. "python train.py"')
    return Sourced(argv, value.origin, value.detail)


def _file_override(value: Sourced[Any] | None) -> Path | None:
    if value is None:
        return None
    if not isinstance(value.value, (str, os.PathLike)):
        raise BadInput(f"{_where(value)}: must be a file path, got {type(value.value).__name__}")
    path = expand_user(Path(value.value))
    problem = not_a_file(path)
    if problem is not None:
        raise BadInput(f"{_where(value)}: {path} {problem[0]}", hint=problem[1])
    return path.resolve()


def _beside(spec_path: Path | None, name: str) -> Path | None:
    if spec_path is None:
        return None
    candidate = spec_path.parent / name
    return candidate if candidate.is_file() else None


def require_entrypoint(job: Job) -> tuple[str, ...]:
    """The job's entrypoint; BadInput when a build has none from anywhere."""
    if job.entrypoint is None or not job.entrypoint.value:
        where = f"job spec {job.spec_path}" if job.spec_path else "JOB"
        raise BadInput(f"{where}: no entrypoint for the image",
                       hint="pass --entrypoint \"python train.py\", set 'entrypoint' in launchbuild.toml, "
                            "or source.entrypoint in the job spec")
    return job.entrypoint.value
