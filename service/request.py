"""A request body → the same call `launchbuild check`/`build` would make, in its own temp dir.

Requests are untrusted jobs. Only job-level options are taken from them (JOB_LEVEL_OPTIONS is
the one place that says which); operator options (engine, uid, ca-bundle, cache dirs,
resolver, offline, indexes, kubernetes-*) come from the server's flags. The source is an
uploaded archive (extracted by jobs.archive's safe extraction, with its caps), an http(s) git
URL or an image: never a path on the server, never file:// or ssh:// (the server's keys).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import field
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Mapping

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.options import JOB_OPTION_NAMES, SPECS_BY_NAME, read_config_file

# Options a request (and a job's own launchbuild.toml) may set: the job allow-list of
# docs/SECURITY.md, plus `extras`, the request's name for a list of `extra`s.
JOB_LEVEL_OPTIONS = JOB_OPTION_NAMES | frozenset({"extras"})
BUILD_OPTIONS = frozenset({"push"})  # builds only, and only under the server's --push-prefix
REQUEST_KEYS = frozenset({"source", "subdir", "spec", "queue_config", "options"})
TEMP_PREFIX = "launchbuild-serve-"
_GIT_URL = re.compile(r"^https?://[^\s/]+/\S+$")


@dataclass(frozen=True)
class RequestBody:
    """A check or build request's JSON body, validated by `parse_request`: its source, spec,
    queue config and job-level options."""

    # The validated request body; `pipeline_request` turns it into the pipeline's JobRequest.
    source_kind: str | None  # "archive" | "git" | "image" | None (a spec that names its source)
    git_url: str | None = None
    git_ref: str | None = None
    image: str | None = None
    subdir: str | None = None
    spec: Mapping[str, Any] | None = None
    queue_config: Mapping[str, Any] | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)
    extras: tuple[str, ...] = ()
    push: str | None = None
    canonical: str = ""  # the body as sorted JSON: the content half of the dedupe/cache key

    def content_key(self, archive_sha256: str | None) -> str:
        return hashlib.sha256(f"{self.canonical}\0{archive_sha256 or ''}".encode()).hexdigest()


def _bad(message: str, hint: str | None = None) -> BadInput:
    return BadInput(message, hint=hint)


def parse_body(data: bytes, where: str = "request") -> dict[str, Any]:
    """The request's JSON object, or one BadInput line: bad syntax, nesting past MAX_DEPTH
    (the decoder's own RecursionError, and depths it still decodes but that would overflow
    the stack later, pickling the request for a check worker), an integer too long to read."""
    from launchbuild.limits import MAX_DEPTH, check_tree

    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(f"{where}: not valid JSON ({exc.__class__.__name__}: {str(exc)[:120]})",
                   hint='send {"source": ..., "options": {...}}') from None
    except RecursionError:
        raise _bad(f"{where}: nested more than {MAX_DEPTH} levels deep", hint="flatten the request") from None
    except ValueError:  # e.g. an integer of more than 4300 digits
        raise _bad(f"{where}: not valid JSON (a number with more than {sys.get_int_max_str_digits() or 4300} digits)",
                   hint="send numbers that fit, or send them as strings") from None
    body = check_tree(body, where, max_depth=MAX_DEPTH)
    if not isinstance(body, dict):
        raise _bad(f"{where}: must be a JSON object, got {type(body).__name__}")
    return body


def parse_request(body: Mapping[str, Any], *, kind: str, has_archive: bool, push_prefix: str | None) -> RequestBody:
    """Validate a request body; raises BadInput naming the offending key."""
    unknown = sorted(set(body) - REQUEST_KEYS)
    if unknown:
        raise _bad(f"request: unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(sorted(REQUEST_KEYS))}")
    spec = _object(body, "spec")
    queue_config = _object(body, "queue_config")
    subdir = body.get("subdir")
    if subdir is not None and not isinstance(subdir, str):
        raise _bad(f"request: 'subdir' must be a string, got {type(subdir).__name__}")

    source = body.get("source")
    source_kind: str | None = None
    git_url = git_ref = image = None
    if source is None:
        if spec is None:
            raise _bad("request: no 'source' and no 'spec'", hint='send "source": {"archive": "source"}, '
                       '{"git": {"url": ...}} or {"image": REF}, or a job spec')
    else:
        if not isinstance(source, dict) or len(source) != 1:
            raise _bad("request: 'source' must be an object with one of 'archive', 'git' or 'image'")
        source_kind, value = next(iter(source.items()))
        if source_kind == "archive":
            if value != "source":
                raise _bad("request: source.archive must name the multipart part 'source'")
        elif source_kind == "git":
            if not isinstance(value, dict) or set(value) - {"url", "ref"} or not isinstance(value.get("url"), str):
                raise _bad('request: source.git must be {"url": "https://...", "ref": "..."}')
            git_url, git_ref = check_git_url(value["url"], "source.git.url"), value.get("ref")
            if git_ref is not None and not isinstance(git_ref, str):
                raise _bad("request: source.git.ref must be a string")
        elif source_kind == "image":
            if not isinstance(value, str) or not value.strip():
                raise _bad("request: source.image must be an image reference string")
            image = value
        else:
            raise _bad(f"request: unknown source kind {str(source_kind)[:40]!r}", hint="use archive, git or image")
        if spec is not None and source_kind != "archive":
            raise _bad("request: a job spec names its own git or image source; send 'source' only with an archive "
                       "(the code of an artifact job)")
    if source_kind == "archive" and not has_archive:
        raise _bad("request: source.archive names the part 'source', but no 'source' part was uploaded",
                   hint="send multipart/form-data with parts 'request' and 'source'")
    if has_archive and source_kind != "archive":
        raise _bad("request: a 'source' part was uploaded but the request does not use it",
                   hint='set "source": {"archive": "source"}')
    if spec is not None:
        _check_spec_source(spec)

    flags, extras, push = _options(body.get("options"), kind=kind, push_prefix=push_prefix)
    canonical = json.dumps({"kind": kind, **body}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return RequestBody(source_kind, git_url, git_ref, image, subdir, spec, queue_config, flags, extras, push, canonical)


def _object(body: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise _bad(f"request: {key!r} must be a JSON object, got {type(value).__name__}")
    return value


def check_git_url(url: str, where: str) -> str:
    if not _GIT_URL.match(url):
        raise _bad(f"request: {where} must be an http(s) git URL",
                   hint="the service clones only over https:// or http://, never file://, ssh:// or a local path")
    return url


def _check_spec_source(spec: Mapping[str, Any]) -> None:
    """A repo spec's remote obeys the same rule as source.git.url."""
    source = spec.get("source")
    git = source.get("git") if isinstance(source, dict) else None
    remote = git.get("remote") if isinstance(git, dict) else None
    if spec.get("source_type") == "repo" and isinstance(remote, str):
        check_git_url(remote, "spec.source.git.remote")


