"""`refresh/cpython.py`: CPython's release facts from python/peps' release_management/python-releases.toml
(or an older copy of the devguide's include/release-cycle.json), and the shipped data/cpython.json."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from launchbuild.cli import app
from launchbuild.errors import BadInput
from launchbuild.refresh import cpython, pipeline, schema

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "refresh" / "cpython"
REPO_DATA = Path(__file__).resolve().parents[2] / "data"

SYNTHETIC = """\
# as python/peps lays it out: one [metadata."X.Y"] table per version, then its releases
[metadata."2.7"]
status = "end-of-life"
first-release = 2010-07-03
end-of-life = 2020-01-01

[metadata."3.16"]
pep = 826
status = "feature"
branch = "main"
first-release = 2027-10-06
end-of-life = 2032-10-01

[[release."3.16"]]
stage = "3.16.0 alpha 1"
state = "expected"
date = 2026-10-13

[metadata."3.9"]
status = "end-of-life"
first-release = 2020-10-05
end-of-life = 2025-10-31

[metadata."3.4"]
status = "end-of-life"
first-release = 2014-03-16
end-of-life = 2019-03-01

[metadata."3.12"]
status = "security"
first-release = 2023-10-02
end-of-life = 2028-10-01
"""


def _opts(tmp_path, release_file, **kw):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return pipeline.Options(data_dir=data, fetcher=None, today="2026-12-03", log=lambda _m: None,  # type: ignore[arg-type]
                            cpython_release_cycle=release_file, **kw)


def test_toml_rows_follow_serialize_py_and_keep_only_3x(tmp_path):
    path = tmp_path / "python-releases.toml"
    path.write_text(SYNTHETIC)
    upstream, rows = cpython.release_rows(path, "python/peps @ abc123 (read through a stored copy)", "2026-12-03")
    assert upstream == cpython.PEPS
    assert [r["python"] for r in rows] == ["3.4", "3.9", "3.12", "3.16"]  # 2.7 left out, in version order
    by = {r["python"]: r for r in rows}
    assert by["3.16"] == {"python": "3.16", "status": "feature", "first_release": "2027-10-06", "end_of_life": "2032-10",
                          "source": "python/peps @ abc123 (read through a stored copy) release_management/python-releases.toml",
                          "checked": "2026-12-03"}
    # An end-of-life version keeps its day, even the first of a month; a planned one is a month.
    assert by["3.4"]["end_of_life"] == "2019-03-01" and by["3.12"]["end_of_life"] == "2028-10"
    assert by["3.9"]["end_of_life"] == "2025-10-31"


def test_which_file_it_is_comes_from_the_suffix_else_the_content(tmp_path):
    bare = tmp_path / "releases"
    bare.write_text(SYNTHETIC)
    assert cpython.release_rows(bare, None, "2026-12-03")[0] == cpython.PEPS
    upstream, rows = cpython.release_rows(FIXTURES / "release-cycle.json", None, "2026-12-03")
    assert upstream == cpython.DEVGUIDE and rows[0]["source"] == "python/devguide include/release-cycle.json"
    copied = tmp_path / "cycle"
    copied.write_text((FIXTURES / "release-cycle.json").read_text())
    assert cpython.release_rows(copied, None, "2026-12-03")[0] == cpython.DEVGUIDE


@pytest.mark.parametrize(("status", "eol", "written"), [
    ("security", datetime.date(2031, 10, 1), "2031-10"),
    ("prerelease", datetime.date(2031, 10, 1), "2031-10"),
    ("bugfix", datetime.date(2030, 10, 31), "2030-10-31"),  # not the first: the day stays
    ("end-of-life", datetime.date(2024, 10, 1), "2024-10-01"),
    ("security", datetime.date(2031, 1, 1), "2031-01"),  # only the day's "-01" goes
])
def test_end_of_life_is_written_as_version_info_writes_it(status, eol, written):
    assert cpython.end_of_life(status, eol) == written


@pytest.mark.parametrize(("text", "words"), [
    ("[metadata\n", "cannot read it as TOML"),
    ("", "no [metadata.\"X.Y\"] tables"),
    ("metadata = 1\n", "no [metadata.\"X.Y\"] tables"),
    ('[metadata."2.7"]\nstatus = "end-of-life"\n', "no 3.X entries"),
    ('[metadata."3.15"]\nstatus = "bugfix"\nfirst-release = "2026-10-01"\nend-of-life = 2031-10-01\n',
     '[metadata."3.15"] first-release: expected a TOML date'),
    ('[metadata."3.15"]\nstatus = "bugfix"\nfirst-release = 2026-10-01T00:00:00\nend-of-life = 2031-10-01\n',
     "first-release: expected a TOML date"),
    ('[metadata."3.15"]\nstatus = "bugfix"\nfirst-release = 2026-10-01\n', "end-of-life: expected a TOML date (YYYY-MM-DD), got None"),
    ('[metadata."3.15"]\nfirst-release = 2026-10-01\nend-of-life = 2031-10-01\n', "status: expected a string"),
])
def test_a_malformed_toml_is_bad_input_saying_what_to_pass(tmp_path, text, words):
    path = tmp_path / "python-releases.toml"
    path.write_text(text)
    with pytest.raises(BadInput) as err:
        cpython.release_rows(path, None, "2026-12-03")
    assert words in err.value.message and f"--cpython-releases {path}" in err.value.message
    assert "release_management/python-releases.toml" in err.value.message


def test_an_unreadable_file_is_bad_input(tmp_path):
    binary = tmp_path / "python-releases.toml"
    binary.write_bytes(b"\xff\xfe[metadata]")
    for path in (binary, tmp_path / "missing.toml", tmp_path):
        with pytest.raises(BadInput, match="cannot read it"):
            cpython.release_rows(path, None, "2026-12-03")


_TOML_VALUES = st.sampled_from(['"bugfix"', '""', "2026-10-01", "2031-10-01", "2026-10-01T10:00:00", "10:00:00",
                                "1", "[]", "{}", '"2026-10-01"', "true", "nan"])


@st.composite
def _near_toml(draw):
    """Release tables the way python/peps writes them, with any value in any key, or a broken line."""
    lines = []
    for version in draw(st.lists(st.sampled_from(["3.15", "3.16", "2.7", "3", "3.x", "4.0"]), max_size=4, unique=True)):
        lines.append(f'[metadata."{version}"]')
        for key in draw(st.lists(st.sampled_from(["status", "first-release", "end-of-life", "pep"]), unique=True)):
            lines.append(f"{key} = {draw(_TOML_VALUES)}")
    lines.extend(draw(st.lists(st.text(max_size=20), max_size=2)))
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), _near_toml()), st.booleans())
def test_the_reader_raises_nothing_but_bad_input(text, toml):
    try:
        upstream, rows = cpython.rows_from_text(text, "f", None, "2026-12-03", toml=toml)
    except BadInput:
        return
    assert rows and all(r["python"].startswith("3.") for r in rows)
    doc = {"table": "cpython", "description": "d", "source": "s", "retrieved": "2026-12-03", "refresh": "r", "releases": rows}
    if toml:
        assert schema.check_table("cpython", doc) == []


def test_the_refresh_writes_the_peps_header_and_a_table_that_passes_check(tmp_path):
    opts = _opts(tmp_path, FIXTURES / "python-releases.toml", cpython_origin="python/peps @ ba4deeb79695 (read through a stored copy)")
    pipeline.refresh_cpython(opts)
    doc = json.loads((opts.data_dir / "cpython.json").read_text())
    assert doc["source"] == "python/peps release_management/python-releases.toml"
    assert doc["refresh"] == "launchbuild data refresh --only cpython --cpython-releases FILE"
    assert schema.check_table("cpython", doc) == []


def test_the_shipped_table_is_the_refresh_of_the_stored_python_releases_toml(tmp_path):
    """data/cpython.json is the refresh's output from the stored copy (fixture: its metadata
    tables verbatim), not typed in: every row but its checked date is what the reader gives."""
    shipped = json.loads((REPO_DATA / "cpython.json").read_text())
    assert schema.check_table("cpython", shipped) == []
    origin = "python/peps @ ba4deeb79695 (read through a stored copy)"
    _, rows = cpython.release_rows(FIXTURES / "python-releases.toml", origin, shipped["retrieved"])
    assert shipped["releases"] == rows
    by = {r["python"]: r for r in rows}
    assert by["3.15"]["first_release"] == "2026-10-01" and by["3.16"]["first_release"] == "2027-10-06"


def test_cli_takes_either_option_name_and_a_bad_file_is_one_line_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("--cpython-releases", "--cpython-release-cycle"):
        ok = CliRunner().invoke(app, ["data", "refresh", "--only", "cpython", name, str(FIXTURES / "python-releases.toml"),
                                      "--data-dir", str(data), "--today", "2026-12-03"])
        assert "cpython: 17 rows" in ok.output, ok.output
    bad = tmp_path / "python-releases.toml"
    bad.write_text("[metadata\n")
    r = CliRunner().invoke(app, ["data", "refresh", "--only", "cpython", "--cpython-releases", str(bad), "--data-dir", str(data)])
    assert r.exit_code == 2 and "cannot read it as TOML" in r.output and "Traceback" not in r.output, r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1
