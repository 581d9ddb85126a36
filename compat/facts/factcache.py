"""Fact sheets cached on disk, keyed by the image's config digest.

A config digest names exactly one filesystem and config, so a sheet read once is true
forever; a tag is only an index entry (ref + platform -> digest) used by --offline.
A damaged or foreign file is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.cache import cache_dir, is_stamped, read_json, stamped, write_json

SCHEMA = 5  # 2: system_pythons; 3: cuda_toolkit_version; 4: layers_after_build; 5: cuDNN from its files
_DIGEST = re.compile(r"(sha256|sha384|sha512):([0-9a-f]{64,128})\Z")
_TUPLE_OF_PAIRS = {"env", "labels", "fact_sources", "attempts"}
_TUPLES = {"os_id_like", "pythons", "apt_pythons", "system_pythons"}


def default_dir() -> Path:
    return cache_dir("facts")


def to_json(facts: ImageFacts) -> dict[str, Any]:
    return stamped(dataclasses.asdict(facts), SCHEMA)


_SHORT = 4096
_VERSION = re.compile(r"\d{1,4}(?:\.\d{1,6}){0,3}\Z")
_MINOR = re.compile(r"\d\.\d{1,2}\Z")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")


def _opt(check: Any) -> Any:
    return lambda v: v is None or check(v)


def _text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= _SHORT


def _matching(pattern: re.Pattern[str]) -> Any:
    return lambda v: isinstance(v, str) and bool(pattern.match(v))


def _strings(check: Any) -> Any:
    return lambda v: isinstance(v, list) and len(v) <= 4096 and all(check(x) for x in v)


def _pairs(v: Any) -> bool:
    return (isinstance(v, list) and len(v) <= 4096
            and all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in v))


# Every field's type (and, for versions, its form): an entry with any other value is a miss,
# so a damaged sheet is read again from the image, never passed on as "the image's glibc".
_FIELD_OK: dict[str, Any] = {
    "reference": _text, "provider": _matching(re.compile(r"(docker|registry|inferred)\Z")),
    "digest": _opt(_matching(_DIGEST)), "image_id": _opt(_matching(_DIGEST)),
    "os_id": _opt(_matching(_TOKEN)), "os_id_like": _strings(_matching(_TOKEN)),
    "os_version": _opt(_matching(_TOKEN)), "os_codename": _opt(_matching(_TOKEN)),
    "debian_version": _opt(_text), "has_apt": _opt(lambda v: isinstance(v, bool)),
    "glibc": _opt(_matching(re.compile(r"\d{1,2}\.\d{1,3}\Z"))),
    "architecture": _opt(_matching(_TOKEN)), "variant": _opt(_matching(_TOKEN)),
    "pythons": _strings(_matching(_MINOR)), "apt_pythons": _opt(_strings(_matching(_MINOR))),
    "system_pythons": _strings(_matching(_MINOR)),
    "cuda_version": _opt(_matching(_VERSION)), "cudnn_version": _opt(_matching(_VERSION)),
    "cuda_toolkit_version": _opt(_matching(_VERSION)),
    "require_cuda": _opt(_text), "has_nvcc": _opt(lambda v: isinstance(v, bool)),
    "end_of_life": lambda v: isinstance(v, bool), "user": _opt(_text),
    "layers_after_build": _opt(lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 4096),
    "env": _pairs, "labels": _pairs, "fact_sources": _pairs, "attempts": _pairs,
    "from_cache": lambda v: isinstance(v, bool),
}


def from_json(data: dict[str, Any]) -> ImageFacts | None:
    """The sheet, or None when any field has the wrong type or form (a miss, rewritten)."""
    if not is_stamped(data, SCHEMA):
        return None
    values: dict[str, Any] = {}
    for key, value in data.items():
        check = _FIELD_OK.get(key)
        if check is None:
            continue
        if not check(value):
            return None
        if key in _TUPLE_OF_PAIRS:
            value = tuple(tuple(pair) for pair in value)
        elif key in _TUPLES and value is not None:
            value = tuple(value)
        values[key] = value
    try:
        return ImageFacts(**values)
    except TypeError:
        return None


class FactCache:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()

    def _facts_path(self, image_id: str) -> Path | None:
        match = _DIGEST.match(image_id or "")
        if not match:
            return None
        return self.root / "by-id" / f"{match.group(1)}-{match.group(2)}.json"

    def _ref_path(self, reference: str, platform: str) -> Path:
        key = hashlib.sha256(f"{reference}\0{platform}".encode()).hexdigest()
        return self.root / "by-ref" / f"{key}.json"

    def get(self, image_id: str) -> ImageFacts | None:
        path = self._facts_path(image_id)
        if path is None:
            return None
        facts = from_json(_read(path))
        if facts is None or facts.image_id != image_id:
            return None
        return dataclasses.replace(facts, from_cache=True)

    def get_by_ref(self, reference: str, platform: str) -> ImageFacts | None:
        entry = _read(self._ref_path(reference, platform))
        image_id = entry.get("image_id") if isinstance(entry, dict) else None
        return self.get(image_id) if isinstance(image_id, str) else None

    def put(self, facts: ImageFacts, *, references: tuple[str, ...], platform: str) -> None:
        """Store the sheet and point each reference at it. Failing to write is not fatal."""
        path = self._facts_path(facts.image_id or "")
        if path is None:
            return
        stored = dataclasses.replace(facts, from_cache=False)
        try:
            _write(path, to_json(stored))
            for reference in references:
                _write(self._ref_path(reference, platform), {"reference": reference, "platform": platform, "image_id": facts.image_id})
        except OSError:
            pass  # a read-only home must not stop a check


def _read(path: Path) -> Any:
    return read_json(path) or {}  # absent, torn, deep or huge: a miss


def _write(path: Path, data: dict[str, Any]) -> None:
    write_json(path, data, best_effort=False)  # put() decides that a failed write is not fatal
