"""Image-rule cases from a review: a PASS must be true and an unknown must be a finding."""

from __future__ import annotations

import dataclasses

from launchbuild.compat.catalog import RULES
from launchbuild.compat.facts.inspect import _with_table_pythons
from launchbuild.compat.facts.providers.filefacts import FileScan, facts_from_files
from launchbuild.compat.image_facts import ImageFacts
from tests.helpers_compat import ctx, cuda_image


def _run(rule_id, c):
    return [(f.severity.value, f.message) for f in RULES[rule_id].check(c)]


def test_apt_offering_no_python_is_an_error_not_a_crash():
    # Package lists present but no python3.X candidate: `apt-cache policy` answers nothing.
    img = dataclasses.replace(cuda_image("12.4.1"), apt_pythons=())
    found = _run("LB102", ctx(image=img, python="3.10"))
    assert [sev for sev, _ in found] == ["error"]
    assert "offers no python3.X package" in found[0][1]


def test_accelerator_python_not_from_apt_does_not_pass():
    # pytorch/pytorch-like: conda's 3.12 on Ubuntu 22.04, whose apt offers 3.10/3.11; the build
    # runs `apt-get install python3.12`, which fails.
    img = dataclasses.replace(cuda_image("12.4.1"), pythons=("3.12",), apt_pythons=("3.10", "3.11"))
    found = _run("LB102", ctx(image=img, python="3.12"))
    assert [sev for sev, _ in found] == ["error"]
    assert "not apt's" in found[0][1]


def test_accelerator_python_that_apt_offers_passes():
    img = dataclasses.replace(cuda_image("12.4.1"), pythons=("3.10",), apt_pythons=("3.10", "3.11"))
    assert _run("LB102", ctx(image=img, python="3.10")) == []


def test_a_usr_bin_python_counts_as_apt_offered_over_the_table():
    # A deadsnakes-style /usr/bin/python3.12 on a slim image (lists deleted): the table does not
    # list 3.12, but the image's own apt source does.
    scan = FileScan(where="probe container", os_release="ID=ubuntu\nVERSION_ID=22.04\n", apt_get="/usr/bin/apt-get",
                    python_paths=("/usr/bin/python3.12", "/opt/conda/bin/python3.13"))
    facts, sources = facts_from_files(scan)
    img = _with_table_pythons(ImageFacts(reference="x", provider="docker", fact_sources=tuple(sources.items()), **facts))
    assert img.system_pythons == ("3.12",)
    assert img.apt_pythons == ("3.10", "3.11", "3.12")
    assert _run("LB102", ctx(image=img, python="3.12", accelerator=True)) == []
    assert [s for s, _ in _run("LB102", ctx(image=img, python="3.13", accelerator=True))] == ["error"]


def test_python_base_image_without_python_is_an_error():
    # `--python-base-image debian:12`: the build's `python3.11 -m venv` finds no interpreter.
    img = ImageFacts(reference="debian:12", provider="docker", os_id="debian", os_version="12", has_apt=True,
                     architecture="amd64", fact_sources=(("pythons", "probe container python3.X on PATH"),))
    found = _run("LB102", ctx(image=img, python="3.11", accelerator=False))
    assert [sev for sev, _ in found] == ["error"]
    assert "no Python interpreter" in found[0][1]


def test_python_base_image_with_unknown_pythons_is_lb211():
    img = ImageFacts(reference="x:1", provider="docker", architecture="amd64")
    assert [s for s, _ in _run("LB211", ctx(image=img, python="3.11", accelerator=False))] == ["warning"]


def test_derivative_without_a_table_row_is_lb211():
    # Linux Mint (ID_LIKE=ubuntu), lists deleted: nothing knows what its apt offers.
    img = ImageFacts(reference="mint:21", provider="docker", os_id="linuxmint", os_id_like=("ubuntu", "debian"),
                     os_version="21.3", os_codename="virginia", has_apt=True, architecture="amd64",
                     cuda_version="12.4.1", fact_sources=(("pythons", "probe"),))
    found = _run("LB211", ctx(image=img, python="3.11", accelerator=True))
    assert any("which Pythons apt offers on linuxmint 21.3" in m for _, m in found)


