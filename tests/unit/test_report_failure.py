"""A report for every failure: a failed build or verification is in every format, red, with
the failing step, its log tail, the check's findings that predicted it, and a fix."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import jsonschema
import pytest

from launchbuild.builder.engine import BuildStepFailed, _failure
from launchbuild.core.findings import Evidence, Finding, Location, Severity
from launchbuild.errors import InfraUnavailable
from launchbuild.report.failure import predicting, with_build_failure, with_error, with_verification_failure
from launchbuild.report.formats import OutputFormat, render
from launchbuild.report.model import Report, TargetSummary, Verdict
from launchbuild.builder.model import BuildSummary, VerificationResult
from tests.helpers_report import REPORT_SCHEMA, RULES, SARIF_SCHEMA

LB302 = Finding(
    rule="LB302", severity=Severity.WARNING, title="No wheel for the target",
    message="pyyaml 5.3.1 has no wheel for Python 3.12 and builds from the sdist (needs a compiler)",
    fix="pin pyyaml>=6.0.1, which has wheels", location=Location("requirements.txt", 2),
    evidence=(Evidence("pyyaml", "5.3.1", "lock"),),
)
LB402 = Finding(rule="LB402", severity=Severity.WARNING, title="Secrets or bulky folders in the build context",
                message="would copy .env", fix="add .env to .dockerignore")

# What BuildKit's plain progress prints for a failing uv step (shape taken from a real run).
FAILED_LOG = (
    "#1 [internal] load build definition from Dockerfile",
    "#9 [stage-0 5/7] RUN --mount=type=bind,source=.launchbuild/uv,target=/usr/local/bin/uv "
    "--mount=type=cache,target=/root/.cache/uv,id=launchbuild-uv UV_CACHE_DIR=/root/.cache/uv uv pip install "
    "--python /opt/venv/bin/python --require-hashes --strict -r /opt/launchbuild/requirements.lock",
    "#9 0.412 error: Failed to build `pyyaml==5.3.1`",
    "#9 0.413   Caused by: no compiler [markup]",
    "#9 ERROR: process \"/bin/sh -c uv pip install\" did not complete successfully: exit code: 1",
)


def checked_report(*findings: Finding) -> Report:
    return Report(job="jobs/x", target=TargetSummary(), findings=findings, rules_checked=("LB302", "LB402"))


def engine_failure() -> BuildStepFailed:
    steps = {"9": [FAILED_LOG[1].split(" ", 1)[1], False]}
    return _failure(FAILED_LOG, steps)


def test_engine_failure_names_the_step_without_mount_flags():
    exc = engine_failure()
    assert exc.step is not None and exc.step.startswith("[stage-0 5/7] RUN")
    assert "--mount" not in exc.step and "uv pip install" in exc.step
    assert exc.log_tail == FAILED_LOG


def test_build_failure_is_red_has_no_tag_and_is_predicted_by_the_install_warning():
    report = with_build_failure(checked_report(LB302, LB402), engine_failure(), engine="buildkit")
    assert report.verdict is Verdict.FAIL and report.exit_code == 1
    f = report.failure
    assert f is not None and f.stage == "build"
    assert f.predicted_by == ("LB302",)  # the install step: packages, not the source scan
    assert "LB302: pin pyyaml>=6.0.1" in f.fix
    assert report.build is not None and report.build.tag == "" and not report.build.skipped
    assert f.log_tail[-1].startswith("#9 ERROR")


def test_unknown_step_kind_takes_every_warning_as_a_candidate():
    assert {f.rule for f in predicting(checked_report(LB302, LB402), stage="build", step="[3/7] COPY code/ /app/")} \
        == {"LB302", "LB402"}


def all_formats(report: Report) -> dict[str, str]:
    return {fmt.value: render(report, fmt, rules=RULES, color=False, plain=True, width=120) for fmt in OutputFormat}


def test_every_format_carries_the_build_failure():
    report = with_build_failure(checked_report(LB302), engine_failure(), engine="buildkit")
    out = all_formats(report)

    doc = json.loads(out["json"])
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(doc)
    assert doc["verdict"] == "fail" and doc["failure"]["stage"] == "build"
    assert doc["failure"]["step"].startswith("[stage-0 5/7]") and doc["failure"]["predicted_by"] == ["LB302"]
    assert doc["failure"]["log_tail"][-1].startswith("#9 ERROR") and doc["build"]["tag"] == ""
    assert [f["rule"] for f in doc["findings"]] == ["LB302"]  # the findings so far

    suite = ET.fromstring(out["junit"])
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    build_case = next(c for c in failed if c.get("classname") == "launchbuild.build")
    assert "uv pip install" in build_case.find("failure").text and "#9 ERROR" in build_case.find("failure").text

    sarif = json.loads(out["sarif"])
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    results = sarif["runs"][0]["results"]
    build_result = next(r for r in results if r["ruleId"] == "launchbuild/build-failed")
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rules[build_result["ruleIndex"]]["id"] == "launchbuild/build-failed" and build_result["level"] == "error"

    assert "::error title=launchbuild image build failed" in out["github"]
    assert "### ❌ Image build failed" in out["markdown"] and "#9 ERROR" in out["markdown"]

    rich = out["rich"]
    assert rich.startswith(" FAIL ")
    assert "[stage-0 5/7] RUN" in rich  # shown as written, never eaten as markup
    assert "Caused by: no compiler [markup]" in rich
    assert "predicted" in rich and "LB302" in rich
    assert "none: nothing was tagged" in rich and "failed" in rich


def verified_report(passed: bool) -> Report:
    checks = (VerificationResult("python version", True, "3.11.2"),
              VerificationResult("entrypoint", passed, "" if passed else "train.py: not found in /app"))
    return replace(checked_report(), build=BuildSummary(tag="launchbuild/x:lb-123", skipped=False, engine="buildkit",
                                                        verification=checks))


def test_failed_verification_is_red_names_the_check_and_lists_no_tag():
    report = with_verification_failure(verified_report(False))
    assert report.verdict is Verdict.FAIL and report.exit_code == 1
    assert report.failure is not None and report.failure.stage == "verify"
    assert "entrypoint" in report.failure.message and report.build.tag == ""
    out = all_formats(report)
    assert "launchbuild/x:lb-123" not in "".join(out.values())
    assert " built" not in out["rich"] and "failed" in out["rich"] and "entrypoint" in out["rich"]
    sarif = json.loads(out["sarif"])
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["launchbuild/verification-failed"]
    assert "::error title=verify entrypoint" in out["github"]


def test_passing_verification_is_left_alone():
    report = verified_report(True)
    assert with_verification_failure(report) is report


def test_late_infrastructure_error_keeps_its_exit_code_and_the_findings():
    report = with_error(checked_report(LB302), InfraUnavailable("Docker engine stopped answering during the build",
                                                                hint="start the Docker daemon"), stage="build")
    assert report.exit_code == 3 and report.verdict is Verdict.FAIL
    doc = json.loads(render(report, OutputFormat.JSON))
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(doc)
    assert doc["exit_code"] == 3 and doc["failure"]["fix"].endswith("start the Docker daemon")
    sarif = json.loads(render(report, OutputFormat.SARIF, rules=RULES))
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False


@pytest.mark.parametrize("bad", ["[bold red]x[/]", "[stage-0 1/2]", "[/]", "[link=http://x]y[/link]"])
def test_foreign_text_in_a_failure_is_never_markup(bad):
    report = with_build_failure(checked_report(), BuildStepFailed(f"image build failed: {bad}",
                                                                  log_tail=(f"#3 0.1 {bad}",), step=f"{bad} RUN x"))
    rich = render(report, OutputFormat.RICH, rules=RULES, color=False, plain=True, width=200)
    assert rich.count(bad) >= 3
