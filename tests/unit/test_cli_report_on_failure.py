"""A check that stops after the job was read still writes every requested format, with the
failure and its exit code; without formats asked for, it stays one error line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
from typer.testing import CliRunner

from launchbuild.cli import app
from tests.helpers_report import REPORT_SCHEMA


def job(tmp_path):
    d = tmp_path / "job"
    d.mkdir()
    (d / "train.py").write_text("print(1)\n")
    (d / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    return d


def test_late_bad_input_writes_every_format(tmp_path):
    out = tmp_path / "out" / "r"
    result = CliRunner().invoke(app, ["check", str(job(tmp_path)), "--offline", "--requirements", "nothere.txt",
                                      "-f", "json", "-f", "junit", "-o", str(out)], env={"NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    doc = json.loads(out.with_name("r.json").read_text())
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(doc)
    assert doc["exit_code"] == 2 and doc["failure"]["stage"] == "check" and "nothere.txt" in doc["failure"]["message"]
    suite = ET.fromstring(out.with_name("r.xml").read_text())
    assert any(c.get("classname") == "launchbuild.check" and c.find("failure") is not None for c in suite.iter("testcase"))
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nothere.txt" in errors[0]


def test_without_formats_only_the_error_line(tmp_path):
    result = CliRunner().invoke(app, ["check", str(job(tmp_path)), "--offline", "--requirements", "nothere.txt",
                                      "--progress", "quiet"], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.strip()] == [
        line for line in result.output.splitlines() if line.startswith("error:")]
    assert not list(tmp_path.glob("**/*.json"))
