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


_TOML_HEADER = re.compile(r"^[ \t]*\[\[?([^\[\]]*)\]\]?[ \t]*(?:#.*)?$")
_TOML_KEY = re.compile(r"""^[ \t]*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))[ \t]*[.=]""")
_TOML_PART = re.compile(r"""[ \t]*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))[ \t]*(?:\.|$)""")
_KEY_LINES: list = [None, {}]  # the last text and its (table, key) -> line index


def _dotted(header: str) -> tuple[str, ...] | None:
    parts, pos = [], 0
    while pos < len(header):
        m = _TOML_PART.match(header, pos)
        if m is None or m.end() == pos:
            return None
        parts.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return tuple(parts)


def _key_lines(text: str) -> dict[tuple[tuple[str, ...], str], int]:
    """(table, key) -> the line that defines the key in that table, or opens `[table.key]`. One
    pass per text, so every dependency of a big file is located without scanning it again."""
    if _KEY_LINES[0] is text:
        return _KEY_LINES[1]
    found: dict[tuple[tuple[str, ...], str], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header:
            parts = _dotted(header.group(1))
            table = parts or ("\0",)
            if parts and len(parts) > 1:
                found.setdefault((parts[:-1], parts[-1]), number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            found.setdefault((table, next(g for g in key.groups() if g is not None)), number)
    _KEY_LINES[0], _KEY_LINES[1] = text, found
    return found


def key_line(text: str, key: str, in_table) -> int | None:
    """The line where TOML `key` is defined in a table `in_table(parts)` accepts (a Poetry
    dependency table, a Pipfile category), not the first line that merely holds its name (a
    description, another package whose name contains it). Else the first line holding it."""
    lines = [n for (table, name), n in _key_lines(text).items() if name == key and in_table(table)]
    return min(lines) if lines else line_of(text, key)


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
