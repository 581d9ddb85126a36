"""Images launchbuild did not build: `check image:REF` reads the Python and the installed
distributions (dist-info METADATA) from the layers the engine or the registry streams,
without running the image, and checks them like a built job."""

from __future__ import annotations

import io
import json
import os
import subprocess
import uuid

import pytest

from tests.helpers_testenv import REGISTRY, STANDIN_IMAGES

pytestmark = pytest.mark.docker

SITE = "/usr/local/lib/python3.11/site-packages"
# dist-info as pip writes it for the PyTorch index's torch 2.0.1 (CUDA 11.7 build): no sm_90 kernels.
DOCKERFILE = f"""FROM {STANDIN_IMAGES['python']}
RUN mkdir -p {SITE}/torch-2.0.1+cu117.dist-info \\
 && printf 'Metadata-Version: 2.1\\nName: torch\\nVersion: 2.0.1+cu117\\nSummary: Tensors\\n\\n' > {SITE}/torch-2.0.1+cu117.dist-info/METADATA \\
 && printf 'pip\\n' > {SITE}/torch-2.0.1+cu117.dist-info/INSTALLER
"""


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["launchbuild", *args, "--progress", "quiet", "-f", "json"], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NO_COLOR": "1", **(env or {})})


@pytest.fixture(scope="module")
def foreign_image(docker_client, standin_images, local_registry):
    tag = f"{REGISTRY}/launchbuild-it/foreign-torch:{uuid.uuid4().hex[:8]}"
    image, _ = docker_client.images.build(fileobj=io.BytesIO(DOCKERFILE.encode()), tag=tag, rm=True, network_mode="none")
    repo, version = tag.rsplit(":", 1)
    for chunk in docker_client.images.push(repo, tag=version, stream=True, decode=True):
        assert "error" not in chunk, chunk
    yield tag
    docker_client.images.remove(tag, force=True)


def test_torch_in_the_layers_is_checked_against_the_gpu(foreign_image, docker_client, tmp_path):
    fresh = {"XDG_CACHE_HOME": str(tmp_path / "x"), "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "c")}
    result = cli("check", f"image:{foreign_image}", "--gpu", "H100", env=fresh)
    doc = json.loads(result.stdout)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LB203" in {f["rule"] for f in doc["findings"]}  # cu117 torch has no sm_90 kernels
    assert doc["environment"]["input_kind"] == "installed distributions"
    assert doc["target"]["python"]["value"] == "3.11" and "dist-info" in doc["target"]["python"]["detail"]
    a100 = cli("check", f"image:{foreign_image}", "--gpu", "A100", env=fresh)
    assert a100.returncode == 0, json.loads(a100.stdout)["findings"]


def test_the_same_from_the_registry_without_pulling(foreign_image, docker_client, tmp_path):
    docker_client.images.remove(foreign_image)
    try:
        fresh = {"XDG_CACHE_HOME": str(tmp_path / "x"), "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "c")}
        doc = json.loads(cli("check", f"image:{foreign_image}", "--gpu", "H100", env=fresh).stdout)
        assert doc["image"]["provider"] == "registry"
        assert "LB203" in {f["rule"] for f in doc["findings"]}
    finally:
        docker_client.images.pull(*foreign_image.rsplit(":", 1))


def test_an_image_without_python_fails_lb102(standin_images):
    result = cli("check", f"image:{standin_images['cuda121']}")
    doc = json.loads(result.stdout)
    assert result.returncode == 1 and "LB102" in {f["rule"] for f in doc["findings"]}, doc["findings"]
