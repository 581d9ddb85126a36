"""An image built FROM a launchbuild image inherits its labels, lock included. What it then
installs or removes is not in that lock: `check image:REF` must read what is installed from
the layers instead (engine or registry), and say why. Config-only steps on top (ENV, LABEL,
CMD) leave the lock true, so the label is still used."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from tests.helpers_image import launchbuild_cli as cli
from tests.helpers_testenv import REGISTRY, STANDIN_IMAGES

pytestmark = [pytest.mark.docker, pytest.mark.network]

# CUDA 12 runtime wheels need driver >= 525: on 470 the driver rule (LB204) fails the job.
OLD_DRIVER = ["--driver", "470.57.02", "--gpu", "A100"]
SITE = "/opt/venv/lib/python3.11/site-packages"
# A distribution as an installer leaves it (dist-info with METADATA): what the layer reader sees.
ADD_CUDA12 = (
    f"RUN d={SITE}/nvidia_cuda_runtime_cu12-12.4.127.dist-info && mkdir -p $d"
    " && printf 'Metadata-Version: 2.1\\nName: nvidia-cuda-runtime-cu12\\nVersion: 12.4.127\\n' > $d/METADATA"
    " && : > $d/RECORD"
)


def derive(docker_client, base: str, steps: str, tag: str) -> str:
    dockerfile = f"FROM {base}\nUSER root\n{steps}\nUSER 1000:1000\n"
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, network_mode="none")
    return tag


@pytest.fixture(scope="module")
def images(tmp_path_factory, docker_client, standin_images, local_registry):
    job = tmp_path_factory.mktemp("derived") / "plainjob"
    job.mkdir()
    (job / "requirements.txt").write_text("six==1.17.0\n")
    (job / "train.py").write_text(f"import six\nprint('derived {uuid.uuid4().hex}')\n")
    out = job.parent / "build.json"
    result = cli("build", str(job), "--python", "3.11", "--entrypoint", "python train.py",
                 "--python-base-image", STANDIN_IMAGES["python"], "-f", "json", "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    built = json.loads(out.read_text())["build"]["tag"]
    name = f"launchbuild-it/derived-{uuid.uuid4().hex[:8]}"
    tags = {
        "built": built,
        "cuda": derive(docker_client, built, ADD_CUDA12, f"{name}:cuda"),
        "config": derive(docker_client, built, "ENV EXTRA=1\nLABEL org.example.team=ml", f"{name}:config"),
    }
    yield tags
    for tag in list(tags.values())[1:] + [f"{REGISTRY}/{name}:cuda"]:
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
    docker_client.images.remove(built, force=True)


def check(ref: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    result = cli("check", f"image:{ref}", *extra, "-f", "json", env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


def errors(doc: dict) -> set[str]:
    return {f["rule"] for f in doc["findings"] if f["severity"] == "error"}


def test_the_launchbuild_image_itself_is_checked_by_its_label(images):
    rc, doc = check(images["built"], *OLD_DRIVER)
    assert rc == 0 and doc["environment"]["input_kind"] == "image label", doc["findings"]


def test_a_derived_image_is_checked_by_what_it_installs_not_the_inherited_lock(images):
    rc, doc = check(images["cuda"], *OLD_DRIVER)
    assert rc == 1 and "LB204" in errors(doc), doc["findings"]
    env = doc["environment"]
    assert env["input_kind"] == "installed distributions"
    assert "adds 1 layer over the launchbuild image" in env["input"]["reason"]
    assert {"six", "nvidia-cuda-runtime-cu12"} <= {p["name"] for p in env["lock"]["packages"]}


def test_config_only_steps_keep_the_label(images):
    rc, doc = check(images["config"], *OLD_DRIVER)
    assert rc == 0 and doc["environment"]["input_kind"] == "image label", doc["findings"]


def test_a_derived_image_in_the_registry_is_read_from_its_config_history(images, docker_client, tmp_path):
    remote = f"{REGISTRY}/{images['cuda'].split(':')[0]}:cuda"
    docker_client.images.get(images["cuda"]).tag(remote)
    docker_client.images.push(remote)
    docker_client.images.remove(remote)  # only the registry has this reference now
    fresh = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "lb")}
    rc, doc = check(remote, *OLD_DRIVER, env=fresh)
    assert doc["image"]["provider"] == "registry", doc["image"]
    assert rc == 1 and "LB204" in errors(doc), doc["findings"]
    assert doc["environment"]["input_kind"] == "installed distributions"
