"""The verification probe gets the host's uv either bind-mounted (a local engine) or copied
into the container (an engine that cannot see this host's files), and its container is run
over the engine socket (stdlib) or through the docker SDK: all four judge the same."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.builder import verify
from launchbuild.builder.engine import find_uv_binary
from launchbuild.builder.plan import BuildPlan
from launchbuild.cli import app
from launchbuild.jobs.model import SourceKind

pytestmark = [pytest.mark.docker, pytest.mark.network]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def demo_image(tmp_path_factory, standin_images):
    import docker

    job = tmp_path_factory.mktemp("verify-modes") / "job"
    shutil.copytree(EXAMPLES / "demo", job)
    out = job.parent / "report.json"
    result = CliRunner().invoke(app, ["build", str(job), "--python-base-image", standin_images["python"],
                                      "--format", "json", "-o", str(out)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    yield report["build"]["tag"]
    docker.from_env().images.remove(report["build"]["tag"], force=True)


@pytest.mark.parametrize("over", ["socket", "sdk"])
@pytest.mark.parametrize("local_engine", [True, False])
def test_probe_with_uv_mounted_or_copied(demo_image, docker_client, monkeypatch, local_engine, over):
    from launchbuild.builder.probe_container import SdkContainers, SocketContainers
    from launchbuild.docker_socket import socket_path

    tag = demo_image
    monkeypatch.setattr(verify, "_local_engine", lambda: local_engine)
    plan = BuildPlan(source_kind=SourceKind.CODE, base_image="x", python="3.11", entrypoint=("python", "train.py"))
    containers = SocketContainers(socket_path()) if over == "socket" else SdkContainers(docker_client)
    results = verify.verify_image(containers, tag, plan, uv_binary=find_uv_binary())
    assert [(r.check, r.passed) for r in results] == [
        ("python version", True), ("pip check", True), ("locked versions", True),
        ("entrypoint", True), ("non-root user", True), ("imports", True), ("entrypoint imports", True)]
    assert "compatible" in results[1].detail  # uv's own `pip check` ran, from either place
    # This process's probe containers only: the engine is shared with other builds.
    from launchbuild.compat.facts.providers.docker import OWNER_LABEL

    assert docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"}) == []
