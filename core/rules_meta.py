"""Rule metadata: what a rule is called, how severe it is by default, and how to fix it.

A plain frozen value with no behaviour beyond building a `Finding`, so any stage (the
resolver emits LB301/LB305) can describe or produce a rule's findings without importing
compat's registry. The registry (which rules exist, in which order, with which check)
is compat's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from launchbuild.core.findings import Evidence, Finding, Location, Severity


@dataclass(frozen=True)
class RuleMeta:
    id: str  # stable, never renumbered: "LB201"
    severity: Severity  # default severity; a finding may be milder or stricter with reason
    title: str
    description: str
    help: str  # how to fix, in general
    tags: tuple[str, ...] = ()
    produced_by: str = "compat"  # the stage whose code emits the findings

    def finding(
        self,
        message: str,
        fix: str,
        evidence: Iterable[Evidence] = (),
        *,
        severity: Severity | None = None,
        location: Location | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            title=self.title,
            message=message,
            fix=fix,
            evidence=tuple(evidence),
            location=location,
        )
