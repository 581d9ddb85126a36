"""`--format json` against the shipped JSON Schema (draft 2020-12), on several real reports."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources

import jsonschema
import pytest

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.findings import Finding, Severity
from launchbuild.report.formats import OutputFormat, render
from launchbuild.report.formats.json import report_dict
from tests.helpers_report import REPORT_SCHEMA, RULES, fixed_report, passing_report, warning_report


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(REPORT_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


REPORTS = {
    "fixed": fixed_report(),
    "fixed-strict": fixed_report(strict=True),
    "fixed-verified": fixed_report(verification_passes=True),
    "pass": passing_report(),
    "warn": warning_report(),
    "warn-strict": warning_report(strict=True),
    "no-environment-no-image": replace(fixed_report(), environment=None, image=None, build=None),
    "registry-image": replace(
        fixed_report(),
        image=ImageFacts(reference="127.0.0.1:5055/launchbuild-test/python:3.11-slim", provider="registry",
                         digest="sha256:" + "ab" * 32, os_id="debian", os_version="12", has_apt=True,
                         architecture="amd64", pythons=("3.11",), fact_sources=(("pythons", "layer scan"),)),
    ),
    "unlocked": replace(fixed_report(), environment=replace(fixed_report().environment, lock=None)),
}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_output_validates_against_shipped_schema(validator, name):
    doc = json.loads(render(REPORTS[name], OutputFormat.JSON, rules=RULES))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_ships_inside_the_package():
    text = resources.files("launchbuild.report").joinpath("schemas/report-v1.schema.json").read_text()
    assert json.loads(text)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_rejects_what_the_contract_forbids(validator):
    doc = report_dict(fixed_report())
    for broken in (
        {**doc, "verdict": "maybe"},
        {**doc, "schema_version": 2},
        {**doc, "findings": [{**doc["findings"][0], "severity": "fatal"}]},
        {**doc, "findings": [{k: v for k, v in doc["findings"][0].items() if k != "fix"}]},
        {**doc, "surprise": True},
    ):
        assert not validator.is_valid(broken)


def test_contract_keys_and_values():
    doc = json.loads(render(fixed_report(), "json", rules=RULES))
    assert doc["schema_version"] == 1
    assert doc["verdict"] == "fail" and doc["exit_code"] == 1
    assert doc["summary"] == {"errors": 2, "warnings": 2, "infos": 1}
    assert [f["rule"] for f in doc["findings"]] == ["LB201", "LB203", "LB304", "LB402", "LB302"]
    lb203 = doc["findings"][1]
    assert lb203["location"] == {"path": "requirements.txt", "line": 3}
    assert lb203["evidence"][0] == {"fact": "torch", "value": "1.12.1+cu113", "source": "lock"}
    assert "location" not in doc["findings"][0]
    assert doc["findings"][0]["inferred"] is True
    assert doc["target"]["entrypoint"] == {
        "value": ["python", "train.py", "--lr", "3e-4"], "origin": "job spec", "detail": "wandb-job.json"}
    assert doc["environment"]["lock"]["package_count"] == 5
    assert doc["environment"]["lock"]["cuda_variants"] == {"torch": "cu113"}
    assert doc["build"]["verified"] is False
    assert doc["image"]["provider"] == "inferred"


def test_warn_verdict_and_strict():
    assert json.loads(render(warning_report(), "json"))["verdict"] == "warn"
    assert json.loads(render(warning_report(strict=True), "json"))["verdict"] == "fail"


def test_image_env_is_never_written():
    report = replace(fixed_report(), image=replace(fixed_report().image, env=(("WANDB_API_KEY", "secret-token"),)))
    assert "secret-token" not in render(report, "json")


def test_non_ascii_survives_as_utf8():
    report = replace(warning_report(), findings=(
        Finding("LB402", Severity.WARNING, "t", "would copy données/ into the image", "ignore it"),))
    assert "données/" in render(report, "json")


def test_push_bytes_reach_the_json_report_and_validate(validator):
    """Issue 17: what a push sent, as the registry accounted for it."""
    report = fixed_report(verification_passes=True)
    pushed = replace(report, build=replace(report.build, pushed="127.0.0.1:5055/team/job:lb-1", push_bytes_sent=1234,
                                           push_image_bytes=99_000, push_blobs=(2, 11)))
    doc = json.loads(render(pushed, OutputFormat.JSON, rules=RULES))
    assert doc["build"]["push"] == {"bytes_sent": 1234, "image_bytes": 99_000, "blobs_sent": 2, "blobs_total": 11}
    assert not list(validator.iter_errors(doc))
    assert "push" not in json.loads(render(report, OutputFormat.JSON, rules=RULES))["build"]
    text = " ".join(render(pushed, OutputFormat.RICH, rules=RULES).split())
    assert "2 of 11 blobs were missing" in text
    assert "sent" in render(pushed, OutputFormat.MARKDOWN, rules=RULES)


def test_findings_carry_their_typed_fixes_as_data_in_order_and_validate(validator):
    from launchbuild.core.fixes import AptPackages, ReplacePackage, as_data, render_fix

    fixes = (AptPackages(("libgl1", "libglib2.0-0")), ReplacePackage("opencv-python", "opencv-python-headless"))
    typed = Finding(rule="LB304", severity=Severity.WARNING, title="System libraries missing from the image",
                    message="opencv-python needs libgl1", fix=render_fix(fixes), fixes=fixes)
    text_only = Finding(rule="LB302", severity=Severity.INFO, title="No wheel for the target",
                        message="builds from the sdist", fix="nothing to do")
    doc = json.loads(render(replace(fixed_report(), findings=(typed, text_only)), OutputFormat.JSON, rules=RULES))
    first, second = doc["findings"]
    assert first["fixes"] == [as_data(f) for f in fixes]
    assert first["fixes"][0] == {"kind": "AptPackages", "packages": ["libgl1", "libglib2.0-0"], "apt": True}
    assert first["fix"] == render_fix(fixes)  # the text is rendered from the same values
    assert "fixes" not in second  # text-only advice has no data to act on
    assert not list(validator.iter_errors(doc))


def test_an_image_job_s_environment_validates(validator, monkeypatch):
    """`check image:REF` has no input file: its environment is the lock in a launchbuild
    image's labels, or the distributions read from any other image's layers. Both come
    from compat/facts/image_env.py, and the report of each must match the shipped schema."""
    from launchbuild.builder.labels import image_labels
    from launchbuild.compat.facts import image_env
    from launchbuild.compat.facts.providers import distributions
    from launchbuild.progress import Progress

    lock = "numpy==1.26.4 \\\n    --hash=sha256:" + "ab" * 32 + "\n"
    labels = image_labels(lock_text=lock, lock_path="/opt/launchbuild/requirements.lock", facts=None,
                          python="3.11", platform="linux/amd64")
    labelled = ImageFacts(reference="team/built:1", provider="registry", labels=labels,
                          layers_after_build=0)  # its history: the image the labels describe
    from_labels, _ = image_env.built_image_environment(labelled, python=None, platform="linux/amd64")

    # An image whose site-packages sit outside any python3.X folder: its Python is unknown.
    monkeypatch.setattr(distributions, "read_installed", lambda facts, platform, cache_dir=None:
                        distributions.Installed(pythons=(), distributions=(("torch", "2.4.1", ""),)))
    plain = ImageFacts(reference="team/plain:1", provider="registry")
    _, from_layers, _ = image_env.installed_environment(plain, None, "linux/amd64", Progress())

    for environment in (from_labels, from_layers):
        assert environment is not None and environment.lock is not None
        doc = json.loads(render(replace(fixed_report(), environment=environment), OutputFormat.JSON, rules=RULES))
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
