"""From the JOB argument, a job spec file, a queue config and the options to one `Job`.

JOB is, in this order of recognition:
  * nothing: the current directory;
  * `image:REF`: an image job, nothing is built;
  * a git URL (`https://`, `http://`, `ssh://`, `git://`, `file://`, or scp-like
    `user@host:path`), with an optional `@REF` after the path (or `--ref`);
  * an existing path: a directory, a code archive (.tar, .tar.gz, .tgz, .zip), or a job spec
    (.json, compatible with W&B Launch's `wandb-job.json`).

Job spec (`wandb-job.json`): `source_type` repo | artifact | image; `source.git.remote` /
`source.git.commit`, `source.entrypoint` (argv list), `source.image`, `source.base_image`,
`runtime` ("3.10.12" -> Python 3.10). Our additions, all optional: `name`, `source.subdir`,
and a `builder` table with the queue config's shape. Unknown keys are ignored (the W&B format
carries many we have no use for). An `artifact` job's code cannot be downloaded here: it is
the first of `code/`, `code.tar.gz`, `code.tgz`, `code.tar`, `code.zip` beside the spec, or
else the spec's own directory. `requirements.frozen.txt` and `wandb-metadata.json` beside the
spec become `Job.frozen_requirements` and `Job.run_metadata`.

Precedence of every setting follows `Origin`'s order: queue config < job spec < config file
< environment < flag. The winner keeps its origin and the file/field or flag it came from.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, TypeVar, Union

from launchbuild.errors import BadInput
from launchbuild.limits import clip, load_json, read_bounded
from launchbuild.paths import display_path, expand_user
from launchbuild.core.imageref import validate_image_ref
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, Job, Source
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.urls import redact_url
from launchbuild.jobs.precedence import strongest

T = TypeVar("T")

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
SPEC_SUFFIX = ".json"
FROZEN_REQUIREMENTS_NAME = "requirements.frozen.txt"
RUN_METADATA_NAME = "wandb-metadata.json"
ARTIFACT_CODE_CANDIDATES = ("code", "code.tar.gz", "code.tgz", "code.tar", "code.zip")
SOURCE_TYPES = ("repo", "artifact", "image")
IMAGE_PREFIX = "image:"
GIT_SCHEMES = ("https", "http", "ssh", "git", "file")


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


# ---------------------------------------------------------------------------------------
# Single values


_PYTHON_VERSION = re.compile(r"(3)\.(0|[1-9][0-9]?)(?:\.(0|[1-9][0-9]{0,2}))?", re.ASCII)


def parse_python_version(value: object, where: str) -> str:
    """'3.11' or '3.10.12' -> 'X.Y'. Only Python 3 exists for us."""
    if not isinstance(value, str):
        raise BadInput(f"{where}: Python version must be a string like '3.11', got {type(value).__name__}",
                       hint="write it as X.Y, e.g. \"3.11\"")
    text = value.strip()
    if text.lower().startswith("python"):
        text = text[len("python"):].lstrip("-")  # runtime.txt style: python-3.10
    match = _PYTHON_VERSION.fullmatch(text)
    if match is None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise BadInput(f"{where}: invalid Python version {shown!r}",
                       hint="use X.Y or X.Y.Z with X = 3, e.g. 3.11")
    return f"{match.group(1)}.{match.group(2)}"


def parse_entrypoint(value: object, where: str) -> tuple[str, ...] | None:
    """An argv tuple from a list of strings or a shell-like string; None when empty."""
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise BadInput(f"{where}: cannot split entrypoint {value!r}: {exc}",
                           hint="balance the quotes, or give the entrypoint as a JSON list") from None
    elif isinstance(value, (list, tuple)) and all(isinstance(a, str) for a in value):
        argv = list(value)
    else:
        raise BadInput(f"{where}: entrypoint must be a list of strings or a string, got {type(value).__name__}",
                       hint='e.g. ["python", "train.py"]')
    if any("\x00" in a for a in argv):
        raise BadInput(f"{where}: entrypoint contains a NUL character", hint="remove it")
    return tuple(argv) or None


_UNSAFE_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|^[-/]|/$|\.lock$|^$", re.ASCII)


def validate_ref(ref: object, where: str) -> str:
    """A commit sha, branch or tag name; refused if git would not accept it as a ref name
    (and never starting with '-', which git would read as an option)."""
    if not isinstance(ref, str):
        raise BadInput(f"{where}: git ref must be a string, got {type(ref).__name__}",
                       hint="give a commit sha, branch or tag")
    if _UNSAFE_REF.search(ref) or len(ref) > 255:
        shown = ref if len(ref) <= 60 else ref[:57] + "..."
        raise BadInput(f"{where}: invalid git ref {shown!r}",
                       hint="give a commit sha, branch or tag name (no spaces, '..', ':', '~', '^')")
    return ref


def validate_subdir(subdir: object, where: str) -> str:
    """A relative path that stays inside the source root, in POSIX form."""
    if not isinstance(subdir, str):
        raise BadInput(f"{where}: subdirectory must be a string, got {type(subdir).__name__}",
                       hint="give a path relative to the source root")
    text = subdir.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if "\x00" in text or text.startswith("/") or re.match(r"^[A-Za-z]:", text) or ".." in parts:
        raise BadInput(f"{where}: subdirectory {subdir!r} must be a relative path inside the source",
                       hint="no leading '/', no '..'")
    return "/".join(parts)


# ---------------------------------------------------------------------------------------
# JOB argument


@dataclass(frozen=True)
class GitUrl:
    remote: str
    ref: str | None


_SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._~+-]+)@(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<path>[^\s]+)$")
_URL_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://", re.ASCII)


def parse_git_url(arg: str) -> GitUrl | None:
    """The remote and the `@REF` suffix of a git URL; None when `arg` is not one.

    The ref is an '@' in the path part only: the '@' of `git@host:` or of
    `https://user:token@host/` belongs to the authority and is never a ref."""
    scheme_match = _URL_SCHEME.match(arg)
    if (scheme_match or _SCP_LIKE.match(arg)) and re.search(r"[\x00-\x20\x7f]", arg):
        # A newline or other control character in a URL is never a real remote, and must
        # never reach git or a message as-is (a forged second line).
        raise BadInput(f"JOB: git URL '{clip(redact_url(arg))}' contains whitespace or control characters",
                       hint="pass the URL exactly as git shows it")
    if scheme_match:
        scheme = scheme_match.group("scheme").lower()
        if scheme not in GIT_SCHEMES:
            raise BadInput(f"JOB: unsupported URL scheme '{scheme}://' in {redact_url(arg)!r}",
                           hint=f"git remotes may use {', '.join(s + '://' for s in GIT_SCHEMES)} or user@host:path")
        rest = arg[scheme_match.end():]
        slash = rest.find("/")
        if slash < 0:
            raise BadInput(f"JOB: git URL {redact_url(arg)!r} has no repository path",
                           hint="e.g. https://host/org/repo.git")
        authority, path = rest[:slash], rest[slash:]
        prefix = arg[: scheme_match.end()] + authority
        if scheme == "file" and Path(path).exists():
            return GitUrl(prefix + path, None)  # a local path with an '@' in its name
        head, at, ref = path.rpartition("@")
        if at and ref:
            return GitUrl(prefix + head, ref)
        if at:
            raise BadInput(f"JOB: {redact_url(arg)!r} ends with '@' but names no ref",
                           hint="write URL@REF, or leave out the '@'")
        return GitUrl(arg, None)
    scp = _SCP_LIKE.match(arg)
    if scp:
        path = scp.group("path")
        head, at, ref = path.rpartition("@")
        remote_prefix = arg[: scp.start("path")]
        if at and ref and head:
            return GitUrl(remote_prefix + head, ref)
        return GitUrl(arg, None)
    return None


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


# ---------------------------------------------------------------------------------------
# JSON files


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from `path`; every failure is one BadInput line naming the file."""
    data = read_bounded(path, what)  # a regular file under the size cap; a FIFO never blocks
    return parse_json_object(data, f"{what} {clip(str(path))}")


