"""The rule registry (compat/registry.py): one explicit ordered list, groups as data, typed fixes,
and every finding in the code base built from the registry's metadata."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchbuild.pipeline import build as pipeline_build
from launchbuild.compat import catalog, registry
from launchbuild.compat import rules as rules_pkg
from launchbuild.core.findings import Severity
from launchbuild.core.fixes import (
    AptPackages,
    ChangeBaseImage,
    Fix,
    IgnorePath,
    ReplacePackage,
    SetOption,
    of_type,
    render_fix,
)
from launchbuild.core.rule import GROUPS, Group, Rule
from launchbuild.resolver import rules as inputs
from launchbuild.report.formats.base import load_catalog, rule_group
from launchbuild.report.model import Report, TargetSummary
from tests.helpers_compat import ctx, python_image

ROOT = Path(__file__).resolve().parents[2]
RULE_IDS = [r.id for r in registry.ALL_RULES]


def _declared_rules() -> dict[str, Rule]:
    """Every Rule value declared in a module under compat/rules/ (found by walking the package),
    and the resolver's own rules (resolver/rules.py)."""
    out: dict[str, Rule] = {}
    modules = [importlib.import_module(f"launchbuild.compat.rules.{info.name}")
               for info in pkgutil.iter_modules(rules_pkg.__path__)] + [inputs]
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Rule):
                out[value.id] = value
    return out


def test_the_registry_lists_every_declared_rule_once_in_id_order():
    assert len(set(RULE_IDS)) == len(RULE_IDS)
    assert RULE_IDS == sorted(RULE_IDS)  # the order checks run in and docs/JSON list them in
    assert sorted(_declared_rules()) == RULE_IDS, "a rule declared under compat/rules/ is missing from ALL_RULES"
    assert list(catalog.RULES) == RULE_IDS


def test_every_rule_has_metadata_a_group_from_the_table_and_a_check_unless_another_stage_reports_it():
    for r in registry.ALL_RULES:
        assert r.title and r.description and r.help and r.tags
        assert r.group in GROUPS and isinstance(r.group, Group)
        assert r.anchor == r.id.lower()
        assert (r.check is None) == (r.produced_by != "compat")
        assert _declared_rules()[r.id] == Rule(**{**vars(r), "check": None})  # same metadata as declared
    assert all(registry.group_rules(g) for g in GROUPS)
    assert {r.id for r in registry.ALL_RULES if r.produced_by == "resolver"} == set(inputs.REPORTED_BY_RESOLVER)


def test_groups_are_data_not_id_digits():
    # LB208 (end-of-life CUDA image) is checked in base_image.py, and is a CUDA concern by its group.
    assert registry.get("LB208").group.id == "gpu_cuda"
    meta = load_catalog()
    assert all(meta[r.id].group == r.group.id for r in registry.ALL_RULES)
    assert rule_group("LB101") == "base_image" and rule_group("LB999") == "other"


def test_no_rule_module_registers_on_import_or_imports_the_catalog():
    for path in (ROOT / "compat" / "rules").glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module not in ("launchbuild.compat.catalog", "launchbuild.compat.registry"), path.name


def test_docs_and_rules_command_follow_the_registry():
    doc = (ROOT / "docs" / "rules.md").read_text("utf-8")
    positions = [doc.index(f"\n### {rid}\n") for rid in RULE_IDS]
    for group in GROUPS:
        heading = doc.index(f"\n## {group.title}\n")
        for r in registry.group_rules(group):
            later = [doc.index(f"\n## {g.title}\n") for g in GROUPS if doc.index(f"\n## {g.title}\n") > heading]
            assert heading < doc.index(f"\n### {r.id}\n") < min(later, default=len(doc))
    assert len(positions) == len(RULE_IDS)


