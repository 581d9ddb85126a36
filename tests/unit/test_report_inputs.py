"""The environment input in the JSON report: which input won, what was read, what was not used."""

from __future__ import annotations


def test_the_json_report_carries_which_input_won_and_validates():
    import json
    from dataclasses import replace

    import jsonschema

    from launchbuild.report.formats import OutputFormat, render
    from tests.helpers_report import REPORT_SCHEMA, RULES, fixed_report

    report = fixed_report()
    env = replace(report.environment, input_kind="lock", input_reason="a lock states exactly what to install",
                  input_read=("uv.lock: 3 packages",), input_not_used=("extras not asked for: gpu",), groups=("dev",))
    doc = json.loads(render(replace(report, environment=env), OutputFormat.JSON, rules=RULES))
    assert doc["environment"]["input"] == {"reason": "a lock states exactly what to install",
                                           "read": ["uv.lock: 3 packages"], "not_used": ["extras not asked for: gpu"],
                                           "groups": ["dev"]}
    validator = jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text()))
    assert not list(validator.iter_errors(doc))
