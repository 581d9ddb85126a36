"""A gate for interrupt and fault tests: a package index on 127.0.0.1 that holds the build.

Builds run with the host network, so an install step inside `docker build` reaches this
index. It serves a tiny real wheel's index page and its PEP 658 metadata (all a resolver on
the host needs to lock it, hashes included), but a request for the wheel file itself (which
only an install fetches) is *held*: `held` is set and the response never comes until the
test calls `release()`. A test that waits on `held` therefore knows, without any timing,
that the engine is in the middle of a RUN step that cannot finish: the moment to send
Ctrl-C or to kill the daemon.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers_resolver import build_wheel

# Generous bound for a *failure* message only: waiting on the event is what synchronizes.
EVENT_TIMEOUT_S = 600


class GatedIndex:
    """`with GatedIndex(tmp) as gate:` -> `gate.url` (a PEP 503 index), `gate.requirement`,
    `gate.lock_text` (a hashed lock of the one package), `gate.held` (threading.Event)."""

    def __init__(self, directory: Path, *, mode: str = "hold") -> None:
        # mode "hold": the wheel download waits for release(); "corrupt": it is answered at
        # once with other bytes, so the install step fails (a real, immediate build failure);
        # "serve": it is answered with the wheel (a plain-http index: no CA needed).
        assert mode in ("hold", "corrupt", "serve"), mode
        self.mode = mode
        # A name and version of its own per gate: no uv cache (host or BuildKit cache mount)
        # can already hold this wheel, so the install step must fetch it from here.
        self.name = "lbgate-" + uuid.uuid4().hex[:10]
        self.version = "1.0"
        self.wheel = build_wheel(directory, self.name, self.version)
        self.data = self.wheel.read_bytes()
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        import zipfile

        with zipfile.ZipFile(self.wheel) as zf:
            meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            self.metadata = zf.read(meta_name)
        self.metadata_sha256 = hashlib.sha256(self.metadata).hexdigest()
        self.held = threading.Event()
        self._release = threading.Event()
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple"

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def lock_text(self) -> str:
        # As the resolver writes a lock: the index is data in the lock file itself, never a
        # word on the install step's shell line (docs/SECURITY.md).
        return f"--index-url {self.url}\n{self.requirement} \\\n    --hash=sha256:{self.sha256}\n"

    def wait_held(self, what: str = "the build") -> None:
        if not self.held.wait(EVENT_TIMEOUT_S):
            raise AssertionError(f"{what} never asked the gate index for {self.wheel.name}; requests: {self.requests}")

    def release(self) -> None:
        self._release.set()

    def __enter__(self) -> "GatedIndex":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        gate = self
        normalized = self.name.replace("_", "-").lower()
        wheel_name = self.wheel.name
        page = (
            "<!DOCTYPE html><html><body>"
            f'<a href="/files/{wheel_name}#sha256={self.sha256}" '
            f'data-dist-info-metadata="sha256={self.metadata_sha256}" '
            f'data-core-metadata="sha256={self.metadata_sha256}">{wheel_name}</a>'
            "</body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args) -> None:
                pass

            def _send(self, body: bytes, ctype: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                gate.requests.append(path)
                if path.rstrip("/") in (f"/simple/{normalized}", f"/simple/{gate.name}"):
                    self._send(page, "text/html")
                elif path == f"/files/{wheel_name}.metadata":
                    self._send(gate.metadata, "text/plain")
                elif path == f"/files/{wheel_name}" and gate.mode == "corrupt":
                    self._send(gate.data[::-1], "application/octet-stream")
                elif path == f"/files/{wheel_name}" and gate.mode == "serve":
                    self._send(gate.data, "application/octet-stream")
                elif path == f"/files/{wheel_name}":
                    gate.held.set()
                    gate._release.wait()
                    self.close_connection = True  # released: drop it unanswered
                else:
                    self.send_error(404)

        return Handler


def default_sigint() -> None:
    """A `preexec_fn` for a child the test will Ctrl-C: SIGINT back to its default disposition.

    A shell without job control starts background commands with SIGINT ignored, and Python then
    never installs its KeyboardInterrupt handler; the test is about a terminal's Ctrl-C, which a
    real user's launchbuild receives, so the child must not inherit that."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
