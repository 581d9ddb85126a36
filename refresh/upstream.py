"""Upstream files read at a pinned commit: the primary source of a table that no artifact on
PyPI measures (pci.ids for GPU models, CMake's CUDA architecture list, ...).

Each `Upstream` names a repository, a path and the commit it is pinned to. The refresh reads it
 - from `--source-dir DIR` when given: `DIR/<owner>+<name>/<path>` (a checkout), or the bare git
   directory `DIR/<owner>+<name>/repo` or `DIR/<owner>+<name>` (read with `git show`, at the pinned
   commit when the snapshot has it, else at its HEAD; the commit read is what the rows cite);
 - else through the fetcher at the pinned raw URL (the network, or `--fixtures DIR`, where the
   recorded file is named by `http.fixture_name(url)`).
Every row built from the text cites `Read.citation`: the repository URL at the commit read, with
its date when known.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput, InfraUnavailable


@dataclass(frozen=True)
class Upstream:
    """One upstream file a table is built from: a GitHub repository, a path, the pinned commit."""

    key: str
    repo: str  # owner/name on GitHub
    path: str
    commit: str  # pinned: what a live refresh reads
    date: str  # that commit's date (YYYY-MM-DD)
    at_commit_only: bool = False  # a release branch's file: a snapshot's HEAD is another file

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"


@dataclass(frozen=True)
class Read:
    """An upstream file's text as the refresh read it, and at which commit and how; rows built
    from it cite `citation`."""

    text: str
    upstream: Upstream
    commit: str
    date: str | None
    via: str  # "url", "checkout" or "git"

    @property
    def citation(self) -> str:
        when = f" ({self.date})" if self.date else ""
        return f"https://github.com/{self.upstream.repo}/blob/{self.commit}/{self.upstream.path}{when}"


PCIIDS = Upstream("pciids", "pciutils/pciids", "pci.ids", "c1c12547d626ebf05fd0223144ad87fab5e95d06", "2026-08-22")
CMAKE_CUDA_ARCHS = Upstream("cmake-cuda-archs", "Kitware/CMake", "Modules/Internal/CMakeCUDAArchitecturesAll.cmake",
                            "03676b051d5a1302c8b17bb6b3325ee38acab914", "2026-08-22")
UPSTREAMS = {u.key: u for u in (PCIIDS, CMAKE_CUDA_ARCHS)}


def _git(git_dir: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.decode("utf-8", "replace") if out.returncode == 0 else None


def _from_dir(u: Upstream, source_dir: Path) -> Read | None:
    base = source_dir / u.repo.replace("/", "+")
    if not base.is_dir():
        base = source_dir / u.repo.split("/")[1]
    if (base / u.path).is_file():
        head = (_git(base / ".git", "rev-parse", "HEAD") or "").strip()
        date = (_git(base / ".git", "log", "-1", "--format=%cs") or "").strip() or None
        return Read((base / u.path).read_text("utf-8", "replace"), u, head or "unknown-commit", date, "checkout")
    for git_dir in (base / "repo", base, base / ".git"):
        if not git_dir.is_dir():
            continue
        for rev in (u.commit,) if u.at_commit_only else (u.commit, "HEAD"):
            text = _git(git_dir, "show", f"{rev}:{u.path}")
            if text is not None:
                commit = (_git(git_dir, "rev-parse", rev) or rev).strip()
                date = (_git(git_dir, "log", "-1", "--format=%cs", commit) or "").strip() or None
                return Read(text, u, commit, date, "git")
    return None


def read(u: Upstream, fetcher, source_dir: Path | None) -> Read:
    """The upstream file's text; BadInput when --source-dir lacks it, InfraUnavailable (from the
    fetcher) when the pinned URL cannot be read."""
    if source_dir is not None:
        got = _from_dir(u, source_dir)
        if got is None:
            raise BadInput(f"--source-dir {source_dir}: no {u.repo.replace('/', '+')}/{u.path} (a checkout) or "
                           f"{u.repo.replace('/', '+')}/repo (a git dir) with {u.path}; put a snapshot of {u.repo} there")
        return got
    try:
        body = fetcher.get(u.url)
    except InfraUnavailable as exc:
        # The same kind: a recording --fixtures lacks stays one (run_refresh: bad input).
        raise type(exc)(f"{exc} (or pass --source-dir DIR holding a snapshot of {u.repo})") from None
    return Read(body.decode("utf-8", "replace"), u, u.commit, u.date, "url")
