"""One verification container's life: create it (offline, labelled), copy the probe in, start
it, wait for it, read what it printed, remove it.

Two ways to the same answers. Over the local engine's unix socket with the standard library
(`SocketContainers`): a dependency-change rebuild then never imports the docker SDK, whose
imports (requests, urllib3, charset_normalizer) cost ~0.1-0.2 s of a run measured in
seconds. Through the SDK (`SdkContainers`) for every other endpoint (tcp, ssh, TLS) and for a
client handed in by the caller. Both raise only `RunRefused` (the engine would not run this
image: the verdict is a failed "run image" check), `ProbeTimedOut`, or `InfraUnavailable`.
"""

from __future__ import annotations

import http.client
import json
import struct
from typing import Any, Protocol
from urllib.parse import quote

from launchbuild.core.records import dataclass
from launchbuild.docker_socket import UnixConnection
from launchbuild.errors import InfraUnavailable

# What is read back of the probe's output: its JSON is the last line, a few hundred KB for a
# large environment. A hostile .pth file in the image could print without end at start-up.
OUTPUT_LIMIT = 32 * 1024 * 1024
_API_TIMEOUT_S = 30.0


class RunRefused(Exception):
    """The engine refused to create or start the container (the reason is its own message)."""


class ProbeTimedOut(Exception):
    """The probe did not exit within its time limit."""


@dataclass(frozen=True)
class ContainerSpec:
    """How to create one verification container: what it runs, the labels that say whose probe it
    is, and the host paths it mounts read-only."""

    image: str
    entrypoint: tuple[str, ...]
    command: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    binds: tuple[tuple[str, str], ...] = ()  # (host path, container path), mounted read-only


@dataclass(frozen=True)
class ProbeRun:
    """What a verification container left when it exited: its exit code (None when the engine
    gave none) and what it printed."""

    exit_code: int | None
    stdout: str
    stderr: str


class Containers(Protocol):
    def create(self, spec: ContainerSpec) -> str: ...

    def run(self, container: str, archive_dir: str, archive: bytes | None, timeout_s: float) -> ProbeRun:
        """Copy `archive` (a tar; None: nothing, every file is mounted) into `archive_dir`,
        start the container and wait for it."""
        ...

    def remove(self, container: str) -> None: ...


def _engine_failed(detail: object) -> InfraUnavailable:
    return InfraUnavailable(f"Docker engine failed during verification: {str(detail)[:160]}",
                            hint="check the Docker daemon")


class SdkContainers:
    def __init__(self, client: Any):
        self.client = client

    def create(self, spec: ContainerSpec) -> str:
        from docker.errors import APIError, DockerException

        try:
            container = self.client.containers.create(
                spec.image, entrypoint=list(spec.entrypoint), command=list(spec.command), network_mode="none",
                labels=dict(spec.labels),
                volumes={src: {"bind": dst, "mode": "ro"} for src, dst in spec.binds} or None,
            )
        except APIError as exc:
            raise RunRefused(str(exc.explanation or exc)[:200]) from None
        except DockerException as exc:
            raise _engine_failed(exc) from None
        return container.id

    def run(self, container: str, archive_dir: str, archive: bytes | None, timeout_s: float) -> ProbeRun:
        from docker.errors import APIError, DockerException

        try:
            c = self.client.containers.get(container)
            if archive is not None:
                c.put_archive(archive_dir, archive)
            c.start()
            status = c.wait(timeout=timeout_s)
            out = c.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            err = c.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        except APIError as exc:
            raise RunRefused(str(exc.explanation or exc)[:200]) from None
        except DockerException as exc:
            raise _engine_failed(exc) from None
        except Exception as exc:  # requests' ReadTimeout from wait(): the probe hung
            if type(exc).__name__ in ("ReadTimeout", "ConnectionError", "Timeout"):
                raise ProbeTimedOut() from None
            raise
        return ProbeRun(status.get("StatusCode"), out, err)

    def remove(self, container: str) -> None:
        from docker.errors import DockerException

        try:
            self.client.api.remove_container(container, force=True)
        except DockerException:
            pass


