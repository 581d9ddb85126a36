"""examples/agent/agent.py against a real `launchbuild serve`: a W&B job spec, the code and a
queue config, checked the way a queue agent would before queueing the job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers_serve import start_server

pytestmark = [pytest.mark.docker, pytest.mark.network]

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "examples" / "agent" / "agent.py"


@pytest.mark.parametrize("driver,expected", [("535.104.05", 0), ("450.80.02", 1)])
def test_the_example_agent_checks_a_wandb_job_with_its_queue_config(tmp_path, standin_images, driver, expected):
    srv = start_server(tmp_path)
    try:
        proc = subprocess.run([sys.executable, str(AGENT), "--url", srv.url, "--token-file", str(tmp_path / "tokens.txt"),
                               "--spec", str(ROOT / "examples/from-run/wandb-job.json"),
                               "--code", str(ROOT / "examples/from-run"),
                               "--queue-config", str(ROOT / "examples/agent/queue-config.json"),
                               "--gpu", "A100", "--driver", driver], capture_output=True, text=True, timeout=300)
        assert proc.returncode == expected, proc.stdout + proc.stderr
        assert proc.stdout.startswith("verdict: " + ("pass" if expected == 0 else "fail")), proc.stdout
    finally:
        assert srv.stop() == 0
