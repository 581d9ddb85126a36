"""What a rule is: its metadata (ID, title, default severity, group, docs anchor) and the one
constructor of its findings. Pure values: no rule functions, no I/O, no registration.

Every module that emits a finding (the compat rules, the resolver) builds it with
`Rule.finding(...)` on the registry's entry, so a finding's title is always its rule's title
and its severity is the rule's default unless the call names a reason to differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from launchbuild.core.findings import Evidence, Finding, Location, Severity
from launchbuild.core.fixes import Fix, render_fix
from launchbuild.core.records import dataclass

# The generated rule reference (scripts/gen_rules_doc.py): one `### LBnnn` heading per rule.
RULES_DOC = "docs/rules.md"

# A check takes compat's CheckContext; core names no stage, so the argument is Any here.
RuleFunc = Callable[[Any], Iterable[Finding]]


@dataclass(frozen=True)
class Group:
    """A family of rules, as the docs' headings and JUnit/SARIF categories show them."""

    id: str  # stable identifier: JUnit classnames and SARIF tags use it
    title: str  # the heading in docs/rules.md


# The groups, in the order docs/rules.md lists them. A rule names its group; the ID's digits
# mean nothing (LB208 lives with the base-image rules' code but is a CUDA concern).
BASE_IMAGE = Group("base_image", "Base image")
GPU_CUDA = Group("gpu_cuda", "GPU, driver and CUDA")
PYTHON_PACKAGES = Group("python_packages", "Python packages")
SOURCE = Group("source", "Source")
GROUPS: tuple[Group, ...] = (BASE_IMAGE, GPU_CUDA, PYTHON_PACKAGES, SOURCE)


@dataclass(frozen=True)
class Rule:
    """One rule of the catalog: its metadata, its docs anchor and its pure check; `finding` is
    the one constructor of its findings."""

    id: str
    severity: Severity  # default severity; a finding may be milder or stricter with reason
    title: str
    description: str
    help: str  # how to fix, in general
    tags: tuple[str, ...]
    group: Group
    produced_by: str = "compat"  # "resolver": another stage emits the findings
    check: RuleFunc | None = None  # the pure check; None when another stage produces the findings

    @property
    def anchor(self) -> str:
        """The rule's anchor in docs/rules.md."""
        return self.id.lower()

    @property
    def docs(self) -> str:
        """Where the rule is documented: `docs/rules.md#lb101`, relative to the project root."""
        return f"{RULES_DOC}#{self.anchor}"

    def checked_by(self, func: RuleFunc) -> Rule:
        return replace(self, check=func)

    def finding(
        self,
        message: str,
        fix: str | Fix | tuple[Fix, ...],
        evidence: Iterable[Evidence] = (),
        *,
        severity: Severity | None = None,
        location: Location | None = None,
    ) -> Finding:
        """The finding of this rule. `fix` is a typed fix (or alternatives, the first preferred),
        whose text is rendered from it; a plain string is advice no stage acts on."""
        fixes = (fix,) if isinstance(fix, Fix) else tuple(fix) if isinstance(fix, tuple) else ()
        if not all(isinstance(x, Fix) for x in fixes):
            raise TypeError(f"{self.id}: a fix is a Fix value or a text, not {fix!r}")
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            title=self.title,
            message=message,
            fix=fix if isinstance(fix, str) else render_fix(fixes),
            evidence=tuple(evidence),
            location=location,
            fixes=fixes,
        )
