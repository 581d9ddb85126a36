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
    """CPython X.Y -> (first release date, end-of-life date or month), from data/cpython.json;
    versions not released yet may be listed too (see `released_cpythons`)."""
    try:
        rows = load("cpython")["releases"]
    except FileNotFoundError:
        return {}
    return {r["python"]: (r.get("first_release"), r.get("end_of_life")) for r in rows}


def released_cpythons(today: str) -> dict[str, tuple[str | None, str | None]]:
    """The CPython releases out on `today` (ISO date): first release on or before it. The table
    also lists the version in development (3.16 before 2027-10-06), which is no target yet."""
    return {xy: (first, eol) for xy, (first, eol) in cpython_releases().items() if first and str(first) <= today}
