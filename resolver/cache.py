"""On-disk caches: locks keyed by a hash of every input, index facts keyed by (name, version)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

CACHE_ENV = "LAUNCHBUILD_CACHE_DIR"
# Bumped when the cached layout or the lock format changes, so old entries are not reused.
SCHEMA = 1


def cache_root(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "launchbuild"


def input_hash(parts: dict) -> str:
    payload = json.dumps({"schema": SCHEMA, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def read_json(path: Path) -> dict | None:
    """A cache entry that is a JSON object; anything else (absent, torn, deep, a list) is a miss."""
    from launchbuild.limits import read_cache_json

    data = read_cache_json(path)
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict) -> None:
    """Atomic: a concurrent reader sees the old entry or the new one, never half of one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # never leave a torn temp file in the cache
            raise
    except OSError:
        pass  # a read-only or full cache slows the next run down; it must not fail this one


def lock_path(root: Path, key: str) -> Path:
    return root / "locks" / f"{key}.json"


def previous_lock_path(root: Path, key: str) -> Path:
    """The last lock of one job's input for one target: the resolver's preferences next time."""
    return root / "previous-locks" / f"{key}.json"


def facts_path(root: Path, index: str, name: str, version: str) -> Path:
    index_key = hashlib.sha256(index.encode()).hexdigest()[:12]
    safe = f"{name}-{version}".replace("/", "_")
    return root / "index-facts" / index_key / f"{safe}.json"
