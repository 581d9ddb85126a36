"""The rule catalog: every rule, its metadata, and `evaluate()`.

A rule is a small pure function `(CheckContext) -> Iterable[Finding]`, registered with
`@rule(...)`. IDs are stable and never renumbered; `launchbuild rules` and docs/rules.md
are generated from `RULES`. Rules produced elsewhere (LB301, LB305 come from the resolver)
are registered with `produced_by` so they can be listed and ignored like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from launchbuild.compat.context import CheckContext
from launchbuild.compat.findings import Evidence, Finding, Location, Severity
from launchbuild.errors import BadInput

RuleFunc = Callable[[CheckContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity  # default severity; a finding may be milder or stricter with reason
    title: str
    description: str
    help: str  # how to fix, in general
    tags: tuple[str, ...]
    check: RuleFunc | None = None  # None when another stage produces the findings
    produced_by: str = "compat"

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


RULES: dict[str, Rule] = {}


def rule(
    id: str,
    severity: Severity,
    title: str,
    description: str,
    help: str,
    tags: tuple[str, ...] = (),
) -> Callable[[RuleFunc], RuleFunc]:
    def register(func: RuleFunc) -> RuleFunc:
        if id in RULES:
            raise RuntimeError(f"rule {id} registered twice")
        RULES[id] = Rule(id, severity, title, description, help, tuple(tags), func)
        return func

    return register


def register_external(
    id: str, severity: Severity, title: str, description: str, help: str, tags: tuple[str, ...], produced_by: str
) -> None:
    if id in RULES:
        raise RuntimeError(f"rule {id} registered twice")
    RULES[id] = Rule(id, severity, title, description, help, tuple(tags), None, produced_by)


def get(rule_id: str) -> Rule:
    return RULES[rule_id]


def normalize_ignore(ignore: Iterable[str]) -> tuple[str, ...]:
    """Validate `--ignore` IDs ('lb202' accepted); unknown IDs are bad input."""
    out = []
    for raw in ignore:
        rid = raw.strip().upper()
        if rid not in RULES:
            known = ", ".join(sorted(RULES))
            raise BadInput(f"--ignore {raw}: no such rule; known rules: {known}")
        out.append(rid)
    return tuple(dict.fromkeys(out))


def sort_key(f: Finding) -> tuple:
    return (f.severity.rank, f.rule, f.message)


def evaluate(ctx: CheckContext, ignore: Iterable[str] = ()) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """Run every rule not ignored; pass the resolver's findings through.

    Returns (findings sorted by severity then rule ID, IDs of the rules checked)."""
    ignored = set(normalize_ignore(ignore))
    findings: list[Finding] = []
    checked: list[str] = []
    for rid in sorted(RULES):
        if rid in ignored:
            continue
        checked.append(rid)
        r = RULES[rid]
        if r.check is not None:
            findings.extend(r.check(ctx))
    for f in ctx.resolver_findings:
        if f.rule not in ignored:
            findings.append(f)
    unique = list(dict.fromkeys(findings))
    return tuple(sorted(unique, key=sort_key)), tuple(checked)


# Registration happens on import of the rule modules (kept last: they import `rule`).
from launchbuild.compat import rules as _rules  # noqa: E402,F401
