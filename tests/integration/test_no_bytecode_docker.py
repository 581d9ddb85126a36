"""`--no-bytecode` on the real engine: the image carries no .pyc in its venv, is verified as
usual (installs, imports, runs), and gets another content tag than the default build."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from launchbuild.builder.layers import HEAVY_BYTES_ENV
from launchbuild.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.network]


def test_a_no_bytecode_build_has_no_pyc_and_passes_its_verification(tmp_path, standin_images, docker_client):
    job = tmp_path / "nobytecode"
    job.mkdir()
    run_id = uuid.uuid4().hex[:10]
    (job / "train.py").write_text(f"import six, idna\nprint('ran', six.__name__, idna.__name__)  # {run_id}\n")
    (job / "requirements.txt").write_text("six\nidna\n")
    args = ["--python", "3.11", "--entrypoint", "python train.py", "--python-base-image", standin_images["python"]]
    # idna's wheel is above this threshold and six's below: a split lock, so both kinds of install step
    # (the heavy layer's and a later one's) are built without their compile steps.
    env = {"NO_COLOR": "1", HEAVY_BYTES_ENV: "30000", "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")}
    dockerfile = CliRunner().invoke(app, ["dockerfile", str(job), *args, "--no-bytecode"], env=env)
    assert dockerfile.exit_code == 0, dockerfile.output
    assert "1-heavy.lock" in dockerfile.output and "2-rest.lock" in dockerfile.output
    assert "compileall" not in dockerfile.output and "layer_bytecode" not in dockerfile.output
    default = CliRunner().invoke(app, ["dockerfile", str(job), *args], env=env)
    assert "compileall" in default.output

    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["build", str(job), *args, "--no-bytecode", "--format", "json", "-o", str(out)],
                                env=env)
    tag = None
    try:
        assert result.exit_code == 0, result.output
        built = json.loads(out.read_text())["build"]
        tag = built["tag"]
        assert built["verified"], built["verification"]
        assert {v["check"] for v in built["verification"] if v["passed"]} >= {"imports", "pip check", "entrypoint"}
        found = docker_client.containers.run(
            tag, ["-c", "import pathlib; print(sum(1 for _ in pathlib.Path('/opt/venv').rglob('*.pyc')))"],
            entrypoint=["python"], network_mode="none", remove=True).decode().split()
        assert found == ["0"]
        ran = docker_client.containers.run(tag, network_mode="none", remove=True).decode()
        assert "ran six idna" in ran
    finally:
        if tag:
            try:
                docker_client.images.remove(tag)
            except Exception:  # noqa: BLE001 - best-effort clean-up of this test's own tag
                pass
