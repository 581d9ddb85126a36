"""Names and paths of the real test environment (scripts/testenv.sh), shared by conftest and tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTENV_SCRIPT = REPO_ROOT / "scripts" / "testenv.sh"
STANDINS_DIR = REPO_ROOT / "scripts" / "standins"
STATE_FILE = REPO_ROOT / ".testenv" / "state.env"
REGISTRY = "127.0.0.1:5055"

# fixture key -> local reference; the registry holds each at f"{REGISTRY}/{ref}".
# Must match STANDINS in scripts/testenv.sh (test_testenv_standins.py checks it).
STANDIN_IMAGES: dict[str, str] = {
    "debian": "launchbuild-test/debian:12",
    "python": "launchbuild-test/python:3.11-slim",
    "cuda121": "launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04",
    "cuda118": "launchbuild-test/cuda:11.8.0-runtime-ubuntu22.04",
    "busybox": "launchbuild-test/busybox:latest",
}

SET_UP_HINT = "run `make testenv-up` (or `scripts/testenv.sh up` as root)"


def read_testenv_state(path: Path = STATE_FILE) -> dict[str, str]:
    """The KEY=VALUE pairs `scripts/testenv.sh up` wrote, or {} before the first `up`."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def find_docker_cli() -> str | None:
    """The docker client to run BuildKit builds with, or None.

    /usr/local/bin/docker may shadow the engine's own client on PATH and lacks buildx, so
    `DOCKER_BUILDKIT=1 docker build` fails with it: prefer what testenv used, then /usr/bin/docker.
    """
    candidates = (
        os.environ.get("LAUNCHBUILD_DOCKER"),
        read_testenv_state().get("LAUNCHBUILD_TESTENV_DOCKER"),
        "/usr/bin/docker",
    )
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("docker")


def dockerfile_env(path: Path) -> dict[str, str]:
    """ENV and LABEL values a stand-in Dockerfile sets literally (no ${VAR} expansion).

    Only the two forms the stand-in files use: `ENV KEY value` and `ENV KEY="value"`.
    LABEL keys are returned prefixed with "label:".
    """
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        instruction, _, rest = line.partition(" ")
        if instruction not in ("ENV", "LABEL") or not rest:
            continue
        if "=" in rest.split(" ", 1)[0]:
            key, _, value = rest.partition("=")
        else:
            key, _, value = rest.partition(" ")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        values[("label:" if instruction == "LABEL" else "") + key.strip()] = value
    return values


def require_cuda_branches(require: str) -> set[int]:
    """Driver branches the brand clauses of an NVIDIA_REQUIRE_CUDA string allow (space = OR)."""
    branches = set()
    for clause in require.split():
        terms = clause.split(",")
        lows = [t.removeprefix("driver>=") for t in terms if t.startswith("driver>=")]
        if any(t.startswith("brand=") for t in terms) and lows:
            branches.add(int(lows[0]))
    return branches
