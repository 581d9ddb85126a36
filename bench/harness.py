"""What every part of the peer bench (bench/run_bench.py) shares: its paths and settings,
the shape of a bench job, running a command with a wall clock, and the few docker calls
(image size, newest image, removal, build-cache prune)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
JOBS_DIR = WORK / "jobs"
PEER_VENV = WORK / "peer-venv"
PEER_PY = PEER_VENV / "bin" / "python"
DOCKER = os.environ.get("LAUNCHBUILD_DOCKER", "/usr/bin/docker")
PYTHON = "3.11"
ACCELERATOR_BASE = "nvidia/cuda:12.1.1-runtime-ubuntu22.04"  # the CA variant of the cuda121 stand-in
BASES = {"python": "python:3.11-slim", "peer-python": "python:3.11-buster", "accelerator": ACCELERATOR_BASE}
TRAIN_PY = 'import sys\n\nprint("training on", sys.version)\n'
BUILD_ENV = {**os.environ, "DOCKER_BUILDKIT": "1"}
REGISTRY = os.environ.get("BENCH_REGISTRY", "127.0.0.1:5055")  # the local registry of scripts/testenv.sh
GPU_STACK = "torch\nnumpy\npyyaml\nrequests\n"  # torch from PyPI pulls its CUDA wheels (nvidia-*, triton)


@dataclass(frozen=True)
class JobSpec:
    name: str
    requirements: str | None = None  # requirements.txt in the code dir
    frozen: str | None = None  # a run's package list (the peer's requirements.frozen.txt)
    accelerator: bool = False
    added_dependency: str = "tqdm"
    heavy: bool = False
    gpu: str | None = None
    registry: bool = False  # also push before and after the dependency change (issue 17's byte measures)
    runs: int | None = None  # rounds per tool when fixed for the job (the GPU stack: one)
    imports: tuple[str, ...] = ()  # what the job imports at start ("job start": timed in a new container)

    @property
    def dirname(self) -> str:
        # Our image repository is named after the code dir (launchbuild/<dir>).
        return f"lbbench-{self.name}"


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, env=None, cwd=None, timeout: float | None = None) -> tuple[int, float, str]:
    """Run a command; returns (exit code, wall seconds, output). Exit code 124 on timeout."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, time.perf_counter() - start, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        return 124, time.perf_counter() - start, out.decode(errors="replace") if isinstance(out, bytes) else str(out)


def docker(*args: str, check: bool = True) -> str:
    rc, _, out = run([DOCKER, *args])
    if check and rc != 0:
        raise SystemExit(f"bench: docker {' '.join(args)} failed: {out[-800:]}")
    return out


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", ref).strip())


def newest_image(repository: str) -> str:
    out = docker("images", repository, "--format", "{{.Repository}}:{{.Tag}}").split()
    if not out:
        raise SystemExit(f"bench: no image in {repository}")
    return out[0]  # `docker images` lists newest first


def remove_images(repository: str) -> None:
    refs = docker("images", repository, "--format", "{{.Repository}}:{{.Tag}}").split()
    if refs:
        docker("rmi", "-f", *refs, check=False)


def prune_build_cache() -> None:
    docker("builder", "prune", "-af")


def must(result: tuple[int, float, str], what: str) -> float:
    rc, seconds, out = result
    if rc != 0:
        raise SystemExit(f"bench: {what} failed (exit {rc}):\n{out[-3000:]}")
    return seconds
