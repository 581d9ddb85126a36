"""One platform vocabulary (core/platform.py): the spellings accepted, the names each side
uses (docker arch, wheel CPU), and the host's, agree everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.core.platform import (
    SUPPORTED_PLATFORMS, Platform, docker_arch, host_arch, host_machine, parse_platform, wheel_machine,
)
from launchbuild.errors import BadInput


@pytest.mark.parametrize(("text", "canonical", "arch", "machine"), [
    ("linux/amd64", "linux/amd64", "amd64", "x86_64"),
    ("Linux/X86_64", "linux/amd64", "amd64", "x86_64"),
    ("linux/x86-64", "linux/amd64", "amd64", "x86_64"),
    ("linux/arm64/v8", "linux/arm64", "arm64", "aarch64"),
    ("linux/aarch64", "linux/arm64", "arm64", "aarch64"),
])
def test_spellings_normalise_to_one_name_per_side(text: str, canonical: str, arch: str, machine: str) -> None:
    assert parse_platform(text) == canonical
    assert (docker_arch(text), wheel_machine(text)) == (arch, machine)


@pytest.mark.parametrize("text", ["linux/s390x", "linux/ppc64le", "linux/arm/v7", "windows/amd64", "amd64", "", None, "linux/amd64/v2"])
def test_unsupported_platforms_name_the_supported_ones(text: object) -> None:
    with pytest.raises(BadInput) as err:
        parse_platform(text, "job.yaml: platform")
    assert str(err.value).startswith("job.yaml: platform") and "linux/amd64 or linux/arm64" in str(err.value)


def test_host_names_agree() -> None:
    arch = host_arch()
    assert host_machine() == ({"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="linux/amd64rm-_x8v2AL", max_size=20))
def test_parse_platform_accepts_only_supported_and_is_idempotent(text: str) -> None:
    try:
        canonical = parse_platform(text)
    except BadInput as exc:
        assert "\n" not in str(exc)
        return
    assert canonical in SUPPORTED_PLATFORMS and parse_platform(canonical) == canonical
    assert str(Platform.parse(canonical)) == canonical
