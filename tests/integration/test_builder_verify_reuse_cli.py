"""A code-only rebuild reuses the environment checks of a verified image (no probe container);
a dependency change, or a code change that loses the entrypoint's script, verifies for real."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.network]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def build(job: Path, out: Path, env: dict[str, str], *extra: str) -> dict:
    result = CliRunner().invoke(app, ["build", str(job), "--python", "3.11", "--python-base-image",
                                      "launchbuild-test/python:3.11-slim", "--format", "json", "-o", str(out),
                                      *extra], env=env)
    assert out.is_file(), result.output
    return {"exit": result.exit_code, **json.loads(out.read_text())}


def test_code_only_rebuild_reuses_the_environment_checks(tmp_path: Path, docker_client, standin_images):
    job = tmp_path / "job"
    shutil.copytree(EXAMPLES / "demo", job)
    # Content of its own: an identical job built by another test (or an earlier run on this
    # engine) has the same content tag, and a skipped first build verifies nothing to reuse.
    (job / "run.txt").write_text(uuid.uuid4().hex)
    (job / "launchbuild.toml").write_text('entrypoint = "python train.py"\n')
    env = {"NO_COLOR": "1", "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")}
    tags = []
    try:
        first = build(job, tmp_path / "1.json", env)
        assert first["exit"] == 0, first
        tags.append(first["build"]["tag"])
        assert not any("reused" in v["detail"] for v in first["build"]["verification"])

        (job / "train.py").write_text((job / "train.py").read_text() + "\nprint('second version')\n")
        second = build(job, tmp_path / "2.json", env)
        assert second["exit"] == 0, second
        tags.append(second["build"]["tag"])
        checks = {v["check"]: v for v in second["build"]["verification"]}
        assert set(checks) == {"python version", "pip check", "locked versions", "entrypoint", "non-root user",
                               "imports", "entrypoint imports"}
        assert all(v["passed"] for v in checks.values())
        assert "reused" in checks["pip check"]["detail"] and "reused" in checks["locked versions"]["detail"]
        logs = docker_client.containers.run(tags[-1], ["1"], network_mode="none", remove=True).decode()
        assert "second version" in logs

        # A code-only change that imports what the image lacks: the reused environment facts
        # still catch it (the script's imports are resolved against the image's importable names).
        second_text = (job / "train.py").read_text()
        (job / "train.py").write_text(second_text + "\nimport launchbuild_absent_module\n")
        undeclared = build(job, tmp_path / "2b.json", env)
        assert undeclared["exit"] == 1
        failed = {v["check"]: v["detail"] for v in undeclared["build"]["verification"] if not v["passed"]}
        assert list(failed) == ["entrypoint imports"] and "launchbuild_absent_module" in failed["entrypoint imports"]
        (job / "train.py").write_text(second_text)

        (job / "requirements.txt").write_text("rich>=13\nsix\n")
        third = build(job, tmp_path / "3.json", env)
        assert third["exit"] == 0, third
        tags.append(third["build"]["tag"])
        assert not any("reused" in v["detail"] for v in third["build"]["verification"])

        # The entrypoint's script is gone from the code: check refuses (LB401); forced, the
        # probe runs (nothing is reused) and fails the build on that check alone.
        (job / "train.py").rename(job / "main.py")
        refused = build(job, tmp_path / "4.json", env)
        assert refused["exit"] == 1 and refused["build"] is None
        assert "LB401" in {f["rule"] for f in refused["findings"]}
        fourth = build(job, tmp_path / "5.json", env, "--force")
        assert fourth["exit"] == 1
        failed = {v["check"] for v in fourth["build"]["verification"] if not v["passed"]}
        assert failed == {"entrypoint"}
    finally:
        for tag in tags:
            docker_client.images.remove(tag, force=True)
