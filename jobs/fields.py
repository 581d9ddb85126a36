"""The single values a job names, each parsed and checked: the Python version, the
entrypoint, a git ref and a subdirectory.

Shared by the job spec, the JOB argument, the flags (`jobs.spec.load_job`) and the fetch
(`jobs.git_clone`, `jobs.fetch`). Every failure is one BadInput line naming where the value
came from."""

from __future__ import annotations

import re
import shlex

from launchbuild.errors import BadInput


_PYTHON_VERSION = re.compile(r"(3)\.(0|[1-9][0-9]?)(?:\.(0|[1-9][0-9]{0,2}))?", re.ASCII)


def parse_python_version(value: object, where: str) -> str:
    """'3.11' or '3.10.12' -> 'X.Y'. Only Python 3 exists for us."""
    if not isinstance(value, str):
        raise BadInput(f"{where}: Python version must be a string like '3.11', got {type(value).__name__}",
                       hint="write it as X.Y, e.g. \"3.11\"")
    text = value.strip()
    if text.lower().startswith("python"):
        text = text[len("python"):].lstrip("-")  # runtime.txt style: python-3.10
    match = _PYTHON_VERSION.fullmatch(text)
    if match is None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise BadInput(f"{where}: invalid Python version {shown!r}",
                       hint="use X.Y or X.Y.Z with X = 3, e.g. 3.11")
    return f"{match.group(1)}.{match.group(2)}"


def parse_entrypoint(value: object, where: str) -> tuple[str, ...] | None:
    """An argv tuple from a list of strings or a shell-like string; None when empty."""
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise BadInput(f"{where}: cannot split entrypoint {value!r}: {exc}",
                           hint="balance the quotes, or give the entrypoint as a JSON list") from None
    elif isinstance(value, (list, tuple)) and all(isinstance(a, str) for a in value):
        argv = list(value)
    else:
        raise BadInput(f"{where}: entrypoint must be a list of strings or a string, got {type(value).__name__}",
                       hint='e.g. ["python", "train.py"]')
    if any("\x00" in a for a in argv):
        raise BadInput(f"{where}: entrypoint contains a NUL character", hint="remove it")
    return tuple(argv) or None


_UNSAFE_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|^[-/]|/$|\.lock$|^$", re.ASCII)


def validate_ref(ref: object, where: str) -> str:
    """A commit sha, branch or tag name; refused if git would not accept it as a ref name
    (and never starting with '-', which git would read as an option)."""
    if not isinstance(ref, str):
        raise BadInput(f"{where}: git ref must be a string, got {type(ref).__name__}",
                       hint="give a commit sha, branch or tag")
    if _UNSAFE_REF.search(ref) or len(ref) > 255:
        shown = ref if len(ref) <= 60 else ref[:57] + "..."
        raise BadInput(f"{where}: invalid git ref {shown!r}",
                       hint="give a commit sha, branch or tag name (no spaces, '..', ':', '~', '^')")
    return ref


def validate_subdir(subdir: object, where: str) -> str:
    """A relative path that stays inside the source root, in POSIX form."""
    if not isinstance(subdir, str):
        raise BadInput(f"{where}: subdirectory must be a string, got {type(subdir).__name__}",
                       hint="give a path relative to the source root")
    text = subdir.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if "\x00" in text or text.startswith("/") or re.match(r"^[A-Za-z]:", text) or ".." in parts:
        raise BadInput(f"{where}: subdirectory {subdir!r} must be a relative path inside the source",
                       hint="no leading '/', no '..'")
    return "/".join(parts)
