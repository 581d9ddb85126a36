"""scripts/testenv.sh itself, against the environment it already set up: idempotent, locked, and
`down` never stops what it did not start."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests

from tests.helpers_testenv import REGISTRY, STANDIN_IMAGES, STATE_FILE, TESTENV_SCRIPT, read_testenv_state

pytestmark = pytest.mark.docker


def _run(script, *args, timeout=300):
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_status_lists_everything(docker_client):
    result = _run(TESTENV_SCRIPT, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"registry: up on {REGISTRY}" in result.stdout
    for key, ref in STANDIN_IMAGES.items():
        assert f"image {key}: {ref}" in result.stdout


def test_concurrent_ups_start_nothing_twice(docker_client, local_registry):
    pid_files = sorted(STATE_FILE.parent.glob("*.pid"))
    before = {path.name: path.read_text() for path in pid_files}
    first = subprocess.Popen(["bash", str(TESTENV_SCRIPT), "up"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    second = _run(TESTENV_SCRIPT, "up")
    first_out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, first_out
    assert second.returncode == 0, second.stdout + second.stderr
    after = {path.name: path.read_text() for path in sorted(STATE_FILE.parent.glob("*.pid"))}
    assert after == before
    for output in (first_out, second.stderr):
        assert "starting" not in output and "building" not in output and "importing" not in output
    state = read_testenv_state()
    assert state["LAUNCHBUILD_TESTENV_REGISTRY"] == REGISTRY
    assert state["LAUNCHBUILD_TESTENV_STARTED_DAEMON"] == ("1" if "dockerd.pid" in before else "0")


def test_down_without_recorded_pids_leaves_running_services_alone(docker_client, local_registry, tmp_path):
    # A checkout that started nothing: its `down` must not stop this daemon or registry.
    copy = tmp_path / "scripts" / "testenv.sh"
    copy.parent.mkdir()
    shutil.copy(TESTENV_SCRIPT, copy)
    down = _run(copy, "down")
    assert down.returncode == 0, down.stderr
    assert "stopping" not in down.stderr
    assert docker_client.ping()
    assert requests.get(f"http://{local_registry}/v2/", timeout=5).status_code == 200
    status = _run(copy, "status")
    assert "docker: up (not started by testenv)" in status.stdout


def test_unknown_command_is_a_usage_error():
    result = _run(TESTENV_SCRIPT, "restart")
    assert result.returncode == 2
    assert "usage:" in result.stderr
