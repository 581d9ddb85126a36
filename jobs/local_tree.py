"""A job's code tree on this machine: the check that no symlink inside it points outside it.

Shared by local directories, git checkouts (`jobs.fetch`) and archive extraction
(`jobs.archive`), which all ask whether a resolved path stays inside its root."""

from __future__ import annotations

import os
from pathlib import Path

from launchbuild.errors import BadInput
from launchbuild.limits import walk_tree

_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".tox"})


def is_within(path: str, root: str) -> bool:
    """Whether the real path `path` is `root` or below it."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_local_directory(path: Path, label: str | None = None) -> Path:
    """`path` resolved, after checking that no symlink inside it points outside it. Used for
    local directories and git checkouts alike (archives check their links while extracting)."""
    if not path.exists():
        raise BadInput(f"code directory {path}: not found", hint="check the path")
    if not path.is_dir():
        raise BadInput(f"code directory {path}: not a directory", hint="pass a directory or an archive")
    root = Path(os.path.realpath(path))
    for dirpath, dirnames, filenames in walk_tree(root, f"code directory {root}"):  # iterative, depth-capped
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        for name in (*dirnames, *filenames):
            entry = os.path.join(dirpath, name)
            if not os.path.islink(entry):
                continue
            try:
                target = os.path.realpath(entry)  # recursive per link: a 1000-link chain overflows
            except (RecursionError, OSError):
                raise BadInput(f"code directory {root}: symlink {os.path.relpath(entry, root)} starts a chain of links "
                               "too long to follow", hint="replace the links with the file") from None
            if not is_within(target, str(root)):
                relative = os.path.relpath(entry, root)
                raise BadInput(f"{label or f'code directory {root}'}: symlink {relative!r} points outside it "
                               f"({os.readlink(entry)[:100]!r})",
                               hint="replace the link with the file, or remove it")
    return root

