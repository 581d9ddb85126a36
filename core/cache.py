"""The on-disk cache: one root, atomic writes, schema stamps, and reads that validate.

Every stage caches under one root (`$LAUNCHBUILD_CACHE_DIR`, else `$XDG_CACHE_HOME/launchbuild`,
else `~/.cache/launchbuild`), each in its own subdirectory: the resolver's locks and index
facts, compat's image fact sheets, the builder's engine probe, verified environments and
kept contexts. The rules for an entry are the same everywhere:

- a write is atomic (a temp file in the same directory, then `os.replace`), so a concurrent
  reader sees the old entry or the new one, never half of one, and no temp file is left;
- a cache that cannot be written (read-only, full) only costs the next run time;
- a read returns a JSON object or None: absent, torn, over the size cap, too deep, not an
  object, or stamped with another schema are all a miss, never an error. Callers still
  check the fields they use.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "LAUNCHBUILD_CACHE_DIR"
SCHEMA_KEY = "schema"


def cache_root(explicit: Path | str | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "launchbuild"


def cache_dir(name: str, explicit: Path | str | None = None) -> Path:
    """One stage's part of the cache: `<root>/<name>`."""
    return cache_root(explicit) / name


def read_json(path: Path | str) -> dict[str, Any] | None:
    """The entry at `path` if it is a JSON object within the bounds (limits.read_cache_json), else None."""
    from launchbuild.limits import read_cache_json

    data = read_cache_json(path)
    return data if isinstance(data, dict) else None


def stamped(data: dict[str, Any], schema: int) -> dict[str, Any]:
    """`data` with its schema version, so a later layout never reads it as its own."""
    return {**data, SCHEMA_KEY: schema}


def is_stamped(data: Any, schema: int) -> bool:
    return isinstance(data, dict) and data.get(SCHEMA_KEY) == schema


def read_stamped(path: Path | str, schema: int) -> dict[str, Any] | None:
    """The entry at `path` when it carries `schema`; any other (or none) is a miss."""
    data = read_json(path)
    return data if is_stamped(data, schema) else None


def write_json(path: Path | str, data: Any, *, best_effort: bool = True) -> bool:
    """Write `data` atomically; True when written. With `best_effort` (the default) an
    unwritable cache returns False instead of raising OSError."""
    path = Path(path)
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
        if not best_effort:
            raise
        return False
    return True
