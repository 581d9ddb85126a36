"""The job spec reader: a `wandb-job.json`-style file (W&B Launch's format) to a `ParsedSpec`.

`source_type` repo | artifact | image; `source.git.remote` / `source.git.commit`,
`source.entrypoint` (argv list), `source.image`, `source.base_image`, `runtime`
("3.10.12" -> Python 3.10). Our additions, all optional: `name`, `source.subdir`, and a
`builder` table with the queue config's shape. Unknown keys are ignored (the W&B format
carries many we have no use for). An `artifact` job's code cannot be downloaded here: it is
the first of `code/`, `code.tar.gz`, `code.tgz`, `code.tar`, `code.zip` beside the spec, or
else the spec's own directory. Every value is `Sourced` from the spec's file and field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from launchbuild.core.imageref import validate_image_ref
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.errors import BadInput
from launchbuild.jobs.fields import parse_entrypoint, parse_python_version, validate_ref, validate_subdir
from launchbuild.jobs.git_url import parse_git_url
from launchbuild.jobs.local_tree import is_within
from launchbuild.jobs.json_object import get_field, json_type, parse_json_object
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, Source
from launchbuild.jobs.queue_config import parse_builder_table
from launchbuild.jobs.urls import redact_url
from launchbuild.paths import display_path

T = TypeVar("T")

ARTIFACT_CODE_CANDIDATES = ("code", "code.tar.gz", "code.tgz", "code.tar", "code.zip")
SOURCE_TYPES = ("repo", "artifact", "image")


@dataclass(frozen=True)
class ParsedSpec:
    """A job spec's content, before it is merged with flags and the queue config."""

    source: Source
    entrypoint: Sourced[tuple[str, ...]] | None = None
    python: Sourced[str] | None = None
    accelerator_base_image: Sourced[str] | None = None
    python_base_image: Sourced[str] | None = None
    ref: Sourced[str] | None = None
    subdir: Sourced[str] | None = None
    name: str | None = None


def _artifact_code(spec_dir: Path) -> Path:
    for candidate in ARTIFACT_CODE_CANDIDATES:
        path = spec_dir / candidate
        if (candidate == "code" and path.is_dir()) or (candidate != "code" and path.is_file()):
            # The artifact is the job's: a `code` or `code.tar.gz` beside the spec that is a
            # link out of its folder would build a directory or archive of the operator's.
            real, real_dir = os.path.realpath(path), os.path.realpath(spec_dir)
            if not is_within(real, real_dir):
                raise BadInput(f"{display_path(path)}: a link out of the job spec's folder ({os.readlink(path)[:100]!r})",
                               hint="replace the link with the code itself")
            return path
    return spec_dir


def parse_job_spec(data: bytes, path: Path) -> ParsedSpec:
    """A `wandb-job.json`-style spec. `path` names the file in messages and locates the
    code of `artifact` jobs."""
    where = display_path(path)
    spec = parse_json_object(data, f"job spec {where}")

    def sourced(value: T, field: str) -> Sourced[T]:
        return Sourced(value, Origin.JOB_SPEC, f"{where}: {field}")

    source_type = get_field(spec, "source_type", str, where, required=True)
    if source_type not in SOURCE_TYPES:
        raise BadInput(f"{where}: unknown source_type {source_type[:40]!r}",
                       hint=f"use one of {', '.join(SOURCE_TYPES)}")
    source_table = get_field(spec, "source", dict, where, required=True)
    name = get_field(spec, "name", str, where)

    entrypoint = None
    raw_entrypoint = source_table.get("entrypoint")
    if raw_entrypoint is not None:
        if not isinstance(raw_entrypoint, list):
            raise BadInput(f"{where}: field 'source.entrypoint' must be an array of strings, got {json_type(raw_entrypoint)}",
                           hint='e.g. ["python", "train.py"]')
        argv = parse_entrypoint(raw_entrypoint, f"{where}: source.entrypoint")
        entrypoint = sourced(argv, "source.entrypoint") if argv else None

    python = None
    runtime = spec.get("runtime")
    if runtime is not None:
        python = sourced(parse_python_version(runtime, f"{where}: runtime"), "runtime")

    python_base_image = None
    base_image = get_field(source_table, "base_image", str, f"{where}: source")
    if base_image is not None:
        validate_image_ref(base_image, f"{where}: source.base_image")
        python_base_image = sourced(base_image, "source.base_image")

    accelerator = None
    builder = get_field(spec, "builder", dict, where)
    if builder is not None:
        accelerator = parse_builder_table(builder, where, Origin.JOB_SPEC).accelerator_base_image

    subdir = None
    raw_subdir = source_table.get("subdir")
    if raw_subdir is not None:
        subdir = sourced(validate_subdir(raw_subdir, f"{where}: source.subdir"), "source.subdir")
        if not subdir.value:
            subdir = None

    ref = None
    source: Source
    if source_type == "repo":
        git = get_field(source_table, "git", dict, f"{where}: source", required=True)
        remote = get_field(git, "remote", str, f"{where}: source.git", required=True)
        if parse_git_url(remote) is None:
            raise BadInput(f"{where}: source.git.remote {redact_url(remote)[:200]!r} is not a git URL",
                           hint="use https://, ssh:// or git@host:path")
        if remote[:7].lower() == "file://":
            # The spec is the job's: a file:// remote would clone a repository on the
            # operator's disk into the job's image (as git+file:// requirements would).
            raise BadInput(f"{where}: source.git.remote {redact_url(remote)[:200]!r} is a repository on this machine; "
                           "a job spec's code comes from a network remote",
                           hint="name the remote by https:// or ssh://, or pass the local clone itself as JOB")
        commit = get_field(git, "commit", str, f"{where}: source.git")
        if commit:
            ref = sourced(validate_ref(commit, f"{where}: source.git.commit"), "source.git.commit")
        source = GitSource(remote, ref.value if ref else None, subdir.value if subdir else None)
        name = name or repo_name(remote)
    elif source_type == "artifact":
        source = CodeSource(_artifact_code(path.parent), subdir=subdir.value if subdir else None)
        name = name or path.parent.name or None
    else:
        image = get_field(source_table, "image", str, f"{where}: source", required=True)
        validate_image_ref(image, f"{where}: source.image")
        source = ImageSource(image)
        name = name or image_name(image)

    return ParsedSpec(source, entrypoint, python, accelerator, python_base_image, ref, subdir, name)


def repo_name(remote: str) -> str | None:
    tail = remote.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail[:-4] if tail.endswith(".git") else tail
    return tail or None


def image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]
