"""inspect_image's orchestration (provider order, fall-through, not-found, cache, offline),
the fact cache, and the NVML reader. Providers are replaced here; the real ones are
exercised in tests/integration/test_facts_*.py."""

from __future__ import annotations

import dataclasses
import json
import sys
import types

import pytest

from launchbuild.compat.facts import inspect as inspect_mod
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.compat.facts.factcache import FactCache, from_json, to_json
from launchbuild.compat.facts.inspect import distro_apt_pythons, inspect_image
from launchbuild.compat.facts.nvml import NoLocalGpu, local_gpus
from launchbuild.compat.facts.providers.base import (
    ImageNotFound,
    ProviderUnavailable,
    RegistryAuthError,
    RegistryIntegrityError,
)
from launchbuild.errors import BadInput, InfraUnavailable

IMAGE_ID = "sha256:" + "c" * 64


def sheet(provider="docker", **kw):
    base = dict(reference="x", provider=provider, image_id=IMAGE_ID, os_id="debian", os_version="12",
                has_apt=True, architecture="amd64", pythons=("3.11",), fact_sources=(("os_id", "probe"),))
    base.update(kw)
    return ImageFacts(**base)


@pytest.fixture
def providers(monkeypatch):
    """Replace the docker and registry providers with scripted answers."""
    script = {"docker": ProviderUnavailable("no Docker engine answers"), "registry": ProviderUnavailable("unreachable")}
    calls = []

    def fake(name):
        def read(ref, platform, *, client=None, cached=None, **_):
            calls.append(name)
            answer = script[name]
            if isinstance(answer, BaseException):
                raise answer
            if cached is not None and answer.image_id:
                hit = cached(answer.image_id)
                if hit is not None:
                    return hit
            return answer
        return read

    monkeypatch.setattr(inspect_mod.docker_provider, "read_facts", fake("docker"))
    from launchbuild.compat.facts.providers import registry as registry_provider  # imported by inspect when asked

    monkeypatch.setattr(registry_provider, "read_facts", fake("registry"))
    return script, calls


def test_first_provider_that_answers_wins(providers, tmp_path):
    script, calls = providers
    script["docker"] = sheet()
    facts = inspect_image("team/app:1", cache_dir=tmp_path)
    assert facts.provider == "docker" and calls == ["docker"]
    assert facts.reference == "team/app:1"


def test_unavailable_providers_fall_through_to_inference_with_reasons(providers, tmp_path):
    facts = inspect_image("nvidia/cuda:12.1.1-runtime-ubuntu22.04", cache_dir=tmp_path)
    assert facts.provider == "inferred" and facts.cuda_version == "12.1.1"
    assert dict(facts.attempts) == {"docker": "no Docker engine answers", "registry": "unreachable"}
    assert facts.apt_pythons == ("3.10", "3.11")  # from the per-distro table


def test_registry_not_found_ends_the_search_even_for_a_known_name(providers, tmp_path):
    script, _ = providers
    script["registry"] = ImageNotFound("image or tag not found: nvidia/cuda:99.0-runtime-ubuntu22.04")
    with pytest.raises(ImageNotFound) as err:
        inspect_image("nvidia/cuda:99.0-runtime-ubuntu22.04", cache_dir=tmp_path)
    assert isinstance(err.value, BadInput) and err.value.exit_code == 2


def test_integrity_errors_are_never_papered_over(providers, tmp_path):
    script, _ = providers
    script["registry"] = RegistryIntegrityError("digest mismatch in the config blob")
    with pytest.raises(RegistryIntegrityError):
        inspect_image("python:3.11", cache_dir=tmp_path)


def test_nothing_answers_for_an_unknown_name(providers, tmp_path):
    with pytest.raises(InfraUnavailable) as err:
        inspect_image("team/app:1", cache_dir=tmp_path)
    assert err.value.exit_code == 3
    assert "docker: no Docker engine answers" in str(err.value) and "registry: unreachable" in str(err.value)


def test_auth_failure_is_named_when_nothing_else_answers(providers, tmp_path):
    script, _ = providers
    script["registry"] = RegistryAuthError("registry ghcr.io requires credentials for ghcr.io/team/app:1: run docker login ghcr.io")
    with pytest.raises(InfraUnavailable) as err:
        inspect_image("ghcr.io/team/app:1", cache_dir=tmp_path)
    assert str(err.value).startswith("registry ghcr.io requires credentials")


def test_local_image_of_another_platform_falls_through_but_is_kept_for_lb103(providers, tmp_path):
    script, calls = providers
    script["docker"] = sheet(architecture="arm64")
    facts = inspect_image("team/app:1", cache_dir=tmp_path)
    assert calls == ["docker", "registry"]
    assert facts.architecture == "arm64"
    assert "not linux/amd64" in dict(facts.attempts)["docker"]