class SocketContainers:
    """The Engine API's container calls over its unix socket, one connection per call: none
    of them is retried (creating a container twice would leave one behind)."""

    def __init__(self, path: str):
        self.path = path

    def _call(self, method: str, url: str, body: bytes | None = None, *, content_type: str = "application/json",
              timeout: float = _API_TIMEOUT_S) -> tuple[int, bytes]:
        conn = UnixConnection(self.path, timeout)
        try:
            headers = {"Content-Type": content_type} if body is not None else {}
            conn.request(method, url, body=body, headers=headers)
            resp = conn.getresponse()
            # Beyond the limit the rest is dropped: a log cut there has no JSON last line, and
            # the verdict says so.
            return resp.status, resp.read(OUTPUT_LIMIT)
        except TimeoutError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise _engine_failed(exc) from None
        finally:
            conn.close()

    @staticmethod
    def _message(status: int, body: bytes) -> str:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        text = doc.get("message") if isinstance(doc, dict) else None
        return str(text or f"engine answered HTTP {status}")[:200]

    def _checked(self, method: str, url: str, body: bytes | None = None, **kw: Any) -> bytes:
        try:
            status, data = self._call(method, url, body, **kw)
        except TimeoutError:
            raise _engine_failed(f"no answer to {method} {url.split('?')[0]}") from None
        if status >= 400:
            raise RunRefused(self._message(status, data))
        return data

    def create(self, spec: ContainerSpec) -> str:
        config = {
            "Image": spec.image, "Entrypoint": list(spec.entrypoint), "Cmd": list(spec.command),
            "Labels": dict(spec.labels), "AttachStdout": False, "AttachStderr": False, "Tty": False,
            "HostConfig": {"NetworkMode": "none", "Binds": [f"{src}:{dst}:ro" for src, dst in spec.binds] or None},
        }
        data = self._checked("POST", "/containers/create", json.dumps(config).encode())
        try:
            container = json.loads(data)["Id"]
        except (ValueError, KeyError, TypeError):
            raise _engine_failed("the engine created a container without an ID") from None
        if not isinstance(container, str) or not container.isalnum():
            raise _engine_failed("the engine answered an odd container ID")
        return container

    def run(self, container: str, archive_dir: str, archive: bytes | None, timeout_s: float) -> ProbeRun:
        base = f"/containers/{container}"
        if archive is not None:  # the engine mounts the container's filesystem to unpack it: ~70 ms
            self._checked("PUT", f"{base}/archive?path={quote(archive_dir, safe='')}", archive,
                          content_type="application/x-tar")
        self._checked("POST", f"{base}/start")
        try:
            status, data = self._call("POST", f"{base}/wait", timeout=timeout_s)
        except TimeoutError:
            raise ProbeTimedOut() from None
        if status >= 400:
            raise RunRefused(self._message(status, data))
        try:
            code = json.loads(data).get("StatusCode")
        except (ValueError, AttributeError):
            code = None
        out, err = demultiplex(self._checked("GET", f"{base}/logs?stdout=1&stderr=1&tail=200"))
        return ProbeRun(code if isinstance(code, int) else None, out, err)

    def remove(self, container: str) -> None:
        try:
            self._call("DELETE", f"/containers/{container}?force=1&v=1")
        except (InfraUnavailable, TimeoutError):
            pass  # the caller's own error says more; a leftover is labelled with its owner


def demultiplex(data: bytes) -> tuple[str, str]:
    """(stdout, stderr) from the engine's multiplexed log stream (a container without a TTY):
    frames of [stream, 0, 0, 0, size (big-endian u32)] + payload. A truncated frame ends it."""
    streams: dict[int, list[bytes]] = {1: [], 2: []}
    at = 0
    while at + 8 <= len(data):
        kind, size = data[at], struct.unpack(">I", data[at + 4:at + 8])[0]
        chunk = data[at + 8:at + 8 + size]
        if kind in streams:
            streams[kind].append(chunk)
        at += 8 + size
    return (b"".join(streams[1]).decode("utf-8", "replace"), b"".join(streams[2]).decode("utf-8", "replace"))
