"""The sourced tables in `launchbuild/data/*.json`, read once per process.

Below every stage: compat's rules and the resolver (conda names, CPython releases) both
read tables, so the loader sits in core. Typed views over the tables are compat/data.py.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def load(table: str) -> dict[str, Any]:
    """The raw JSON of one table (name without .json)."""
    text = resources.files("launchbuild.data").joinpath(f"{table}.json").read_text("utf-8")
    return json.loads(text)


def table_checked(table: str) -> str:
    """When the table was last refreshed (its 'retrieved' date)."""
    return str(load(table).get("retrieved", "unknown"))


@functools.lru_cache(maxsize=None)
def cpython_releases() -> dict[str, tuple[str | None, str | None]]:
    """CPython X.Y -> (first release date, end-of-life date or month), from the devguide."""
    try:
        rows = load("cpython")["releases"]
    except FileNotFoundError:
        return {}
    return {r["python"]: (r.get("first_release"), r.get("end_of_life")) for r in rows}
