"""The report: one value that every output format renders, and the public API returns."""

from __future__ import annotations

import enum
from dataclasses import field
from typing import TYPE_CHECKING, Any, Mapping

from launchbuild.builder.model import BuildSummary
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.findings import Finding, Severity
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Sourced
from launchbuild.resolver.model import ResolveResult

if TYPE_CHECKING:
    from launchbuild.options import Options


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
class Failure:
    """Why a command stopped after the job was read (report/failure.py builds these).

    Every format renders it, so a CI job that fails still leaves its record: the stage,
    the engine's failing step and the last lines of its log, and what to do."""

    stage: str  # "build", "verify", "push", "check"
    message: str  # one line: what failed, where
    fix: str = ""
    step: str | None = None  # the engine's step, "[5/7] RUN uv pip install ..."
    log_tail: tuple[str, ...] = ()
    exit_code: int = 1  # 1 build/verify failure; 2 bad input; 3 infrastructure unreachable
    predicted_by: tuple[str, ...] = ()  # rule IDs of check findings that foresaw it (LB302)


@dataclass(frozen=True)
class Report:
    """Everything a check or build found about one job: the target, the findings, the
    environment, the image and the build; every format renders it."""

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
    failure: Failure | None = None
    # The job's source directory on this machine, when it is a local directory: finding
    # locations are relative to it, and report/paths.py makes them relative to the CI root.
    source_root: str | None = None

    @property
    def verdict(self) -> Verdict:
        severities = {f.severity for f in self.findings}
        if self.failure is not None:
            return Verdict.FAIL
        if Severity.ERROR in severities or (self.build is not None and not self.build.verified):
            return Verdict.FAIL
        if Severity.WARNING in severities:
            return Verdict.FAIL if self.strict else Verdict.WARN
        return Verdict.PASS

    @property
    def exit_code(self) -> int:
        if self.failure is not None:
            return self.failure.exit_code
        return 1 if self.verdict is Verdict.FAIL else 0


@dataclass(frozen=True)
class JobView:
    """`launchbuild show`: the job as understood without fetching it. `data` is
    `jobs.describe.job_to_dict` (every setting with where it came from); `options` the
    options it was read with; `label` how reports name the job."""

    label: str
    data: Mapping[str, Any]
    options: Options
