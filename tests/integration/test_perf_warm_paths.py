"""The warm paths, through new CLI processes on the real engine and PyPI: a warm `check`
and a no-change `build` reach the same verdict and the same content tag as the slow path,
without importing the docker SDK or requests (the point of the socket fast path), and a
code-only rebuild reuses the kept BuildKit context and the environment's checks, also without
the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.network]

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"

# Runs the CLI in-process and reports which heavy modules it imported.
RUNNER = """
import json, sys
from launchbuild.cli import main
sys.argv = ["launchbuild"] + json.loads(sys.argv[1])
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"docker", "requests", "urllib3"})
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def run(args: list[str], cache: Path) -> tuple[dict, dict]:
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(args)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NO_COLOR": "1", "LAUNCHBUILD_CACHE_DIR": str(cache)})
    status = json.loads(proc.stderr.strip().splitlines()[-1])
    return status, json.loads(proc.stdout) if proc.stdout.strip() else {}


@pytest.fixture()
def job(tmp_path: Path, standin_images) -> Path:
    d = tmp_path / f"perfjob{os.getpid()}"
    d.mkdir()
    (d / "train.py").write_text("print('hello')\n")
    (d / "requirements.txt").write_text("six==1.16.0\n")
    return d


def test_warm_check_and_no_change_build_skip_the_sdk(job: Path, tmp_path: Path, docker_client):
    cache = tmp_path / "cache"
    common = ["--python", "3.11", "--entrypoint", "python train.py", "--python-base-image", PYTHON_STANDIN,
              "--format", "json"]
    cold, cold_report = run(["check", str(job), *common], cache)
    warm, warm_report = run(["check", str(job), *common], cache)
    assert cold["code"] == warm["code"] == 0
    for key in ("summary", "findings", "target"):
        assert warm_report[key] == cold_report[key]
    assert warm_report["environment"]["lock"] == cold_report["environment"]["lock"]
    assert warm_report["environment"]["cache_hit"]
    assert warm["heavy"] == []  # facts, lock and package facts from caches; the image over the socket

    built, built_report = run(["build", str(job), *common], cache)
    tag = built_report["build"]["tag"]
    try:
        assert built["code"] == 0 and not built_report["build"]["skipped"]
        again, again_report = run(["build", str(job), *common], cache)
        assert again["code"] == 0
        assert again_report["build"]["skipped"] and again_report["build"]["tag"] == tag
        assert again_report["build"]["reason"] == "content tag already in the local engine"
        assert again_report["build"]["engine"] == built_report["build"]["engine"]
        assert again_report["build"]["size_bytes"] == docker_client.images.get(tag).attrs["Size"]
        assert again["heavy"] == []

        # Code-only change: built again through the kept context, which now holds the new code.
        (job / "train.py").write_text("print('hello again')\n")
        changed, changed_report = run(["build", str(job), *common], cache)
        assert changed["code"] == 0 and not changed_report["build"]["skipped"]
        assert changed_report["build"]["tag"] != tag
        # The environment's checks are reused (no container runs), and the image is read and
        # tagged over the socket: the rebuild never imports the SDK.
        assert changed["heavy"] == []
        contexts = [p for p in (cache / "contexts").iterdir() if p.is_dir()]
        assert len(contexts) == 1
        assert (contexts[0] / "code/train.py").read_text() == "print('hello again')\n"
        out = docker_client.containers.run(changed_report["build"]["tag"], remove=True, network_mode="none")
        assert out.decode().strip() == "hello again"
        docker_client.images.remove(changed_report["build"]["tag"], force=True)

        # Dependency change: a new lock, a new install layer and a real verification run, its
        # container over the engine socket: still no docker SDK (the new package's index facts
        # may take requests).
        (job / "requirements.txt").write_text("six==1.16.0\ncolorama==0.4.6\n")  # colorama ships tests/
        dep, dep_report = run(["build", str(job), *common], cache)
        assert dep["code"] == 0 and not dep_report["build"]["skipped"]
        assert "docker" not in dep["heavy"]
        checks = {v["check"]: v for v in dep_report["build"]["verification"]}
        assert checks["pip check"]["passed"] and "reused" not in checks["pip check"]["detail"]
        assert checks["imports"]["passed"]
        # Installed with its bytecode: the job's user cannot write __pycache__ into the venv,
        # so a start imports from these .pyc files instead of compiling again; the packages'
        # test folders are left without (a job does not import them).
        probe = ("import os, colorama, six; tests = os.path.join(os.path.dirname(colorama.__file__), 'tests'); "
                 "print(all(os.path.isfile(m.__cached__) for m in (colorama, six)), "
                 "os.access(colorama.__file__, os.W_OK), os.path.isdir(tests), "
                 "os.path.exists(os.path.join(tests, '__pycache__')))")
        out = docker_client.containers.run(dep_report["build"]["tag"], ["-c", probe], entrypoint="python",
                                           remove=True, network_mode="none")
        assert out.decode().split() == ["True", "False", "True", "False"]
        repository = dep_report["build"]["tag"].rsplit(":", 1)[0]  # this job's probes only: the engine is shared
        assert docker_client.containers.list(
            all=True, filters={"label": f"io.launchbuild.repository={repository}"}) == []
        docker_client.images.remove(dep_report["build"]["tag"], force=True)
    finally:
        docker_client.images.remove(tag, force=True)
