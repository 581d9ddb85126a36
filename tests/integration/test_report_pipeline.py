"""Reports produced by the real pipeline (api.check: real resolver against the package index,
real catalog), rendered in every format and validated: JSON against the shipped schema,
SARIF against the official 2.1.0 schema, JUnit as XML, GitHub annotations on real lines."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from launchbuild import api
from launchbuild.pipeline.request import JobRequest
from launchbuild.report.formats import OutputFormat, render, write_outputs
from tests.helpers_report import REPORT_SCHEMA, SARIF_SCHEMA

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.network

CASES = {
    "h100-old-torch": ("h100-old-torch", {"python": "3.10", "gpu": ["H100"], "driver": "535.104.05"}),
    "h100-old-torch-strict": ("h100-old-torch", {"python": "3.10", "gpu": ["H100"], "strict": True}),
    "demo": ("demo", {"python": "3.11"}),
}


# A run's package list (pip freeze) with an editable install from the author's machine on
# line 3: the resolver flags it (LB305) with its place, which the annotations must carry.
FROZEN = "rich==13.7.1\npkg-resources==0.0.0\n-e /home/me/shared-lib\n"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for name, (example, flags) in CASES.items():
        src = tmp_path_factory.mktemp(name) / example
        shutil.copytree(EXAMPLES / example, src)
        out[name] = (src, api.check(JobRequest(str(src), options=flags)))
    src = tmp_path_factory.mktemp("local-pin") / "job"
    shutil.copytree(EXAMPLES / "demo", src)
    (src / "requirements.txt").unlink()
    (src / "frozen.txt").write_text(FROZEN)
    out["local-pin"] = (src, api.check(JobRequest(str(src), entrypoint="python train.py", frozen=src / "frozen.txt",
                                                  options={"python": "3.11"})))
    return out


@pytest.mark.parametrize("name", sorted([*CASES, "local-pin"]))
def test_json_validates_against_the_shipped_schema(reports, name):
    _, report = reports[name]
    validator = jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text()))
    doc = json.loads(render(report, OutputFormat.JSON))
    assert not list(validator.iter_errors(doc))
    assert doc["verdict"] == report.verdict.value
    assert doc["rules_checked"] == sorted(report.rules_checked) and doc["rules_checked"]


@pytest.mark.parametrize("name", sorted([*CASES, "local-pin"]))
def test_sarif_validates_against_the_official_schema(reports, name):
    _, report = reports[name]
    doc = json.loads(render(report, OutputFormat.SARIF))
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(doc)
    run = doc["runs"][0]
    assert len(run["results"]) == len(report.findings)
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= set(report.rules_checked)
    for result in run["results"]:
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


@pytest.mark.parametrize("name", sorted([*CASES, "local-pin"]))
def test_junit_has_a_testcase_per_rule_checked(reports, name):
    _, report = reports[name]
    suite = ET.fromstring(render(report, OutputFormat.JUNIT).encode()).find("testsuite")
    names = [c.get("name").split(" ")[0] for c in suite.iter("testcase")]
    assert set(report.rules_checked) <= set(names)
    errors = {f.rule for f in report.findings if f.severity.value == "error"}
    failed = {c.get("name").split(" ")[0] for c in suite.iter("testcase") if c.find("failure") is not None}
    assert errors <= failed


def test_old_torch_on_h100_fails_with_lb203(reports):
    src, report = reports["h100-old-torch"]
    assert report.verdict.value == "fail"
    text = render(report, OutputFormat.RICH, color=False, plain=True, width=100)
    assert text.lstrip().startswith("FAIL") and "LB203" in text
    for line in render(report, OutputFormat.GITHUB).splitlines():
        m = re.match(r"::(error|warning|notice) (?:file=([^,]*),line=(\d+),)?title=(LB\d{3})", line)
        if m and m.group(2):
            # An annotation with a place must point at an existing line of the user's file.
            lines = (src / m.group(2)).read_text().splitlines()
            assert 1 <= int(m.group(3)) <= len(lines)


def test_github_annotation_points_at_the_requirement_line(reports, monkeypatch):
    src, report = reports["local-pin"]
    monkeypatch.setenv("GITHUB_WORKSPACE", str(src))  # as if the job's source were the checkout
    assert any(f.rule == "LB305" and f.location is not None for f in report.findings), report.findings
    annotations = [line for line in render(report, OutputFormat.GITHUB).splitlines() if "title=LB305" in line]
    assert annotations
    m = re.match(r"::warning file=([^,]*),line=(\d+),title=LB305", annotations[0])
    assert m, annotations[0]
    assert m.group(1) == "frozen.txt" and m.group(2) == "3"
    assert (src / m.group(1)).read_text().splitlines()[int(m.group(2)) - 1] == "-e /home/me/shared-lib"
    sarif = json.loads(render(report, OutputFormat.SARIF))
    located = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "LB305"][0]
    where = located["locations"][0]["physicalLocation"]
    assert (where["artifactLocation"]["uri"], where["region"]["startLine"]) == ("frozen.txt", 3)


def test_several_formats_written_side_by_side(reports, tmp_path):
    _, report = reports["demo"]
    written = write_outputs(report, ["json", "junit", "sarif", "markdown"], output=tmp_path / "lb")
    assert sorted(p.name for p in written.values()) == ["lb.json", "lb.md", "lb.sarif", "lb.xml"]
    assert json.loads((tmp_path / "lb.json").read_text())["schema_version"] == 1
