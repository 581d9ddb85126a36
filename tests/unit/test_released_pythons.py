"""Which CPython the tool accepts as a target: the releases data/cpython.json lists from 3.8 on
that are out by the day of the check (plus the ones we build images for), and LB213's advice
naming only those. The day is passed in; the first tests use a synthetic table."""

from __future__ import annotations

import pytest

from launchbuild.compat.catalog import RULES
from launchbuild.core import tables
from launchbuild.core.fixes import SetOption
from launchbuild.errors import BadInput
from launchbuild.resolver import python_version
from tests.helpers_compat import ctx

SYNTHETIC = {"3.7": ("2018-06-27", "2023-06-27"), "3.8": ("2019-10-14", "2024-10-07"),
             "3.13": ("2024-10-07", "2029-10"), "3.14": ("2025-10-07", "2030-10"),
             "3.15": ("2026-10-01", "2031-10"), "3.16": ("2027-10-06", "2032-10"), "3.17": (None, None)}


@pytest.fixture
def synthetic(monkeypatch):
    monkeypatch.setattr(tables, "cpython_releases", lambda: dict(SYNTHETIC))


def test_a_release_is_accepted_from_its_first_release_day_on(synthetic):
    assert python_version.accepted_pythons("2026-09-30")[-2:] == ("3.13", "3.14")
    on_the_day = python_version.accepted_pythons("2026-10-01")
    assert on_the_day[-1] == "3.15" and "3.7" not in on_the_day and "3.8" in on_the_day
    assert "3.16" in python_version.accepted_pythons("2027-10-06")
    assert "3.17" not in python_version.accepted_pythons("2099-01-01")  # no first release: never out
    for xy in python_version.SUPPORTED_PYTHONS:  # the ones we build images for, whatever the table says
        assert xy in python_version.accepted_pythons("2000-01-01")


def test_an_unreleased_python_is_bad_input_listing_the_accepted_ones(synthetic):
    assert python_version.normalize("3.15.0", "--python", today="2026-12-03") == "3.15"
    with pytest.raises(BadInput) as err:
        python_version.normalize("3.16", "--python", today="2026-12-03")
    assert err.value.message == "unsupported Python 3.16 in --python"
    assert err.value.hint is not None and err.value.hint.endswith("3.13, 3.14, 3.15")


def test_the_clock_decides_when_no_day_is_given(synthetic, monkeypatch):
    monkeypatch.setattr(python_version, "_today", lambda: "2026-09-30")
    with pytest.raises(BadInput, match="3.15"):
        python_version.normalize("3.15", "--python")
    monkeypatch.setattr(python_version, "_today", lambda: "2026-10-01")
    assert python_version.normalize("3.15", "--python") == "3.15"


def test_lb213_advises_only_released_pythons(synthetic):
    found = list(RULES["LB213"].check(ctx(python="3.8", today="2026-12-03")))
    assert len(found) == 1 and "3.16" not in found[0].fix
    first = found[0].fixes[0]
    assert isinstance(first, SetOption) and first.value == "3.13"
    assert first.phrase == "target a supported Python (3.13, 3.14, 3.15)"


def test_with_the_shipped_table_3_15_is_a_target_and_3_16_is_not_yet():
    """data/cpython.json (python/peps @ ba4deeb79695): 3.15.0 came out 2026-10-01, 3.16.0 is planned for 2027-10-06."""
    assert python_version.normalize("3.15", "--python", today="2026-12-03") == "3.15"
    with pytest.raises(BadInput, match="unsupported Python 3.16 in --python"):
        python_version.normalize("3.16", "--python", today="2026-12-03")
    assert python_version.accepted_pythons("2026-12-03")[-1] == "3.15"
    assert python_version.accepted_pythons("2027-10-06")[-1] == "3.16"
    assert python_version.accepted_pythons("2026-12-03")[0] == "3.8"  # 3.0-3.7 are listed, but below uv's floor
    found = list(RULES["LB213"].check(ctx(python="3.9", today="2026-12-03")))
    assert found and found[0].fixes[0].phrase == "target a supported Python (3.11, 3.12, 3.13, 3.14, 3.15)"
