"""A report for every failure: turn what stopped a command into a `Failure` on the report.

Pure functions over the report and the error, so every format (and the public API) sees
the same record: the stage, the engine's failing step and its log tail, the check's own
findings that predicted it (an LB302 warning before an install step that then fails), and
a fix built from those findings' fixes rather than a generic "see the log".
"""

from __future__ import annotations

from dataclasses import replace

from launchbuild.core.findings import Finding, Severity
from launchbuild.report.model import Failure, Report
from launchbuild.builder.model import BuildSummary

LOG_TAIL_KEPT = 40

# Which rule families can foresee a failure of which kind of step: an install step fails on
# packages (LB3xx), an apt step on the base image or its system libraries (LB1xx, LB304),
# a verification on the entrypoint or source (LB4xx) or the packages.
_STEP_FAMILIES = {
    "install": ("LB3",),
    "apt": ("LB1", "LB304"),
    "verify": ("LB3", "LB4"),
}


def _step_kind(step: str | None, stage: str) -> str:
    if stage == "verify":
        return "verify"
    text = (step or "").lower()
    if "apt-get" in text:
        return "apt"
    if "pip install" in text or "uv pip" in text:
        return "install"
    return "other"


def predicting(report: Report, *, stage: str, step: str | None) -> tuple[Finding, ...]:
    """Warnings and errors of the check that foresaw this failure, most severe first. For a
    step whose kind is unknown, every warning or error is a candidate."""
    kind = _step_kind(step, stage)
    families = _STEP_FAMILIES.get(kind)
    found = [
        f for f in report.findings
        if f.severity in (Severity.ERROR, Severity.WARNING) and (families is None or f.rule.startswith(families))
    ]
    return tuple(sorted(found, key=lambda f: (f.severity.rank, f.rule)))


def _fix(predicted: tuple[Finding, ...], generic: str) -> str:
    fixes = [f"{f.rule}: {f.fix}" for f in predicted if f.fix]
    if fixes:
        return "the check predicted this: " + "; ".join(dict.fromkeys(fixes)) + (f"; {generic}" if generic else "")
    return generic


def with_build_failure(report: Report, error: Exception, *, engine: str = "", duration_s: float = 0.0) -> Report:
    """The report of a build that failed in the engine: no tag (nothing was tagged)."""
    step = getattr(error, "step", None)
    tail = tuple(getattr(error, "log_tail", ()) or ())[-LOG_TAIL_KEPT:]
    predicted = predicting(report, stage="build", step=step)
    message = getattr(error, "message", str(error))
    failure = Failure(
        stage="build",
        message=message,
        fix=_fix(predicted, "fix the failing step (its log tail is in this report), then rebuild"),
        step=step,
        log_tail=tail,
        exit_code=getattr(error, "exit_code", 1),
        predicted_by=tuple(dict.fromkeys(f.rule for f in predicted)),
    )
    build = BuildSummary(tag="", skipped=False, engine=engine, duration_s=duration_s,
                         reason="build failed: nothing was tagged")
    return replace(report, build=build, failure=failure)


def with_verification_failure(report: Report) -> Report:
    """A build whose image failed verification: red, naming the failing check, and no tag
    (the image was removed; the content tag it would have had does not exist)."""
    build = report.build
    if build is None or build.verified:
        return report
    failed = [v for v in build.verification if not v.passed]
    names = ", ".join(v.check for v in failed)
    first = failed[0]
    predicted = predicting(report, stage="verify", step=None)
    failure = Failure(
        stage="verify",
        message=f"verification failed: {names}" + (f" ({first.detail})" if first.detail else ""),
        fix=_fix(predicted, f"fix what the {first.check} check found, then rebuild; nothing was tagged"),
        predicted_by=tuple(dict.fromkeys(f.rule for f in predicted)),
    )
    return replace(report, build=replace(build, tag=""), failure=failure)


def with_error(report: Report, error: Exception, *, stage: str) -> Report:
    """Any other error after the job was read (bad input found late, an engine or registry
    that stopped answering): the findings so far, and the error with its exit code."""
    message = getattr(error, "message", str(error))
    hint = getattr(error, "hint", None) or ""
    step = getattr(error, "step", None)
    predicted = predicting(report, stage=stage, step=step) if stage == "build" else ()
    return replace(report, failure=Failure(
        stage=stage, message=message, fix=_fix(predicted, hint), step=step,
        log_tail=tuple(getattr(error, "log_tail", ()) or ())[-LOG_TAIL_KEPT:],
        exit_code=getattr(error, "exit_code", 1),
        predicted_by=tuple(dict.fromkeys(f.rule for f in predicted)),
    ))


# --- shared by the renderers ---------------------------------------------------------------------

_STAGE_TITLE = {"build": "image build failed", "verify": "verification failed", "push": "push failed",
                "check": "check stopped"}
# Stable result IDs for CI (SARIF ruleId, JUnit testcase, annotation title): not LBxxx
# rules of the catalog, since no check produced them; the engine or the verifier did.
FAILURE_RULE_IDS = {"build": "launchbuild/build-failed", "verify": "launchbuild/verification-failed",
                    "push": "launchbuild/push-failed", "check": "launchbuild/check-stopped"}


def failure_title(failure: Failure) -> str:
    return _STAGE_TITLE.get(failure.stage, f"{failure.stage} failed")


def failure_rule_id(failure: Failure) -> str:
    return FAILURE_RULE_IDS.get(failure.stage, f"launchbuild/{failure.stage}-failed")


def failure_phrase(failure: Failure) -> str:
    """For the verdict line: what stopped, in a few words."""
    title = failure_title(failure)
    return f"{title} at {failure.step.split(']')[0]}]" if failure.step and "]" in failure.step else title


def failure_text(failure: Failure, *, tail_lines: int = 15) -> str:
    """Plain multi-line text: JUnit bodies, annotation messages, SARIF message text."""
    lines = [failure.message]
    if failure.step:
        lines.append(f"step: {failure.step}")
    if failure.predicted_by:
        lines.append("predicted by: " + ", ".join(failure.predicted_by))
    if failure.fix:
        lines.append(f"fix: {failure.fix}")
    tail = [line for line in failure.log_tail if line.strip()][-tail_lines:]
    if tail:
        lines.append("log tail:")
        lines += [f"  {line}" for line in tail]
    return "\n".join(lines)