def test_cache_then_offline(providers, tmp_path):
    script, calls = providers
    script["docker"] = sheet()
    first = inspect_image("team/app:1", cache_dir=tmp_path)
    assert not first.from_cache
    second = inspect_image("team/app:1", cache_dir=tmp_path)
    assert second.from_cache and dataclasses.replace(second, from_cache=False) == first
    calls.clear()
    offline = inspect_image("docker.io/team/app:1", offline=True, cache_dir=tmp_path)
    assert calls == [] and offline.from_cache and offline.os_id == "debian"
    with pytest.raises(InfraUnavailable, match="--offline"):
        inspect_image("team/other:1", offline=True, cache_dir=tmp_path)
    assert inspect_image("ubuntu:22.04", offline=True, cache_dir=tmp_path).provider == "inferred"


def test_probe_failures_are_not_cached(providers, tmp_path):
    script, _ = providers
    script["docker"] = sheet(attempts=(("docker", "file facts unknown: the probe container ran past 60s"),))
    inspect_image("team/app:1", cache_dir=tmp_path)
    assert FactCache(tmp_path).get(IMAGE_ID) is None


@pytest.mark.parametrize("kwargs", [dict(platform="linux"), dict(platform="linux/amd64/v1/x"),
                                    dict(providers=("daemon",)), dict(providers=())])
def test_bad_arguments_are_bad_input(kwargs, tmp_path):
    with pytest.raises(BadInput):
        inspect_image("ubuntu:22.04", cache_dir=tmp_path, **kwargs)


def test_cache_round_trip_and_damage(tmp_path):
    cache = FactCache(tmp_path)
    facts = sheet(env=(("A", "1"),), attempts=(("docker", "x"),), apt_pythons=("3.11",))
    assert from_json(json.loads(json.dumps(to_json(facts)))) == facts
    cache.put(facts, references=("docker.io/team/app:1",), platform="linux/amd64")
    assert cache.get_by_ref("docker.io/team/app:1", "linux/amd64") == dataclasses.replace(facts, from_cache=True)
    assert cache.get_by_ref("docker.io/team/app:1", "linux/arm64") is None
    for path in (tmp_path / "by-id").iterdir():
        path.write_text("{not json")
    assert cache.get(IMAGE_ID) is None
    assert cache.get("not-a-digest") is None
    cache.put(sheet(image_id=None), references=("r",), platform="p")  # no digest: nothing stored


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path))
    assert FactCache().root == tmp_path / "facts"


@pytest.mark.parametrize(("os_id", "version", "codename", "expected"), [
    ("debian", "12", None, ("3.11",)),
    ("debian", None, "bullseye", ("3.9",)),
    ("ubuntu", "22.04", None, ("3.10", "3.11")),
    ("alpine", "3.19", None, None),
    (None, None, None, None),
])
def test_distro_table(os_id, version, codename, expected):
    assert distro_apt_pythons(os_id, version, codename) == expected


class FakeNvmlError(Exception):
    pass


def fake_pynvml(names=("NVIDIA H100 80GB HBM3",), driver=b"550.54.15", init_error=None):
    module = types.ModuleType("pynvml")
    module.NVMLError = FakeNvmlError
    state = {"shutdown": 0}

    def init():
        if init_error:
            raise FakeNvmlError(init_error)

    module.nvmlInit = init
    module.nvmlShutdown = lambda: state.__setitem__("shutdown", state["shutdown"] + 1)
    module.nvmlSystemGetDriverVersion = lambda: driver
    module.nvmlDeviceGetCount = lambda: len(names)
    module.nvmlDeviceGetHandleByIndex = lambda i: i
    module.nvmlDeviceGetName = lambda h: names[h]
    module.state = state
    return module


def test_local_gpus(monkeypatch):
    module = fake_pynvml(names=("NVIDIA A100-SXM4-40GB", b"NVIDIA A100-SXM4-40GB"))
    monkeypatch.setitem(sys.modules, "pynvml", module)
    assert local_gpus() == (("NVIDIA A100-SXM4-40GB", "NVIDIA A100-SXM4-40GB"), "550.54.15")
    assert module.state["shutdown"] == 1


@pytest.mark.parametrize("module", [None, fake_pynvml(init_error="Driver Not Loaded"), fake_pynvml(names=())])
def test_no_local_gpu_is_bad_input_with_the_fix(monkeypatch, module):
    monkeypatch.setitem(sys.modules, "pynvml", module)  # None makes the import fail
    with pytest.raises(NoLocalGpu) as err:
        local_gpus()
    assert err.value.exit_code == 2
    assert "launchbuild[gpu]" in str(err.value) and "--gpu auto" in str(err.value)
