"""The pure half of the benchmark: summaries, ours/peer ratios, targets, and the results files.

No Docker, no subprocesses: everything here is a function of the measured numbers, so it is
unit-tested (tests/unit/test_bench_stats.py) and the harness (bench/run_bench.py) only measures.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Summary:
    """Several runs of one measure. `capped` marks a lower bound: a run was stopped at the cap."""

    median: float
    low: float
    high: float
    runs: tuple[float, ...]
    capped: bool = False

    @classmethod
    def of(cls, runs: Sequence[float], *, capped: bool = False) -> "Summary":
        if not runs:
            raise ValueError("a summary needs at least one run")
        values = tuple(float(r) for r in runs)
        return cls(statistics.median(values), min(values), max(values), values, capped)

    def text(self, unit: str = "s") -> str:
        prefix = ">= " if self.capped else ""
        value = _fmt(self.median, unit)
        if len(self.runs) == 1 or self.low == self.high:
            return f"{prefix}{value}"
        return f"{prefix}{value} ({_fmt(self.low, unit)}–{_fmt(self.high, unit)})"


def _fmt(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value * 100:.2f} %"
    if unit == "B":
        return f"{value / 1e6:.1f} MB"
    if value < 1:
        return f"{value:.2f} s"
    return f"{value:.1f} s"


@dataclass(frozen=True)
class Target:
    """A goal from issue 8: either a ratio ours/peer (`max_ratio`) or an absolute bound on ours."""

    measure: str
    max_ratio: float | None = None
    max_absolute: float | None = None
    text: str = ""
    job: str | None = None  # a stricter goal for one job (issue 17's GPU stack); None: every job


# The targets of issue 8, in its order; `measure` keys are the harness's measure names.
TARGETS: tuple[Target, ...] = (
    Target("dependency change", max_ratio=0.15, text="<= 0.15"),
    Target("cold build", max_ratio=0.8, text="<= 0.8"),
    Target("code-only rebuild", max_ratio=1.0, text="<= 1.0"),
    Target("no-change rebuild", max_absolute=0.5, text="ours < 0.5 s"),
    Target("bytes added on top of the base", max_ratio=0.6, text="<= 0.6"),
    Target("verdict: pin that does not exist", max_ratio=0.05, text="<= 0.05"),
    Target("verdict: GPU/CUDA mismatch", max_ratio=0.05, text="<= 0.05"),
    Target("warm check", max_absolute=0.3, text="ours < 0.3 s"),
    Target("warm resolve vs raw uv", max_ratio=1.2, text="<= 1.2"),
    # Issue 17, the GPU stack (torch from PyPI with its CUDA wheels).
    Target("dependency change", max_ratio=0.10, text="<= 0.10", job="gpu-stack"),
    Target("cold build", max_ratio=0.7, text="<= 0.7", job="gpu-stack"),
    Target("bytes pushed on dependency change, share of the image", max_absolute=0.02, text="ours <= 2 %"),
)
TARGETS_BY_MEASURE = {t.measure: t for t in TARGETS if t.job is None}
_TARGETS_BY_JOB = {(t.job, t.measure): t for t in TARGETS if t.job is not None}


def target_for(job: str, measure: str) -> Target | None:
    """The job's own target for the measure where it has one, else the one for every job."""
    return _TARGETS_BY_JOB.get((job, measure)) or TARGETS_BY_MEASURE.get(measure)


@dataclass(frozen=True)
class Row:
    """One measure of one job, both tools. `peer` is None for measures only we have."""

    job: str
    measure: str
    ours: Summary
    peer: Summary | None
    unit: str = "s"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.peer)

    @property
    def ratio_is_upper_bound(self) -> bool:
        # A capped peer time is a lower bound on the peer, so the ratio is an upper bound.
        return self.peer is not None and self.peer.capped

    @property
    def met(self) -> bool | None:
        return target_met(self)


def ratio(ours: Summary, peer: Summary | None) -> float | None:
    """Median over median; None when there is no peer number or it is zero."""
    if peer is None or peer.median == 0:
        return None
    return ours.median / peer.median


