"""On the real Docker engine and registry: a cluster build of a job gets the tag a local
BuildKit build of the same job gets (one Dockerfile, one tag), because the cluster engine
computes it with the same function over the same plan, code and base digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from launchbuild.builder import kubernetes as k8s
from launchbuild.cli import app

pytestmark = [pytest.mark.docker]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


def test_the_cluster_tag_is_the_local_build_tag(tmp_path: Path, standin_images, local_registry) -> None:
    job = tmp_path / "tagjob"
    job.mkdir()
    (job / "train.py").write_text("print('one tag for every engine')\n")
    common = ("--python-base-image", f"{local_registry}/{standin_images['python']}", "--python", "3.11",
              "--entrypoint", "python train.py")
    report = tmp_path / "local.json"
    local = invoke("build", str(job), *common, "--engine", "buildkit", "--format", "json", "-o", str(report))
    assert local.exit_code == 0, local.output
    built = json.loads(report.read_text())["build"]
    assert built["engine"] == "buildkit" and (built["skipped"] or built["verification"])  # a skip: verified before
    manifests = tmp_path / "cluster.yaml"
    cluster = invoke("build", str(job), *common, "--engine", "kubernetes", "--dry-run",
                     "--push", f"{local_registry}/team/tagjob", "-o", str(manifests))
    assert cluster.exit_code == 0, cluster.output
    job_manifest = list(yaml.safe_load_all(manifests.read_text()))[-1]
    destination = job_manifest["metadata"]["annotations"][k8s.ANNOTATION_DESTINATION]
    # pushed as the tag's candidate; the tag itself is given once the image passed verification
    assert destination.rsplit(":", 1)[1] == built["tag"].rsplit(":", 1)[1] + k8s.CANDIDATE_SUFFIX
