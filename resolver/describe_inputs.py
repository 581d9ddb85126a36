"""Which input won and why, what was read from it and what was not used: the lines the rich
report and `-v` print. Pure."""

from __future__ import annotations

from pathlib import Path

from launchbuild.resolver.model import ResolveResult


def input_lines(result: ResolveResult, *, verbose: bool) -> list[tuple[str, str]]:
    """(label, text) rows: `why` always; `read` and `not used` with --verbose."""
    rows: list[tuple[str, str]] = []
    if result.input_reason:
        rows.append(("why", result.input_reason))
    if verbose:
        from launchbuild.resolver.detectors import PRECEDENCE

        if result.input_path:
            rows.append(("precedence", PRECEDENCE))
            from launchbuild.resolver.detectors import fallback_for

            fallback = fallback_for(result.input_path)
            if fallback and result.input_kind != "frozen":
                rows.append(("fallback", f"{fallback}, when {Path(result.input_path).name} is absent or unusable"))
        rows += [("read", r) for r in result.input_read]
        rows += [("not used", n) for n in result.input_not_used]
    else:
        if result.input_not_used:
            rows.append(("not used", f"{len(result.input_not_used)} part(s) of {result.input_path} "
                                     "(--verbose lists them)"))
    return rows
