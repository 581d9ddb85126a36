"""Where rules register: `@rule(...)` and `register_external(...)` fill `RULES`.

Kept apart from compat/catalog.py (which imports every rule module so they register, then
evaluates them) so the rule modules import only this module: no catalog <-> rules cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Finding, Severity
from launchbuild.core.rules_meta import RuleMeta

RuleFunc = Callable[[CheckContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule(RuleMeta):
    check: RuleFunc | None = None  # None when another stage produces the findings


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
        RULES[id] = Rule(id=id, severity=severity, title=title, description=description, help=help,
                         tags=tuple(tags), check=func)
        return func

    return register


def register_external(
    id: str, severity: Severity, title: str, description: str, help: str, tags: tuple[str, ...], produced_by: str
) -> None:
    if id in RULES:
        raise RuntimeError(f"rule {id} registered twice")
    RULES[id] = Rule(id=id, severity=severity, title=title, description=description, help=help,
                     tags=tuple(tags), produced_by=produced_by)


def get(rule_id: str) -> Rule:
    return RULES[rule_id]
