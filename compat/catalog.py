"""The rule catalog: every rule, its metadata, and `evaluate()`.

A rule is a small pure function `(CheckContext) -> Iterable[Finding]`, registered (compat/registry.py) with
`@rule(...)`. IDs are stable and never renumbered; `launchbuild rules` and docs/rules.md
are generated from `RULES`. Rules produced elsewhere (LB301, LB305 come from the resolver)
are registered with `produced_by` so they can be listed and ignored like any other.
"""

from __future__ import annotations

from collections.abc import Iterable

# Importing the rule modules registers them (compat/registry.py); the catalog is their sum.
from launchbuild.compat import rules as _rules  # noqa: F401
from launchbuild.compat.context import CheckContext
from launchbuild.compat.registry import RULES, Rule, get  # noqa: F401  (the catalog's public face)
from launchbuild.core.findings import Finding
from launchbuild.errors import BadInput


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
