"""docker_socket: which endpoints the stdlib fast path takes, and that it says "ask the SDK"
(None) rather than "absent" whenever it cannot speak for the engine."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from launchbuild.docker_socket import DEFAULT_SOCKET, EngineSocket, socket_path


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, DEFAULT_SOCKET),
        ({"DOCKER_HOST": ""}, DEFAULT_SOCKET),
        ({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, "/run/user/1000/docker.sock"),
        ({"DOCKER_HOST": "unix://"}, DEFAULT_SOCKET),
        ({"DOCKER_HOST": "tcp://127.0.0.1:2375"}, None),
        ({"DOCKER_HOST": "ssh://me@host"}, None),
        ({"DOCKER_HOST": "npipe:////./pipe/docker_engine"}, None),
    ],
)
def test_socket_path_follows_docker_host_like_the_sdk(env, expected):
    assert socket_path(env) == expected


def _serve(path, responses):
    """A unix-socket HTTP server answering each request with the next (status, body)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    seen: list[str] = []

    def run():
        conn, _ = srv.accept()
        with conn:
            buf = b""
            for status, body in responses:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                seen.append(head.split(b"\r\n")[0].decode())
                reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
                conn.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv, t, seen


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, json.dumps({"Id": "sha256:abc", "Size": 7}).encode(), {"Id": "sha256:abc", "Size": 7}),
        (404, b'{"message":"No such image"}', False),
        (500, b'{"message":"boom"}', None),
        (200, b"not json", None),
        (200, b'{"NoId": 1}', None),
    ],
)
def test_image_answers(tmp_path, status, body, expected):
    path = tmp_path / "d.sock"
    srv, t, seen = _serve(path, [(status, body)])
    try:
        assert EngineSocket(str(path), timeout=5).image("127.0.0.1:5055/team/job:lb-1") == expected
    finally:
        t.join(5)
        srv.close()
    # The reference travels in the path, its registry port and slashes kept as the SDK sends them.
    assert seen == ["GET /images/127.0.0.1:5055/team/job:lb-1/json HTTP/1.1"]


def test_no_engine_behind_the_socket_means_ask_the_sdk(tmp_path):
    assert EngineSocket(str(tmp_path / "missing.sock"), timeout=1).image("x") is None
