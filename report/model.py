"""The report: one value that every output format renders, and the public API returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from launchbuild.compat.facts import ImageFacts
from launchbuild.compat.findings import Finding, Severity
from launchbuild.jobs.model import Sourced
from launchbuild.resolver.model import ResolveResult


class Verdict(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class TargetSummary:
    """What we checked against, each value with where it came from."""

    image: Sourced[str] | None = None  # the base image the job builds FROM
    python: Sourced[str] | None = None
    platform: Sourced[str] | None = None
    gpus: tuple[Sourced[str], ...] = ()  # as given: "H100", "sm_90"
    driver: Sourced[str] | None = None
    entrypoint: Sourced[tuple[str, ...]] | None = None


@dataclass(frozen=True)
class VerificationResult:
    check: str  # "python version", "pip check", "locked versions", "entrypoint", "non-root user"
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class BuildSummary:
    tag: str
    skipped: bool  # True when the content-addressed tag already existed
    reason: str = ""  # why it was skipped / built
    duration_s: float = 0.0
    size_bytes: int | None = None
    digest: str | None = None
    pushed: str | None = None  # the reference pushed to, if any
    engine: str = ""
    verification: tuple[VerificationResult, ...] = ()

    @property
    def verified(self) -> bool:
        return all(v.passed for v in self.verification)


@dataclass(frozen=True)
class Report:
    job: str  # how the job was named on the command line (credentials redacted)
    target: TargetSummary
    findings: tuple[Finding, ...] = ()
    rules_checked: tuple[str, ...] = ()  # every rule ID evaluated (JUnit testcases)
    environment: ResolveResult | None = None
    image: ImageFacts | None = None
    build: BuildSummary | None = None
    ignored: tuple[str, ...] = ()
    strict: bool = False
    duration_s: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def verdict(self) -> Verdict:
        severities = {f.severity for f in self.findings}
        if Severity.ERROR in severities or (self.build is not None and not self.build.verified):
            return Verdict.FAIL
        if Severity.WARNING in severities:
            return Verdict.FAIL if self.strict else Verdict.WARN
        return Verdict.PASS

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict is Verdict.FAIL else 0
