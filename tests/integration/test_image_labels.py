"""A launchbuild image carries its lock, the facts it was checked against and the rule set
in its labels; `check image:REF` (engine or registry, nothing pulled) runs the job check's
rules on them: the image of a job whose check failed with LB204 fails the same way."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.helpers_image import launchbuild_cli as cli
from tests.helpers_testenv import REGISTRY, STANDIN_IMAGES

pytestmark = [pytest.mark.docker, pytest.mark.network]

OLD_DRIVER = ["--driver", "470.57.02", "--gpu", "T4"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, docker_client, standin_images, local_registry):
    job = tmp_path_factory.mktemp("labels") / "cudajob"
    job.mkdir()
    # A small wheel that bundles CUDA 12.1: the driver rule (LB204) has something to say.
    (job / "requirements.txt").write_text("nvidia-cuda-runtime-cu12==12.1.105\n")
    (job / "train.py").write_text(f"print('labels {uuid.uuid4().hex}')\n")
    (job / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    repo = f"{REGISTRY}/launchbuild-it/labels-{uuid.uuid4().hex[:8]}"
    out = job.parent / "build.json"
    result = cli("build", str(job), "--python-base-image", STANDIN_IMAGES["python"], "--push", repo,
                 "-f", "json", "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    tag = report["build"]["tag"]
    yield job, tag, report
    for image in docker_client.images.list():
        for t in image.tags:
            if t.startswith(repo) or t.startswith("launchbuild/cudajob:" + tag.rsplit(":", 1)[1]):
                docker_client.images.remove(t, force=True)


def test_job_check_and_image_check_agree_on_lb204(built):
    job, tag, _ = built
    job_check = cli("check", str(job), "--python-base-image", STANDIN_IMAGES["python"], *OLD_DRIVER, "-f", "json")
    image_check = cli("check", f"image:{tag}", *OLD_DRIVER, "-f", "json")
    assert job_check.returncode == 1 and image_check.returncode == 1, image_check.stdout + image_check.stderr
    job_rules = {f["rule"] for f in json.loads(job_check.stdout)["findings"] if f["severity"] == "error"}
    image_doc = json.loads(image_check.stdout)
    image_rules = {f["rule"] for f in image_doc["findings"] if f["severity"] == "error"}
    assert "LB204" in job_rules and "LB204" in image_rules
    assert image_doc["environment"]["input_kind"] == "image label"
    assert image_doc["target"]["python"]["value"] == "3.11"  # no --python needed: the label says it
    assert cli("check", f"image:{tag}", "-f", "json").returncode == 0  # without the old driver: fine


def test_image_check_reads_the_labels_from_the_registry(built, docker_client, tmp_path):
    _, tag, _ = built
    docker_client.images.remove(tag)  # only the registry has this reference now; nothing is pulled
    try:
        # Fresh caches: the facts must come from the registry now, not from the engine's earlier answer.
        fresh = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "lb")}
        result = cli("check", f"image:{tag}", *OLD_DRIVER, "-f", "json", env=fresh)
        doc = json.loads(result.stdout)
        assert doc["image"]["provider"] == "registry", doc["image"]
        assert result.returncode == 1 and "LB204" in {f["rule"] for f in doc["findings"]}
        import docker.errors

        with pytest.raises(docker.errors.NotFound):
            docker_client.images.get(tag)  # still not pulled
    finally:
        docker_client.images.pull(*tag.rsplit(":", 1))


def test_inspect_shows_the_lock_and_checked_facts(built):
    _, tag, _ = built
    result = cli("inspect", tag)
    assert result.returncode == 0, result.stderr
    assert "nvidia-cuda-runtime-cu12==12.1.105" in result.stdout
    assert "checked facts" in result.stdout and "python=3.11" in result.stdout and "rules version" in result.stdout


def test_build_of_an_image_job_needs_no_python(standin_images):
    result = cli("build", f"image:{standin_images['python']}", "-f", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["build"]["skipped"] is True
