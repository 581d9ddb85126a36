"""`--format markdown`: stable, and a value can never break a table or inject HTML."""

from __future__ import annotations

from dataclasses import replace

import pytest

from launchbuild.core.findings import Finding, Severity
from launchbuild.report.formats import render
from launchbuild.report.formats.markdown import cell, code
from tests.helpers_report import RULES, fixed_report, passing_report, warning_report


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("a | b", "a \\| b"),
        ("one\ntwo", "one<br>two"),
        ("one\r\ntwo", "one<br>two"),
        ("<script>", "&lt;script&gt;"),
        ("x & y", "x &amp; y"),
        ("*bold*", "\\*bold\\*"),
        ("`tick`", "\\`tick\\`"),
        ("back\\slash", "back\\\\slash"),
        ("[click](https://x.invalid/)", "\\[click\\](https://x.invalid/)"),
        ("![](https://x.invalid/p.png)", "!\\[\\](https://x.invalid/p.png)"),
        ("tensorflow[and-cuda]", "tensorflow\\[and-cuda\\]"),
        ("", " "),
    ],
)
def test_cell_escaping(raw, expected):
    assert cell(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("torch==2.4.1", "`torch==2.4.1`"),
        ("a|b", "`a\\|b`"),
        ("has `tick`", "`` has `tick` ``"),
        ("multi\nline", "`multi line`"),
    ],
)
def test_code_spans(raw, expected):
    assert code(raw) == expected


def test_a_pipe_in_code_outside_a_table_is_shown_as_typed():
    # In a GFM table "\\|" inside a code span renders as "|"; in a list item it renders as "\\|".
    from launchbuild.resolver.model import ResolveResult

    report = replace(warning_report(), job="jobs/a|b", environment=ResolveResult(
        input_kind="requirements", input_path="req|x.txt"))
    out = render(report, "markdown", rules=RULES)
    assert "for job `jobs/a|b`." in out and "- Source: `req|x.txt` (requirements)" in out
    assert code("a|b", in_table=False) == "`a|b`"


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def test_every_table_row_has_its_header_column_count():
    report = replace(fixed_report(), findings=fixed_report().findings + (
        Finding("LB402", Severity.WARNING, "pipes | in title", "multi\nline | message", "fix | it"),))
    text = render(report, "markdown", rules=RULES, verbose=True)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---"):
            width = line.count("|") - 1
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                unescaped = lines[j].replace("\\|", "")
                assert unescaped.count("|") - 1 == width, lines[j]
                j += 1


def test_sections_and_verdict():
    text = render(fixed_report(), "markdown", rules=RULES)
    assert text.startswith("## ❌ launchbuild: FAIL\n")
    for heading in ("### Target", "### Findings", "#### Errors (2)", "#### Warnings (2)", "#### Info (1)",
                    "### Environment", "### Base image", "### Build"):
        assert heading in text
    assert "| entrypoint | ❌ failed | train.py: not found in /app |" in text
    assert "*(inferred)*" in text


def test_verbose_adds_evidence_and_packages():
    quiet = render(fixed_report(), "markdown", rules=RULES)
    verbose = render(fixed_report(), "markdown", rules=RULES, verbose=True)
    assert "Evidence" not in quiet and "| Evidence |" in verbose
    assert "<details><summary>Locked packages</summary>" in verbose


def test_pass_and_warn_headers():
    assert render(passing_report(), "markdown").startswith("## ✅ launchbuild: PASS")
    assert render(warning_report(), "markdown").startswith("## ⚠️ launchbuild: WARN")
    assert "No findings." in render(passing_report(), "markdown")
