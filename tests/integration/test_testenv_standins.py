"""The stand-in images on the real engine carry what they stand in for, and the registry holds them."""

from __future__ import annotations

import json

import pytest
import requests

from tests.helpers_testenv import STANDINS_DIR, dockerfile_env, require_cuda_branches

pytestmark = pytest.mark.docker

CUDA = {
    # key: (version, branches, cudnn)
    "cuda121": ("12.1.1", {470, 525}, "8.9.0.131"),
    "cuda118": ("11.8.0", {470}, "8.9.6.50"),
}


def _env(docker_client, ref: str) -> dict[str, str]:
    config = docker_client.images.get(ref).attrs["Config"]
    return dict(item.split("=", 1) for item in config.get("Env") or [])


def _sh(docker_client, ref: str, script: str) -> str:
    return docker_client.containers.run(ref, ["sh", "-c", script], network_mode="none", remove=True).decode()


@pytest.mark.parametrize("key", sorted(CUDA))
def test_cuda_standin_markers(docker_client, standin_images, key):
    version, branches, cudnn = CUDA[key]
    ref = standin_images[key]
    env = _env(docker_client, ref)
    source = dockerfile_env(STANDINS_DIR / f"cuda-{version}-runtime-ubuntu22.04.Dockerfile")
    assert env["NVIDIA_REQUIRE_CUDA"] == source["NVIDIA_REQUIRE_CUDA"]
    assert require_cuda_branches(env["NVIDIA_REQUIRE_CUDA"]) == branches
    assert env["CUDA_VERSION"] == version
    assert env["NV_CUDNN_VERSION"] == cudnn
    assert env["NV_CUDNN_PACKAGE"] == f"libcudnn8={cudnn}-1+cuda{version[:-2]}"
    assert env["NVARCH"] == "x86_64"
    assert env["PATH"] == "/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    labels = docker_client.images.get(ref).attrs["Config"]["Labels"]
    assert labels["com.nvidia.cudnn.version"] == cudnn

    out = _sh(
        docker_client,
        ref,
        "cat /usr/local/cuda/version.json; echo '#'; ls /usr/bin/python* /usr/local/bin/python* 2>/dev/null; echo '#'; cat /etc/debian_version",
    )
    version_json, pythons, debian_version = out.split("#\n")
    manifest = json.loads(version_json)
    assert manifest["cuda"]["version"] == version
    assert manifest["cuda_cudart"]["version"] == env["NV_CUDA_CUDART_VERSION"].rsplit("-", 1)[0]
    assert pythons.strip() == "", f"{ref} must have no Python, found {pythons!r}"
    assert debian_version.startswith("12.")


def test_python_standin_is_like_python_3_11_slim(docker_client, standin_images):
    ref = standin_images["python"]
    env = _env(docker_client, ref)
    assert env["PYTHON_VERSION"].startswith("3.11.")
    assert env["LANG"] == "C.UTF-8"
    out = _sh(
        docker_client,
        ref,
        "python --version; python3.11 --version; pip --version; "
        "python -m venv /tmp/v && /tmp/v/bin/python -c 'import sys; print(sys.prefix)'; "
        "python -c 'import sysconfig, os; print(os.path.exists(os.path.join(sysconfig.get_path(\"stdlib\"), \"EXTERNALLY-MANAGED\")))'",
    )
    lines = out.splitlines()
    assert lines[0] == f"Python {env['PYTHON_VERSION']}"
    assert lines[1] == lines[0]
    assert lines[2].startswith("pip ") and "(python 3.11)" in lines[2]
    assert lines[3] == "/tmp/v"
    assert lines[4] == "False", "pip must be allowed to install into the system Python, as in python:3.11-slim"


def test_debian_standin_is_debian_12_without_python(docker_client, standin_images):
    out = _sh(docker_client, standin_images["debian"], ". /etc/os-release; echo $ID $VERSION_ID; command -v apt-get; command -v python3 || echo no-python")
    assert out.split() == ["debian", "12", "/usr/bin/apt-get", "no-python"]


def test_busybox_standin_is_not_debian(docker_client, standin_images):
    out = _sh(
        docker_client,
        standin_images["busybox"],
        "command -v apt-get || echo no-apt; ls /etc/debian_version /etc/os-release /usr/lib/os-release 2>/dev/null || echo no-os-release; echo ok",
    )
    assert out.split() == ["no-apt", "no-os-release", "ok"]


def test_registry_holds_every_standin(docker_client, standin_images, local_registry):
    for ref in standin_images.values():
        name, tag = ref.rsplit(":", 1)
        response = requests.head(
            f"http://{local_registry}/v2/{name}/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=10,
        )
        assert response.status_code == 200, f"{local_registry}/{ref} missing"
        repo_digests = docker_client.images.get(ref).attrs["RepoDigests"]
        assert f"{local_registry}/{name}@{response.headers['Docker-Content-Digest']}" in repo_digests
