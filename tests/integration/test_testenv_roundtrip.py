"""A real image FROM the python stand-in: BuildKit build, run, push, remove, pull BY DIGEST, run."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
import requests
from docker.errors import ImageNotFound, NotFound

pytestmark = pytest.mark.docker

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def _push(docker_client, repository: str, tag: str) -> str:
    """Push with the SDK and return the manifest digest the registry reported."""
    digest = None
    for event in docker_client.images.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
        digest = event.get("aux", {}).get("Digest", digest)
    assert digest and digest.startswith("sha256:"), f"push of {repository}:{tag} reported no digest"
    return digest


def test_build_run_push_pull_by_digest_run(docker_client, docker_cli, standin_images, local_registry, tmp_path):
    token = uuid.uuid4().hex[:12]
    local_tag = f"launchbuild-it/testenv-roundtrip:{token}"
    repository = f"{local_registry}/launchbuild-it/testenv-roundtrip"
    remote_tag = f"{repository}:{token}"
    (tmp_path / "hello.py").write_text(
        "import platform, sys\n"
        "print(open('/token').read().strip(), platform.python_version(), sys.argv[1:])\n"
    )
    (tmp_path / "Dockerfile").write_text(
        f"FROM {standin_images['python']}\n"
        # A cache mount proves the build ran on BuildKit: the classic builder rejects --mount.
        f"RUN --mount=type=cache,target=/root/.cache echo {token} > /token\n"
        "COPY hello.py /app/hello.py\n"
        'ENTRYPOINT ["python", "/app/hello.py"]\n'
    )
    build = subprocess.run(
        [docker_cli, "build", "--network", "host", "--progress", "plain", "-t", local_tag, str(tmp_path)],
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    digest = None
    try:
        image = docker_client.images.get(local_tag)
        first = docker_client.containers.run(local_tag, ["a", "b"], network_mode="none", remove=True).decode()
        assert first.split()[:2] == [token, "3.11.2"]
        assert "['a', 'b']" in first

        image.tag(repository, tag=token)
        digest = _push(docker_client, repository, token)
        manifest = requests.get(
            f"http://{local_registry}/v2/launchbuild-it/testenv-roundtrip/manifests/{token}",
            headers={"Accept": MANIFEST_TYPES},
            timeout=10,
        )
        assert manifest.status_code == 200
        assert manifest.headers["Docker-Content-Digest"] == digest

        docker_client.images.remove(local_tag)
        docker_client.images.remove(remote_tag)
        with pytest.raises(ImageNotFound):
            docker_client.images.get(image.id)

        pulled = docker_client.images.pull(f"{repository}@{digest}")
        # The image ID is the config digest: the same image came back, not a rebuild.
        assert pulled.id == image.id
        assert f"{repository}@{digest}" in pulled.attrs["RepoDigests"]
        second = docker_client.containers.run(f"{repository}@{digest}", ["a", "b"], network_mode="none", remove=True).decode()
        assert second == first
    finally:
        for ref in (local_tag, remote_tag, f"{repository}@{digest}" if digest else None):
            if ref:
                try:
                    docker_client.images.remove(ref, force=True)
                except (ImageNotFound, NotFound):
                    pass
        if digest:
            requests.delete(f"http://{local_registry}/v2/launchbuild-it/testenv-roundtrip/manifests/{digest}", timeout=10)