def test_the_rules_command_lists_the_registry_in_order():
    import json

    from typer.testing import CliRunner

    from launchbuild.cli import app

    result = CliRunner().invoke(app, ["rules", "--format", "json"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    listed = [(r["id"], r["severity"], r["title"], r["produced_by"], r["group"], r["docs"])
              for r in json.loads(result.output)]
    assert listed == [(r.id, r.severity.value, r.title, r.produced_by, {"id": r.group.id, "title": r.group.title},
                       f"docs/rules.md#{r.id.lower()}") for r in registry.ALL_RULES]


def test_each_rules_group_and_docs_anchor_in_the_json_is_in_docs_rules_md():
    """`rules --format json` (and /v1/rules) name a group that is one of the registry's and an
    anchor that docs/rules.md has: the rule's `### LBnnn` heading under its group's `## title`."""
    import json
    import re

    from typer.testing import CliRunner

    from launchbuild.cli import app

    root = Path(__file__).resolve().parents[2]
    listed = json.loads(CliRunner().invoke(app, ["rules", "--format", "json"], env={"NO_COLOR": "1"}).output)
    assert {(r["group"]["id"], r["group"]["title"]) for r in listed} == {(g.id, g.title) for g in registry.GROUPS}
    doc = (root / "docs" / "rules.md").read_text("utf-8")
    group_of_heading, heading = {}, None
    for line in doc.splitlines():
        if line.startswith("## "):
            heading = line[3:]
        elif m := re.fullmatch(r"### (LB\d+)", line):
            group_of_heading[m.group(1).lower()] = heading
    for r in listed:
        path, _, anchor = r["docs"].partition("#")
        assert (root / path).is_file() and group_of_heading[anchor] == r["group"]["title"], r["id"]


# --- one constructor for every finding -----------------------------------------------------------


def _finding_calls() -> list[str]:
    """Places outside core/rule.py that construct a Finding directly."""
    found = []
    skip = {"tests", "bench", "examples", "build", "dist", "node_modules"}
    tops = [p for p in ROOT.iterdir() if not p.name.startswith(".") and p.name not in skip]
    paths = [p for top in tops for p in ([top] if top.suffix == ".py" else top.rglob("*.py") if top.is_dir() else [])]
    for path in paths:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "core/rule.py" or ".egg-info" in rel or "__pycache__" in rel:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Finding":
                found.append(f"{rel}:{node.lineno}")
    return found


def test_findings_are_only_built_by_the_registry_constructor():
    assert _finding_calls() == [], "build findings with registry.get(ID).finding(...) / Rule.finding(...)"


@given(rule_id=st.sampled_from(RULE_IDS), message=st.text(min_size=1, max_size=40), fix=st.text(min_size=1, max_size=40))
def test_a_finding_has_its_rules_title_and_default_severity(rule_id, message, fix):
    r = registry.get(rule_id)
    f = registry.get(rule_id).finding(message, fix)
    assert (f.rule, f.title, f.severity, f.message, f.fix, f.fixes) == (rule_id, r.title, r.severity, message, fix, ())
    stricter = registry.get(rule_id).finding(message, fix, severity=Severity.ERROR)
    assert stricter.title == r.title and stricter.severity is Severity.ERROR


@given(rule_id=st.sampled_from(sorted(inputs.REPORTED_BY_RESOLVER)), message=st.text(min_size=1, max_size=40))
def test_resolver_findings_match_the_registry(rule_id, message):
    f = inputs.finding(rule_id, message, "fix it")
    r = registry.get(rule_id)
    assert (f.title, f.severity) == (r.title, r.severity)


def test_the_resolver_cannot_emit_a_compat_rule():
    with pytest.raises(KeyError):
        inputs.finding("LB201", "m", "f")


def test_findings_the_resolver_emits_carry_the_registry_titles():
    from launchbuild.resolver.special import no_input_findings

    emitted = list(no_input_findings(None, []))
    from launchbuild.resolver.detectors.conda import _unmapped
    from launchbuild.core.findings import Location

    emitted.append(_unmapped("foo", "foo=1", Location("environment.yml")))
    assert emitted
    for f in emitted:
        r = registry.get(f.rule)
        assert f.title == r.title and f.severity == r.severity, f


# --- typed fixes ---------------------------------------------------------------------------------

_names = st.lists(st.from_regex(r"[a-z][a-z0-9.+-]{0,12}", fullmatch=True), min_size=1, max_size=4, unique=True)


@given(_names)
def test_apt_fix_text_is_rendered_from_the_value(names):
    fix = AptPackages(tuple(names))
    joined = " ".join(names)
    assert fix.text() == f"add apt packages {joined} to the image (apt-get install -y {joined})"
    assert AptPackages(tuple(names), apt=False).text() == f"install the equivalents of {joined} with the image's package manager"


def test_alternatives_render_joined_and_every_fix_has_one_line_text():
    fixes = (AptPackages(("libgl1",)), ReplacePackage("opencv-python", "opencv-python-headless"))
    assert render_fix(fixes) == "add apt packages libgl1 to the image (apt-get install -y libgl1), or use opencv-python-headless"
    for fx in (*fixes, ChangeBaseImage("python:3.11-slim"), SetOption("python", "3.10"), SetOption("platform", "linux/arm64")):
        assert isinstance(fx, Fix) and fx.text() and "\n" not in fx.text()
    assert SetOption("python", "3.10").text() == "target Python 3.10"


def _report(findings) -> Report:
    return Report(job="j", target=TargetSummary(), findings=tuple(findings), rules_checked=tuple(RULE_IDS))


def test_lb304_carries_apt_packages_and_the_builder_takes_them_from_the_fix_not_the_text():
    findings, _ = catalog.evaluate(ctx(image=python_image("3.11"), pins=("opencv-python==4.10.0.84",)))
    (lb304,) = [f for f in findings if f.rule == "LB304"]
    (apt,) = of_type([lb304], AptPackages)
    assert apt.packages == ("libgl1", "libglib2.0-0") and lb304.fix == render_fix(lb304.fixes)
    assert pipeline_build._apt_fixes(_report(findings)) == ("libgl1", "libglib2.0-0")
    # Evidence text is no contract any more: without a typed fix nothing is installed.
    from dataclasses import replace

    assert pipeline_build._apt_fixes(_report([replace(lb304, fixes=())])) == ()


def test_apt_packages_from_several_findings_are_merged_in_order_without_repeats():
    a = registry.get("LB304").finding("m1", (AptPackages(("libgl1", "ffmpeg")),))
    b = registry.get("LB304").finding("m2", (AptPackages(("ffmpeg", "libsndfile1")),))
    assert pipeline_build._apt_fixes(_report([a, b])) == ("libgl1", "ffmpeg", "libsndfile1")


def test_every_finding_the_rules_emit_matches_the_registry_and_renders_its_typed_fixes():
    from tests.unit.test_compat_rules import CASES

    typed = set()
    for _rid, c, _ in CASES:
        for f in catalog.evaluate(c)[0]:
            r = registry.get(f.rule)
            assert f.title == r.title, f
            if f.fixes:
                typed |= {type(x).__name__ for x in f.fixes}
                assert f.fix == render_fix(f.fixes), f
    assert {"AptPackages", "ChangeBaseImage", "SetOption", "PinPackage", "UpgradeDriver", "IgnorePath"} <= typed


def test_typed_fixes_travel_as_data_in_sarif_and_the_json_report():
    import json

    import jsonschema

    from launchbuild.report.formats import OutputFormat, render
    from tests.helpers_report import REPORT_SCHEMA, SARIF_SCHEMA

    findings, _ = catalog.evaluate(ctx(image=python_image("3.11"), pins=("opencv-python==4.10.0.84",)))
    report = _report(findings)
    sarif = json.loads(render(report, OutputFormat.SARIF))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "LB304"]
    assert result["properties"]["fixes"] == [
        {"kind": "AptPackages", "packages": ["libgl1", "libglib2.0-0"], "apt": True},
        {"kind": "ReplacePackage", "package": "opencv-python", "replacement": "opencv-python-headless"},
    ]
    assert result["properties"]["fix"] == render_fix(next(f for f in findings if f.rule == "LB304").fixes)
    doc = json.loads(render(report, OutputFormat.JSON))
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(doc)
    (lb304,) = [f for f in doc["findings"] if f["rule"] == "LB304"]
    assert lb304["fixes"] == result["properties"]["fixes"]  # the same data in both documents


def test_a_fix_is_a_fix_value_or_a_text():
    assert registry.get("LB304").finding("m", ()).fix == ""
    assert registry.get("LB402").finding("m", IgnorePath("wandb")).fixes == (IgnorePath("wandb"),)
    with pytest.raises(TypeError, match="LB304"):
        registry.get("LB304").finding("m", ("apt-get install libgl1",))