def _options(raw: Any, *, kind: str, push_prefix: str | None) -> tuple[dict[str, Any], tuple[str, ...], str | None]:
    if raw is None:
        return {}, (), None
    if not isinstance(raw, dict):
        raise _bad(f"request: 'options' must be a JSON object, got {type(raw).__name__}")
    flags: dict[str, Any] = {}
    extras: tuple[str, ...] = ()
    push = None
    allowed = JOB_LEVEL_OPTIONS | (BUILD_OPTIONS if kind == "build" else frozenset())
    for key, value in raw.items():
        if key not in allowed:
            if key in SPECS_BY_NAME or key in BUILD_OPTIONS:
                raise _bad(f"request: option {key!r} is set by the server's operator, not by a request",
                           hint=f"a request may set: {', '.join(sorted(allowed))}")
            raise _bad(f"request: unknown option {str(key)[:60]!r}", hint=f"a request may set: {', '.join(sorted(allowed))}")
        if value is None:
            continue
        if key == "extras":
            extras = tuple(_str_list(value, key))
        elif key == "push":
            push = _push(value, push_prefix)
        elif key == "entrypoint":
            if isinstance(value, list):
                value = shlex.join(_str_list(value, key))
            elif not isinstance(value, str):
                raise _bad("request: option 'entrypoint' must be a string or a list of strings")
            flags[key] = value
        else:
            spec = SPECS_BY_NAME[key]
            if spec.kind is list:
                flags[key] = value.split(",") if isinstance(value, str) else _str_list(value, key)
            elif spec.kind is bool:
                if not isinstance(value, bool):
                    raise _bad(f"request: option {key!r} must be true or false, got {type(value).__name__}")
                flags[key] = value
            elif not isinstance(value, str):
                raise _bad(f"request: option {key!r} must be a string, got {type(value).__name__}")
            else:
                flags[key] = value
    return flags, extras, push


def _str_list(value: Any, key: str) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise _bad(f"request: option {key!r} must be a list of strings")


