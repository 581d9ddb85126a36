"""The lock text both backends write, and what we read back out of it. Pure."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from launchbuild.core.findings import Location
from launchbuild.errors import LaunchbuildError
from launchbuild.resolver.model import LockedPackage, Target
from launchbuild.resolver.platforms import uv_python_platform
from launchbuild.resolver.requirements import IndexOptions, RequirementLine

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(\S+?)\s*(?:;.*)?$")
_URL_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*@\s*(\S+)")


class LockParseError(LaunchbuildError):
    """The backend wrote something we cannot read back: a bug on our side or theirs."""


def lock_header(target: Target, backend: str, input_path: object, input_kind: str, index: IndexOptions) -> str:
    """The comment block on top of every lock we write: for what, by which backend, from which input."""
    lines = [
        f"# Locked by launchbuild ({backend}) for Python {target.python} on {target.platform}, "
        f"{uv_python_platform(target).split('-', 1)[1]}",
        f"# from {input_path} ({input_kind}{', cleaned' if input_kind == 'frozen' else ''})",
    ]
    lines += index.as_lines()
    return "\n".join(lines) + "\n"


def strip_header(text: str) -> str:
    """Drop the backend's leading comment block and option lines; keep the entries."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith("#") or lines[i].startswith("--")):
        i += 1
    return "\n".join(lines[i:]).rstrip() + "\n" if i < len(lines) else ""


def parse_lock(text: str, direct: tuple[RequirementLine, ...] = ()) -> tuple[LockedPackage, ...]:
    """Entries of a `pip-compile`-format lock -> LockedPackage, with the user's line for direct ones."""
    where: dict[str, Location] = {}
    for line in direct:
        if line.name and line.name not in where:
            where[line.name] = line.location
    packages: list[LockedPackage] = []
    current: dict | None = None
    via_block = False

    def flush() -> None:
        if current is not None:
            packages.append(LockedPackage(
                name=current["name"], version=current["version"], hashes=tuple(current["hashes"]),
                via=tuple(current["via"]), location=where.get(current["name"]),
            ))

    for raw in text.splitlines():
        if not raw.strip():
            continue
        if raw.startswith("#"):
            flush()  # a comment at column 0 ends the entry (pip-compile's "unsafe" trailer)
            current, via_block = None, False
            continue
        if not raw[0].isspace():
            if raw.startswith("-"):
                continue  # --index-url and friends
            flush()
            body = raw.rstrip("\\").strip()
            m = _PIN.match(body)
            if m:
                name, version = m.group(1), m.group(2)
            else:
                u = _URL_PIN.match(body)
                if not u:
                    raise LockParseError(f"cannot read lock entry {body!r}",
                                         hint="report this with the backend's version")
                name, version = u.group(1), u.group(2)
            current = {"name": canonicalize_name(name), "version": version, "hashes": [], "via": []}
            via_block = False
            continue
        stripped = raw.strip()
        if current is None:
            continue
        if stripped.startswith("--hash="):
            current["hashes"].append(stripped.rstrip("\\").strip().split("=", 1)[1])
        elif stripped.startswith("# via"):
            rest = stripped[len("# via"):].strip()
            if rest:
                current["via"].append(rest)
                via_block = False
            else:
                via_block = True
        elif via_block and stripped.startswith("#   "):
            current["via"].append(stripped[4:].strip())
        elif via_block and stripped.startswith("#"):
            current["via"].append(stripped[1:].strip())
    flush()
    return tuple(packages)
