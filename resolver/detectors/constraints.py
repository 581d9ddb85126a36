"""Poetry's version constraints (`^1.2`, `~1.2.3`, `1.2.*`, `>=1 <2`, `A || B`) in PEP 440. Pure.

Poetry's grammar: https://python-poetry.org/docs/dependency-specification/#version-constraints
  ^X.Y.Z  -> >=X.Y.Z,<(X+1)     (the left-most non-zero part is bumped: ^0.2.3 -> <0.3.0)
  ~X.Y.Z  -> >=X.Y.Z,<X.(Y+1)   (~X -> <X+1)
  X.Y.Z   -> ==X.Y.Z ; `*` -> any ; comparisons are already PEP 440; a space or comma is AND.
PEP 440 has no OR: `A || B` keeps the alternative that allows the newest releases (the last
written, as Poetry users order them), and says so.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from launchbuild.errors import BadInput

_CLAUSE = re.compile(r"(===|==|!=|<=|>=|~=|<|>|\^|~|=)?\s*([^\s,<>=!~^]+)")


def _release(version: str, where: str) -> list[int]:
    try:
        return list(Version(version).release)
    except InvalidVersion:
        raise BadInput(f"version {version!r} in {where} is not a valid version",
                       hint="write e.g. ^1.2 or >=1.2,<2") from None


def _caret(version: str, where: str) -> list[str]:
    parts = _release(version, where)
    bump = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1)
    upper = parts[: bump + 1]
    upper[-1] += 1
    return [f">={version}", f"<{'.'.join(map(str, upper))}"]


def _tilde(version: str, where: str) -> list[str]:
    parts = _release(version, where)
    if len(parts) == 1:
        upper = [parts[0] + 1]
    else:
        upper = [parts[0], parts[1] + 1]
    return [f">={version}", f"<{'.'.join(map(str, upper))}"]


def _one(alternative: str, where: str) -> list[str]:
    text = alternative.strip()
    if text in ("", "*"):
        return []
    out: list[str] = []
    pos = 0
    for m in _CLAUSE.finditer(text):
        gap = text[pos:m.start()].strip(" ,")
        if gap:
            raise BadInput(f"cannot read version constraint {alternative!r} in {where}",
                           hint="write e.g. ^1.2, ~1.2.3, >=1.2,<2 or 1.2.*")
        pos = m.end()
        op, version = m.group(1) or "", m.group(2)
        if version == "*":
            continue
        if op == "^":
            out += _caret(version, where)
        elif op == "~":
            out += _tilde(version, where)
        elif op in ("", "="):
            out.append(f"=={version}")
        else:
            out.append(f"{op}{version}")
    if text[pos:].strip(" ,"):
        raise BadInput(f"cannot read version constraint {alternative!r} in {where}",
                       hint="write e.g. ^1.2, ~1.2.3, >=1.2,<2 or 1.2.*")
    spec = ",".join(out)
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        raise BadInput(f"version constraint {alternative!r} in {where} has no PEP 440 equivalent ({spec})",
                       hint="write e.g. ^1.2, ~1.2.3, >=1.2,<2 or 1.2.*") from None
    return out


def poetry_to_pep440(constraint: str, where: str) -> tuple[str, str | None]:
    """(PEP 440 specifier, a note when the translation had to drop an `||` alternative)."""
    if not isinstance(constraint, str):
        raise BadInput(f"version constraint {constraint!r} in {where} is not a string",
                       hint='write e.g. version = "^1.2"')
    alternatives = [a for a in constraint.split("||")]
    translated = [_one(a, where) for a in alternatives]
    note = None
    if len(translated) > 1:
        note = (f"{constraint!r}: PEP 440 has no 'or'; kept the last alternative "
                f"{alternatives[-1].strip()!r}")
    return ",".join(translated[-1]), note


def python_marker(constraint: str, where: str) -> str | None:
    """Poetry's per-dependency `python = "^3.8"` as a PEP 508 marker."""
    spec, _ = poetry_to_pep440(constraint, where)
    if not spec:
        return None
    clauses = []
    for part in spec.split(","):
        m = re.match(r"(===|==|!=|<=|>=|~=|<|>)(.+)", part)
        assert m  # _one only writes operator-prefixed clauses
        op, version = m.groups()
        if op == "~=":
            op = ">="
        key = "python_full_version" if version.count(".") >= 2 else "python_version"
        clauses.append(f"{key} {op} '{version}'")
    return " and ".join(clauses)
