"""Local engine selection, and the Docker-engine edges the builder needs (tags, registry, push).

The engines themselves live in `builder/engines/` (buildkit, classic, kubernetes); their
names are re-exported here for the callers that import them from this module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from launchbuild.builder.engines.base import (  # noqa: F401  (re-exported)
    LOG_TAIL_LINES,
    BuildResult,
    BuildStepFailed,
    LocalEngine,
    ProgressCallback,
    ProgressEvent,
    StepRecord,
    docker_client,
)
from launchbuild.builder.engines.buildkit import (  # noqa: F401  (re-exported)
    BuildKitCLI,
    _failure,
    _stream,
    engine_answers,
    find_buildkit_cli,
)
from launchbuild.builder.engines.classic import ClassicSDK
from launchbuild.builder.tags import split_ref
from launchbuild.core.platform import host_arch  # noqa: F401  (builder.api calls engine.host_arch; tests replace it)
from launchbuild.errors import BadInput, InfraUnavailable


def select_engine(name: str = "auto", client=None) -> LocalEngine:
    """"auto": BuildKit through the CLI when a capable client exists, else the classic SDK."""
    if name not in ("auto", "buildkit", "classic"):
        raise BadInput(f"engine {name!r} is not a local engine", hint="use auto, buildkit or classic")
    if name in ("auto", "buildkit"):
        bk = BuildKitCLI.detect()
        if bk is not None:
            return bk
        if name == "buildkit":
            raise InfraUnavailable(
                "no docker CLI with BuildKit found (needs buildx, or a client older than 23.0)",
                hint="install the buildx plugin or use --engine classic",
            )
    return ClassicSDK(client)


# ---------------------------------------------------------------- images, registry, push

def registry_manifest_digest(client, ref: str) -> str | None:
    """The manifest digest of `ref` in its registry (a HEAD/GET on the manifest, done by the
    engine with the credentials from the docker config), None when the tag is not there.
    A registry that cannot be reached is InfraUnavailable."""
    from docker.errors import APIError, NotFound

    try:
        return client.images.get_registry_data(ref).id
    except NotFound:
        return None
    except APIError as exc:
        text = str(exc.explanation or exc).lower()
        if any(s in text for s in ("manifest unknown", "not found", "unauthorized", "denied", "name unknown")):
            return None
        raise InfraUnavailable(
            f"registry for {ref} not reachable: {str(exc.explanation or exc)[:160]}",
            hint="check the registry address and that it is running",
        ) from None


def tag_image(client, image_id: str, ref: str) -> None:
    repo, tag = split_ref(ref)
    client.api.tag(image_id, repo, tag)


def remove_image(client, image_id: str) -> None:
    """Remove a build result that must not survive (failed verification). An ID that other
    tags still hold is left alone: it was not ours alone."""
    from docker.errors import APIError, ImageNotFound

    try:
        client.images.remove(image_id, noprune=False)
    except ImageNotFound:
        pass
    except APIError:
        pass


def push_image(client, ref: str) -> str:
    """Push `host:port/repo:tag`; the repository and tag are split at the last ':' after the
    last '/', so a registry port is never mistaken for a tag. Returns the pushed digest."""
    from docker.errors import APIError, DockerException

    repo, tag = split_ref(ref)
    digest = None
    try:
        for chunk in client.images.push(repo, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise InfraUnavailable(
                    f"push of {ref} failed: {str(chunk['error']).strip()[:200]}",
                    hint="check the registry address and your docker login",
                )
            aux = chunk.get("aux")
            if isinstance(aux, dict) and aux.get("Digest"):
                digest = aux["Digest"]
    except (APIError, DockerException) as exc:
        raise InfraUnavailable(f"push of {ref} failed: {str(exc)[:200]}", hint="check the registry") from None
    if not digest:
        raise InfraUnavailable(f"push of {ref} returned no digest", hint="check the registry logs")
    return digest


def find_uv_binary() -> Path | None:
    """The host's uv, when it can run inside a Linux image: an ELF binary (on macOS the host's
    uv is Mach-O, so builds there fall back to the venv's pip)."""
    try:
        import uv

        found: str | None = uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
    if not found:
        return None
    try:
        with open(found, "rb") as f:
            if f.read(4) != b"\x7fELF":
                return None
    except OSError:
        return None
    return Path(found)
