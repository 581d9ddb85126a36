"""Image facts from the real Docker engine (stand-in images) and the real local registry
(127.0.0.1:5055), the fact cache, and probe containers that never outlive a call.
Needs `bash scripts/testenv.sh up`."""

from __future__ import annotations

import dataclasses
import io
import os

import pytest

from launchbuild.compat.facts.inspect import inspect_image
from launchbuild.compat.facts.providers import docker as docker_provider
from launchbuild.compat.facts.providers.base import ProviderUnavailable
from launchbuild.core.imageref import parse_image_ref
from launchbuild.core.platform import Platform

pytestmark = pytest.mark.docker

from tests.helpers_testenv import REGISTRY, STANDIN_IMAGES as STANDINS


@pytest.fixture(scope="module")
def engine(docker_client, standin_images):
    # conftest's fixtures FAIL (never skip) without the engine or the stand-ins: CI must run these.
    client = docker_provider.connect()
    yield client
    assert no_probe_left(client), "probe containers were left behind"


@pytest.fixture
def probes(monkeypatch):
    """Counts probe containers started (the real probe still runs)."""
    calls = []
    real = docker_provider.run_probe

    def counting(client, image_id, **kw):
        calls.append(image_id)
        return real(client, image_id, **kw)

    monkeypatch.setattr(docker_provider, "run_probe", counting)
    return calls


def no_probe_left(client):
    # This process's probes only: other builds share the engine and probe at the same time.
    mine = [docker_provider.PROBE_LABEL, f"{docker_provider.OWNER_LABEL}={os.getpid()}"]
    return client.containers.list(all=True, filters={"label": mine}) == []


def test_debian_standin(engine, tmp_path):
    facts = inspect_image(STANDINS["debian"], providers=("docker",), cache_dir=tmp_path)
    assert facts.provider == "docker" and facts.attempts == ()
    assert (facts.os_id, facts.os_version, facts.os_codename) == ("debian", "12", "bookworm")
    assert facts.debian_version.startswith("12.")
    assert facts.has_apt is True and facts.debian_compatible is True
    assert facts.glibc == "2.36" and facts.architecture == "amd64"
    assert facts.pythons == () and facts.has_nvcc is False and facts.cuda_version is None
    assert "3.11" in facts.apt_pythons
    assert facts.image_id == engine.images.get(STANDINS["debian"]).id
    assert facts.source_of("os_id") == "probe container /etc/os-release ID"
    assert no_probe_left(engine)


def test_python_standin_has_python_311(engine, tmp_path):
    facts = inspect_image(STANDINS["python"], providers=("docker",), cache_dir=tmp_path)
    assert "3.11" in facts.pythons
    assert facts.debian_compatible is True


@pytest.mark.parametrize(("key", "cuda", "cudnn", "require"), [
    ("cuda121", "12.1.1", "8.9.0.131", "cuda>=12.1 "),
    ("cuda118", "11.8.0", "8.9.6.50", "cuda>=11.8 "),
])
def test_cuda_standins(engine, tmp_path, key, cuda, cudnn, require):
    facts = inspect_image(STANDINS[key], providers=("docker",), cache_dir=tmp_path)
    assert facts.cuda_version == cuda and facts.cudnn_version == cudnn
    assert facts.require_cuda.startswith(require)
    assert facts.source_of("cuda_version") == "image config env CUDA_VERSION"  # version.json agrees
    assert facts.pythons == () and facts.has_nvcc is False and facts.has_apt is True


def test_cuda_version_json_is_read_through_the_cuda_symlink(engine):
    image = engine.images.get(STANDINS["cuda118"])
    scan = docker_provider.parse_probe_output(docker_provider.run_probe(engine, image.id))
    assert '"version": "11.8.0"' in scan.cuda_version_json
    assert no_probe_left(engine)


def test_busybox_is_not_debian_compatible(engine, tmp_path):
    facts = inspect_image(STANDINS["busybox"], providers=("docker",), cache_dir=tmp_path)
    assert facts.has_apt is False and facts.debian_compatible is False
    assert facts.os_id is None and facts.glibc is None and facts.pythons == ()


@pytest.mark.parametrize("key", list(STANDINS))
def test_registry_provider_matches_the_daemon_without_asking_it(engine, local_registry, tmp_path, monkeypatch, key):
    ref = f"{REGISTRY}/{STANDINS[key]}"
    from_daemon = inspect_image(ref, providers=("docker",), cache_dir=tmp_path / "d")
    import docker

    def refuse(*a, **k):
        raise AssertionError("the registry provider asked the Docker engine")

    monkeypatch.setattr(docker, "from_env", refuse)
    monkeypatch.setattr(docker, "DockerClient", refuse)
    from_registry = inspect_image(ref, providers=("registry",), cache_dir=tmp_path / "r")
    assert from_registry.provider == "registry"
    ignore = {"provider", "fact_sources", "attempts"}
    a, b = dataclasses.asdict(from_daemon), dataclasses.asdict(from_registry)
    assert {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}


def test_registry_says_not_found_for_a_missing_tag(local_registry, tmp_path):
    from launchbuild.compat.facts.inspect import ImageNotFound

    with pytest.raises(ImageNotFound, match="image or tag not found"):
        inspect_image(f"{REGISTRY}/launchbuild-test/debian:does-not-exist", cache_dir=tmp_path)


