"""A small OCI registry (v2 API, read side) on 127.0.0.1 for fault tests.

It serves images assembled in the test (index -> manifest -> config -> gzip layers) and
can be switched into the faults a real registry or proxy shows: auth challenges (Bearer
with a token endpoint, or Basic), 404, 500, a response slower than the client's timeout,
a blob cut short, a manifest whose digest does not match. Reusable by any area's tests:

    with FakeRegistry() as reg:
        ref = reg.add_image("team/app", "1.0", layers=[{"etc/os-release": b"ID=debian\n"}])
        ... inspect f"{reg.host}/team/app:1.0" ...
        reg.fault = "500"
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping, Union
from urllib.parse import parse_qs, urlparse

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

FAULTS = (None, "404", "500", "slow", "truncate", "digest-mismatch", "blob-corrupt", "drip-headers", "drip-body")


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Whiteout:
    """Deletes the path in lower layers (`.wh.<name>`)."""


@dataclass(frozen=True)
class Opaque:
    """Hides a directory's lower-layer children (`.wh..wh..opq`)."""


LayerEntry = Union[bytes, str, Symlink, Whiteout, Opaque]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_layer(files: Mapping[str, LayerEntry]) -> bytes:
    """A deterministic gzip tar layer. Values: file bytes/str, Symlink, Whiteout, Opaque."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, value in files.items():
            path = path.lstrip("/")
            if isinstance(value, Whiteout):
                head, _, base = path.rpartition("/")
                path, value = (f"{head}/" if head else "") + f".wh.{base}", b""
            elif isinstance(value, Opaque):
                path, value = f"{path.rstrip('/')}/.wh..wh..opq", b""
            info = tarfile.TarInfo(path)
            info.mtime = 0
            if isinstance(value, Symlink):
                info.type = tarfile.SYMTYPE
                info.linkname = value.target
                tar.addfile(info)
                continue
            data = value.encode() if isinstance(value, str) else value
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-response (timeouts, truncation tests) are expected here;
    the stock server would print their tracebacks into the output under test."""

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


