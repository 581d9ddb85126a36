"""The two tools the peer bench compares, each driven through its own entry point: ours
(`python -m launchbuild.cli build`) and W&B Launch's builder (bench/peer_wandb.py in the
peer's venv, then the same BuildKit build)."""

from __future__ import annotations

import json
import os
import sys
import time

from launchbuild.bench.harness import (
    ACCELERATOR_BASE,
    BENCH,
    BUILD_ENV,
    DOCKER,
    JOBS_DIR,
    PEER_PY,
    PYTHON,
    WORK,
    JobSpec,
    run,
)


class Tool:
    name: str

    def build(self, job: JobSpec, *, timeout: float | None = None) -> tuple[int, float, str]:
        raise NotImplementedError

    def repository(self, job: JobSpec) -> str:
        raise NotImplementedError


class Ours(Tool):
    name = "launchbuild"

    def command(self, job: JobSpec, verb: str = "build") -> list[str]:
        cmd = [sys.executable, "-m", "launchbuild.cli", verb, str(JOBS_DIR / job.dirname),
               "--python", PYTHON, "--entrypoint", "python train.py", "--quiet"]
        if job.frozen is not None:
            cmd += ["--frozen", str(JOBS_DIR / f"{job.dirname}.frozen.txt")]
        if job.accelerator:
            cmd += ["--base-image", ACCELERATOR_BASE]
        if job.gpu:
            cmd += ["--gpu", job.gpu, "--driver", "535.104.05"]
        return cmd

    def build(self, job, *, timeout=None):
        return run(self.command(job), cwd=WORK, timeout=timeout)

    def repository(self, job):
        return f"launchbuild/{job.dirname}"


class Peer(Tool):
    name = "W&B Launch"

    def build(self, job, *, timeout=None):
        """The agent's path: generate the context (its own code), then build it with BuildKit."""
        start = time.perf_counter()
        ctx = WORK / "peer-ctx" / job.name
        cmd = [str(PEER_PY), str(BENCH / "peer_wandb.py"), "--code", str(JOBS_DIR / job.dirname),
               "--runtime", PYTHON, "--entrypoint", "python train.py", "--job-name", job.dirname, "--out", str(ctx)]
        if job.frozen is not None:
            cmd += ["--frozen", str(JOBS_DIR / f"{job.dirname}.frozen.txt")]
        if job.accelerator:
            cmd += ["--accelerator-base-image", ACCELERATOR_BASE]
        rc, _, out = run(cmd, env={**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}, timeout=timeout)
        if rc != 0:
            return rc, time.perf_counter() - start, out
        generated = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
        left = None if timeout is None else max(1.0, timeout - (time.perf_counter() - start))
        rc, _, build_out = run(
            [DOCKER, "build", "--network", "host", "--progress", "plain", "-f", generated["dockerfile"],
             "-t", f"{self.repository(job)}:{generated['image_tag']}", generated["context_dir"]],
            env=BUILD_ENV, timeout=left,
        )
        return rc, time.perf_counter() - start, out + build_out

    def repository(self, job):
        return f"peer-bench/{job.dirname}"
