"""The JOB argument recognised, in this order: nothing (the current directory), `image:REF`,
a git URL with an optional `@REF`, an existing directory, a code archive (.tar, .tar.gz,
.tgz, .zip) or a job spec (.json, read by `jobs.job_spec`)."""

from __future__ import annotations

from pathlib import Path

from launchbuild.core.imageref import validate_image_ref
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.errors import BadInput
from launchbuild.jobs.fields import validate_ref
from launchbuild.jobs.git_url import has_url_scheme, parse_git_url
from launchbuild.jobs.job_spec import ParsedSpec, image_name, parse_job_spec, repo_name
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource
from launchbuild.jobs.urls import redact_url
from launchbuild.limits import read_bounded
from launchbuild.paths import expand_user

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
SPEC_SUFFIX = ".json"
IMAGE_PREFIX = "image:"


def _archive_suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in ARCHIVE_SUFFIXES if name.endswith(s)), None)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # NUL bytes, names too long: not a path we can use
        return False


def _path_or_bad_input(arg: str, what: str = "JOB") -> Path:
    if "\x00" in arg:
        raise BadInput(f"{what}: path contains a NUL character", hint="pass a real path")
    path = expand_user(Path(arg))
    if not _exists(path):
        shown = arg if len(arg) <= 200 else arg[:197] + "..."
        raise BadInput(f"{what}: {redact_url(shown)!r} not found",
                       hint="pass an existing directory, archive (.tar, .tar.gz, .tgz, .zip), job spec (.json), "
                            "git URL or image:REF")
    return path


@dataclass(frozen=True)
class ParsedArg(ParsedSpec):
    """What JOB names: a job spec's content (or only its source), and the spec's path."""

    spec_path: Path | None = None


def parse_job_arg(job_arg: str | None) -> ParsedArg:
    """The source (and, for a job spec, its settings) that JOB names."""
    if job_arg is None:
        cwd = Path.cwd()
        return ParsedArg(CodeSource(cwd), name=cwd.name or None)
    if not job_arg.strip():
        raise BadInput("JOB is empty", hint="pass a directory, archive, job spec, git URL or image:REF")
    if job_arg.startswith(IMAGE_PREFIX):
        image = job_arg[len(IMAGE_PREFIX):]
        validate_image_ref(image, "JOB image:REF")
        return ParsedArg(ImageSource(image), name=image_name(image))
    looks_local = _exists(expand_user(Path(job_arg)))
    git = None if (looks_local and not has_url_scheme(job_arg)) else parse_git_url(job_arg)
    if git is not None:
        ref = Sourced(validate_ref(git.ref, "JOB @REF"), Origin.FLAG, "JOB @REF") if git.ref else None
        return ParsedArg(GitSource(git.remote, git.ref), ref=ref, name=repo_name(git.remote))
    path = _path_or_bad_input(job_arg)
    if path.is_dir():
        resolved = path.resolve()
        return ParsedArg(CodeSource(resolved), name=resolved.name or None)
    if _archive_suffix(path):
        return ParsedArg(CodeSource(path.resolve()), name=path.name[: -len(_archive_suffix(path) or "")] or None)
    if path.name.lower().endswith(SPEC_SUFFIX):
        path = path.resolve()
        data = read_bounded(path, "job spec")
        spec = parse_job_spec(data, path)
        return ParsedArg(**{f: getattr(spec, f) for f in ParsedSpec.__dataclass_fields__}, spec_path=path)
    raise BadInput(f"JOB: {path} is neither a directory, a code archive nor a job spec",
                   hint=f"archives end in {', '.join(ARCHIVE_SUFFIXES)}; job specs in .json")
