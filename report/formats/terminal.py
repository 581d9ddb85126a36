"""The report for people (rich): the verdict first, then what was checked and what to do.

Rendered into a string through a recording Console, so the CLI, the golden tests and the
README all see the same text. Colour only when asked (NO_COLOR and non-TTYs get none);
plain mode swaps the symbols for ASCII (`base.PLAIN_SYMBOLS`) so logs and dumb terminals stay
tidy; the tables draw no boxes in either mode."""

from __future__ import annotations

import io
import re

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from launchbuild.core.findings import Finding
from launchbuild.report.plain import add_plain_row
from launchbuild.core.sourced import Sourced
from launchbuild.report.formats.base import (
    scrub,
    RenderOptions,
    ReportFormat,
    by_severity,
    counts,
    entrypoint_text,
    human_duration,
    human_size,
    image_lines,
    SEVERITY_HEADING,
    short_digest,
    Symbols,
    symbols,
)
from launchbuild.report.formats.quiet import SEVERITY_STYLE, quiet_lines, verdict_segments
from launchbuild.report.model import BuildSummary, Report


def _heading(title: str, sym: Symbols) -> Text:
    return Text(title, style="bold underline")


def _verdict_line(report: Report, sym: Symbols) -> Text:
    return Text.assemble(*verdict_segments(report, sym))


def _target(report: Report, sym: Symbols, width: int) -> RenderableType | None:
    t = report.target
    rows: list[tuple[str, Sourced[object]]] = []
    if t.image:
        rows.append(("image", t.image))
    if t.python:
        rows.append(("python", t.python))
    if t.platform:
        rows.append(("platform", t.platform))
    rows += [("gpu", g) for g in t.gpus]
    if t.driver:
        rows.append(("driver", t.driver))
    if t.entrypoint:
        rows.append(("entrypoint", t.entrypoint))
    if not rows:
        return None
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    shown = [
        (label, entrypoint_text(s.value) if label == "entrypoint" else str(s.value), s)  # type: ignore[arg-type]
        for label, s in rows
    ]
    table.add_column("setting", style="bold", no_wrap=True)
    # Values (image references) must stay whole where they fit; the provenance wraps instead.
    widest = max(len(v) for _, v, _ in shown)
    table.add_column("value", overflow="fold", no_wrap=widest <= width - 40)
    table.add_column("from", style="dim", overflow="fold")
    for label, value, s in shown:
        add_plain_row(table, label, value, f"from {s.describe()}")
    return table


def _finding_cell(f: Finding, verbose: bool, sym: Symbols) -> RenderableType:
    # Title on its own line, then the message and the fix: narrow title/message columns
    # wrapped every cell into three-line fragments that were hard to read.
    head = Text(f.title, style="bold")
    if f.location is not None:
        where = f.location.path + (f":{f.location.line}" if f.location.line else "")
        head.append(f"  {where}", style="cyan")
    lines: list[RenderableType] = [head, Text(f.message)]
    if f.fix:
        fix = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1, 0, 0))
        fix.add_column("arrow", style="green", no_wrap=True)
        fix.add_column("fix", style="green", overflow="fold")
        add_plain_row(fix, sym.arrow, f.fix)
        lines.append(fix)
    if verbose and f.evidence:
        evidence = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1, 0, 0))
        evidence.add_column("fact", style="dim", no_wrap=True)
        evidence.add_column("value", overflow="fold")
        evidence.add_column("source", style="dim", overflow="fold")
        for e in f.evidence:
            add_plain_row(evidence, e.fact, e.value, f"({e.source})")
        lines.append(Padding(evidence, (0, 0, 0, 2)))
    elif f.inferred:
        lines.append(Text("uses facts inferred from the image tag; --verbose shows the evidence", style="yellow"))
    return Group(*lines)


def _findings(report: Report, options: RenderOptions, sym: Symbols) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if not report.findings:
        parts.append(Text("No findings.", style="green"))
    for severity, found in by_severity(report.findings).items():
        if not found:
            continue
        style = SEVERITY_STYLE[severity]
        parts.append(Text(f"{SEVERITY_HEADING[severity]} ({len(found)})", style=f"bold {style}"))
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 1, 0), expand=False)
        table.add_column("rule", style=f"bold {style}", no_wrap=True)
        table.add_column("finding", overflow="fold")
        for f in found:
            add_plain_row(table, f"  {f.rule}", _finding_cell(f, options.verbose, sym))
        parts += [table, Text()]
    if report.ignored:
        parts.append(Text(f"ignored with --ignore: {', '.join(sorted(report.ignored))}", style="dim"))
    return parts