def test_warm_lookup_costs_one_inspect_and_no_probe(engine, tmp_path, probes):
    first = inspect_image(STANDINS["cuda121"], cache_dir=tmp_path)
    assert len(probes) == 1 and not first.from_cache
    second = inspect_image(STANDINS["cuda121"], cache_dir=tmp_path)
    assert len(probes) == 1 and second.from_cache
    assert dataclasses.replace(second, from_cache=False) == first
    offline = inspect_image(STANDINS["cuda121"], offline=True, cache_dir=tmp_path)
    assert offline.cuda_version == "12.1.1" and len(probes) == 1


def test_image_without_a_shell_gives_inspect_only_facts(engine, tmp_path):
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"FROM scratch\nCOPY hello /hello\nENV CUDA_VERSION=12.4.1\n"
        for name, content in (("Dockerfile", data), ("hello", b"hi\n")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    buf.seek(0)
    image, _ = engine.images.build(fileobj=buf, custom_context=True, tag="launchbuild-it/facts-scratch:1", rm=True)
    try:
        facts = inspect_image("launchbuild-it/facts-scratch:1", providers=("docker",), cache_dir=tmp_path)
        assert facts.cuda_version == "12.4.1" and facts.architecture == "amd64"
        assert facts.has_apt is None and facts.os_id is None and facts.debian_compatible is None
        assert any("no /bin/sh" in why for _, why in facts.attempts)
        assert no_probe_left(engine)
    finally:
        engine.images.remove(image.id, force=True)


def test_probe_timeout_removes_the_container(engine, monkeypatch):
    # A probe that never ends on its own: only the timeout can stop it.
    monkeypatch.setattr(docker_provider, "PROBE_SCRIPT", "while :; do sleep 1; done")
    image = engine.images.get(STANDINS["busybox"])
    with pytest.raises(ProviderUnavailable, match="ran past 2s"):
        docker_provider.run_probe(engine, image.id, timeout=2)
    assert no_probe_left(engine)


def test_ctrl_c_during_the_probe_removes_the_container(engine, monkeypatch):
    from docker.models.containers import Container

    def interrupted(self, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(Container, "wait", interrupted)
    image = engine.images.get(STANDINS["debian"])
    with pytest.raises(KeyboardInterrupt):
        docker_provider.read_facts(parse_image_ref(STANDINS["debian"]), Platform.parse("linux/amd64"), client=engine)
    assert no_probe_left(engine)
    assert image.id


def test_image_not_local_falls_through_to_the_registry(engine, tmp_path):
    from tests.fakeregistry import FakeRegistry

    with FakeRegistry() as reg:
        reg.add_image("team/remote-only", "1", layers=[{"etc/os-release": "ID=debian\nVERSION_ID=12\n",
                                                        "usr/bin/apt-get": b"ELF"}])
        facts = inspect_image(f"{reg.host}/team/remote-only:1", cache_dir=tmp_path)
    assert facts.provider == "registry"
    assert dict(facts.attempts)["docker"].endswith("is not present in the local Docker engine")
    assert facts.os_id == "debian" and facts.has_apt is True and facts.apt_pythons == ("3.11",)


def test_a_cudnn_installed_without_its_env_is_read_from_its_library_files(engine, local_registry, tmp_path):
    """cuDNN put in by apt or a tarball sets no NV_CUDNN_VERSION: the library's file name tells
    its version, in the probe and in the registry's layers alike."""
    import subprocess

    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {STANDINS['debian']}\n"
        "ENV CUDA_VERSION=12.4.1\n"
        "RUN mkdir -p /usr/lib/x86_64-linux-gnu && : > /usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0 && "
        "ln -s libcudnn.so.9.1.0 /usr/lib/x86_64-linux-gnu/libcudnn.so.9 && "
        # a pip wheel's copy is not the system cuDNN the loader finds
        "mkdir -p /opt/venv/nvidia/cudnn/lib && : > /opt/venv/nvidia/cudnn/lib/libcudnn.so.8.9.7\n")
    tag = "launchbuild-it/facts-cudnn-files:1"
    remote = f"{REGISTRY}/{tag}"
    subprocess.run(["docker", "build", "-q", "-t", tag, "-t", remote, str(context)], check=True,
                   capture_output=True, timeout=300)
    try:
        subprocess.run(["docker", "push", "-q", remote], check=True, capture_output=True, timeout=300)
        local = inspect_image(tag, providers=("docker",), cache_dir=tmp_path / "d")
        assert local.cudnn_version == "9.1.0"
        assert any(name == "cudnn_version" and "libcudnn.so.9.1.0" in why for name, why in local.fact_sources)
        registry = inspect_image(remote, providers=("registry",), cache_dir=tmp_path / "r")
        assert registry.provider == "registry" and registry.cudnn_version == "9.1.0"
        plain = inspect_image(STANDINS["debian"], providers=("docker",), cache_dir=tmp_path / "p")
        assert plain.cudnn_version is None
    finally:
        for ref in (tag, remote):
            subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, timeout=60)
