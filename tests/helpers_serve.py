"""A real `launchbuild serve` process for integration tests, and the hostile pieces they
control (a git server that holds a clone until released).

The server binds port 0 and logs its address as JSON on stderr; `start` blocks on that line
(an event, not a sleep). stderr is drained by a thread into `logs` for access-log checks."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKEN = "s3cret-token-for-tests"


def launchbuild_exe() -> str:
    return str(Path(sys.executable).with_name("launchbuild"))


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    state_dir: Path
    logs: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def write_tokens(path: Path) -> Path:
    path.write_text(f"# test tokens\nci-bot:{TOKEN}\nother:another-token\n")
    return path


def start_server(tmp: Path, *args: str, state_dir: Path | None = None, env: dict[str, str] | None = None,
                 auth: bool = True, exe: str | None = None) -> Server:
    """`exe`: another install's `launchbuild` (bench_serve's --baseline-python)."""
    state_dir = state_dir or tmp / "state"
    cmd = [exe or launchbuild_exe(), "serve", "--port", "0", "--state-dir", str(state_dir)]
    if auth:
        cmd += ["--token-file", str(write_tokens(tmp / "tokens.txt"))]
    cmd += list(args)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1", **(env or {})})
    assert proc.stderr is not None
    logs: list[dict[str, Any]] = []
    raw: list[str] = []
    url = None
    for line in proc.stderr:  # blocks until the server says where it listens, or exits
        raw.append(line)
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        logs.append(entry)
        if entry.get("msg", "").startswith("listening on "):
            url = entry["msg"].split()[2]
            break
    if url is None:
        proc.wait(timeout=30)
        raise AssertionError(f"server did not start (exit {proc.returncode}):\n{''.join(raw)}")
    server = Server(proc, url, state_dir, logs, raw)

    def drain() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            server.raw.append(line)
            try:
                server.logs.append(json.loads(line))
            except json.JSONDecodeError:
                pass

    threading.Thread(target=drain, daemon=True).start()
    return server


def tar_gz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class HoldingGitServer:
    """Accepts HTTP connections on 127.0.0.1 and answers nothing until `release()`: a git
    clone against it blocks at a point the test knows (`connected` is set)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self.released = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/team/repo.git"

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.released.is_set():  # a retry after release() is told at once: nothing is here
                conn.close()
                return
            self.conns.append(conn)
            self.connected.set()

    def release(self) -> None:
        """Close every held connection and stop listening: the clone fails (unreachable
        remote), and so does any retry of it."""
        self.released.set()
        for conn in self.conns:
            conn.close()
        # shutdown wakes the accept() blocked in the other thread (close alone does not, on
        # Linux): a fetch retried after the release must be refused, not held forever.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