def target_met(row: Row) -> bool | None:
    """None when the measure has no target (or no peer number for a ratio target)."""
    target = target_for(row.job, row.measure)
    if target is None:
        return None
    if target.max_absolute is not None:
        return row.ours.median <= target.max_absolute if row.unit == "share" else row.ours.median < target.max_absolute
    r = row.ratio
    if r is None or target.max_ratio is None:
        return None
    return r <= target.max_ratio


@dataclass(frozen=True)
class Results:
    info: Mapping[str, object]
    rows: tuple[Row, ...]
    gaps: Mapping[str, str] = field(default_factory=dict)  # measure -> why missed, what would close it

    def missed(self) -> list[Row]:
        return [r for r in self.rows if r.met is False]


def _ratio_text(row: Row) -> str:
    r = row.ratio
    if r is None:
        return "—"
    return f"{'<= ' if row.ratio_is_upper_bound else ''}{r:.2f}"


def _met_text(row: Row) -> str:
    met = row.met
    if met is None:
        return ""
    return "yes" if met else "**no**"


def render_markdown(results: Results) -> str:
    info = results.info
    lines = [
        "# launchbuild vs W&B Launch's builder",
        "",
        f"- date: {info.get('date')}",
        f"- machine: {info.get('machine')}",
        f"- versions: {', '.join(f'{k} {v}' for k, v in dict(info.get('versions') or {}).items())}",
        f"- engine: {info.get('engine')}",
        f"- runs: {info.get('runs')}",
        "",
        str(info.get("method", "")),
        "",
        "Times are medians of wall-clock seconds with (min–max); ratio = ours / peer on medians.",
        "",
        "| job | measure | launchbuild | W&B Launch | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results.rows:
        target = target_for(row.job, row.measure)
        lines.append(
            f"| {row.job} | {row.measure} | {row.ours.text(row.unit)} | "
            f"{row.peer.text(row.unit) if row.peer else '—'} | {_ratio_text(row)} | "
            f"{target.text if target else ''} | {_met_text(row)} |"
        )
    notes = [f"- {row.job} / {row.measure}: {row.note}" for row in results.rows if row.note]
    if notes:
        lines += ["", "## Notes", "", *notes]
    if results.gaps:
        lines += ["", "## Targets missed: why, and what would close the gap", ""]
        lines += [f"- **{measure}**: {why}" for measure, why in results.gaps.items()]
    return "\n".join(lines) + "\n"


def to_json(results: Results) -> dict:
    rows = []
    for row in results.rows:
        data = asdict(row)
        data["ratio"] = row.ratio
        data["ratio_is_upper_bound"] = row.ratio_is_upper_bound
        target = target_for(row.job, row.measure)
        data["target"] = target.text if target else None
        data["met"] = row.met
        rows.append(data)
    return {"info": dict(results.info), "rows": rows, "gaps": dict(results.gaps)}


def write_results(results: Results, directory: Path, stem: str = "peer") -> tuple[Path, Path]:
    """Write `<stem>.md` and `<stem>.json`; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{stem}.md"
    js = directory / f"{stem}.json"
    md.write_text(render_markdown(results))
    js.write_text(json.dumps(to_json(results), indent=2) + "\n")
    return md, js


def _summary_from(data: Mapping | None) -> Summary | None:
    if data is None:
        return None
    return Summary(data["median"], data["low"], data["high"], tuple(data["runs"]), data.get("capped", False))


def from_json(data: Mapping) -> Results:
    """The inverse of `to_json`, so committed results can be re-rendered (new gap notes) without re-measuring."""
    rows = tuple(
        Row(r["job"], r["measure"], _summary_from(r["ours"]), _summary_from(r["peer"]), r.get("unit", "s"),
            r.get("note", ""))
        for r in data["rows"]
    )
    return Results(info=dict(data["info"]), rows=rows, gaps=dict(data.get("gaps", {})))
