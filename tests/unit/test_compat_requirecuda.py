"""NVIDIA_REQUIRE_CUDA grammar, mirrored from nvidia-container-toolkit internal/requirements."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.compat import requirecuda as rc
from launchbuild.errors import BadInput
from tests.helpers_compat import REQUIRE_11_8_0, REQUIRE_12_1_1


def _eval(text, driver, dcuda, arch=None, brand=None):
    return rc.evaluate(rc.parse(text), driver=driver, driver_cuda=dcuda, arch=arch, brand=brand)


def test_real_12_1_1_string_parses_into_21_terms():
    req = rc.parse(REQUIRE_12_1_1)
    assert len(req.clauses) == 21
    assert str(req.clauses[0]) == "cuda>=12.1"
    assert str(req.clauses[1]) == "brand=tesla,driver>=470,driver<471"
    assert all(c.forward_compat for c in req.clauses[1:])


@pytest.mark.parametrize(
    "text,driver,dcuda,brand,satisfied,matched,assumed",
    [
        (REQUIRE_12_1_1, "535.104.05", "12.2", None, True, "cuda>=12.1", ()),
        (REQUIRE_12_1_1, "530.30.02", "12.1", None, True, "cuda>=12.1", ()),
        (REQUIRE_12_1_1, "470.82.01", "11.4", "tesla", True, "brand=tesla,driver>=470,driver<471", ()),
        (REQUIRE_12_1_1, "470.82.01", "11.4", None, True, "brand=tesla,driver>=470,driver<471", ("brand",)),
        (REQUIRE_12_1_1, "525.125.06", "12.0", "geforce", True, "brand=geforce,driver>=525,driver<526", ()),
        (REQUIRE_12_1_1, "515.65.01", "11.7", "tesla", False, None, ()),
        (REQUIRE_12_1_1, "450.80.02", "11.0", None, False, None, ()),
        (REQUIRE_11_8_0, "520.61.05", "11.8", None, True, "cuda>=11.8", ()),
        (REQUIRE_11_8_0, "515.65.01", "11.7", "tesla", False, None, ()),
        (REQUIRE_11_8_0, "510.47.03", "11.6", "tesla", False, None, ()),
        (REQUIRE_11_8_0, "470.57.02", "11.4", "tesla", True, "brand=tesla,driver>=470,driver<471", ()),
        ("cuda>=12.1", "530.30.02", "12.1", None, True, "cuda>=12.1", ()),
        ("cuda>12.1", "530.30.02", "12.1", None, False, None, ()),
        ("cuda<12", "470.82.01", "11.4", None, True, "cuda<12", ()),
        ("cuda<=12.0", "525.60.13", "12.0", None, True, "cuda<=12.0", ()),
        ("cuda=12.2", "535.104.05", "12.2", None, True, "cuda=12.2", ()),
        ("cuda!=12.2", "535.104.05", "12.2", None, False, None, ()),
        ("driver>=535.104.5", "535.104.05", "12.2", None, True, "driver>=535.104.5", ()),
        ("driver>=535.104", "535.54.03", "12.2", None, False, None, ()),
        ("brand!=geforce", "535.54.03", "12.2", "tesla", True, "brand!=geforce", ()),
        ("", "535.54.03", "12.2", None, True, None, ()),
        ("   ", "535.54.03", "12.2", None, True, None, ()),
        ("foo>=1 cuda>=13.0", "535.54.03", "12.2", None, False, None, ()),  # unknown property skipped
        ("foo>=1", "535.54.03", "12.2", None, True, None, ()),  # nothing left: always satisfied
        ("cuda>=11.0,foo=bar", "470.82.01", "11.4", None, True, "cuda>=11.0", ()),
        ("cuda>=11.0  cuda>=13.0", "470.82.01", "11.4", None, True, "cuda>=11.0", ()),  # double space: empty term
        ("cuda>=12.0.0-rc1", "525.60.13", "12.0", None, True, "cuda>=12.0.0-rc1", ()),
    ],
)
def test_evaluation_table(text, driver, dcuda, brand, satisfied, matched, assumed):
    result = _eval(text, driver, dcuda, brand=brand)
    assert result.satisfied is satisfied
    assert (str(result.matched) if result.matched else None) == matched
    assert result.assumed == assumed


def test_arch_property_uses_the_gpu_cc():
    assert _eval("arch>=8.0", "535.54.03", "12.2", arch="9.0").satisfied
    assert not _eval("arch>=8.0", "535.54.03", "12.2", arch="7.5").satisfied
    assert _eval("arch>=8.0", "535.54.03", "12.2").assumed == ("arch",)


def test_unmet_lists_the_failing_condition_of_each_term():
    result = _eval(REQUIRE_11_8_0, "515.65.01", "11.7", brand="tesla")
    assert result.unmet[0] == "cuda>=11.8" and result.unmet[1] == "driver<471"


def test_forward_compat_match_is_flagged():
    assert _eval(REQUIRE_12_1_1, "470.82.01", "11.4").via_forward_compat
    assert not _eval(REQUIRE_12_1_1, "535.104.05", "12.2").via_forward_compat


@pytest.mark.parametrize(
    "cuda_version,expected",
    [("11.0.3", "cuda>=11.0"), ("12.1.1", "cuda>=12.1"), ("10.2", "cuda>=10.2")],
)
def test_legacy_image_implies_cuda_major_minor(cuda_version, expected):
    req = rc.implied_by_cuda_version(cuda_version)
    assert req.implied and req.text == expected


@pytest.mark.parametrize(
    "text",
    [
        "cuda",  # no operator character
        "cuda12.1",
        "cuda>=",  # empty version
        "cuda>=12.x",
        "cuda>=012.1",  # semver: no leading zeros
        "cuda!12.1",  # '!' alone is no operator
        "driver>=abc",
        "arch=>8.0",
        "cuda>=12.1 brand",
        "brand!tesla",
        "cuda>=12.1.1.1",
        "driver>=535.104.05",  # Go's semver rejects the leading zero, so the runtime errors too
    ],
)
def test_malformed_strings_are_bad_input(text):
    with pytest.raises(BadInput) as exc:
        rc.parse(text)
    assert "\n" not in str(exc.value)


def test_legacy_malformed_cuda_version_is_bad_input():
    with pytest.raises(BadInput):
        rc.implied_by_cuda_version("latest")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="cudabrnivetsl0123456789.,<>=! -xyz", max_size=40))
def test_only_bad_input_escapes_parse_and_evaluate(text):
    try:
        req = rc.parse(text)
    except BadInput:
        return
    result = rc.evaluate(req, driver="535.104.05", driver_cuda="12.2", arch="9.0", brand="tesla")
    assert isinstance(result.satisfied, bool)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_only_bad_input_escapes_parse_on_any_text(text):
    try:
        rc.parse(text)
    except BadInput:
        pass


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("cuda>=11.0", "cuda>=11.0"),
        ("cuda>=12.1 brand=tesla,driver>=470,driver<471 brand=geforce,driver>=525,driver<526",
         "cuda>=12.1 or driver branch 470, 525 with forward compatibility"),
        ("cuda>=11.0,driver>=450 arch=8.0", "cuda>=11.0,driver>=450 or arch=8.0"),
    ],
)
def test_summary_in_a_persons_words(text, summary):
    from launchbuild.compat.requirecuda import parse, summary as summarize

    assert summarize(parse(text, "test")) == summary
