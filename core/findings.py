"""Findings: what a rule says about a job. Shared by every stage from the resolver on, so it lives in core."""

from __future__ import annotations

import enum

from launchbuild.core.records import dataclass


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Evidence:
    """One fact a rule used, and where it came from ("image config", "flag", "inferred", ...)."""

    fact: str
    value: str
    source: str


@dataclass(frozen=True)
class Location:
    """A place in the user's files, for annotations (GitHub, SARIF)."""

    path: str
    line: int | None = None

    @property
    def where(self) -> str:
        """`path:line`, or the path alone when the line is not known (messages, annotations)."""
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Finding:
    """What one rule says about the job: severity, message and fix, with the evidence and the
    place in the user's files; every output format renders it."""

    rule: str  # stable ID, e.g. "LB201"; never renumbered
    severity: Severity
    title: str
    message: str  # one line
    fix: str
    evidence: tuple[Evidence, ...] = ()
    location: Location | None = None
    # Typed fixes (core/fixes.py) `fix` was rendered from; () when the fix is advice only.
    fixes: tuple = ()

    @property
    def inferred(self) -> bool:
        return any(e.source == "inferred" for e in self.evidence)
