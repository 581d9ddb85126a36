"""`--format junit`: one testcase per rule checked; errors fail, warnings fail only under
--strict, ignored rules are skipped, build verification checks are testcases too."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from launchbuild.core.findings import Finding, Severity
from launchbuild.report.formats import render
from tests.helpers_report import RULES, fixed_report, passing_report, warning_report


def parse(report):
    return ET.fromstring(render(report, "junit", rules=RULES).encode())


def cases(root):
    return {c.get("name").split(" ")[0] if c.get("name").startswith("LB") else c.get("name"): c
            for c in root.iter("testcase")}


def test_counts_match_elements():
    root = parse(fixed_report())
    suite = root.find("testsuite")
    testcases = list(suite.iter("testcase"))
    assert int(suite.get("tests")) == len(testcases) == 9 + 5  # rules + verification checks
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == 3  # LB201, LB203, verify
    assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped")) == 1  # LB101 ignored
    assert root.get("tests") == suite.get("tests") and root.get("failures") == suite.get("failures")


def test_testcase_names_and_classnames():
    c = cases(parse(fixed_report()))
    assert c["LB203"].get("name") == "LB203 Framework build has no kernels for the GPU"
    assert c["LB203"].get("classname") == "launchbuild.gpu_cuda"
    assert c["LB101"].get("classname") == "launchbuild.base_image"
    assert c["LB304"].get("classname") == "launchbuild.python_packages"
    assert c["LB402"].get("classname") == "launchbuild.source"
    assert c["verify entrypoint"].get("classname") == "launchbuild.verify"


def test_error_failure_carries_message_evidence_and_fix():
    failure = cases(parse(fixed_report()))["LB203"].find("failure")
    assert failure.get("message").startswith("torch 1.12.1+cu113 ships kernels up to sm_86")
    assert failure.get("type") == "error"
    assert "evidence: torch = 1.12.1+cu113 (lock)" in failure.text
    assert "at requirements.txt:3" in failure.text
    assert "fix: pin torch>=2.0.1" in failure.text


def test_warnings_are_output_unless_strict():
    relaxed = cases(parse(fixed_report()))["LB304"]
    assert relaxed.find("failure") is None
    assert "libGL.so.1" in relaxed.find("system-out").text
    strict = cases(parse(fixed_report(strict=True)))["LB304"]
    assert strict.find("failure").get("type") == "warning"
    info = cases(parse(fixed_report(strict=True)))["LB302"]
    assert info.find("failure") is None and info.find("system-out") is not None


def test_clean_rules_pass_with_no_children():
    c = cases(parse(fixed_report()))
    assert list(c["LB202"]) == [] and list(c["LB401"]) == []


def test_several_findings_of_one_rule_are_one_failure():
    report = replace(warning_report(), findings=(
        Finding("LB402", Severity.ERROR, "t", "copies .env", "ignore .env"),
        Finding("LB402", Severity.ERROR, "t", "copies id_rsa", "ignore id_rsa"),
    ))
    failure = cases(parse(report))["LB402"].findall("failure")
    assert len(failure) == 1
    assert failure[0].get("message") == "copies .env (and 1 more)"
    assert "copies id_rsa" in failure[0].text


def test_pass_report_has_no_failures():
    suite = parse(passing_report()).find("testsuite")
    assert suite.get("failures") == "0" and suite.get("tests") == "3"


def test_xml_special_characters_are_escaped():
    report = replace(warning_report(), findings=(
        Finding("LB402", Severity.ERROR, "a <b> & \"c\"", "x < y & ]]> z", "f"),))
    text = render(report, "junit", rules={})
    root = ET.fromstring(text.encode())
    assert root.find(".//failure").get("message") == "x < y & ]]> z"
