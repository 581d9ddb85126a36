"""The typed-fix seam end to end: a job whose lock needs a system library (LB304) gets it in the
Dockerfile through the finding's AptPackages fix (real PyPI resolve, real stand-in image facts);
ignoring LB304 removes it, so nothing else puts it there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.network]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})


@pytest.fixture()
def job(tmp_path: Path, standin_images) -> Path:
    job = tmp_path / "audio"
    shutil.copytree(EXAMPLES / "demo", job)
    # 0.11.0 ships no libsndfile of its own (a pure wheel; 0.12+ manylinux wheels bundle it, data/wheel_libs.json).
    (job / "requirements.txt").write_text("rich>=13\nsoundfile==0.11.0\n")
    (job / "queue.json").write_text(json.dumps(
        {"builder": {"accelerator": {"base_image": standin_images["cuda121"]}}}))
    return job


def test_lb304s_apt_packages_reach_the_dockerfile_through_the_typed_fix(job: Path):
    common = ("--queue-config", str(job / "queue.json"))
    check = invoke("check", str(job), *common, "--format", "json")
    (lb304,) = [f for f in json.loads(check.stdout)["findings"] if f["rule"] == "LB304"]
    assert lb304["fix"] == "add apt packages libsndfile1 to the image (apt-get install -y libsndfile1)"
    with_fix = invoke("dockerfile", str(job), *common)
    assert with_fix.exit_code == 0, with_fix.output
    assert "libsndfile1" in with_fix.stdout
    # `ignore` from the job's own config (dockerfile has no --ignore flag): no finding, no package.
    config = job / "launchbuild.toml"
    config.write_text(config.read_text() + 'ignore = ["LB304"]\n')
    ignored = invoke("dockerfile", str(job), *common)
    assert ignored.exit_code == 0, ignored.output
    assert "libsndfile1" not in ignored.stdout