def _push(value: Any, prefix: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad("request: option 'push' must be a repository string")
    if prefix is None:
        raise _bad("request: this server pushes nowhere (no --push-prefix), so 'push' is refused",
                   hint="drop options.push, or ask the operator to start the server with --push-prefix")
    root = prefix.rstrip("/")
    if not value.startswith(root + "/") or ".." in value.split("/"):
        raise _bad(f"request: push repository {value[:200]!r} is outside the server's push prefix {root}/",
                   hint=f"push to {root}/NAME")
    return value


# --- the request's own directory ---------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """Arguments of `api.check`/`api.build` for one request, and its private directory."""

    workdir: Path
    job: str
    kwargs: Mapping[str, Any]

    def redact(self, text: str) -> str:
        return redact_paths(text, self.workdir)


def redact_paths(text: str, workdir: Path) -> str:
    """Paths as the CLI run inside the request's directory would show them: no server path
    leaks into an answer."""
    return text.replace(str(workdir / "job") + os.sep, "").replace(str(workdir / "job"), ".") \
        .replace(str(workdir) + os.sep, "").replace(str(workdir), ".")


def redact_error(exc: Any, workdir: Path) -> None:
    """Redact a LaunchbuildError's message and hint in place."""
    exc.message = redact_paths(exc.message, workdir)
    if exc.hint:
        exc.hint = redact_paths(exc.hint, workdir)


@contextlib.contextmanager
def request_dir(parent: Path | None = None) -> Iterator[Path]:
    """A private temp dir (0700) for one request; removed on every exit path."""
    workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=str(parent) if parent else None))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def async_request_dir() -> AsyncIterator[Path]:
    """request_dir for the event loop: made at once (one mkdir), removed in a thread before the
    answer goes out (rmdir is slow on some filesystems: ~0.4 ms each with ext4 `discard`), so
    neither the loop nor a check worker waits on it."""
    import anyio

    workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        yield workdir
    finally:
        await anyio.to_thread.run_sync(shutil.rmtree, workdir, True)


def archive_suffix(filename: str | None, head: bytes) -> str:
    name = (filename or "").lower()
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip"):
        if name.endswith(suffix):
            return suffix
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ".zip"
    return ".tar.gz" if head.startswith(b"\x1f\x8b") else ".tar"


def prepare(req: RequestBody, workdir: Path, *, archive: Path | None, max_extract_bytes: int) -> Prepared:
    """Lay the job out under `workdir/job` the way a person would for the CLI, and return the
    arguments of the equivalent `launchbuild check` call."""
    from launchbuild.jobs.archive import extract_archive

    jobdir = workdir / "job"
    jobdir.mkdir()
    kwargs: dict[str, Any] = {"flags": dict(req.flags), "extras": req.extras, "on_source": refuse_operator_config}
    if archive is not None:
        extract_archive(archive, jobdir / "code", max_bytes=max_extract_bytes)
        archive.unlink()
    if req.spec is not None:
        spec_path = jobdir / "wandb-job.json"
        spec_path.write_text(json.dumps(req.spec), encoding="utf-8")
        job = str(spec_path)
    elif req.source_kind == "archive":
        job = str(jobdir / "code")
    elif req.source_kind == "git":
        job, kwargs["ref"] = req.git_url or "", req.git_ref
    else:
        job = f"image:{req.image}"
    if req.subdir is not None:
        kwargs["subdir"] = req.subdir
    if req.queue_config is not None:
        queue = jobdir / "queue-config.json"  # beside the job, as `--queue-config queue-config.json`
        queue.write_text(json.dumps(req.queue_config), encoding="utf-8")
        kwargs["queue_config"] = queue
    return Prepared(workdir, job, kwargs)


def pipeline_request(job: str, kwargs: Mapping[str, Any], *, config: Path | str | None = None) -> Any:
    """The `launchbuild.pipeline.JobRequest` of a prepared request: the same value the CLI
    builds for the same job, flags and files. `kwargs` is `Prepared.kwargs` merged with the
    operator's flags (or its JSON form in the build runner); option names arrive as the
    config file spells them and leave as identifiers."""
    from launchbuild.pipeline.request import JobRequest, from_config_names

    flags = dict(kwargs.get("flags") or {})
    entrypoint = flags.pop("entrypoint", None)  # the CLI's --entrypoint: a field, not an option
    queue = kwargs.get("queue_config")
    return JobRequest(
        job,
        ref=kwargs.get("ref"),
        subdir=kwargs.get("subdir"),
        entrypoint=entrypoint,
        queue_config=Path(queue) if queue else None,
        extras=tuple(kwargs.get("extras") or ()),
        options=from_config_names(flags),
        operator_config=Path(config) if config else None,
    )


def refuse_operator_config(source_dir: Path) -> None:
    """A job's own launchbuild.toml is as untrusted as the request: job-level options only."""
    table, where = read_config_file(source_dir)
    operator = sorted(set(table) - JOB_LEVEL_OPTIONS)
    if operator:
        raise BadInput(f"{os.path.basename(where or 'launchbuild.toml')} in the job's source sets operator option "
                       f"{operator[0]!r}, which a service request may not set",
                       hint=f"remove it; a job may set: {', '.join(sorted(JOB_LEVEL_OPTIONS))}")