def _environment(report: Report, options: RenderOptions, sym: Symbols) -> list[RenderableType]:
    env = report.environment
    if env is None:
        return []
    lines: list[RenderableType] = []
    src = Text("source     ", style="bold")
    if env.input_path:
        src.append(env.input_path)
        src.append(f" ({env.input_kind})", style="dim")
    elif env.input_kind == "installed distributions":  # an image job: what its layers hold
        src.append("the distributions installed in the image (their dist-info and egg-info, read from its layers)")
    else:
        src.append("no requirements, pyproject or environment file found", style="dim")
    lines.append(src)
    from launchbuild.resolver.describe_inputs import input_lines

    for label, text in input_lines(env, verbose=options.verbose):
        lines.append(Text.assemble((f"{label:<11}", "bold"), (text, "dim")))
    for path, why in env.skipped_inputs:
        lines.append(Text.assemble(("skipped    ", "bold"), (path, ""), (f" {sym.dot} {why}", "dim")))
    locked = Text("locked     ", style="bold")
    if env.lock is not None:
        lock = env.lock
        locked.append(f"{len(lock.packages)} packages")
        locked.append(
            f" for Python {lock.target.python} on {lock.target.platform} with {lock.backend}", style="dim"
        )
        locked.append(" (cache hit)" if env.cache_hit else " (resolved now)", style="dim")
    else:
        locked.append("nothing locked (see findings)", style="red")
    lines.append(locked)
    cleaning = Text("cleaning   ", style="bold")
    n = len(env.cleaning)
    cleaning.append(f"{n} action{'s' if n != 1 else ''}")
    if n and not options.verbose:
        actions: dict[str, int] = {}
        for a in env.cleaning:
            actions[a.action] = actions.get(a.action, 0) + 1
        cleaning.append(" (" + ", ".join(f"{k} {v}" for k, v in sorted(actions.items())) + "; --verbose lists them)", style="dim")
    lines.append(cleaning)
    if options.verbose and env.cleaning:
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
        table.add_column("action", style="bold", no_wrap=True)
        table.add_column("line", overflow="fold")
        table.add_column("why", style="dim", overflow="fold", ratio=1)
        for a in env.cleaning:
            add_plain_row(table, a.action, a.line, a.reason)
        lines.append(Padding(table, (0, 0, 0, 11)))
    if options.verbose and env.lock is not None and env.lock.packages:
        pkgs = sorted(env.lock.packages, key=lambda p: p.name)
        lines.append(Text("packages   (all locked, by name)", style="bold"))
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
        table.add_column("name", no_wrap=True)
        table.add_column("version", style="dim")
        for p in pkgs:
            add_plain_row(table, p.name, p.version)
        lines.append(Padding(table, (0, 0, 0, 11)))
    return lines