def test_debian_version_only_is_lb211():
    img = ImageFacts(reference="nameless:1", provider="docker", debian_version="12.5", has_apt=True,
                     architecture="amd64", fact_sources=(("pythons", "probe"),))
    found = _run("LB211", ctx(image=img, python="3.11", accelerator=True))
    assert any("which Pythons apt offers on an unnamed release" in m for _, m in found)


def test_accelerator_with_unreadable_files_is_lb211():
    # No /bin/sh to probe with: neither the OS nor apt-get is known, LB101/LB102 cannot decide.
    img = ImageFacts(reference="scratchy:1", provider="docker", architecture="amd64", cuda_version="12.4.1")
    found = _run("LB211", ctx(image=img, python="3.11", accelerator=True))
    assert any("has apt-get" in m for _, m in found)
    assert _run("LB101", ctx(image=img, python="3.11", accelerator=True)) == []


def test_architecture_spelled_like_uname_is_the_same_architecture():
    # A config saying x86_64/aarch64 (the provider's own platform check already accepts it).
    assert _run("LB103", ctx(image=dataclasses.replace(cuda_image("12.4.1"), architecture="x86_64"))) == []
    assert _run("LB103", ctx(image=dataclasses.replace(cuda_image("12.4.1"), architecture="aarch64"),
                             platform="linux/arm64")) == []
    assert [s for s, _ in _run("LB103", ctx(image=dataclasses.replace(cuda_image("12.4.1"), architecture="aarch64")))] == ["error"]


class _Stream:
    def __init__(self, chunks):
        self.chunks, self.closed = chunks, False

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed = True


class _Container:
    def __init__(self, chunks):
        self.stream = _Stream(chunks)

    def logs(self, **kw):
        assert kw.get("stream") is True  # never the whole output in one read
        return self.stream


def test_probe_output_is_bounded():
    # A hostile image's /bin/sh may print gigabytes: reading stops at the bound, one line.
    import pytest

    from launchbuild.compat.facts.providers import docker as docker_provider
    from launchbuild.compat.facts.providers.base import ProviderUnavailable

    small = _Container([b"@@os-release\n", b"ID=debian\n", b"@@end\n"])
    assert docker_provider._bounded_logs(small) == b"@@os-release\nID=debian\n@@end\n"
    assert small.stream.closed
    big = _Container(b"A" * (64 * 1024) for _ in range(10_000))
    with pytest.raises(ProviderUnavailable, match="more than"):
        docker_provider._bounded_logs(big, limit=1024 * 1024)
    assert big.stream.closed


def test_a_toolkit_that_is_not_the_cuda_version_the_image_names_is_said():
    # CUDA_VERSION=12.4.1 over an 11.7 toolkit in /usr/local/cuda: the rules go by the env, so
    # whatever uses the toolkit itself would be judged on the wrong CUDA without a word.
    from launchbuild.compat.facts.providers.filefacts import merge_facts

    files = facts_from_files(FileScan(where="probe container", cuda_version_json='{"cuda": {"name": "CUDA SDK", "version": "11.7.1"}}'))
    facts, sources = merge_facts(files, ({"cuda_version": "12.4.1"}, {"cuda_version": "config env CUDA_VERSION"}))
    assert facts["cuda_version"] == "12.4.1" and facts["cuda_toolkit_version"] == "11.7.1"
    img = dataclasses.replace(cuda_image("12.4.1"), cuda_toolkit_version="11.7.1",
                              fact_sources=tuple(sorted(sources.items())))
    warned = [m for sev, m in _run("LB211", ctx(image=img)) if "version file" in m]
    assert len(warned) == 1 and "12.4" in warned[0] and "11.7" in warned[0]
    # The same release (another patch level, or no version file) is nothing to say.
    for same in ("12.4.131", None):
        quiet = dataclasses.replace(cuda_image("12.4.1"), cuda_toolkit_version=same)
        assert not [m for _, m in _run("LB211", ctx(image=quiet)) if "version file" in m]
