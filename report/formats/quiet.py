"""The `--quiet` report: the verdict line, then only what failed. One list of styled segments
per line, rendered by rich (terminal.py) for a terminal, or joined as plain text here.

Why plain text has its own path: rich's Console and Text cost ~50 ms to import on a slow
runner, about a tenth of a warm `check --quiet`, and a CI log shows no style. The plain path
is taken only when rich would print the very same characters: no colour, and every line
printable ASCII that fits the width (rich would wrap a longer one, and count cells for wide
characters). Otherwise the caller renders through rich; a test compares the two."""

from __future__ import annotations

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
    say (a line to wrap, a character outside printable ASCII)."""
    if options.color:
        return None
    out = []
    for segments in quiet_lines(scrub(report), symbols(options.plain)):
        line = "".join(text for text, _ in segments)
        if len(line) > options.width or not (line.isascii() and line.isprintable()):
            return None
        out.append(line.rstrip(" "))
    return "\n".join(out) + "\n"
