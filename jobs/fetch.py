"""Bring a job's code onto this machine: a git clone, an extracted archive, or a local dir.

`materialize(job)` is a context manager yielding a `Workspace` (or None for image jobs).
Clones and extractions live in a temp dir that is removed on every exit path, errors and
KeyboardInterrupt included. Local directories are used in place, never copied. The work
itself is in `jobs.git_clone` (git), `jobs.archive` (safe extraction) and
`jobs.local_tree` (the outside-link check); this module picks one and shapes the result
(the single top-level folder unwrapped, the subdirectory applied).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.jobs.archive import DEFAULT_MAX_ARCHIVE_BYTES, DEFAULT_MAX_MEMBERS, extract_archive
from launchbuild.jobs.fields import validate_subdir
from launchbuild.jobs.git_clone import DEFAULT_GIT_TIMEOUT, clone_git
from launchbuild.jobs.local_tree import check_local_directory, is_within
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, Job
from launchbuild.jobs.urls import redact_url

TEMP_PREFIX = "launchbuild-src-"


@dataclass(frozen=True)
class Workspace:
    """The job's code on this machine.

    `path` is the code root (subdirectory applied); `commit` the full sha checked out for git
    sources (None otherwise); `source_description` a printable, credential-free account of
    where it came from. `os.fspath(workspace)` is `path`, so it can stand in for a Path."""

    path: Path
    commit: str | None
    source_description: str

    def __fspath__(self) -> str:
        return str(self.path)


@contextlib.contextmanager
def materialize(
    job: Job,
    *,
    git_timeout: float = DEFAULT_GIT_TIMEOUT,
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
    temp_parent: Path | None = None,
) -> Iterator[Workspace | None]:
    """The job's code root for the duration of the `with` block; None for image jobs."""
    source = job.source
    if isinstance(source, ImageSource):
        yield None
        return
    if isinstance(source, CodeSource) and _is_directory(source.path):
        root = check_local_directory(source.path)
        yield Workspace(_apply_subdir(root, source.subdir, str(root)), None, str(root))
        return
    temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=str(temp_parent) if temp_parent else None))
    try:
        if isinstance(source, GitSource):
            checkout = temp / "checkout"
            commit = clone_git(source.remote, source.ref, checkout, timeout=git_timeout)
            description = f"{redact_url(source.remote)}@{commit}"
            # A commit may hold symlinks: the same outside-link check as a local directory.
            check_local_directory(checkout, label=f"git checkout {description}")
            yield Workspace(_apply_subdir(checkout, source.subdir, description), commit, description)
        else:
            extracted = temp / "code"
            extract_archive(source.path, extracted, max_bytes=max_archive_bytes, max_members=max_members)
            check_local_directory(extracted, label=f"archive {source.path}")
            extracted = unwrap_single_folder(extracted)
            yield Workspace(_apply_subdir(extracted, source.subdir, str(source.path)), None, str(source.path))
    finally:
        _remove_tree(temp)


# Archivers' own entries, never the job's files (macOS zip resource forks).
_ARCHIVER_NOISE = frozenset({"__MACOSX"})


def unwrap_single_folder(root: Path) -> Path:
    """`git archive --prefix=proj/`, GitHub's zip download and `tar czf proj.tgz proj` put every
    file in one top-level folder: that folder is the job's root, or its requirements file and
    entrypoint would not be found."""
    entries = [e for e in root.iterdir() if e.name not in _ARCHIVER_NOISE]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return root


def _is_directory(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _remove_tree(path: Path) -> None:
    def make_writable_and_retry(func, target, _exc_info):  # type: ignore[no-untyped-def]
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable_and_retry)
    else:  # pragma: no cover - 3.10/3.11
        shutil.rmtree(path, onerror=make_writable_and_retry)


def _apply_subdir(root: Path, subdir: str | None, where: str) -> Path:
    if not subdir:
        return root
    relative = validate_subdir(subdir, f"{where}: subdirectory")
    candidate = root / relative
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if not is_within(real, real_root):
        raise BadInput(f"{where}: subdirectory {subdir!r} leads outside the source through a link",
                       hint="pass a subdirectory that is a real directory inside the source")
    if not os.path.isdir(real):
        raise BadInput(f"{where}: subdirectory {subdir!r} does not exist", hint="check --subdir / source.subdir")
    return candidate
