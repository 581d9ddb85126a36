"""`--format markdown`: for pull-request comments and $GITHUB_STEP_SUMMARY.

Stable (same report, same bytes) and escaped: a `|` or a newline in a value never breaks a
table, and HTML in a value is shown, not interpreted."""

from __future__ import annotations

from launchbuild.report.formats.base import (
    scrub,
    RenderOptions,
    ReportFormat,
    by_severity,
    counts,
    entrypoint_text,
    evidence_text,
    human_duration,
    human_size,
    image_lines,
    SEVERITY_HEADING,
    short_digest,
    verdict_reason,
)
from launchbuild.report.model import Report, Verdict
from launchbuild.report.paths import for_ci

_VERDICT_MARK = {Verdict.PASS: "✅", Verdict.WARN: "⚠️", Verdict.FAIL: "❌"}


def cell(text: object) -> str:
    """One table cell: pipes escaped, newlines as <br>, HTML neutralised, and no link or
    image a value could make ("[text](url)" hides where it points; "![](url)" loads it)."""
    s = str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("`", "\\`")
    s = s.replace("[", "\\[").replace("]", "\\]")
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
    return s.strip() or " "


def code(text: object, in_table: bool = True) -> str:
    """Inline code that survives backticks inside the value and sits safely in a table. Outside
    a table (`in_table=False`) "|" stays as it is: there "\\|" would show both characters."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    if not s:
        return " "
    fence = "`"
    while fence in s:
        fence += "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    # GitHub's tables split on "|" even inside code spans; "\|" renders as "|" there.
    if in_table:
        s = s.replace("|", "\\|")
    return f"{fence}{pad}{s}{pad}{fence}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _failure_lines(report: Report) -> list[str]:
    from launchbuild.report.failure import failure_title

    f = report.failure
    assert f is not None
    title = failure_title(f)
    lines = [f"### ❌ {cell(title[0].upper() + title[1:])}", ""]
    if f.step:
        lines.append(f"- Step: {code(f.step, False)}")
    lines.append(f"- {cell(f.message)}")
    if f.predicted_by:
        lines.append("- Predicted by the check: " + ", ".join(code(r, False) for r in f.predicted_by))
    if f.fix:
        lines.append(f"- Fix: {cell(f.fix)}")
    tail = [line for line in f.log_tail if line.strip()][-15:]
    if tail:
        # A fenced block shows the log as written; a fence longer than any run of backticks in it.
        fence = "```"
        while any(fence in line for line in tail):
            fence += "`"
        lines += ["", "<details><summary>Last lines of the build log</summary>", "", fence + "text"]
        lines += [line.replace("\r", "") for line in tail]
        lines += [fence, "", "</details>"]
    return lines + [""]


class MarkdownFormat(ReportFormat):
    extension = "md"

    def render(self, report: Report, options: RenderOptions) -> str:
        report = for_ci(scrub(report))
        verdict = report.verdict
        c = counts(report)
        lines = [
            f"## {_VERDICT_MARK[verdict]} launchbuild: {verdict.value.upper()}",
            "",
            f"{cell(verdict_reason(report))} for job {code(report.job, False)}.",
            "",
        ]

        if report.failure is not None:
            lines += _failure_lines(report)

        t = report.target
        rows: list[list[str]] = []
        if t.image:
            rows.append(["Image", code(t.image.value), cell(t.image.describe())])
        if t.python:
            rows.append(["Python", code(t.python.value), cell(t.python.describe())])
        if t.platform:
            rows.append(["Platform", code(t.platform.value), cell(t.platform.describe())])
        for g in t.gpus:
            rows.append(["GPU", code(g.value), cell(g.describe())])
        if t.driver:
            rows.append(["Driver", code(t.driver.value), cell(t.driver.describe())])
        if t.entrypoint:
            rows.append(["Entrypoint", code(entrypoint_text(t.entrypoint.value)), cell(t.entrypoint.describe())])
        if rows:
            lines += ["### Target", ""] + _table(["Setting", "Value", "From"], rows) + [""]

        lines += ["### Findings", ""]
        if not report.findings:
            lines += ["No findings.", ""]
        for severity, found in by_severity(report.findings).items():
            if not found:
                continue
            lines += [f"#### {SEVERITY_HEADING[severity]} ({len(found)})", ""]
            header = ["Rule", "Title", "Message", "Fix"]
            if options.verbose:
                header.append("Evidence")
            table_rows = []
            for f in found:
                message = f.message
                if f.location is not None:
                    message += f" ({f.location.path}" + (f":{f.location.line})" if f.location.line else ")")
                row = [code(f.rule), cell(f.title), cell(message), cell(f.fix)]
                if options.verbose:
                    row.append(cell("\n".join(evidence_text(f))))
                table_rows.append(row)
            lines += _table(header, table_rows) + [""]
        if report.ignored:
            lines += ["Ignored: " + ", ".join(code(r, False) for r in sorted(report.ignored)), ""]

        env = report.environment
        if env is not None:
            lines += ["### Environment", ""]
            source = f"{code(env.input_path, False)} ({cell(env.input_kind)})" if env.input_path else cell(env.input_kind)
            items = [f"- Source: {source}"]
            items += [f"- Skipped {code(p, False)}: {cell(why)}" for p, why in env.skipped_inputs]
            if env.lock is not None:
                lock = env.lock
                items.append(
                    f"- Locked: {len(lock.packages)} packages for Python {cell(lock.target.python)} on "
                    f"{cell(lock.target.platform)} with {cell(lock.backend)}"
                    + (" (cache hit)" if env.cache_hit else "")
                )
            else:
                items.append("- Locked: nothing (see the findings)")
            items.append(f"- Cleaning: {len(env.cleaning)} action{'s' if len(env.cleaning) != 1 else ''}")
            lines += items + [""]
            if env.cleaning:
                lines += _table(
                    ["Line", "Action", "Why"],
                    [[code(a.line), cell(a.action), cell(a.reason)] for a in env.cleaning],
                ) + [""]
            if options.verbose and env.lock is not None and env.lock.packages:
                lines += ["<details><summary>Locked packages</summary>", ""]
                lines += _table(
                    ["Package", "Version"],
                    [[code(p.name), code(p.version)] for p in sorted(env.lock.packages, key=lambda p: p.name)],
                )
                lines += ["", "</details>", ""]

        facts = image_lines(report)
        if facts:
            lines += ["### Base image", ""]
            lines += _table(
                ["Fact", "Value"],
                [[cell(fl.label), cell(fl.value) + (" *(inferred)*" if fl.inferred and fl.label != "provider" else "")] for fl in facts],
            ) + [""]

        b = report.build
        if b is not None:
            lines += ["### Build", ""]
            state = f"skipped: {b.reason}" if b.skipped else (f"built: {b.reason}" if b.reason else "built")
            if report.failure is not None and report.failure.stage in ("build", "verify"):
                state = f"failed: {b.reason}" if b.reason else "failed"
            items = [
                f"- Tag: {code(b.tag, False)}" if b.tag else "- Tag: none (nothing was tagged)",
                f"- {cell(state[0].upper() + state[1:])}",
                f"- Duration {cell(human_duration(b.duration_s))}, size {cell(human_size(b.size_bytes))}"
                + (f", engine {cell(b.engine)}" if b.engine else ""),
            ]
            if b.digest:
                items.append(f"- Digest: {code(short_digest(b.digest), False)}")
            if b.pushed:
                items.append(f"- Pushed: {code(b.pushed, False)}" + (
                    f", {cell(human_size(b.push_bytes_sent))} sent" if b.push_bytes_sent is not None else ""))
            lines += items + [""]
            if b.verification:
                lines += _table(
                    ["Check", "Result", "Detail"],
                    [[cell(v.check), "✅ passed" if v.passed else "❌ failed", cell(v.detail)] for v in b.verification],
                ) + [""]

        n_rules = len(report.rules_checked)
        lines.append(f"<sub>{n_rules} rule{'s' if n_rules != 1 else ''} checked · {cell(c.phrase())}</sub>")
        return "\n".join(lines) + "\n"
