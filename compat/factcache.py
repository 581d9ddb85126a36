"""Fact sheets cached on disk, keyed by the image's config digest.

A config digest names exactly one filesystem and config, so a sheet read once is true
forever; a tag is only an index entry (ref + platform -> digest) used by --offline.
A damaged or foreign file is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from launchbuild.compat.facts import ImageFacts

SCHEMA = 1
_DIGEST = re.compile(r"(sha256|sha384|sha512):([0-9a-f]{64,128})\Z")
_TUPLE_OF_PAIRS = {"env", "labels", "fact_sources", "attempts"}
_TUPLES = {"os_id_like", "pythons", "apt_pythons"}


def default_dir() -> Path:
    base = os.environ.get("LAUNCHBUILD_CACHE_DIR")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "launchbuild"
    return root / "facts"


def to_json(facts: ImageFacts) -> dict[str, Any]:
    data = dataclasses.asdict(facts)
    data["schema"] = SCHEMA
    return data


def from_json(data: dict[str, Any]) -> ImageFacts | None:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    known = {f.name for f in dataclasses.fields(ImageFacts)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key in _TUPLE_OF_PAIRS and isinstance(value, list):
            value = tuple(tuple(str(x) for x in pair) for pair in value if isinstance(pair, list) and len(pair) == 2)
        elif key in _TUPLES and isinstance(value, list):
            value = tuple(str(x) for x in value)
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
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True)
        os.replace(tmp, path)  # atomic: concurrent checks never read half a file
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