def parse_json_object(data: bytes, where: str) -> dict[str, Any]:
    value = load_json(data, where)  # size, depth, huge integers, lone surrogates: limits.py
    if not isinstance(value, dict):
        raise BadInput(f"{where}: expected a JSON object at the top, got {_json_type(value)}",
                       hint='the file must look like {"source_type": ..., "source": {...}}')
    return value


def _json_type(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, *, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise BadInput(f"{where}: missing required field '{key}'", hint=f"add '{key}'")
        return None
    if not isinstance(value, kind):
        expected = {dict: "an object", str: "a string", list: "an array", bool: "a boolean"}.get(
            kind if isinstance(kind, type) else kind[0], "another type")
        raise BadInput(f"{where}: field '{key}' must be {expected}, got {_json_type(value)}",
                       hint=f"fix the type of '{key}'")
    return value


# ---------------------------------------------------------------------------------------
# Queue config and the builder table


@dataclass(frozen=True)
class BuilderSettings:
    accelerator_base_image: Sourced[str] | None = None


def parse_builder_table(table: dict[str, Any], where: str, origin: Origin) -> BuilderSettings:
    """`{"accelerator": {"base_image": ...}}`, or the legacy `{"cuda": {"base_image": ...}}`.
    Other builder keys (type, destination, ...) belong to other tools and are ignored."""
    for key in ("accelerator", "cuda"):
        sub = _get(table, key, dict, f"{where}: builder")
        if sub is None:
            continue
        image = _get(sub, "base_image", str, f"{where}: builder.{key}")
        if image is not None:
            field_where = f"{where}: builder.{key}.base_image"
            validate_image_ref(image, field_where)
            return BuilderSettings(Sourced(image, origin, field_where))
    return BuilderSettings()


def load_queue_config(path: Path, *, where_prefix: str = "queue config") -> BuilderSettings:
    data = read_json_object(path, where_prefix)
    builder = _get(data, "builder", dict, f"{where_prefix} {path}")
    if builder is None:
        return BuilderSettings()
    return parse_builder_table(builder, display_path(path), Origin.QUEUE_CONFIG)


# ---------------------------------------------------------------------------------------
# Job spec


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
            return path
    return spec_dir


def parse_job_spec(data: bytes, path: Path) -> ParsedSpec:
    """A `wandb-job.json`-style spec. `path` names the file in messages and locates the
    code of `artifact` jobs."""
    where = display_path(path)
    spec = parse_json_object(data, f"job spec {where}")

    def sourced(value: T, field: str) -> Sourced[T]:
        return Sourced(value, Origin.JOB_SPEC, f"{where}: {field}")

    source_type = _get(spec, "source_type", str, where, required=True)
    if source_type not in SOURCE_TYPES:
        raise BadInput(f"{where}: unknown source_type {source_type[:40]!r}",
                       hint=f"use one of {', '.join(SOURCE_TYPES)}")
    source_table = _get(spec, "source", dict, where, required=True)
    name = _get(spec, "name", str, where)

    entrypoint = None
    raw_entrypoint = source_table.get("entrypoint")
    if raw_entrypoint is not None:
        if not isinstance(raw_entrypoint, list):
            raise BadInput(f"{where}: field 'source.entrypoint' must be an array of strings, got {_json_type(raw_entrypoint)}",
                           hint='e.g. ["python", "train.py"]')
        argv = parse_entrypoint(raw_entrypoint, f"{where}: source.entrypoint")
        entrypoint = sourced(argv, "source.entrypoint") if argv else None

    python = None
    runtime = spec.get("runtime")
    if runtime is not None:
        python = sourced(parse_python_version(runtime, f"{where}: runtime"), "runtime")

    python_base_image = None
    base_image = _get(source_table, "base_image", str, f"{where}: source")
    if base_image is not None:
        validate_image_ref(base_image, f"{where}: source.base_image")
        python_base_image = sourced(base_image, "source.base_image")

    accelerator = None
    builder = _get(spec, "builder", dict, where)
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
        git = _get(source_table, "git", dict, f"{where}: source", required=True)
        remote = _get(git, "remote", str, f"{where}: source.git", required=True)
        if parse_git_url(remote) is None:
            raise BadInput(f"{where}: source.git.remote {redact_url(remote)[:200]!r} is not a git URL",
                           hint="use https://, ssh://, git@host:path or file://")
        commit = _get(git, "commit", str, f"{where}: source.git")
        if commit:
            ref = sourced(validate_ref(commit, f"{where}: source.git.commit"), "source.git.commit")
        source = GitSource(remote, ref.value if ref else None, subdir.value if subdir else None)
        name = name or _repo_name(remote)
    elif source_type == "artifact":
        source = CodeSource(_artifact_code(path.parent), subdir=subdir.value if subdir else None)
        name = name or path.parent.name or None
    else:
        image = _get(source_table, "image", str, f"{where}: source", required=True)
        validate_image_ref(image, f"{where}: source.image")
        source = ImageSource(image)
        name = name or _image_name(image)

    return ParsedSpec(source, entrypoint, python, accelerator, python_base_image, ref, subdir, name)


def _repo_name(remote: str) -> str | None:
    tail = remote.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail[:-4] if tail.endswith(".git") else tail
    return tail or None


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


# ---------------------------------------------------------------------------------------
# load_job


def load_job(job_arg: str | None, overrides: JobOverrides | None = None) -> Job:
    """The job JOB names, with every setting merged by precedence. Raises only BadInput.

    A job without an entrypoint is valid here (`show`, `check` need none); builds call
    `require_entrypoint`."""
    overrides = overrides or JobOverrides()
    flag = {name: _as_sourced(overrides, name) for name in FLAG_NAMES}
    if job_arg is not None and not isinstance(job_arg, str):
        raise BadInput(f"JOB must be a string, got {type(job_arg).__name__}")

    parsed = _parse_job_arg(job_arg)

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


@dataclass(frozen=True)
class _ParsedArg(ParsedSpec):
    spec_path: Path | None = None


def _parse_job_arg(job_arg: str | None) -> _ParsedArg:
    if job_arg is None:
        cwd = Path.cwd()
        return _ParsedArg(CodeSource(cwd), name=cwd.name or None)
    if not job_arg.strip():
        raise BadInput("JOB is empty", hint="pass a directory, archive, job spec, git URL or image:REF")
    if job_arg.startswith(IMAGE_PREFIX):
        image = job_arg[len(IMAGE_PREFIX):]
        validate_image_ref(image, "JOB image:REF")
        return _ParsedArg(ImageSource(image), name=_image_name(image))
    looks_local = _exists(expand_user(Path(job_arg)))
    git = None if (looks_local and not _URL_SCHEME.match(job_arg)) else parse_git_url(job_arg)
    if git is not None:
        ref = Sourced(validate_ref(git.ref, "JOB @REF"), Origin.FLAG, "JOB @REF") if git.ref else None
        return _ParsedArg(GitSource(git.remote, git.ref), ref=ref, name=_repo_name(git.remote))
    path = _path_or_bad_input(job_arg)
    if path.is_dir():
        resolved = path.resolve()
        return _ParsedArg(CodeSource(resolved), name=resolved.name or None)
    if _archive_suffix(path):
        return _ParsedArg(CodeSource(path.resolve()), name=path.name[: -len(_archive_suffix(path) or "")] or None)
    if path.name.lower().endswith(SPEC_SUFFIX):
        path = path.resolve()
        data = read_bounded(path, "job spec")
        spec = parse_job_spec(data, path)
        return _ParsedArg(**{f: getattr(spec, f) for f in ParsedSpec.__dataclass_fields__}, spec_path=path)
    raise BadInput(f"JOB: {path} is neither a directory, a code archive nor a job spec",
                   hint=f"archives end in {', '.join(ARCHIVE_SUFFIXES)}; job specs in .json")


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
    if not path.is_file():
        raise BadInput(f"{_where(value)}: {path} not found or not a file", hint="check the path")
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