@dataclass
class FakeRegistry:
    auth: str | None = None  # None | "bearer" | "basic"
    users: dict[str, str] = field(default_factory=dict)  # accepted Basic credentials
    fault: str | None = None
    # "slow": the answer is held until `answered_slowly` is set (by `stop()` at the latest), so
    # a client's read timeout fires whatever the load; `slow_held` says a request is waiting.
    slow_seconds: float = 2.0  # kept for callers that set it; the hold ends on the event
    drip_interval: float = 0.2  # "drip-*" faults: one byte per interval, until the client hangs up
    token: str = "fake-token-0123456789"
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.slow_held = threading.Event()
        self.answered_slowly = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- content ---------------------------------------------------------------------------

    def add_blob(self, data: bytes) -> dict[str, Any]:
        digest = sha256(data)
        self.blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    def add_manifest(self, repo: str, tag: str | None, media_type: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body, sort_keys=True).encode()
        digest = sha256(data)
        self.manifests[(repo, digest)] = (media_type, data)
        if tag:
            self.manifests[(repo, tag)] = (media_type, data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def add_raw_manifest(self, repo: str, tag: str, media_type: str, data: bytes) -> dict[str, Any]:
        """Any bytes as a manifest (hostile shapes: a number, a list, broken JSON)."""
        digest = sha256(data)
        self.manifests[(repo, digest)] = (media_type, data)
        self.manifests[(repo, tag)] = (media_type, data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def add_image_with_config(self, repo: str, tag: str, config: bytes, *, layers: list[Any] | None = None) -> dict[str, Any]:
        """An image whose config blob is `config` as given (any JSON, any shape)."""
        config_desc = {"mediaType": OCI_CONFIG, **self.add_blob(config)}
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc,
                    "layers": [] if layers is None else layers}
        return self.add_manifest(repo, tag, OCI_MANIFEST, manifest)

    def add_image(
        self,
        repo: str,
        tag: str | None,
        *,
        layers: list[Mapping[str, LayerEntry]],
        env: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        architecture: str = "amd64",
        os: str = "linux",
    ) -> dict[str, Any]:
        """Store one single-platform image (layers listed bottom first); its manifest descriptor."""
        layer_descs = []
        diff_ids = []
        for files in layers:
            blob = build_layer(files)
            layer_descs.append({"mediaType": OCI_LAYER_GZIP, **self.add_blob(blob)})
            diff_ids.append(sha256(gzip.decompress(blob)))
        config = {
            "architecture": architecture,
            "os": os,
            "config": {"Env": [f"{k}={v}" for k, v in (env or {}).items()], "Labels": dict(labels or {})},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        config_desc = {"mediaType": OCI_CONFIG, **self.add_blob(json.dumps(config, sort_keys=True).encode())}
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc, "layers": layer_descs}
        desc = self.add_manifest(repo, tag, OCI_MANIFEST, manifest)
        desc["config_digest"] = config_desc["digest"]
        return desc

    def add_index(self, repo: str, tag: str, entries: list[tuple[dict[str, Any], dict[str, str]]]) -> dict[str, Any]:
        """An image index over (manifest descriptor, platform) pairs."""
        manifests = [
            {"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"], "platform": platform}
            for d, platform in entries
        ]
        return self.add_manifest(repo, tag, OCI_INDEX, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})

    # --- server ------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        assert self._server is not None, "start() the registry first"
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeRegistry":
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                try:
                    registry._handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakeregistry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.answered_slowly.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeRegistry":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- request handling ------------------------------------------------------------------------

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        h.send_response(status)
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _error(self, h: BaseHTTPRequestHandler, status: int, code: str, extra: Mapping[str, str] | None = None) -> None:
        body = json.dumps({"errors": [{"code": code, "message": code.lower()}]}).encode()
        self._send(h, status, body, {"Content-Type": "application/json", **(extra or {})})

    def _authorised(self, h: BaseHTTPRequestHandler, repo: str) -> bool:
        given = h.headers.get("Authorization", "")
        if self.auth == "bearer":
            if given == f"Bearer {self.token}":
                return True
            realm = f"http://{self.host}/token"
            challenge = f'Bearer realm="{realm}",service="fakeregistry",scope="repository:{repo}:pull"'
            self._error(h, 401, "UNAUTHORIZED", {"WWW-Authenticate": challenge})
            return False
        if self.auth == "basic":
            if self._basic_ok(given):
                return True
            self._error(h, 401, "UNAUTHORIZED", {"WWW-Authenticate": 'Basic realm="fakeregistry"'})
            return False
        return True

    def _basic_ok(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return self.users.get(user) == secret

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        self.log.append({"path": url.path, "query": url.query, "authorization": h.headers.get("Authorization")})
        if url.path == "/token":
            if self.users and not self._basic_ok(h.headers.get("Authorization", "")):
                return self._error(h, 401, "UNAUTHORIZED")
            scope = parse_qs(url.query).get("scope", [""])[0]
            return self._send(h, 200, json.dumps({"token": self.token, "scope": scope}).encode(), {"Content-Type": "application/json"})
        if url.path == "/v2/":
            return self._send(h, 200, b"{}", {"Content-Type": "application/json"})
        match = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", url.path)
        if not match:
            return self._error(h, 404, "NOT_FOUND")
        repo, kind, reference = match.groups()
        if not self._authorised(h, repo):
            return None
        if self.fault == "500":
            return self._error(h, 500, "INTERNAL")
        if self.fault == "slow":
            self.slow_held.set()
            self.answered_slowly.wait()
        if self.fault in ("drip-headers", "drip-body"):
            return self._drip(h)
        if kind == "manifests":
            return self._manifest(h, repo, reference)
        return self._blob(h, reference)

    def _drip(self, h: BaseHTTPRequestHandler) -> None:
        """A server that never stops answering and never finishes: one byte per interval."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n"
        if self.fault == "drip-body":
            h.wfile.write(head + b"\r\n")
            head = b"{" + b" " * 10_000_000
        else:
            head = head + b"X-Drip: " + b"a" * 10_000_000
        try:
            for byte in head:
                if self._server is None:
                    break
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(self.drip_interval)
        except OSError:
            pass  # the client gave up: what the test wants
        h.close_connection = True

    def _manifest(self, h: BaseHTTPRequestHandler, repo: str, reference: str) -> None:
        found = self.manifests.get((repo, reference))
        if found is None or self.fault == "404":
            return self._error(h, 404, "MANIFEST_UNKNOWN")
        media_type, body = found
        digest = sha256(body)
        if self.fault == "digest-mismatch":
            body = body.replace(b'"schemaVersion": 2', b'"schemaVersion":  2')  # same JSON, other bytes
        self._send(h, 200, body, {"Content-Type": media_type, "Docker-Content-Digest": digest})

    def _blob(self, h: BaseHTTPRequestHandler, digest: str) -> None:
        data = self.blobs.get(digest)
        if data is None:
            return self._error(h, 404, "BLOB_UNKNOWN")
        if self.fault == "blob-corrupt":
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        if self.fault == "truncate":
            h.send_response(200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(len(data)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return None
        self._send(h, 200, data, {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest})
