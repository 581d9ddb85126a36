"""Every table in data/ has a JSON Schema (refresh/schema.py), and the committed tables pass it."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from launchbuild.refresh import pipeline, schema

TABLE_FILES = sorted(p.name[:-5] for p in resources.files("launchbuild.data").iterdir() if p.name.endswith(".json"))


def _load(table: str):
    return json.loads(resources.files("launchbuild.data").joinpath(f"{table}.json").read_text("utf-8"))


def test_every_data_file_has_a_schema_and_is_checked_by_data_refresh_check():
    assert TABLE_FILES, "no data tables found"
    assert sorted(schema.SCHEMAS) == TABLE_FILES
    assert sorted(pipeline.TABLES) == TABLE_FILES


@pytest.mark.parametrize("table", TABLE_FILES)
def test_committed_table_passes_its_schema(table):
    assert schema.check_table(table, _load(table)) == []


@pytest.mark.parametrize("table", TABLE_FILES)
def test_schema_rejects_a_table_without_its_provenance(table):
    doc = copy.deepcopy(_load(table))
    del doc["retrieved"]
    problems = schema.check_table(table, doc)
    assert problems and all(p.startswith(f"{table}.json") and "\n" not in p for p in problems)


def test_conda_mapping_values_must_be_names():
    doc = copy.deepcopy(_load("conda_pypi"))
    doc["map"]["pytorch"] = ""
    assert any("map/pytorch" in p for p in schema.check_table("conda_pypi", doc))
