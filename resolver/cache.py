"""The resolver's part of the cache (core/cache.py): locks keyed by a hash of every input,
index facts keyed by (name, version)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

# Bumped when the cached layout or the lock format changes, so old entries are not reused.
SCHEMA = 1


def input_hash(parts: dict) -> str:
    payload = json.dumps({"schema": SCHEMA, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def lock_path(root: Path, key: str) -> Path:
    return root / "locks" / f"{key}.json"


def previous_lock_path(root: Path, key: str) -> Path:
    """The last lock of one job's input for one target: the resolver's preferences next time."""
    return root / "previous-locks" / f"{key}.json"


def facts_path(root: Path, index: str, name: str, version: str) -> Path:
    index_key = hashlib.sha256(index.encode()).hexdigest()[:12]
    safe = f"{name}-{version}".replace("/", "_")
    return root / "index-facts" / index_key / f"{safe}.json"
