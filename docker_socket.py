"""Image inspection over the local Docker Engine socket with the standard library only.

The warm paths (a `check` whose fact sheet is cached, a `build` whose content tag already
exists, a code-only rebuild whose checks are reused) need nothing from the engine but
`GET /images/{name}/json` and `POST /images/{name}/tag`. The docker SDK costs ~0.2 s of
imports (requests, urllib3, charset_normalizer) for those calls, which is most of a warm
run's budget. This module answers them from the unix socket directly, and says `None` (not
"absent") whenever it cannot: callers then take the SDK path exactly as before, so every
error message and every slow-path behaviour is unchanged.

Only `unix://` endpoints are handled (DOCKER_HOST unset or unix://…), the same endpoint
the SDK's `from_env` would pick; tcp/ssh/TLS set-ups always go through the SDK.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

DEFAULT_SOCKET = "/var/run/docker.sock"
TIMEOUT_S = 10.0


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def socket_path(env: Mapping[str, str] | None = None) -> str | None:
    """The unix socket the SDK's from_env would use, or None for any other kind of endpoint."""
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST", "").strip()
    if not host:
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        return host[len("unix://"):] or DEFAULT_SOCKET
    return None


class EngineSocket:
    """One keep-alive connection; `None` from any call means "ask the SDK instead"."""

    def __init__(self, path: str, timeout: float = TIMEOUT_S):
        self.path = path
        self.timeout = timeout
        self._conn: UnixConnection | None = None

    @classmethod
    def from_env(cls) -> "EngineSocket | None":
        path = socket_path()
        return cls(path) if path and os.path.exists(path) else None

    def _request(self, method: str, url: str) -> tuple[int, bytes] | None:
        # Both calls are idempotent, so a retry is safe.
        for attempt in (0, 1):  # the engine may close an idle keep-alive connection
            if self._conn is None:
                self._conn = UnixConnection(self.path, self.timeout)
            try:
                self._conn.request(method, url, headers={"Accept": "application/json"})
                resp = self._conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    return None
        return None

    def image(self, name: str) -> dict[str, Any] | Literal[False] | None:
        """The image's inspect document; False when the engine says it has no such image;
        None when the engine could not be asked (no socket, refused, odd answer)."""
        answer = self._request("GET", "/images/" + quote(name, safe="/:") + "/json")
        if answer is None:
            return None
        status, body = answer
        if status == 404:
            return False
        if status != 200:
            return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) and doc.get("Id") else None

    def history(self, name: str) -> list[Any] | None:
        """The image's history (newest entry first), or None when the engine could not say."""
        answer = self._request("GET", "/images/" + quote(name, safe="/:") + "/history")
        if answer is None or answer[0] != 200:
            return None
        try:
            doc = json.loads(answer[1])
        except (ValueError, RecursionError):
            return None
        return doc if isinstance(doc, list) else None

    def tag(self, image: str, repository: str, tag: str) -> bool | None:
        """Tag `image` (an ID or reference) as repository:tag. True when the engine did; False
        when it has no such image; None when it could not be asked or refused (the SDK's
        path then gives the engine's own error)."""
        query = "repo=" + quote(repository, safe="") + "&tag=" + quote(tag, safe="")
        answer = self._request("POST", "/images/" + quote(image, safe="/:") + "/tag?" + query)
        if answer is None:
            return None
        status = answer[0]
        return True if status in (200, 201) else False if status == 404 else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_local = threading.local()


def shared() -> EngineSocket | None:
    """One socket client per thread (the check and the build's skip share its connection).
    Per thread, because one keep-alive connection cannot carry two requests at once: checks
    run concurrently in `launchbuild serve`'s worker threads."""
    current = getattr(_local, "socket", None)
    if current is None or current.path != socket_path():
        current = _local.socket = EngineSocket.from_env()
    return current
