"""What every detector shares: a Detector answers `detect(source_dir)` with the inputs it
found there, and each input's `load()` says what it read and what it did not use.

The order of `detectors.ORDER` is the precedence; the next detector in that order is each
one's declared fallback (shown when an input is skipped).
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from launchbuild.core.findings import Location
from launchbuild.errors import BadInput
from launchbuild.resolver.requirements import RequirementLine, parse_requirement

def read_toml(path: Path, shown: str) -> tuple[dict, str]:
    """A job's TOML file (uv.lock, pylock.toml, Pipfile, pyproject.toml) through the bounded
    reader: a regular file under the size cap, nesting capped, an integer over 4300 digits or
    a lone surrogate one BadInput line, never an exception from the parser."""
    from launchbuild.limits import decode_text, load_toml, read_bounded

    text = decode_text(read_bounded(path, shown), shown)
    return load_toml(text, shown), text


_LINE_STARTS: list = [None, ()]  # the last text and the offsets of its line starts


def line_of(text: str, needle: str) -> int | None:
    """The number of the first line holding `needle`. One `find` and a bisect over the line
    starts of `text` (kept for the last text): every dependency of a file is located without
    splitting the file again each time, which was quadratic."""
    if not needle or "\n" in needle or "\r" in needle:
        return None
    pos = text.find(needle)
    if pos < 0:
        return None
    if _LINE_STARTS[0] is not text:
        _LINE_STARTS[0], _LINE_STARTS[1] = text, _line_starts(text)
    return bisect.bisect_right(_LINE_STARTS[1], pos)


def _line_starts(text: str) -> list[int]:
    """Offsets where each line starts, with the separators str.splitlines knows."""
    starts = [0]
    starts += [m.end() for m in re.finditer(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]", text)]
    return starts


MAX_LIST_ITEMS = 10_000  # dependencies in one list; real projects list well under a thousand


def requirement(spec: str, shown: str, text: str, base_dir: Path | None = None,
                needle: str | None = None) -> RequirementLine:
    """A PEP 508 string from a TOML/YAML file, located at its line."""
    if not isinstance(spec, str):
        raise BadInput(f"dependency {spec!r} in {shown} is not a string", hint='write "name>=1.0"')
    return parse_requirement(spec, Location(shown, line_of(text, needle or spec)), base_dir=base_dir)


def string_list(value: object, what: str, shown: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{what} in {shown} is not a list of strings", hint='write ["name>=1.0", ...]')
    if len(value) > MAX_LIST_ITEMS:
        raise BadInput(f"{what} in {shown} lists {len(value)} entries, more than {MAX_LIST_ITEMS}",
                       hint="split the environment, or list only what the job imports")
    return list(value)
