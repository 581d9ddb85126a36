"""Shared values for the builder tests: the seed-table plans and a lock made by uv."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from launchbuild.builder.plan import BuildPlan, CaMode, Frontend, cache_scope_of
from launchbuild.jobs.model import SourceKind
from tests.helpers_testenv import STANDIN_IMAGES

GOLDEN_DIR = Path(__file__).parent / "fixtures" / "builder"
CUDA_STANDIN = STANDIN_IMAGES["cuda121"]
PYTHON_STANDIN = STANDIN_IMAGES["python"]
FAKE_LOCK = (
    "# locked for the golden tests\n"
    "six==1.16.0 \\\n"
    "    --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n"
)


def seed_plan(kind: SourceKind, accelerator: bool, **changes) -> BuildPlan:
    """One row of the seed build table, with fixed labels so goldens do not drift."""
    base = CUDA_STANDIN if accelerator else "python:3.11-slim"
    values = dict(
        source_kind=kind,
        base_image=base if kind is not SourceKind.IMAGE else "registry.example/team/trained:v3",
        python="3.11",
        accelerator=accelerator,
        lock_text=FAKE_LOCK,
        entrypoint=("python", "train.py", "--epochs", "1"),
        source_label="https://git.example/team/proj.git" if kind is SourceKind.GIT else "code",
        commit="0123456789abcdef0123456789abcdef01234567" if kind is SourceKind.GIT else None,
        version="0.0.0-golden",
        # As pipeline/build.py derives it: from the job's source when the operator names no scope.
        cache_scope=cache_scope_of(None, "git\0https://git.example/team/proj" if kind is SourceKind.GIT
                                   else "code\0/srv/jobs/proj"),
    )
    values.update(changes)
    return BuildPlan(**values)


# (golden file name, plan): the five table rows, plus the engine/CA variants.
GOLDEN_CASES = {
    "git": seed_plan(SourceKind.GIT, False),
    "code": seed_plan(SourceKind.CODE, False),
    "git-accelerator": seed_plan(SourceKind.GIT, True),
    "code-accelerator": seed_plan(SourceKind.CODE, True, apt_packages=("libgl1",)),
    "code-accelerator-ca-secret": seed_plan(SourceKind.CODE, True, ca_mode=CaMode.SECRET),
    "code-classic": seed_plan(SourceKind.CODE, False, frontend=Frontend.CLASSIC, installer="pip"),
    "code-classic-ca-stage": seed_plan(
        SourceKind.CODE, True, frontend=Frontend.CLASSIC, installer="pip", ca_mode=CaMode.THROWAWAY_STAGE
    ),
    "code-buildkit-pip": seed_plan(SourceKind.CODE, False, installer="pip", ca_mode=CaMode.SECRET),
}
IMAGE_PLAN = seed_plan(SourceKind.IMAGE, False)


def uv_lock(requirements: str, dest: Path, python: str = "3.11") -> str:
    """A real hashed lock from PyPI (network), for integration tests."""
    src = dest.with_suffix(".in")
    src.write_text(requirements)
    subprocess.run(
        ["uv", "pip", "compile", "--generate-hashes", "--python-version", python, "--no-python-downloads",
         "--no-header", "--quiet", "-o", str(dest), str(src)],
        check=True, env=dict(os.environ, UV_PYTHON_DOWNLOADS="never"),
    )
    return dest.read_text()
