"""Goldens per input form: the input files (tests/fixtures/inputs/<form>/), the lock they give
for Python 3.11 on linux/amd64, and the Dockerfile rendered from it. Pinned inputs, so the
locks are stable; `UPDATE_GOLDENS=1` rewrites them (review the diff)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launchbuild.builder.dockerfile import render
from launchbuild.builder.plan import BuildPlan, cache_scope_of
from launchbuild.jobs.model import CodeSource, Job, SourceKind
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.resolver.api import ResolveOptions, resolve

pytestmark = pytest.mark.network
INPUTS = Path(__file__).resolve().parent.parent / "fixtures" / "inputs"
# Forms whose lock needs the project's build backend: it runs in the build sandbox, a container.
BUILDS = {"own-project", "setup-py"}
FORMS = [pytest.param(name, marks=pytest.mark.docker) if name in BUILDS else name
         for name in sorted(p.name for p in INPUTS.iterdir() if p.is_dir())]
OPTIONS = {"pep621-groups": dict(extras=("net",), groups=("test",)), "poetry": dict(extras=("net",))}


def golden(path: Path, text: str) -> None:
    if os.environ.get("UPDATE_GOLDENS") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"missing golden {path}; run with UPDATE_GOLDENS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs from its golden"


@pytest.mark.parametrize("form", FORMS)
def test_input_to_lock_to_dockerfile(form, tmp_path):
    src = INPUTS / form
    result = resolve(src, Job(source=CodeSource(src)), ResolveOptions(
        python=Sourced("3.11", Origin.FLAG), cache_dir=tmp_path / "cache", fetch_package_facts=False,
        **OPTIONS.get(form, {})))
    assert result.lock is not None, result.findings
    assert all(p.hashes for p in result.lock.packages)
    golden(INPUTS / f"{form}.lock", result.lock.text)
    plan = BuildPlan(SourceKind.CODE, "python:3.11-slim", "3.11", lock_text=result.lock.text,
                     entrypoint=("python", "train.py"), source_label=form, version="golden",
                     index_urls=result.lock.index_urls, find_links=result.lock.find_links,
                     install_projects=result.lock.own_projects,
                     cache_scope=cache_scope_of(None, f"code\0/srv/jobs/{form}"))  # as the pipeline derives it
    golden(INPUTS / f"{form}.Dockerfile", render(plan))
