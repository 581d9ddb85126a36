"""Wheels built or copied on this host (resolver/artifacts.py) travel in the build context at
.launchbuild/wheels: BuildKit bind-mounts them into the install step only (nothing stays in
the image); the classic builder copies them in. The lock pins each by sha256."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from launchbuild.builder.plan import BuildPlan, Frontend

CONTEXT_WHEELS = ".launchbuild/wheels"
IMAGE_WHEELS = "/opt/launchbuild/wheels"


def names(plan: BuildPlan) -> list[str]:
    return sorted(Path(w).name for w in plan.wheel_files)


def copy_lines(plan: BuildPlan) -> list[str]:
    if not plan.wheel_files or plan.frontend is Frontend.BUILDKIT:
        return []
    return [f"COPY {CONTEXT_WHEELS}/ {IMAGE_WHEELS}/"]


def mount_lines(plan: BuildPlan) -> list[str]:
    if not plan.wheel_files or plan.frontend is not Frontend.BUILDKIT:
        return []
    # The lock pins every wheel by sha256, so the tag covers them.
    return [f"    --mount=type=bind,source={CONTEXT_WHEELS},target={IMAGE_WHEELS} \\"]


def place(context_dir: Path, plan: BuildPlan) -> None:
    """Put the plan's wheels into the context (a hard link when the cache shares its filesystem)."""
    target = Path(context_dir) / CONTEXT_WHEELS
    if target.exists():
        shutil.rmtree(target)
    if not plan.wheel_files:
        return
    target.mkdir(parents=True)
    for wheel in plan.wheel_files:
        src = Path(wheel)
        try:
            os.link(src, target / src.name)
        except OSError:
            shutil.copy2(src, target / src.name)
