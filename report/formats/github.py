"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

`::error file=requirements.txt,line=3,title=LB203 ...::message` puts the finding on the line
that caused it in the pull request's diff. Escaping follows the runner's rules: in the
message %, CR and LF are percent-encoded; in properties also ':' and ','. So every line this
format writes starts with one of its own commands: no job text starts a line, and the runner
(which trims a line's leading whitespace before it looks for "::") reads nothing else as one.
Every other format and the progress lines make such a line inert (errors.inert_commands)."""

from __future__ import annotations

from launchbuild.core.findings import Finding, Severity
from launchbuild.report.formats.base import (
    scrub,
    RenderOptions,
    ReportFormat,
    evidence_text,
    fails_build,
    fallback_location,
    ordered,
    verdict_reason,
    workspace_path,
)
from launchbuild.report.model import Report
from launchbuild.report.paths import for_ci


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v not in (None, ""))
    return f"::{level} {props}::{escape_data(message)}" if props else f"::{level}::{escape_data(message)}"


def _level(report: Report, f: Finding) -> str:
    if fails_build(report, f):
        return "error"
    return "warning" if f.severity is Severity.WARNING else "notice"


def annotation(report: Report, f: Finding, verbose: bool = False) -> str:
    message = f"{f.message}\nFix: {f.fix}" if f.fix else f.message
    if verbose and f.evidence:
        message += "\nEvidence: " + "; ".join(evidence_text(f))
    loc = f.location
    return _command(
        _level(report, f),
        message,
        file=workspace_path(loc.path) if loc else None,
        line=loc.line if loc else None,
        title=f"{f.rule} {f.title}",
    )


class GithubFormat(ReportFormat):
    extension = "txt"

    def render(self, report: Report, options: RenderOptions) -> str:
        report = for_ci(scrub(report))
        lines = [annotation(report, f, options.verbose) for f in ordered(report.findings)]
        where = fallback_location(report)
        if report.build is not None:
            for v in report.build.verification:
                if not v.passed:
                    lines.append(_command("error", v.detail or f"{v.check} failed", title=f"verify {v.check}",
                                          file=workspace_path(where.path) if where else None))
        if report.failure is not None and report.failure.stage != "verify":
            from launchbuild.report.failure import failure_text, failure_title

            f = report.failure
            lines.append(_command("error", failure_text(f, tail_lines=15), title=f"launchbuild {failure_title(f)}",
                                  file=workspace_path(where.path) if where else None))
        # A plain line too, so the job log says the verdict without expanding annotations.
        lines.append(f"launchbuild: {report.verdict.value.upper()} ({verdict_reason(report)})")
        return "\n".join(lines) + "\n"
