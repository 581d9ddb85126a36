"""Session fixtures for the real test environment started by `scripts/testenv.sh up`.

Nothing here touches Docker at import or collection time, so `pytest -m "not docker"` runs on a
machine without an engine. A test that asks for these fixtures gets the real engine and the real
registry, or FAILS with what to run: Docker tests must run in CI, never be skipped quietly.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI must not fail on a slow example (2 shared cores) or on a fresh random draw that nobody
# can reproduce there: derandomized, no deadline. Locally, hypothesis explores as usual.
settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from tests.helpers_testenv import REGISTRY, SET_UP_HINT, STANDIN_IMAGES, find_docker_cli

# Build backends run in a throwaway container of a Python image (resolver/sandbox.py); nothing
# can be pulled here, so every test (and every CLI it starts) uses the local stand-in: 3.11 only,
# whatever the target (pure-Python builds; the host's 3.11 built them before the sandbox).
os.environ.setdefault("LAUNCHBUILD_BUILD_SANDBOX_IMAGE", "launchbuild-test/python:3.11-slim")


@pytest.fixture(scope="session")
def docker_client():
    """A docker SDK client for the real engine (pinged)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except DockerException as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        pytest.fail(f"Docker engine unreachable ({first[:200]}); {SET_UP_HINT}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker_cli() -> str:
    """Path of the docker CLI whose `DOCKER_BUILDKIT=1 docker build` works with the engine."""
    path = find_docker_cli()
    if path is None:
        pytest.fail(f"no docker client found; {SET_UP_HINT}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def standin_images(docker_client) -> dict[str, str]:
    """fixture key -> local reference of every stand-in image, each verified to exist."""
    from docker.errors import ImageNotFound

    missing = []
    for ref in STANDIN_IMAGES.values():
        try:
            docker_client.images.get(ref)
        except ImageNotFound:
            missing.append(ref)
    if missing:
        pytest.fail(f"stand-in images missing: {', '.join(missing)}; {SET_UP_HINT}", pytrace=False)
    return dict(STANDIN_IMAGES)


@pytest.fixture(scope="session")
def local_registry() -> str:
    """host:port of the local v2 registry, verified with GET /v2/."""
    import requests

    try:
        response = requests.get(f"http://{REGISTRY}/v2/", timeout=5)
    except requests.RequestException as exc:
        pytest.fail(f"registry on {REGISTRY} unreachable ({type(exc).__name__}); {SET_UP_HINT}", pytrace=False)
    if response.status_code != 200:
        pytest.fail(f"registry on {REGISTRY} answered GET /v2/ with {response.status_code}; {SET_UP_HINT}", pytrace=False)
    return REGISTRY
