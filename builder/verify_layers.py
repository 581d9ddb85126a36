"""Import checks carried over across an unchanged heavy layer (issue 17).

A dependency change rebuilds only the layers after the heavy one, yet importing torch and its
CUDA stack again costs most of the rebuild (15 of 18 s on the GPU-stack bench job). The heavy
layer's import results depend only on what built it: the base image, the Dockerfile up to and
including its install step, and its sub-lock (hash-pinned wheels, `--no-deps`). When those
are the same as for an image that passed, its distributions' import results are carried over;
everything else is still checked in the container, the probe refuses the carry-over when a
later layer touched the heavy layer's files or the interpreter's start-up (imports_probe.py),
and the report says how many were carried over.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from launchbuild.builder import layers


def heavy_layer_key(plan, base_id: str) -> str | None:
    """What the heavy layer's contents depend on; None when the plan has no layer split."""
    sub_locks = layers.for_plan(plan)
    if not sub_locks or not base_id:
        return None
    from launchbuild.builder.dockerfile import CONTEXT_LOCK, render
    from launchbuild.builder.plan import LOCK_IN_IMAGE

    text = render(plan) or ""
    # Up to the end of the heavy install step: the next layer's marker, or (a heavy-only lock)
    # the whole lock's COPY. Both cut the same text, so the key survives a light package coming.
    after = f"# layer {sub_locks[1].name}:" if len(sub_locks) > 1 else f"COPY {CONTEXT_LOCK} {LOCK_IN_IMAGE}"
    cut = text.find(after, max(0, text.find(f"# layer {sub_locks[0].name}:")))
    if cut < 0:
        return None
    data = {"dockerfile": text[:cut], "heavy": sub_locks[0].text, "base": base_id, "platform": plan.platform}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _valid_entry(entry: object) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("dist"), str) and isinstance(entry.get("module"), str)
            and isinstance(entry.get("ok"), bool) and isinstance(entry.get("gpu"), bool)
            and isinstance(entry.get("error", ""), str))


class HeavyImports:
    """Passed import results of a heavy layer's distributions, by heavy_layer_key."""

    def __init__(self, root: Path) -> None:
        self.dir = Path(root) / "verified-heavy-imports"

    def get(self, key: str) -> tuple[tuple[str, ...], tuple[dict, ...]] | None:
        """(the heavy layer's distributions, their import results); a damaged entry is a miss."""
        from launchbuild.limits import read_cache_json

        data = read_cache_json(self.dir / f"{key}.json")
        if not isinstance(data, dict):
            return None
        dists, entries = data.get("dists"), data.get("imports")
        if (not isinstance(dists, list) or not dists or not all(isinstance(d, str) for d in dists)
                or not isinstance(entries, list) or not all(_valid_entry(e) for e in entries)
                or any(e["dist"] not in dists or (not e["ok"] and not e["gpu"]) for e in entries)):
            return None
        return tuple(dists), tuple(entries)

    def put(self, key: str, dists: tuple[str, ...], imports: list) -> None:
        """Keep only passed results (ok, or needs a GPU) of the heavy distributions."""
        heavy = set(dists)
        kept = [e for e in imports if _valid_entry(e) and e["dist"] in heavy and (e["ok"] or e["gpu"])]
        if len({e["dist"] for e in kept}) != len({e["dist"] for e in imports if isinstance(e, dict)
                                                   and e.get("dist") in heavy}):
            return  # a heavy distribution did not pass (or was not checked): nothing to carry over
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = self.dir / f".{key}.tmp"
            tmp.write_text(json.dumps({"dists": sorted(heavy), "imports": kept}), encoding="utf-8")
            tmp.replace(self.dir / f"{key}.json")
        except OSError:
            pass  # not written: the next dependency change imports everything again


def merged_probe(probe: dict, carried: tuple[dict, ...]) -> dict:
    """The probe's own import results plus the carried-over ones it agreed to (pure)."""
    reused = set(probe.get("imports_reused") or ())
    if not reused or not isinstance(probe.get("imports"), list):
        return probe
    extra = [e for e in carried if e["dist"] in reused]
    return {**probe, "imports": extra + probe["imports"], "imports_carried": len(extra)}
