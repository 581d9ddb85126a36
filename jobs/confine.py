"""Confinement: a file a job names must be a regular file inside the job's own source tree.

A job names files in many places: `-r`/`-c` includes, constraints, local wheels and project
paths, `--find-links` folders, `.python-version`, its entrypoint script, its config file.
Each is a path written by whoever submitted the job, read on the operator's machine. Every
one goes through `confine()` before it is opened:

- no absolute paths, no `~`, no control characters; `..` only while it stays inside the tree;
- symlinks are resolved, and the real path must still be inside the tree's real path;
- the result must be a regular file (or a directory, where one is asked for): never a FIFO
  (it would hang), a device (`/dev/zero` never ends) or a `/proc` file;
- a file must be under a size cap, and `read_text()` reads at most that many bytes.

An error quotes what the job wrote (the requirement text), never the file's content: the
content of a file outside the tree is the operator's, and may be a password.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from launchbuild.errors import BadInput

MAX_JOB_FILE_BYTES = 4 * 1024 * 1024  # a requirements file, a config file, .python-version
_HINT = "name a file inside the job's source tree, by a relative path"


def _shown(text: str) -> str:
    """The job's text on one line: repr escapes newlines and control characters; capped."""
    shown = repr(str(text))
    return shown if len(shown) <= 160 else shown[:157] + "...'"


def inside(path: str, root: str) -> bool:
    """`path` is `root` or below it (both real, normalized paths)."""
    root = root.rstrip(os.sep) or os.sep
    return path == root or path.startswith(root if root == os.sep else root + os.sep)


def refusal(where: str, what: str, written: str, reason: str, hint: str = _HINT) -> BadInput:
    return BadInput(f"{where}: {what} {_shown(written)} {reason}", hint=hint)


def lexical_problem(written: str) -> str | None:
    """Why a path as written can never name a file inside the tree, or None."""
    if not written:
        return "is empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in written):
        return "has control characters"
    if written.startswith("~"):
        return "is a home-directory path"
    if written.startswith(("/", "\\")) or (len(written) > 1 and written[1] == ":"):
        return "is an absolute path"
    return None


def confine(
    root: Path | str,
    written: str,
    *,
    base: Path | str | None = None,
    where: str,
    what: str = "file",
    kind: str = "file",
    max_bytes: int | None = MAX_JOB_FILE_BYTES,
    missing_ok: bool = False,
) -> Path:
    """The real path of `written` (relative to `base`, default `root`), after checking that it
    is inside `root`, symlinks resolved, and is a `kind` ("file", "dir" or "any") entry.

    Raises BadInput naming `where` (e.g. "requirements.txt:3") and `written`, never content."""
    problem = lexical_problem(written)
    if problem:
        raise refusal(where, what, written, problem)
    real_root = os.path.realpath(root)
    start = os.path.realpath(base) if base is not None else real_root
    lexical = os.path.normpath(os.path.join(start, written))
    if not inside(lexical, real_root):
        raise refusal(where, what, written, "leads outside the job's source tree")
    real = os.path.realpath(lexical)
    if not inside(real, real_root):
        raise refusal(where, what, written, "resolves outside the job's source tree through a symlink")
    try:
        info = os.stat(real)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if missing_ok:
                return Path(real)
            raise refusal(where, what, written, "does not exist (cannot read it)", hint="fix the path (relative to the file that names it)") from None
        raise refusal(where, what, written, f"cannot read it ({exc.strerror})", hint="fix its permissions") from None
    is_dir = stat.S_ISDIR(info.st_mode)
    is_file = stat.S_ISREG(info.st_mode)
    if kind == "file" and not is_file:
        raise refusal(where, what, written, "is a directory" if is_dir else "is not a regular file")
    if kind == "dir" and not is_dir:
        raise refusal(where, what, written, "is not a directory")
    if kind == "any" and not (is_dir or is_file):
        raise refusal(where, what, written, "is not a regular file or directory")
    if is_file and max_bytes is not None and info.st_size > max_bytes:
        raise refusal(where, what, written, f"is larger than {max_bytes // (1024 * 1024)} MiB",
                      hint="split it, or keep data files out of the requirements")
    return Path(real)


def read_text(path: Path, *, where: str, what: str, written: str, max_bytes: int = MAX_JOB_FILE_BYTES) -> str:
    """A confined file's text: opened without following a link or blocking on a FIFO (the
    tree may change between `confine()` and here), at most `max_bytes`, UTF-8."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise refusal(where, what, written, f"cannot read it ({exc.strerror})", hint="fix the path") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refusal(where, what, written, "is not a regular file")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise refusal(where, what, written, f"is larger than {max_bytes // (1024 * 1024)} MiB",
                              hint="split it, or keep data files out of the requirements")
            chunks.append(chunk)
    except OSError as exc:
        raise refusal(where, what, written, f"cannot read it ({exc.strerror})", hint="fix the path") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8-sig")  # a leading BOM (Notepad) is not text, as pip reads it
    except UnicodeDecodeError:
        raise refusal(where, what, written, "is not UTF-8 text", hint="save it as UTF-8") from None
