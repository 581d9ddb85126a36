"""`--format sarif` against the official OASIS SARIF 2.1.0 schema, and GitHub's extra needs
(a location with a relative URI and startLine on every result, fingerprints, rule metadata)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.core.findings import Evidence, Finding, Location, Severity
from launchbuild.report.formats import OutputFormat, render
from launchbuild.report.formats.sarif import FINGERPRINT_KEY
from tests.helpers_report import RULES, SARIF_SCHEMA, fixed_report, passing_report, warning_report


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SARIF_SCHEMA.read_text())
    assert schema["id"].endswith("sarif-schema-2.1.0.json")
    return jsonschema.Draft4Validator(schema)


def sarif(report, **kw):
    return json.loads(render(report, OutputFormat.SARIF, rules=RULES, tool_version="0.1.0", **kw))


REPORTS = {
    "fixed": fixed_report(),
    "pass": passing_report(),
    "warn-no-locations": warning_report(),
    "strict": fixed_report(strict=True),
}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_validates_against_official_schema(validator, name):
    doc = sarif(REPORTS[name])
    errors = list(validator.iter_errors(doc))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_validates_with_the_real_catalog_when_present(validator):
    doc = json.loads(render(fixed_report(), OutputFormat.SARIF, tool_version="0.1.0"))
    assert validator.is_valid(doc)
    rule_ids = [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert {"LB201", "LB203", "LB302", "LB304", "LB402"} <= set(rule_ids)


def test_results_levels_locations_and_rule_indexes():
    doc = sarif(fixed_report())
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    # The findings, then the failed verification check (a result of its own).
    assert [r["level"] for r in results] == ["error", "error", "warning", "warning", "note", "error"]
    assert results[-1]["ruleId"] == "launchbuild/verification-failed" and "entrypoint" in results[-1]["message"]["text"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        loc = r["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["region"]["startLine"] >= 1
        assert len(r["partialFingerprints"][FINGERPRINT_KEY]) == 32
    lb203 = next(r for r in results if r["ruleId"] == "LB203")
    assert lb203["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "requirements.txt"
    assert lb203["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    lb201 = next(r for r in results if r["ruleId"] == "LB201")  # no own location: pinned to the input file
    assert lb201["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert lb201["properties"]["pinnedToFallbackLocation"] is True
    assert "Fix: use nvidia/cuda:12.4.1-runtime-ubuntu22.04" in lb201["message"]["text"]


def test_driver_metadata_from_catalog():
    driver = sarif(fixed_report(), information_uri="https://example.invalid/launchbuild")["runs"][0]["tool"]["driver"]
    assert driver["name"] == "launchbuild" and driver["version"] == "0.1.0"
    assert driver["informationUri"] == "https://example.invalid/launchbuild"
    lb202 = next(r for r in driver["rules"] if r["id"] == "LB202")
    assert lb202["name"] == "DriverTooOldForTheImagesCuda"
    assert lb202["shortDescription"]["text"] == "Driver too old for the image's CUDA"
    assert lb202["defaultConfiguration"]["level"] == "error"
    assert lb202["help"]["text"]


def test_unknown_rule_gets_a_descriptor():
    report = replace(warning_report(), findings=(
        Finding("LB999", Severity.INFO, "Something new", "m", "f", location=Location("./pyproject.toml", 4)),))
    doc = sarif(report)
    run = doc["runs"][0]
    result = run["results"][0]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "LB999"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pyproject.toml"


def test_fingerprints_are_stable_and_distinct():
    a = sarif(fixed_report())["runs"][0]["results"]
    b = sarif(fixed_report())["runs"][0]["results"]
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in a]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in b]
    assert len(set(prints)) == len(prints)


@pytest.mark.parametrize(
    ("job", "input_path", "expected"),
    [
        ("job.json", None, "job.json"),
        ("examples/demo", "requirements.txt", "requirements.txt"),
        ("examples/demo", "/abs/requirements.txt", "examples/demo"),
        ("https://host.invalid/org/repo.git@abc123", None, None),
        ("git@host.invalid:org/repo.git", None, None),
        ("/srv/jobs/train", None, None),
    ],
)
def test_fallback_location(job, input_path, expected):
    from launchbuild.resolver.model import ResolveResult

    env = ResolveResult(input_kind="requirements", input_path=input_path) if input_path else None
    result = sarif(replace(warning_report(), job=job, environment=env))["runs"][0]["results"][0]
    if expected is None:
        assert "locations" not in result
    else:
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == expected


# RFC 3986 relative-ref (path only): pchar = unreserved / pct-encoded / sub-delims / ":" / "@",
# and no ":" in the first segment (it would read as a scheme).
_RELATIVE_REF = re.compile(r"^(?:[A-Za-z0-9._~!$&'()*+,;=@-]|%[0-9A-F]{2})+"
                           r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2})*)*$")


@pytest.mark.parametrize("path", ["requirements.txt", "jobs/a b/requirements.txt", "r%0A.txt", "a:b/c.txt",
                                  'r|e::error::q`x,y]]>&"<.txt', "dir#1/req?.txt", "ünï/cödé.txt"])
def test_relative_uris_are_uri_references_that_read_back_as_the_path(validator, path):
    from urllib.parse import unquote

    report = replace(warning_report(), findings=(Finding(
        "LB305", Severity.WARNING, "Local package", "m", "f", location=Location(path, 3)),))
    doc = sarif(report)
    assert validator.is_valid(doc)
    artifact = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uriBaseId"] == "%SRCROOT%"
    assert _RELATIVE_REF.match(artifact["uri"]), artifact["uri"]
    assert unquote(artifact["uri"]) == path


def test_real_catalog_entries_adapt_to_rule_metadata():
    catalog = pytest.importorskip("launchbuild.compat.catalog", reason="compat catalog not importable yet", exc_type=ImportError)
    from launchbuild.report.formats.base import load_catalog

    metas = load_catalog()
    assert set(metas) == set(catalog.RULES)
    for rule_id, entry in catalog.RULES.items():
        meta = metas[rule_id]
        assert (meta.title, meta.severity, meta.description, meta.help) == (
            entry.title, entry.severity, entry.description, entry.help)
    doc = json.loads(render(fixed_report(), OutputFormat.SARIF, tool_version="0.1.0"))
    described = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert set(catalog.RULES) <= set(described)
    assert described["LB203"]["help"]["text"] == catalog.RULES["LB203"].help


_text = st.text(max_size=20)
_path = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20) | st.sampled_from(
    ["/abs/outside/req.txt", "./a/../b.txt", "a:b/c", "%0A", "C:\\win\\req.txt", " "])


@st.composite
def _findings(draw):
    from launchbuild.core.fixes import Advice, AptPackages, ChangeBaseImage

    fixes = draw(st.lists(st.sampled_from([AptPackages(("libgl1",)), ChangeBaseImage("nvidia/cuda:12.4.1-runtime-ubuntu22.04"),
                                           Advice(draw(_text))]), max_size=2))
    return Finding(rule=draw(st.sampled_from(["LB201", "LB304", "LB999", "X"])), severity=draw(st.sampled_from(list(Severity))),
                   title=draw(_text), message=draw(_text), fix=draw(_text), fixes=tuple(fixes),
                   evidence=tuple(Evidence(draw(_text), draw(_text), draw(_text)) for _ in range(draw(st.integers(0, 2)))),
                   location=draw(st.none() | st.builds(Location, _path, st.none() | st.integers(-3, 10_000))),
                   )


@settings(max_examples=150, deadline=None)
@given(st.lists(_findings(), max_size=4), st.booleans(), st.sampled_from(["fixed", "pass", "warn-no-locations"]),
       st.none() | st.sampled_from(["build", "check", "push"]))
def test_every_finding_shape_validates_and_locates(validator, found, strict, base, stopped):
    """Whatever a finding holds (no location, a line of 0, an absolute or odd path, typed
    fixes, a rule no catalog knows) and whatever stopped the run, the document is SARIF 2.1.0
    and each location is a relative reference under %SRCROOT% or an absolute file URI."""
    from launchbuild.report.model import Failure

    failure = None if stopped is None else Failure(stage=stopped, message="stopped", fix="f", exit_code=3)
    report = replace(REPORTS[base], findings=tuple(found), strict=strict, failure=failure)
    doc = sarif(report)
    errors = list(validator.iter_errors(doc))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:3])
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        for loc in result.get("locations", []):
            phys = loc["physicalLocation"]
            assert phys["region"]["startLine"] >= 1
            uri = phys["artifactLocation"]["uri"]
            if phys["artifactLocation"].get("uriBaseId") == "%SRCROOT%":
                assert _RELATIVE_REF.match(uri) or uri == "", uri
            else:
                assert uri.startswith("file:///"), uri


@pytest.mark.parametrize("path, uri", [("\\", ""), ("\\\\srv\\x.txt", "srv/x.txt"), (".\\a\\b", "a/b"), ("a\\b", "a/b")])
def test_a_backslash_path_is_a_relative_reference_never_an_absolute_one(path, uri):
    from launchbuild.report.formats.sarif import _relative_uri

    assert _relative_uri(path) == uri
