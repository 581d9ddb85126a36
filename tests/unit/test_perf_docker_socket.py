"""docker_socket: which endpoints the stdlib fast path takes, and that it says "ask the SDK"
(None) rather than "absent" whenever it cannot speak for the engine; builder/local_images.py:
the build's image reads and tags take the socket first and the SDK only when it cannot answer."""

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
                reason = {200: "OK", 201: "Created", 404: "Not Found", 409: "Conflict",
                          500: "Internal Server Error"}[status]
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


@pytest.mark.parametrize(("status", "expected"), [(201, True), (200, True), (404, False), (409, None), (500, None)])
def test_tag_answers(tmp_path, status, expected):
    path = tmp_path / "d.sock"
    srv, t, seen = _serve(path, [(status, b"")])
    try:
        assert EngineSocket(str(path), timeout=5).tag("sha256:abc", "127.0.0.1:5055/team/job", "lb-1") is expected
    finally:
        t.join(5)
        srv.close()
    # The repository is one query value: its port colon and slashes are escaped, never a new parameter.
    assert seen == ["POST /images/sha256:abc/tag?repo=127.0.0.1%3A5055%2Fteam%2Fjob&tag=lb-1 HTTP/1.1"]


# --- builder/local_images.py: the socket first, the SDK only when the socket cannot answer ------------


class _Sdk:
    """The docker SDK's surface LocalImages falls back to, recording what was asked."""

    def __init__(self, known: dict):
        from types import SimpleNamespace

        self.known, self.asked = known, []
        self.images, self.api = SimpleNamespace(get=self._get), SimpleNamespace(tag=self._tag)

    def _get(self, ref):
        from types import SimpleNamespace

        from docker.errors import ImageNotFound

        self.asked.append(("get", ref))
        if ref not in self.known:
            raise ImageNotFound(ref)
        return SimpleNamespace(id=self.known[ref]["Id"], attrs=self.known[ref])

    def _tag(self, image, repo, tag):
        self.asked.append(("tag", image, repo, tag))


class _Socket:
    def __init__(self, image_answer, tag_answer=True):
        self.image_answer, self.tag_answer, self.asked = image_answer, tag_answer, []

    def image(self, ref):
        self.asked.append(("image", ref))
        return self.image_answer

    def tag(self, image, repo, tag):
        self.asked.append(("tag", image, repo, tag))
        return self.tag_answer


def _images(socket, sdk):
    from launchbuild.builder.local_images import LocalImages

    images = LocalImages(socket=socket)
    images._client = sdk  # the SDK client it would create on first use
    return images


def test_an_image_the_socket_answers_never_reaches_the_sdk():
    sdk = _Sdk({})
    images = _images(_Socket({"Id": "sha256:abc", "Size": 7}), sdk)
    assert images.image_id("team/job:lb-1") == "sha256:abc" and images.attrs("team/job:lb-1")["Size"] == 7
    images.tag("sha256:abc", "127.0.0.1:5055/team/job:lb-1")
    assert sdk.asked == []


def test_an_image_the_engine_does_not_have_is_none_without_asking_the_sdk():
    sdk = _Sdk({"team/job:lb-1": {"Id": "sha256:abc"}})
    images = _images(_Socket(False), sdk)
    assert images.attrs("team/job:lb-1") is None and images.image_id("team/job:lb-1") is None
    assert sdk.asked == []


def test_a_socket_that_cannot_answer_falls_back_to_the_sdk_for_reads_and_tags():
    sdk = _Sdk({"team/job:lb-1": {"Id": "sha256:abc", "Size": 3}})
    images = _images(_Socket(None, tag_answer=None), sdk)
    assert images.image_id("team/job:lb-1") == "sha256:abc" and images.attrs("team/job:lb-1")["Size"] == 3
    assert images.attrs("team/other:1") is None
    images.tag("sha256:abc", "127.0.0.1:5055/team/job:lb-2")
    assert sdk.asked[-1] == ("tag", "sha256:abc", "127.0.0.1:5055/team/job", "lb-2")


def test_a_given_client_is_used_for_everything():
    from launchbuild.builder.local_images import LocalImages

    sdk = _Sdk({"team/job:lb-1": {"Id": "sha256:abc"}})
    images = LocalImages(sdk)
    assert images.given_client is sdk and images.image_id("team/job:lb-1") == "sha256:abc"
    images.tag("sha256:abc", "team/job:lb-9")
    assert sdk.asked == [("get", "team/job:lb-1"), ("tag", "sha256:abc", "team/job", "lb-9")]
