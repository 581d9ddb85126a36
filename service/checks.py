"""One check request, in-process: the same `api.check` call and JSON document as
`launchbuild check --format json`, with an exact result cache in front.

The cache key is the request's whole content (body and archive bytes) plus the tool and data
versions; an entry also records the local engine's image ID of the base image it was checked
against, and is used only while the engine still answers with that ID. So a hit is the
document the real path would produce now, up to the resolver's own lock cache (which the
CLI's warm check uses too). Git sources are cached only at a full commit sha.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from launchbuild.core.records import dataclass
from launchbuild.service.request import Prepared, RequestBody, pipeline_request, prepare, redact_error

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def data_version() -> str:
    """A digest of the bundled compatibility data: a new data file is a new cache."""
    from launchbuild.core.version import __version__

    digest = hashlib.sha256(__version__.encode())
    data_dir = Path(__file__).resolve().parent.parent / "data"
    for path in sorted(data_dir.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def render_document(report: Any, prepared: Prepared) -> dict[str, Any]:
    """The schema-v1 document, paths shown relative to the request's job dir (as the CLI run
    from there would print them): no temp path of the server leaks into it."""
    from launchbuild.core.version import __version__
    from launchbuild.report.formats.json import report_dict

    return _redact(report_dict(report, __version__), prepared)


def _redact(value: Any, prepared: Prepared) -> Any:
    if isinstance(value, str):
        return prepared.redact(value) if str(prepared.workdir) in value else value
    if isinstance(value, list):
        return [_redact(v, prepared) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, prepared) for k, v in value.items()}
    return value


def run_check(req: RequestBody, workdir: Path, *, archive: Path | None, max_extract_bytes: int,
              operator_flags: dict[str, Any], config: Path | None = None, on_source: Any = None,
              unalias: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The document; errors (BadInput, InfraUnavailable) propagate with temp paths redacted.
    `config` is the server's operator config (snapshot), `on_source` replaces the default
    check of the job's own config, `unalias` names the operator's file in the document."""
    from launchbuild import api
    from launchbuild.errors import LaunchbuildError

    try:
        prepared = prepare(req, workdir, archive=archive, max_extract_bytes=max_extract_bytes)
        kwargs = dict(prepared.kwargs)
        kwargs["flags"] = {**operator_flags, **kwargs["flags"]}
        if on_source is not None:
            kwargs["on_source"] = on_source
        report = api.check(pipeline_request(prepared.job, kwargs, config=config), on_source=kwargs.get("on_source"))
    except LaunchbuildError as exc:
        redact_error(exc, workdir)
        raise
    document = render_document(report, prepared)
    return map_strings(document, unalias) if unalias is not None else document


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class _Entry:
    """One cached check document and its verdict, used within the TTL while the base image keeps
    the ID it had in the local engine."""

    text: bytes
    verdict: str
    image_ref: str
    image_id: str
    stored_at: float


class CheckCache:
    """Bounded LRU of rendered documents, each valid while its base image keeps its ID."""

    def __init__(self, ttl_s: float, image_ids: Any, max_entries: int = 2048) -> None:
        self.ttl_s = ttl_s
        self.image_ids = image_ids
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._version = data_version()

    def key(self, req: RequestBody, archive_sha256: str | None, operator_flags: dict[str, Any]) -> str | None:
        if self.ttl_s <= 0:
            return None
        if req.source_kind == "git" and not (req.git_ref and _FULL_SHA.match(req.git_ref)):
            return None
        if req.spec is not None and req.spec.get("source_type") == "repo":
            return None  # its commit may be a branch
        ops = json.dumps(operator_flags, sort_keys=True, default=str)
        return hashlib.sha256(f"{self._version}\0{ops}\0{req.content_key(archive_sha256)}".encode()).hexdigest()

    def _entry(self, key: str | None) -> _Entry | None:
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry.stored_at > self.ttl_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def _drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def get_fresh(self, key: str | None) -> tuple[bytes, str] | None:
        """A hit that needs no I/O to validate (the engine watch knows the image's ID), or None."""
        entry = self._entry(key)
        if entry is None:
            return None
        known, image_id = self.image_ids.remembered(entry.image_ref)
        if not known:
            return None
        if image_id != entry.image_id:
            self._drop(key)  # type: ignore[arg-type]
            return None
        return entry.text, entry.verdict

    def holds(self, key: str | None) -> bool:
        """An entry is there (fresh or not): only then can `get` answer, so only then is it worth a thread."""
        with self._lock:
            return key is not None and key in self._entries

    def get(self, key: str | None) -> tuple[bytes, str] | None:
        entry = self._entry(key)
        if entry is None:
            return None
        if self.image_ids.lookup(entry.image_ref) != entry.image_id:
            self._drop(key)  # type: ignore[arg-type]
            return None
        return entry.text, entry.verdict

    def put(self, key: str | None, text: bytes, verdict: str, image: str | None = None) -> None:
        """`image`: the document's target image, when the caller has it (else read from `text`)."""
        if key is None:
            return
        if image is None:
            document = json.loads(text)
            image = ((document.get("target") or {}).get("image") or {}).get("value")
        image_id = self.image_ids.lookup(image) if isinstance(image, str) else None
        if not image_id or not isinstance(image, str):
            return  # not in the local engine: nothing cheap to validate a hit against
        with self._lock:
            self._entries[key] = _Entry(text, verdict, image, image_id, time.monotonic())
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
