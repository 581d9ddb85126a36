"""Paths CI can annotate: every location relative to the CI checkout, not to the job.

Findings name files relative to the job's source directory (`requirements.txt`). A job in
`jobs/x/` of a repository is annotated by GitHub, GitLab and SARIF viewers only when the path
is relative to the repository: `jobs/x/requirements.txt`. The root is, in order:
`GITHUB_WORKSPACE`, `CI_PROJECT_DIR`, else the git top level above the job (found by
walking up to a `.git` entry, no subprocess). With no root known, paths stay as they were.

`for_ci(report)` rewrites the report once; SARIF, GitHub annotations, JUnit and Markdown
render the rewritten report, so all four agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath

from launchbuild.core.findings import Finding
from launchbuild.report.model import Report

ROOT_VARIABLES = ("GITHUB_WORKSPACE", "CI_PROJECT_DIR")


def git_top_level(start: Path) -> Path | None:
    """The nearest directory at or above `start` that holds a `.git` (a dir, or a file in a
    worktree or submodule)."""
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def ci_root(source_root: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    for name in ROOT_VARIABLES:
        value = env.get(name)
        if value:
            return Path(value)
    if source_root:
        return git_top_level(Path(source_root))
    return None


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def ci_path(path: str, *, source_root: str | None = None, root: Path | None = None) -> str:
    """`path` (relative to `source_root`, or absolute) relative to `root` when inside it, with
    forward slashes. Outside the root, or with no root, the path is returned as it was."""
    if root is None:
        return path
    p = Path(path)
    if not p.is_absolute():
        if source_root is None:
            return path
        p = Path(source_root) / p
    for candidate_root, candidate in ((root, p), (_real(root), _real(p))):
        try:
            return PurePosixPath(candidate.relative_to(candidate_root).as_posix()).as_posix()
        except ValueError:
            continue
    return path


def _relocate(f: Finding, source_root: str | None, root: Path) -> Finding:
    if f.location is None:
        return f
    moved = ci_path(f.location.path, source_root=source_root, root=root)
    return f if moved == f.location.path else replace(f, location=replace(f.location, path=moved))


def for_ci(report: Report, env: Mapping[str, str] | None = None) -> Report:
    """The report with every finding location, cleaning location and the environment's input
    path made relative to the CI root. Idempotent: a second call finds nothing to move."""
    source_root = report.source_root
    root = ci_root(source_root, env)
    if root is None:
        return report
    findings = tuple(_relocate(f, source_root, root) for f in report.findings)
    env_result = report.environment
    if env_result is not None:
        cleaning = tuple(
            replace(c, location=replace(c.location, path=ci_path(c.location.path, source_root=source_root, root=root)))
            if c.location is not None else c
            for c in env_result.cleaning
        )
        input_path = (ci_path(env_result.input_path, source_root=source_root, root=root)
                      if env_result.input_path else env_result.input_path)
        env_result = replace(env_result, cleaning=cleaning, input_path=input_path)
    # Paths are now relative to the root: the source root no longer applies to them.
    return replace(report, findings=findings, environment=env_result, source_root=None)
