"""The `--quiet` report: the verdict line, then only what failed. One list of styled segments
per line, rendered by rich (terminal.py) for a terminal, or joined as plain text here.

Why plain text has its own path: rich's Console and Text cost ~50 ms to import on a slow
runner, about a tenth of a warm `check --quiet`, and a CI log shows no style. The plain path
is taken only when rich would print the very same characters: no colour, and every line
printable ASCII (rich counts cells for wide characters), wrapped here as rich wraps it.
Otherwise the caller renders through rich; tests compare the two."""

from __future__ import annotations

import re

from launchbuild.core.findings import Severity
from launchbuild.report.formats.base import RenderOptions, Symbols, ordered, scrub, symbols, verdict_reason
from launchbuild.report.model import Report, Verdict

Segment = tuple[str, str]  # (text, rich style)

VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.WARN: "bold yellow", Verdict.FAIL: "bold red"}
SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def verdict_segments(report: Report, sym: Symbols) -> list[Segment]:
    """The first line of every report for people: verdict, counts, job."""
    return [
        (f" {report.verdict.value.upper()} ", VERDICT_STYLE[report.verdict] + " reverse"),
        (f"  {verdict_reason(report)}", "bold"),
        (f"  {sym.dot}  job ", "dim"),
        (report.job, ""),
    ]


def quiet_lines(report: Report, sym: Symbols) -> list[list[Segment]]:
    """The quiet report's lines (pure), with `sym`'s marks."""
    lines = [verdict_segments(report, sym)]
    if report.failure is not None:
        lines.append([(report.failure.message, "bold red")])
    for f in ordered(report.findings):
        if f.severity is Severity.ERROR or (report.strict and f.severity is Severity.WARNING):
            lines.append([(f"{f.rule} ", f"bold {SEVERITY_STYLE[f.severity]}"), (f.message, "")])
    if report.build is not None:
        for v in report.build.verification:
            if not v.passed:
                lines.append([(f"{sym.bad} verify {v.check}", "bold red"), (f"  {v.detail}", "")])
    return lines


def plain_quiet(report: Report, options: RenderOptions) -> str | None:
    """The quiet report as rich would print it without colour, or None where only rich can
    say (a character outside printable ASCII: rich counts cells and splits graphemes)."""
    if options.color or options.width < 1:
        return None
    out = []
    for segments in quiet_lines(scrub(report), symbols(options.plain)):
        line = "".join(text for text, _ in segments)
        if not (line.isascii() and line.isprintable()):
            return None
        out += [part.rstrip(" ") for part in wrap_as_rich(line, options.width)]
    return "\n".join(out) + "\n"


_WORD = re.compile(r"\s*\S+\s*")  # rich._wrap.re_word: a word and the spaces after it


def wrap_as_rich(line: str, width: int) -> list[str]:
    """`line` (printable ASCII: one cell per character) wrapped as rich's Text.wrap does with
    its defaults (rich/_wrap.py divide_line, then rstrip_end, then a fold to `width`): at
    word starts, a word longer than the width folded across lines. A twin test holds it to rich."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(line):
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:  # no line holds it: folded into width-sized pieces
            pieces = [word[i:i + width] for i in range(0, len(word), width)]
            for i, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if i == len(pieces) - 1:
                    offset = len(piece)
                else:
                    start += len(piece)
        elif offset and start:  # it fits on the next line
            breaks.append(start)
            offset = len(word)
    out = []
    for begin, end in zip([0, *breaks], [*breaks, len(line)]):
        part = line[begin:end]
        if len(part) > width:  # rstrip_end: trailing spaces past the width go first
            trailing = len(part) - len(part.rstrip())
            part = part[:len(part) - min(trailing, len(part) - width)]
        out.append(part[:width])
    return out
