"""Turn a backend's "no solution" text into an LB301 finding about the user's own lines. Pure."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from launchbuild.core.findings import Evidence, Finding
from launchbuild.resolver.rules import finding as resolver_finding
from launchbuild.resolver.model import Target
from launchbuild.resolver.requirements import RequirementLine

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NOISE = re.compile(r"^\s*(?:×|error:|ERROR:|hint:|cause:|\s)+", re.IGNORECASE)


def explanation_text(raw: str) -> str:
    """The backend's explanation as one line: uv's `cause:` chain or pip's conflict lines."""
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    keep = []
    for ln in lines:
        if re.match(r"^(?:×\s*)?(?:error: )?No solution found", ln, re.IGNORECASE):
            continue
        if ln.lower().startswith(("hint:", "warning:", "info:", "to fix this")):
            break
        if "Discarding" in ln or ln.startswith("WARNING"):
            continue
        keep.append(_NOISE.sub("", ln).strip())
    text = " ".join(k for k in keep if k)
    text = re.sub(r"╰─▶|\s+", " ", text).strip()
    return text[:1000] or "the backend found no set of versions satisfying the requirements"


def mentioned(raw: str, direct: tuple[RequirementLine, ...]) -> list[RequirementLine]:
    """The user's lines whose package the explanation names, in order of first mention."""
    by_name: dict[str, RequirementLine] = {}
    for line in direct:
        if line.name and line.name not in by_name:
            by_name[line.name] = line
    order: list[RequirementLine] = []
    for token in _TOKEN.findall(raw):
        # "requests==2.31.0" tokenizes as "requests", "2.31.0"; strip trailing dots/extras.
        name = canonicalize_name(token.rstrip(".-_"))
        named = by_name.get(name)
        if named is not None and named not in order:
            order.append(named)
    return order


def unresolvable_finding(raw: str, direct: tuple[RequirementLine, ...], target: Target,
                         backend: str) -> Finding:
    text = explanation_text(raw)
    culprits = mentioned(raw, direct)
    yours = "; ".join(
        f"{c.text} ({c.location.where})"
        for c in culprits[:5]
    )
    where = f"Python {target.python}, {target.platform}"
    message = f"No set of versions satisfies your requirements for {where}: {text}"
    if yours:
        message += f" [your lines: {yours}]"
    return resolver_finding(
        "LB301",
        message=message,
        fix=("relax or correct the named requirement lines, or pick a target Python/platform "
             "for which they have releases"),
        evidence=(
            Evidence("backend", backend, "resolver"),
            Evidence("target python", target.python, "resolver"),
            Evidence("target platform", target.platform, "resolver"),
        ),
        location=culprits[0].location if culprits else (direct[0].location if direct else None),
    )
