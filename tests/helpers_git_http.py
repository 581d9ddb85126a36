"""A git smart-HTTP server on 127.0.0.1 for tests: `git http-backend` run per request (CGI)
behind a tiny stdlib HTTP server in a thread. Serves every bare repository under `root`."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def _handler(root: Path):
    class GitHandler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def log_error(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
            print(f"test git server: {format % args}", file=sys.stderr)

        def do_GET(self) -> None:
            self._cgi()

        def do_POST(self) -> None:
            self._cgi()

        def _cgi(self) -> None:
            path, _, query = self.path.partition("?")
            body = self._body()
            env = {
                "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_ADDR": "127.0.0.1",
                "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "PATH": "/usr/bin:/bin:/usr/local/bin",
            }
            proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
            if proc.returncode or proc.stderr:
                # Shown in the failing test's captured stderr: the server's side of a failed fetch.
                print(f"git http-backend {self.command} {self.path}: exit {proc.returncode}: "
                      f"{proc.stderr.decode(errors='replace').strip()}", file=sys.stderr)
            head, _, payload = proc.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.split()[0])
                elif key:
                    headers.append((key, value.strip()))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def finish(self) -> None:
            # Closing a socket that still holds unread bytes makes the kernel send a reset, and a
            # reset that overtakes the answer drops it from the client's buffer: "Connection
            # reset by peer" after a full answer. A lingering close, as web servers do: send our
            # FIN, then read until the client closes its side (bounded), and only then close.
            super().finish()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(10)
                while self.connection.recv(65536):
                    pass

        def _body(self) -> bytes:
            # git sends a large POST chunked (no Content-Length): read all of it, or closing the
            # socket with unread data resets the client's connection.
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

    return GitHandler


class _Server(ThreadingHTTPServer):
    # A loaded 2-core runner can queue more than the default 5 connections: refusing them
    # would be the test server failing, not launchbuild.
    request_queue_size = 64
    daemon_threads = True


@contextlib.contextmanager
def serve_git(root: Path):
    server = _Server(("127.0.0.1", 0), _handler(root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def make_package_repo(root: Path, name: str, version: str, tag: str) -> Path:
    """A bare repo `<root>/<name>.git` holding a tiny setuptools package, tagged `tag`."""
    work = root / f"{name}-work"
    pkg = work / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f'VERSION = "{version}"\n')
    (work / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n[tool.setuptools]\npackages = ["{name}"]\n')
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "v"], check=True)
    subprocess.run([*git, "-C", str(work), "tag", tag], check=True)
    bare = root / f"{name}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


def tag_commit(bare: Path, tag: str) -> str:
    """The commit `tag` names in the bare repository `bare`, read from disk."""
    return subprocess.run(["git", "-C", str(bare), "rev-parse", f"{tag}^{{commit}}"], capture_output=True,
                          text=True, check=True).stdout.strip()
