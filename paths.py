"""Path helpers shared by every stage that reads a path the user typed."""

from __future__ import annotations

from pathlib import Path


def expand_user(path: str | Path) -> Path:
    """`~/x` → home; `~name/x` for a user that does not exist, or that no user can be called
    (`~` and a NUL byte), stays a plain relative name (Path.expanduser would raise RuntimeError
    or ValueError, which are not bad-input errors; the path's own checks judge it next)."""
    path = Path(path)
    try:
        return path.expanduser()
    except (RuntimeError, ValueError):
        return path


def display_path(path: str | Path) -> str:
    """A path as a person would type it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(path)


def not_a_file(path: Path) -> tuple[str, str] | None:
    """Why `path` is not a regular file the user can pass, as (what it is, what to do), or
    None when it is one. A folder or a device is not "missing": saying so sends the user
    hunting for a typo in a path that is there."""
    try:
        if path.is_file():
            return None
        if path.is_dir():
            return "is a directory, not a file", "pass the path of the file itself"
        if path.exists():
            return "is not a regular file", "pass the path of a regular file"
    except (OSError, ValueError):  # a name too long, a NUL byte: no such file either way
        pass
    return "does not exist", "check the path you passed"