def _image(report: Report, sym: Symbols) -> RenderableType | None:
    facts = image_lines(report)
    if not facts:
        return None
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column("fact", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for fl in facts:
        value = Text(fl.value, style="yellow" if fl.label == "provider" and fl.inferred else "")
        if fl.inferred and fl.label != "provider":
            value.append("  (inferred)", style="yellow")
        add_plain_row(table, fl.label, value)
    return table


def _build(report: Report, sym: Symbols) -> RenderableType | None:
    b = report.build
    if b is None:
        return None
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    failure = report.failure
    add_plain_row(table, "tag", b.tag or Text("none: nothing was tagged", style="red"))
    if failure is not None and failure.stage in ("build", "verify"):
        state = Text("failed", style="bold red")
    else:
        state = Text("skipped" if b.skipped else "built", style="cyan" if b.skipped else "green")
    if b.reason:
        state.append(f" {sym.dot} {b.reason}", style="dim")
    add_plain_row(table, "status", state)
    detail = f"{human_duration(b.duration_s)}, {human_size(b.size_bytes)}"
    if b.engine:
        detail += f", {b.engine}"
    add_plain_row(table, "took", detail)
    if b.digest:
        add_plain_row(table, "digest", short_digest(b.digest))
    if b.pushed:
        add_plain_row(table, "pushed", b.pushed + _push_detail(b))
    for v in b.verification:
        mark = Text(sym.ok if v.passed else sym.bad, style="green" if v.passed else "bold red")
        mark.append(f" {v.check}", style="" if v.passed else "red")
        if v.detail:
            mark.append(f"  {v.detail}", style="dim")
        add_plain_row(table, "verify" if v is b.verification[0] else "", mark)
    return table


def _failure(report: Report, sym: Symbols, *, tail_lines: int = 15) -> list[RenderableType]:
    """What stopped the command: the step, the message, what predicted it, the fix, the log tail.
    Every value is a Text (never markup): BuildKit's `[stage-0 3/7]` stays as written."""
    from launchbuild.report.failure import failure_title

    f = report.failure
    if f is None:
        return []
    parts: list[RenderableType] = [Text(failure_title(f)[0].upper() + failure_title(f)[1:], style="bold red underline")]
    if f.step:
        parts.append(Text.assemble(("step       ", "bold"), (f.step, "")))
    parts.append(Text(f.message, style="red"))
    if f.predicted_by:
        parts.append(Text.assemble(("predicted  ", "bold"), ("by the check's " + ", ".join(f.predicted_by), "yellow")))
    if f.fix:
        parts.append(Text.assemble((f"{sym.arrow} ", "green"), (f.fix, "green")))
    tail = [line for line in f.log_tail if line.strip()][-tail_lines:]
    if tail:
        parts.append(Text("last lines of the build log", style="bold"))
        parts += [Text("  " + line, style="dim") for line in tail]
    return parts + [Text()]


def _quiet(report: Report, sym: Symbols) -> list[RenderableType]:
    return [Text.assemble(*segments) for segments in quiet_lines(report, sym)]


_TRAILING_PAD = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$")


def _strip_trailing(line: str) -> str:
    # The padding may sit inside a style's escape codes; keep the codes, drop the spaces.
    while True:
        stripped = _TRAILING_PAD.sub(r"\1", line)
        if stripped == line:
            return line
        line = stripped


def console_for(options: RenderOptions, file: io.StringIO) -> Console:
    # Every setting explicit: rich would otherwise read COLUMNS, NO_COLOR, FORCE_COLOR and
    # TERM itself, and the same report would render differently from one shell to the next.
    return Console(
        file=file,
        width=options.width,
        force_terminal=options.color,
        color_system="standard" if options.color else None,
        no_color=not options.color,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        soft_wrap=False,
        force_jupyter=False,
        force_interactive=False,
        _environ={},
    )


class RichFormat(ReportFormat):
    extension = "txt"

    def renderables(self, report: Report, options: RenderOptions) -> list[RenderableType]:
        sym = symbols(options.plain)
        if options.quiet:
            return _quiet(report, sym)
        parts: list[RenderableType] = [_verdict_line(report, sym), Text()]
        parts += _failure(report, sym)
        target = _target(report, sym, options.width)
        if target is not None:
            parts += [_heading("Target", sym), target, Text()]
        findings = _findings(report, options, sym)
        if isinstance(findings[-1], Text) and not findings[-1].plain:
            findings.pop()  # the section adds its own blank line
        parts += [_heading("Findings", sym), *findings, Text()]
        env = _environment(report, options, sym)
        if env:
            parts += [_heading("Environment", sym), Group(*env), Text()]
        image = _image(report, sym)
        if image is not None:
            parts += [_heading("Base image", sym), image, Text()]
        build = _build(report, sym)
        if build is not None:
            parts += [_heading("Build", sym), build, Text()]
        c = counts(report)
        n_rules = len(report.rules_checked)
        footer = f"{n_rules} rule{'s' if n_rules != 1 else ''} checked"
        if report.duration_s:
            footer += f" in {human_duration(report.duration_s)}"
        if c.errors or c.warnings:
            footer += f" {sym.dot} exit code {report.exit_code}"
        parts.append(Text(footer, style="dim"))
        for note in report.notes:
            parts.append(Text(f"note: {note}", style="dim"))
        return parts

    def export_svg(self, report: Report, options: RenderOptions, title: str = "launchbuild") -> str:
        """The report as an SVG terminal screenshot (for the README and docs)."""
        report = scrub(report)
        console = console_for(options, io.StringIO())
        console.record = True
        for part in self.renderables(report, options):
            console.print(part)
        return console.export_svg(title=title)

    def render(self, report: Report, options: RenderOptions) -> str:
        report = scrub(report)
        buf = io.StringIO()
        console = console_for(options, buf)
        for part in self.renderables(report, options):
            console.print(part)
        # Tables pad every line to the table's width; the padding is noise in logs and diffs.
        return "\n".join(_strip_trailing(line) for line in buf.getvalue().split("\n"))


def _push_detail(b: BuildSummary) -> str:
    if b.push_bytes_sent is None:
        return ""
    sent = f" ({human_size(b.push_bytes_sent)} sent"
    if b.push_image_bytes is not None:
        sent += f" of {human_size(b.push_image_bytes)}"
    if b.push_blobs:
        sent += f", {b.push_blobs[0]} of {b.push_blobs[1]} blobs were missing"
    return sent + ")"
