"""A failed build still leaves its record, through the real CLI and engine: every requested
format is written, with the findings so far, the failing step, its log tail and a fix, and
the paths are relative to the CI workspace (a job in jobs/x/)."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests.helpers_gate import GatedIndex
from tests.helpers_report import REPORT_SCHEMA
from tests.helpers_testenv import STANDIN_IMAGES

pytestmark = pytest.mark.docker


def test_failed_install_step_writes_every_format(tmp_path, docker_client, standin_images):
    workspace = tmp_path / "ws"
    job = workspace / "jobs" / "x"
    job.mkdir(parents=True)
    (job / "train.py").write_text("print('never runs')\n")
    (job / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    out = tmp_path / "out" / "r"
    with GatedIndex(tmp_path / "wheels", mode="corrupt") as gate:
        (job / "requirements.txt").write_text(f"--index-url {gate.url}\n{gate.requirement}\n")
        result = subprocess.run(
            ["launchbuild", "build", str(job), "--python-base-image", STANDIN_IMAGES["python"], "--no-cache",
             "-f", "json", "-f", "junit", "-f", "sarif", "-f", "github", "-o", str(out)],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "NO_COLOR": "1", "GITHUB_WORKSPACE": str(workspace)},
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr

    doc = json.loads(out.with_name("r.json").read_text())
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(doc)
    failure = doc["failure"]
    assert doc["verdict"] == "fail" and failure["stage"] == "build"
    assert "uv pip install" in failure["step"] or "pip install" in failure["step"]
    assert failure["log_tail"] and failure["fix"]
    assert doc["build"]["tag"] == ""  # nothing was tagged, and none is listed

    junit = ET.fromstring(out.with_name("r.xml").read_text())
    case = next(c for c in junit.iter("testcase") if c.get("classname") == "launchbuild.build")
    assert case.find("failure") is not None and case.get("file") == "jobs/x/requirements.txt"

    sarif = json.loads(out.with_name("r.sarif").read_text())
    result_ids = [r["ruleId"] for r in sarif["runs"][0]["results"]]
    assert "launchbuild/build-failed" in result_ids
    github = out.with_name("r.github.txt").read_text()
    assert "::error title=launchbuild image build failed" in github and "file=jobs/x/requirements.txt" in github
