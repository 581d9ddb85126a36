"""The catalog: metadata, ignore handling, ordering, passthrough, generated docs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from launchbuild.compat.catalog import RULES, evaluate, normalize_ignore
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Finding, Severity
from launchbuild.errors import BadInput
from tests.helpers_compat import ctx, cuda_image

REQUIRED = [f"LB10{i}" for i in range(1, 6)] + [f"LB20{i}" for i in range(1, 10)] + ["LB210", "LB211", "LB212", "LB213", "LB214"] + [f"LB30{i}" for i in range(1, 10)] + ["LB310", "LB311", "LB312"] + ["LB401", "LB402", "LB403", "LB404"]


def test_catalog_has_every_rule_with_complete_metadata():
    assert sorted(RULES) == sorted(REQUIRED)
    for rid, r in RULES.items():
        assert r.id == rid and r.title and r.description and r.help and r.tags
        assert (r.check is None) == (r.produced_by != "compat")
    assert RULES["LB301"].produced_by == "resolver" and RULES["LB305"].produced_by == "resolver"
    assert RULES["LB404"].produced_by == "builder"  # the kubernetes engine, before it submits


def test_unknown_ignore_is_bad_input():
    with pytest.raises(BadInput) as exc:
        evaluate(CheckContext(), ignore=("LB999",))
    assert "LB999" in str(exc.value) and "\n" not in str(exc.value)


def test_ignore_is_case_insensitive_and_deduplicated():
    assert normalize_ignore(["lb202", "LB202 "]) == ("LB202",)
    # One value may list several, as LAUNCHBUILD_IGNORE and config files do; empty items are nothing.
    assert normalize_ignore(["LB202,lb204", "LB101,", "", " , "]) == ("LB202", "LB204", "LB101")


def _failing_ctx():
    image = cuda_image("11.7.1", end_of_life=True)
    # tensorflow without [and-cuda] uses the image's CUDA 11.7, which cannot target the H100 (LB201).
    return ctx(image=image, gpus=("H100",), driver="470.86", pins=("torch==1.13.1", "tensorflow==2.11.0"))


def test_findings_are_sorted_by_severity_then_rule():
    findings, checked = evaluate(_failing_ctx())
    keys = [(f.severity.rank, f.rule) for f in findings]
    assert keys == sorted(keys)
    assert {"LB201", "LB202", "LB203", "LB208", "LB212"} <= {f.rule for f in findings}
    assert checked == tuple(sorted(RULES))


def test_ignored_rules_are_neither_run_nor_reported():
    findings, checked = evaluate(_failing_ctx(), ignore=("LB201", "LB208"))
    assert "LB201" not in checked and "LB208" not in checked
    assert not {f.rule for f in findings} & {"LB201", "LB208"}


def test_resolver_findings_pass_through_and_can_be_ignored():
    lb301 = Finding("LB301", Severity.ERROR, "Requirements do not resolve", "torch==9 not found", "relax the pin")
    lb305 = Finding("LB305", Severity.ERROR, "local source", "mypkg @ file:///x", "publish it")
    c = CheckContext(resolver_findings=(lb305, lb301))
    findings, _ = evaluate(c)
    assert findings == (lb301, lb305)
    findings, _ = evaluate(c, ignore=("LB305",))
    assert findings == (lb301,)


def test_every_finding_has_a_one_line_message_and_fix():
    findings, _ = evaluate(_failing_ctx())
    for f in findings:
        assert f.message and "\n" not in f.message and f.fix and "\n" not in f.fix and f.evidence


def test_docs_rules_md_is_up_to_date():
    script = Path(__file__).resolve().parents[2] / "scripts" / "gen_rules_doc.py"
    spec = importlib.util.spec_from_file_location("gen_rules_doc", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DOC.read_text("utf-8") == module.render(), "run python scripts/gen_rules_doc.py"


def test_a_mistyped_ignore_says_which_rule_was_meant():
    with pytest.raises(BadInput) as exc:
        normalize_ignore(["LB-202"])
    assert "did you mean LB202?" in str(exc.value) and "'LB-202'" in str(exc.value)
