"""The one precedence rule over `Origin` (jobs/model.py), used by the options layer and by
`load_job`: a value from a later `Origin` beats one from an earlier one; on a tie the later
candidate wins. The order itself is the `Origin` enum's, lowest first (docs/SECURITY.md):

    default < inferred < operator config < run metadata < source file < queue config
            < job spec < the job's config file < LAUNCHBUILD_* environment < flag
"""

from __future__ import annotations

from typing import Optional, TypeVar

from launchbuild.core.sourced import Origin, Sourced

T = TypeVar("T")

RANK: dict[Origin, int] = {origin: rank for rank, origin in enumerate(Origin)}


def strongest(*candidates: Optional[Sourced[T]]) -> Optional[Sourced[T]]:
    """The candidate of highest precedence; on a tie the later one; None when none is given."""
    best: Optional[Sourced[T]] = None
    for candidate in candidates:
        if candidate is not None and (best is None or RANK[candidate.origin] >= RANK[best.origin]):
            best = candidate
    return best
