"""Paths CI can annotate: a job in jobs/x/ is annotated at jobs/x/requirements.txt in SARIF,
GitHub annotations, JUnit `file` attributes and Markdown, relative to GITHUB_WORKSPACE,
CI_PROJECT_DIR or the git top level."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.core.findings import Finding, Location, Severity
from launchbuild.report.formats import render
from launchbuild.report.model import Report, TargetSummary
from launchbuild.report.paths import ci_path, ci_root, for_ci, git_top_level
from tests.helpers_report import RULES

LB203 = Finding(rule="LB203", severity=Severity.ERROR, title="Framework build has no kernels for the GPU",
                message="torch has no sm_90 kernels", fix="use torch>=2.0", location=Location("requirements.txt", 3))


def job_report(source_root: Path) -> Report:
    return Report(job="jobs/x", target=TargetSummary(), findings=(LB203,), rules_checked=("LB203",),
                  source_root=str(source_root))


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    for name in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)
    repo = tmp_path / "repo"
    (repo / "jobs" / "x").mkdir(parents=True)
    (repo / ".git").mkdir()
    monkeypatch.chdir(repo)
    return repo


def formats(report: Report) -> dict[str, str]:
    return {f: render(report, f, rules=RULES, color=False, plain=True) for f in ("sarif", "github", "junit", "markdown")}


def assert_annotated_at(out: dict[str, str], expected: str) -> None:
    sarif = json.loads(out["sarif"])["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert sarif["artifactLocation"]["uri"] == expected and sarif["region"]["startLine"] == 3
    assert f"file={expected},line=3" in out["github"]
    case = next(c for c in ET.fromstring(out["junit"]).iter("testcase") if c.get("name", "").startswith("LB203"))
    assert case.get("file") == expected and case.get("line") == "3"
    assert f"({expected}:3)" in out["markdown"]


@pytest.mark.parametrize("variable", ["GITHUB_WORKSPACE", "CI_PROJECT_DIR"])
def test_ci_workspace_variables(checkout, monkeypatch, variable):
    monkeypatch.setenv(variable, str(checkout))
    assert_annotated_at(formats(job_report(checkout / "jobs" / "x")), "jobs/x/requirements.txt")


def test_git_top_level_when_no_ci_variable(checkout):
    assert git_top_level(checkout / "jobs" / "x") == checkout
    assert_annotated_at(formats(job_report(checkout / "jobs" / "x")), "jobs/x/requirements.txt")


def test_a_worktree_dot_git_file_counts(tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / ".git").write_text("gitdir: /elsewhere\n")
    assert git_top_level(tmp_path / "jobs") == tmp_path


def test_no_root_known_leaves_paths_alone(tmp_path, monkeypatch):
    for name in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)
    report = job_report(tmp_path / "nowhere")  # no .git above a tmp dir
    if ci_root(str(tmp_path / "nowhere")) is None:
        assert for_ci(report) is report


def test_a_job_outside_the_workspace_keeps_its_own_path(checkout, monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_WORKSPACE", str(checkout))
    moved = for_ci(job_report(tmp_path / "elsewhere"))
    assert moved.findings[0].location.path == "requirements.txt"


def test_for_ci_is_idempotent(checkout, monkeypatch):
    monkeypatch.setenv("GITHUB_WORKSPACE", str(checkout))
    once = for_ci(job_report(checkout / "jobs" / "x"))
    assert for_ci(once) == once and once.findings[0].location.path == "jobs/x/requirements.txt"


def test_environment_input_path_moves_too(checkout, monkeypatch):
    from launchbuild.resolver.model import ResolveResult

    monkeypatch.setenv("GITHUB_WORKSPACE", str(checkout))
    report = replace(job_report(checkout / "jobs" / "x"),
                     environment=ResolveResult(input_kind="requirements", input_path="requirements.txt"))
    assert for_ci(report).environment.input_path == "jobs/x/requirements.txt"


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=8).filter(
    lambda s: s not in (".", ".."))


@settings(max_examples=200, deadline=None)
@given(st.lists(segment, min_size=0, max_size=3), st.lists(segment, min_size=1, max_size=3))
def test_inside_the_root_is_always_relative_to_it(job_parts, file_parts):
    root = Path("/ci/workspace")
    source_root = root.joinpath(*job_parts)
    rel = "/".join(file_parts)
    assert ci_path(rel, source_root=str(source_root), root=root) == "/".join([*job_parts, *file_parts])
    # Outside the root: unchanged.
    assert ci_path(rel, source_root="/other/place", root=root) == rel
