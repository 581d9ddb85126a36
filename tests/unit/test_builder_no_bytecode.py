"""`--no-bytecode`: no install step compiles bytecode, in any rendering (single layer or split,
BuildKit or classic, uv or pip, with the job's own project), and every other line is the same."""

from __future__ import annotations

import dataclasses
import re

import pytest

from launchbuild.builder import layers
from launchbuild.builder.dockerfile import render
from launchbuild.builder.plan import CaMode, Frontend
from launchbuild.jobs.model import SourceKind
from tests.helpers_builder import GOLDEN_CASES, seed_plan
from tests.unit.test_builder_layers import TORCH_LOCK, lock_of

COMPILING = ("compileall", layers.BYTECODE_HELPER)
NOTE = "# --no-bytecode: no step compiles bytecode; the job's modules compile at each start."


def _variants():
    """Every golden case, the layer split, and the job's own project on each frontend."""
    cases = dict(GOLDEN_CASES)
    cases["layered"] = seed_plan(SourceKind.CODE, False, lock_text=lock_of(TORCH_LOCK), layer_roots=("torch",))
    cases["layered-project"] = dataclasses.replace(cases["layered"], install_projects=(".",))
    cases["project"] = seed_plan(SourceKind.CODE, False, install_projects=(".", "libs/a"))
    cases["project-classic"] = seed_plan(SourceKind.CODE, True, frontend=Frontend.CLASSIC, installer="pip",
                                         ca_mode=CaMode.THROWAWAY_STAGE, install_projects=(".",))
    cases["project-pip"] = seed_plan(SourceKind.CODE, False, installer="pip", ca_mode=CaMode.SECRET,
                                     install_projects=(".",))
    return cases


VARIANTS = _variants()


def _without_compile_steps(text: str) -> str:
    """The rendering with its compile steps cut out, as `--no-bytecode` should leave it."""
    text = re.sub(r" && \\\n    \{ /opt/venv/bin/python (?:-m compileall|/opt/launchbuild/layer_bytecode\.py)[^\n]*", "",
                  text)
    text = re.sub(r" && \{ /opt/venv/bin/python -m compileall[^\n]*", "", text)  # the throwaway stage's project
    text = re.sub(r"; \{ /opt/venv/bin/python (?:-m compileall|/opt/launchbuild/layer_bytecode\.py)[^\n]*", "", text)
    text = text.replace(f"{layers.bytecode_mount()} \\\n    ", "").replace(f"{layers.bytecode_mount()} ", "")
    text = re.sub(r"--mount=type=cache,target=/root/\.cache/launchbuild-pyc,id=launchbuild-pyc-[0-9a-f]* \\\n    ", "", text)
    return text.replace(": > /tmp/launchbuild-project.stamp; ", "")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_no_step_compiles_and_nothing_else_changes(name):
    plan = VARIANTS[name]
    with_bytecode = render(plan)
    without = render(dataclasses.replace(plan, bytecode=False))
    assert any(word in with_bytecode for word in COMPILING)  # the default compiles
    assert not any(word in without for word in COMPILING), without
    assert NOTE in without and NOTE not in with_bytecode
    assert without.replace(NOTE + "\n", "") == _without_compile_steps(with_bytecode)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_bytecode_helper_goes_into_the_context_only_where_a_step_runs_it(name, tmp_path):
    plan = VARIANTS[name]
    for bytecode in (True, False):
        context = tmp_path / str(bytecode)
        context.mkdir()
        fitted = dataclasses.replace(plan, bytecode=bytecode)
        layers.place(context, fitted)
        helper = context / layers.BYTECODE_IN_CONTEXT
        assert helper.exists() == (layers.bytecode_mount() in (render(fitted) or "")), (name, bytecode)


def test_a_job_may_ask_for_it_in_its_own_config(tmp_path):
    from launchbuild.options import JOB_OPTION_NAMES

    assert "bytecode" in JOB_OPTION_NAMES  # docs/SECURITY.md: a yes/no over fixed steps
