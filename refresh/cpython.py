"""CPython releases and their end of life, from a local copy of either primary file:

- python/peps `release_management/python-releases.toml`, the release managers' own record
  (peps.python.org/api/release-cycle.json is generated from it by `release_management/serialize.py`);
- the Python devguide's `include/release-cycle.json`, which the devguide used to hold (older copies).

Neither host is reachable from every build host, so `--cpython-releases FILE` names the file
(`--cpython-release-cycle` is the same option's older name). Which one it is: its suffix, else
its content (a JSON object starts with `{`)."""

from __future__ import annotations

import datetime
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput, clip

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

_XY = re.compile(r"^\d+\.\d+$")
_MONTH_OR_DAY = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
OPTION = "--cpython-releases"
WHAT_TO_PASS = ("pass python/peps' release_management/python-releases.toml "
                "(or an older copy of the devguide's include/release-cycle.json)")


@dataclass(frozen=True)
class Upstream:
    """The repository a release file comes from and its path there, for the rows' source."""

    repo: str
    file: str


PEPS = Upstream("python/peps", "release_management/python-releases.toml")
DEVGUIDE = Upstream("python/devguide", "include/release-cycle.json")


def release_rows(path: Path, origin: str | None, checked: str) -> tuple[Upstream, list[dict]]:
    """The 3.X rows of the release file at `path`, and which file it is. `origin` (repo @ commit)
    opens each row's source; None: the upstream repository's name."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{OPTION} {path}: cannot read it ({exc}); {WHAT_TO_PASS}") from None
    return rows_from_text(text, str(path), origin, checked, toml=is_toml(path, text))


def is_toml(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".toml", ".json"):
        return suffix == ".toml"
    return not text.lstrip().startswith("{")


def rows_from_text(text: str, where: str, origin: str | None, checked: str, *, toml: bool) -> tuple[Upstream, list[dict]]:
    """As `release_rows`, from the file's text; anything it cannot use is BadInput naming `where`."""
    upstream = PEPS if toml else DEVGUIDE
    facts = _toml_facts(text, where) if toml else _json_facts(text, where)
    source = f"{origin or upstream.repo} {upstream.file}"
    facts.sort(key=lambda f: tuple(int(p) for p in f[0].split(".")))
    rows = [{"python": version, "status": status, "first_release": first, "end_of_life": eol,
             "source": source, "checked": checked} for version, status, first, eol in facts]
    if not rows:
        raise BadInput(f"{OPTION} {where}: no 3.X entries; {WHAT_TO_PASS}")
    return upstream, rows


def _releases(doc: dict) -> Iterator[tuple[str, dict]]:
    """(X.Y, its facts) of each CPython 3 entry of a mapping of versions; any other key is skipped."""
    for version, facts in doc.items():
        if isinstance(version, str) and _XY.match(version) and version.startswith("3.") and isinstance(facts, dict):
            yield version, facts


# (X.Y, status, first release, end of life) of each 3.X entry, as the file gives them.
_Facts = list[tuple[str, object, object, "str | None"]]


def _json_facts(text: str, where: str) -> _Facts:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"{OPTION} {where}: cannot read it as JSON ({clip(str(exc))}); {WHAT_TO_PASS}") from None
    if not isinstance(doc, dict):
        raise BadInput(f"{OPTION} {where}: expected an object of X.Y -> release facts; {WHAT_TO_PASS}")
    found: _Facts = []
    for version, facts in _releases(doc):
        eol = str(facts.get("end_of_life", ""))
        found.append((version, facts.get("status"), facts.get("first_release"),
                      eol if _MONTH_OR_DAY.match(eol) else None))
    return found


def _toml_facts(text: str, where: str) -> _Facts:
    try:
        doc = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"{OPTION} {where}: cannot read it as TOML ({clip(str(exc))}); {WHAT_TO_PASS}") from None
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        raise BadInput(f"{OPTION} {where}: no [metadata.\"X.Y\"] tables; {WHAT_TO_PASS}")
    found: _Facts = []
    for version, facts in _releases(metadata):
        status = facts.get("status")
        if not isinstance(status, str) or not status:
            raise BadInput(f"{OPTION} {where}: [metadata.\"{version}\"] status: expected a string; {WHAT_TO_PASS}")
        first, eol = _date(facts, "first-release", version, where), _date(facts, "end-of-life", version, where)
        found.append((version, status, first.isoformat(), end_of_life(status, eol)))
    return found


def _date(facts: dict, key: str, version: str, where: str) -> datetime.date:
    value = facts.get(key)
    # A TOML local date; a date-time (a datetime.date too) is not what the file records.
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise BadInput(f"{OPTION} {where}: [metadata.\"{version}\"] {key}: expected a TOML date (YYYY-MM-DD), "
                       f"got {clip(repr(value), 40)}; {WHAT_TO_PASS}")
    return value


def end_of_life(status: str, eol: datetime.date) -> str:
    """As serialize.py's `version_info` writes it: a version not yet at its end of life has a
    planned month, so a first-of-the-month date loses its "-01" ("2031-10")."""
    text = eol.isoformat()
    return text if status == "end-of-life" else text.removesuffix("-01")
