"""The local engine's images as a build uses them: read one, tag one.

Over the engine socket with the standard library when it answers (docker_socket), else through
the docker SDK, which is created only when first needed. A rebuild whose checks are reused
(a code-only change) then runs without importing the SDK at all (~0.2 s); anything else the
build needs (the classic engine, verification containers, pushes) asks `client` for it.
"""

from __future__ import annotations

from typing import Any

from launchbuild.builder import engine as eng
from launchbuild.builder.probe_container import Containers, SdkContainers, SocketContainers
from launchbuild.builder.tags import split_ref
from launchbuild.docker_socket import EngineSocket, shared


class LocalImages:
    def __init__(self, client: Any = None, socket: EngineSocket | None = None):
        self._client = client
        # A client given by the caller (tests, an embedding agent) is used for everything.
        self._socket = socket if socket is not None else shared() if client is None else None

    @property
    def client(self) -> Any:
        """The docker SDK client, pinged on first use (InfraUnavailable when the engine is not there)."""
        if self._client is None:
            self._client = eng.docker_client()
        return self._client

    @property
    def given_client(self) -> Any:
        """The SDK client if one exists already, else None (an engine then creates its own)."""
        return self._client

    def containers(self) -> Containers:
        """Verification containers: over the socket when images are read over it, else the SDK's."""
        if self._socket is not None:
            return SocketContainers(self._socket.path)
        return SdkContainers(self.client)

    def attrs(self, ref: str) -> dict[str, Any] | None:
        """The image's inspect document, None when the engine has no such image."""
        image = self._image(ref)
        return image if image is None or isinstance(image, dict) else image.attrs

    def image_id(self, ref: str) -> str | None:
        """The image's ID (its config digest), None when the engine has no such image."""
        image = self._image(ref)
        return None if image is None else image["Id"] if isinstance(image, dict) else image.id

    def _image(self, ref: str) -> Any:
        """The inspect document over the socket, else the SDK's Image; None when it is absent."""
        if self._socket is not None:
            doc = self._socket.image(ref)
            if doc is False:
                return None
            if doc is not None:
                return doc
        from docker.errors import ImageNotFound

        try:
            return self.client.images.get(ref)
        except ImageNotFound:
            return None

    def tag(self, image_id: str, ref: str) -> None:
        repository, tag = split_ref(ref)
        if self._socket is not None and tag and not tag.startswith("@") and self._socket.tag(image_id, repository, tag):
            return
        eng.tag_image(self.client, image_id, ref)
