"""Any text a finding can carry (from a user's file, an image label, an index) renders in
every format without breaking the format's structure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.core.findings import Evidence, Finding, Location, Severity
from launchbuild.report.formats import OutputFormat, render
from tests.helpers_report import fixed_report

# Control characters included: XML 1.0 cannot carry most of them, and ESC must never reach
# a terminal or the Actions log alive.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@st.composite
def findings(draw):
    return Finding(
        rule=draw(st.sampled_from(["LB201", "LB304", "LB402", "LB999"])),
        severity=draw(st.sampled_from(list(Severity))),
        title=draw(text),
        message=draw(text),
        fix=draw(text),
        evidence=tuple(Evidence(draw(text), draw(text), draw(text)) for _ in range(draw(st.integers(0, 2)))),
        location=draw(st.none() | st.builds(Location, text.filter(str.strip),
                                            st.none() | st.integers(1, 10_000))),
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(findings(), max_size=4), st.booleans())
def test_every_format_keeps_its_structure(found, strict):
    report = replace(fixed_report(), findings=tuple(found), strict=strict)
    doc = json.loads(render(report, OutputFormat.JSON))
    assert [f["message"] for f in doc["findings"]] == [f["message"] for f in doc["findings"]]
    assert sorted(f["message"] for f in doc["findings"]) == sorted(f.message for f in found)
    ET.fromstring(render(report, OutputFormat.JUNIT, rules={}).encode())
    sarif = json.loads(render(report, OutputFormat.SARIF, rules={}))
    results = sarif["runs"][0]["results"]
    # Findings, plus one result per failed verification check (they are results too).
    assert len([r for r in results if not r["ruleId"].startswith("launchbuild/")]) == len(found)
    failed_checks = [v for v in report.build.verification if not v.passed] if report.build else []
    assert len([r for r in results if r["ruleId"] == "launchbuild/verification-failed"]) == len(failed_checks)
    commands = [line for line in render(report, OutputFormat.GITHUB).splitlines() if line.startswith("::")]
    assert len(commands) == len(found) + 1  # + the failed verification check
    for fmt in (OutputFormat.RICH, OutputFormat.MARKDOWN, OutputFormat.GITHUB, OutputFormat.JUNIT):
        out = render(report, fmt, color=False, plain=True, width=80, rules={})
        assert "\x1b" not in out and "\x00" not in out


def test_escape_sequences_in_findings_are_shown_not_executed():
    evil = Finding("LB402", Severity.ERROR, "t\x1b[2J", "copies \x1b]0;pwned\x07 into the image", "fix\rOK",
                   location=Location("req\x1b[31m.txt", 2))
    report = replace(fixed_report(), findings=(evil,))
    for fmt in (OutputFormat.RICH, OutputFormat.MARKDOWN, OutputFormat.GITHUB, OutputFormat.JUNIT):
        out = render(report, fmt, color=True, plain=False, width=100, rules={})
        # Markdown doubles the backslash and escapes "]" (each renders as itself); the others show it as is.
        assert "\\x1b]0;pwned\\x07" in out.replace("\\\\", "\\").replace("\\]", "]")
        assert "\x1b]0" not in out and "\x07" not in out and "\x1b[2J" not in out
    rich = render(report, OutputFormat.RICH, color=False, width=100, rules={})
    assert "fix\\x0dOK" in rich


_FORGERS = ["\u2028", "\u2029"]  # line breaks to rich and str.splitlines, not to a C0 filter


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_FORGERS), st.sampled_from(["\u202e", "\u2066", "\udc80", ""]), st.booleans())
def test_a_value_cannot_start_a_line_of_its_own_in_any_format(separator, other, quiet):
    """A finding quoting the job's text held U+2028: rich (and the quiet report) broke the
    line there, so '::error::forged' began a line of its own, a workflow command in an
    Actions log. Separators, bidi overrides and lone surrogates are shown escaped."""
    evil = Finding("LB402", Severity.ERROR, "t", f"copies a{separator}::error::forged{other}", "f" + separator,
                   location=Location(f"req{other}.txt", 2))
    report = replace(fixed_report(), findings=(evil,))
    for fmt in (OutputFormat.RICH, OutputFormat.MARKDOWN, OutputFormat.GITHUB, OutputFormat.JUNIT):
        out = render(report, fmt, color=False, plain=True, width=200, rules={}, quiet=quiet)
        assert not any(line.lstrip().startswith("::error::forged") for line in out.splitlines()), fmt
        assert separator not in out and (not other or other not in out), fmt
        out.encode("utf-8")  # no lone surrogate left for the caller's stream to choke on
