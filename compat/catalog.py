"""Running the catalog: `evaluate()` over the registry, `--ignore` handling and ordering.

A rule is a small pure function `(CheckContext) -> Iterable[Finding]`, listed with its metadata
in compat/registry.py (`ALL_RULES`, in order). IDs are stable and never renumbered. Rules
produced elsewhere (LB301, LB305, LB307-LB312 come from the resolver) are listed there with
`produced_by`, so they can be listed and ignored like any other.
"""

from __future__ import annotations

from collections.abc import Iterable

from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Finding
from launchbuild.compat.registry import ALL_RULES, RULES, get
from launchbuild.core.rule import Rule
from launchbuild.errors import BadInput

__all__ = ["RULES", "Rule", "evaluate", "get", "normalize_ignore", "sort_key"]


def normalize_ignore(ignore: Iterable[str], where: str = "--ignore") -> tuple[str, ...]:
    """Validate `--ignore` IDs ('lb202' accepted; 'LB202,LB204' in one value too, as the
    environment variable and config files write lists); unknown IDs are bad input, named
    by `where` (the flag, a variable, a file and its key)."""
    out = []
    for raw in ignore:
        for part in raw.split(","):
            rid = part.strip().upper()
            if not rid:
                continue  # "LB202," or an empty "$IGNORE" in a CI template: nothing to ignore
            if rid not in RULES:
                import difflib

                close = difflib.get_close_matches(rid, sorted(RULES), n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise BadInput(f"{where} {part.strip()[:40]!r}: no such rule; {hint}known rules: {', '.join(sorted(RULES))}")
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
    for r in ALL_RULES:
        if r.id in ignored:
            continue
        checked.append(r.id)
        if r.check is not None:
            findings.extend(r.check(ctx))
    for f in ctx.resolver_findings:
        if f.rule not in ignored:
            findings.append(f)
    unique = list(dict.fromkeys(findings))
    return tuple(sorted(unique, key=sort_key)), tuple(checked)
