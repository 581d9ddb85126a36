"""The benchmark's pure half: summaries, ratios, targets, Markdown/JSON results."""

from __future__ import annotations

import json

import pytest

from launchbuild.bench.stats import TARGETS, Results, Row, Summary, ratio, render_markdown, target_met, write_results


@pytest.mark.parametrize(
    "runs, median, low, high",
    [
        ([3.0], 3.0, 3.0, 3.0),
        ([3.0, 1.0, 2.0], 2.0, 1.0, 3.0),
        ([4.0, 1.0, 2.0, 3.0], 2.5, 1.0, 4.0),
        ([0.5, 0.5], 0.5, 0.5, 0.5),
    ],
)
def test_summary_median_and_range(runs, median, low, high):
    s = Summary.of(runs)
    assert (s.median, s.low, s.high, s.runs) == (median, low, high, tuple(runs))


def test_summary_of_nothing_is_refused():
    with pytest.raises(ValueError):
        Summary.of([])


@pytest.mark.parametrize(
    "summary, unit, text",
    [
        (Summary.of([12.34]), "s", "12.3 s"),
        (Summary.of([0.123, 0.2, 0.3]), "s", "0.20 s (0.12 s–0.30 s)"),
        (Summary.of([90.0], capped=True), "s", ">= 90.0 s"),
        (Summary.of([69_300_000.0]), "B", "69.3 MB"),
    ],
)
def test_summary_text(summary, unit, text):
    assert summary.text(unit) == text


@pytest.mark.parametrize(
    "ours, peer, expected",
    [
        ([1.0], [4.0], 0.25),
        ([3.0, 1.0, 2.0], [10.0, 20.0, 30.0], 0.1),
        ([1.0], [0.0], None),
    ],
)
def test_ratio_is_median_over_median(ours, peer, expected):
    assert ratio(Summary.of(ours), Summary.of(peer)) == expected


def test_ratio_without_peer_is_none():
    assert ratio(Summary.of([1.0]), None) is None


@pytest.mark.parametrize(
    "measure, ours, peer, met",
    [
        ("dependency change", 0.7, 13.1, True),  # 0.053 <= 0.15
        ("dependency change", 2.0, 13.1, False),  # 0.15 < 0.153
        ("cold build", 8.0, 10.0, True),  # exactly at the bound
        ("cold build", 8.1, 10.0, False),
        ("code-only rebuild", 0.12, 0.12, True),
        ("bytes added on top of the base", 30e6, 69e6, True),
        ("verdict: pin that does not exist", 0.5, 5.0, False),
        ("no-change rebuild", 0.49, 0.1, True),  # absolute: the peer does not matter
        ("no-change rebuild", 0.5, 100.0, False),
        ("warm check", 0.29, None, True),
        ("warm check", 0.31, None, False),
        ("image size", 1.0, 2.0, None),  # no target
        ("cold build", 1.0, None, None),  # ratio target without a peer number
    ],
)
def test_target_met(measure, ours, peer, met):
    row = Row("job", measure, Summary.of([ours]), Summary.of([peer]) if peer is not None else None)
    assert target_met(row) is met


def test_every_target_has_exactly_one_kind_of_bound():
    for target in TARGETS:
        assert (target.max_ratio is None) != (target.max_absolute is None), target.measure


def test_capped_peer_makes_the_ratio_an_upper_bound():
    row = Row("gpu", "verdict: GPU/CUDA mismatch", Summary.of([0.6]), Summary.of([90.0], capped=True))
    assert row.ratio_is_upper_bound
    assert "<= 0.01" in render_markdown(Results(info={}, rows=(row,)))


def _results() -> Results:
    rows = (
        Row("small", "cold build", Summary.of([4.0, 5.0, 6.0]), Summary.of([10.0, 11.0, 12.0])),
        Row("small", "dependency change", Summary.of([3.0]), Summary.of([4.0]), note="slow lock"),
        Row("small", "bytes added on top of the base", Summary.of([8e6]), Summary.of([69e6]), unit="B"),
    )
    return Results(info={"date": "2026-01-01", "machine": "m", "versions": {"wandb": "0.31.0"}, "runs": 3},
                   rows=rows, gaps={"dependency change": "the lock step is repeated"})


def test_markdown_table_has_one_line_per_row_with_ratio_and_verdict():
    md = render_markdown(_results())
    assert "| small | cold build | 5.0 s (4.0 s–6.0 s) | 11.0 s (10.0 s–12.0 s) | 0.45 | <= 0.8 | yes |" in md
    assert "| small | dependency change | 3.0 s | 4.0 s | 0.75 | <= 0.15 | **no** |" in md
    assert "| small | bytes added on top of the base | 8.0 MB | 69.0 MB | 0.12 | <= 0.6 | yes |" in md
    assert "wandb 0.31.0" in md
    assert "- **dependency change**: the lock step is repeated" in md
    assert "- small / dependency change: slow lock" in md


def test_missed_lists_only_rows_that_miss_their_target():
    assert [r.measure for r in _results().missed()] == ["dependency change"]


def test_write_results_writes_markdown_and_json_that_agree(tmp_path):
    md, js = write_results(_results(), tmp_path / "results", stem="peer")
    assert md.read_text() == render_markdown(_results())
    data = json.loads(js.read_text())
    assert data["info"]["date"] == "2026-01-01"
    cold = data["rows"][0]
    assert cold["measure"] == "cold build"
    assert cold["ours"]["median"] == 5.0 and cold["peer"]["median"] == 11.0
    assert cold["ratio"] == pytest.approx(5.0 / 11.0)
    assert cold["met"] is True and cold["target"] == "<= 0.8"
    assert data["rows"][1]["met"] is False
    assert data["gaps"] == {"dependency change": "the lock step is repeated"}


def test_json_round_trip_re_renders_the_same_markdown(tmp_path):
    from launchbuild.bench.stats import from_json

    _, js = write_results(_results(), tmp_path)
    assert render_markdown(from_json(json.loads(js.read_text()))) == render_markdown(_results())


def test_the_gpu_stack_has_its_own_stricter_targets_and_every_other_job_the_common_ones():
    from launchbuild.bench.stats import target_for

    assert target_for("gpu-stack", "dependency change").max_ratio == 0.10
    assert target_for("small", "dependency change").max_ratio == 0.15
    assert target_for("gpu-stack", "cold build").max_ratio == 0.7
    assert target_for("medium", "cold build").max_ratio == 0.8
    assert target_for("gpu-stack", "code-only rebuild").max_ratio == 1.0


def test_a_share_of_the_image_is_met_at_two_percent_and_rendered_as_percent():
    from launchbuild.bench.stats import Row, Summary

    share = "bytes pushed on dependency change, share of the image"
    assert Row("gpu-stack", share, Summary.of([0.0005]), Summary.of([0.9]), unit="share").met is True
    assert Row("gpu-stack", share, Summary.of([0.03]), Summary.of([0.9]), unit="share").met is False
    assert Summary.of([0.0005]).text("share") == "0.05 %"
