"""`launchbuild serve` as a real process: the operator's egress allow-lists, its operator config
at start-up, the 503 of a build submitted during SIGTERM's grace period and the generic 500
answer. None of these needs Docker or the package index."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time

import httpx
import pytest

from tests.helpers_serve import TOKEN, HoldingGitServer, launchbuild_exe, start_server, tar_gz


def error_of(response: httpx.Response, status: int, exit_code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["exit_code"] == exit_code, body
    message = body["error"]["message"]
    assert "\n" not in message and "Traceback" not in message, message
    return message


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A server that may clone only from 127.0.0.1:<the allowed holder's port> and pull only
    from the local registry."""
    tmp = tmp_path_factory.mktemp("serve-egress")
    allowed = HoldingGitServer()
    srv = start_server(tmp, "--allow-git-host", f"127.0.0.1:{allowed.port}", "--allow-git-host", "git.example.org",
                       "--allow-registry", "127.0.0.1:5055")
    srv.allowed = allowed  # type: ignore[attr-defined]
    yield srv
    allowed.release()
    assert srv.stop() == 0


REFUSED_IMAGES = [
    ({"source": {"image": "python:3.11-slim"}}, "source.image", "'docker.io'"),
    ({"source": {"image": "index.docker.io/library/python:3.11"}}, "source.image", "'docker.io'"),  # one name for Hub
    ({"source": {"image": "127.0.0.1:5056/x:1"}}, "source.image", "'127.0.0.1:5056'"),
    ({"source": {"image": "127.0.0.1/x:1"}}, "source.image", "'127.0.0.1'"),  # an allowed host:port is not the host
    ({"source": {"git": {"url": "https://git.example.org/team/repo.git"}}, "options": {"base-image": "ghcr.io/x/cuda:1"}},
     "options.base-image", "'ghcr.io'"),
    ({"source": {"git": {"url": "https://git.example.org/team/repo.git"}},
      "options": {"python-base-image": "quay.io/py/python:{python}-slim"}}, "options.python-base-image", "'quay.io'"),
    ({"source": {"git": {"url": "https://git.example.org/team/repo.git"}},
      "queue_config": {"builder": {"accelerator": {"base_image": "nvcr.io/nvidia/cuda:12.1.1-runtime-ubuntu22.04"}}}},
     "queue_config.builder.accelerator.base_image", "'nvcr.io'"),
    ({"spec": {"source_type": "image", "source": {"image": "registry.internal:5000/secret:1"}}},
     "spec.source.image", "'registry.internal:5000'"),
]
REFUSED_GIT = [
    ({"source": {"git": {"url": "http://169.254.169.254/latest/meta-data"}}}, "'169.254.169.254'"),
    ({"source": {"git": {"url": "https://GIT.example.org.evil.test/team/repo.git"}}}, "'git.example.org.evil.test'"),
    ({"spec": {"source_type": "repo", "source": {"git": {"remote": "https://localhost/x.git", "commit": "main"}}}},
     "'localhost'"),
]


@pytest.mark.parametrize("route", ["/v1/checks", "/v1/builds"])
@pytest.mark.parametrize("body,where,host", REFUSED_IMAGES)
def test_an_image_from_a_registry_off_the_allow_list_is_400_naming_it(guarded, route, body, where, host):
    message = error_of(httpx.post(guarded.url + route, json=body, headers=guarded.headers), 400, 2)
    assert where in message and host in message and "registry allow-list" in message


@pytest.mark.parametrize("route", ["/v1/checks", "/v1/builds"])
@pytest.mark.parametrize("body,host", REFUSED_GIT)
def test_a_git_host_off_the_allow_list_is_400_naming_it(guarded, route, body, host):
    message = error_of(httpx.post(guarded.url + route, json=body, headers=guarded.headers), 400, 2)
    assert host in message and "git allow-list" in message


@pytest.mark.parametrize("route", ["/v1/checks", "/v1/builds"])
def test_a_base_image_in_the_jobs_own_config_is_held_to_the_allow_list(guarded, route):
    archive = tar_gz({"train.py": "print(1)\n", "launchbuild.toml": 'python-base-image = "docker.io/library/python:3.11"\n'})
    request = {"source": {"archive": "source"}, "options": {"python": "3.11", "entrypoint": "python train.py"}}
    response = httpx.post(guarded.url + route, headers=guarded.headers, timeout=120,
                          files={"request": (None, json.dumps(request)), "source": ("code.tar.gz", archive)})
    message = error_of(response, 400, 2)
    assert "launchbuild.toml python-base-image" in message and "'docker.io'" in message


def test_a_refused_git_host_is_never_contacted_and_an_allowed_one_is(guarded):
    other = HoldingGitServer()  # same address, another port: not on the list
    try:
        refused = httpx.post(guarded.url + "/v1/checks", headers=guarded.headers,
                             json={"source": {"git": {"url": other.url}}})
        assert f"'127.0.0.1:{other.port}'" in error_of(refused, 400, 2)
        assert not other.connected.is_set()  # the answer came before any connection
    finally:
        other.release()
    allowed = guarded.allowed
    answer: dict = {}
    import threading

    def check() -> None:
        answer["r"] = httpx.post(guarded.url + "/v1/checks", headers=guarded.headers, timeout=300,
                                 json={"source": {"git": {"url": allowed.url}}})

    t = threading.Thread(target=check)
    t.start()
    assert allowed.connected.wait(120), "an allowed git host was never contacted"
    allowed.release()
    t.join(300)
    assert "allow-list" not in error_of(answer["r"], 503, 3)  # the remote hung up: unreachable, not refused


class RedirectingGitServer:
    """An allowed host that answers every request with a redirect to `target`."""

    def __init__(self, target: str) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(302)
                self.send_header("Location", target + self.path.split("/repo.git", 1)[-1])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_allowed_git_host_cannot_redirect_the_clone_elsewhere(tmp_path):
    elsewhere = HoldingGitServer()  # not on the list: a redirect there must not be followed
    redirector = RedirectingGitServer(elsewhere.url)
    srv = start_server(tmp_path, "--allow-git-host", f"127.0.0.1:{redirector.port}")
    try:
        response = httpx.post(srv.url + "/v1/checks", headers=srv.headers, timeout=300,
                              json={"source": {"git": {"url": f"http://127.0.0.1:{redirector.port}/team/repo.git"}}})
        assert response.status_code in (400, 503), response.text
        assert not elsewhere.connected.is_set()
    finally:
        redirector.close()
        elsewhere.release()
        assert srv.stop() == 0


def test_bad_allow_list_entries_and_operator_configs_refuse_to_start(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"ci-bot:{TOKEN}\n")
    (tmp_path / "unknown.toml").write_text('no-such-option = 1\n')
    (tmp_path / "badtype.toml").write_text('uid = "root"\n')
    xdg = tmp_path / "xdg"
    (xdg / "launchbuild").mkdir(parents=True)
    (xdg / "launchbuild" / "config.toml").write_text('offline = "sometimes"\n')
    cases = [
        (["--allow-git-host", "https://github.com"], {}, "--allow-git-host"),
        (["--allow-git-host", "host:99999"], {}, "bad port"),
        (["--allow-registry", "bad host!"], {}, "--allow-registry"),
        (["--config", str(tmp_path / "missing.toml")], {}, "not a file"),
        (["--config", str(tmp_path / "unknown.toml")], {}, "no-such-option"),
        (["--config", str(tmp_path / "badtype.toml")], {}, "'uid'"),
        ([], {"XDG_CONFIG_HOME": str(xdg)}, "'offline'"),  # the CLI's default location is read too
    ]
    import os

    for extra, env, expected in cases:
        proc = subprocess.run([launchbuild_exe(), "serve", "--port", "0", "--token-file", str(tokens),
                               "--state-dir", str(tmp_path / "s"), *extra], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "NO_COLOR": "1", "LAUNCHBUILD_CONFIG": "", **env})
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, (extra, proc.stderr)
        assert expected in proc.stderr, (extra, proc.stderr)


def _wait_for_log(srv, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in e.get("msg", "") for e in list(srv.logs)):
        assert time.monotonic() < deadline and srv.proc.poll() is None, f"no log line {text!r}: {srv.raw[-5:]}"
        time.sleep(0.05)


def test_a_build_submitted_during_the_shutdown_grace_period_is_503(tmp_path):
    """The request is in flight (its headers read, its body half sent: the server has
    answered 100-continue) when SIGTERM comes; the rest of the body arrives after the server
    has stopped taking builds, so it is answered 503 instead of being queued."""
    srv = start_server(tmp_path, "--shutdown-grace", "120")
    host, port = srv.url.removeprefix("http://").rsplit(":", 1)
    body = json.dumps({"source": {"git": {"url": "https://git.example.org/team/repo.git"}}}).encode()
    head = (f"POST /v1/builds HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n"
            f"X-Request-ID: grace-1\r\n\r\n").encode()
    try:
        with socket.create_connection((host, int(port)), timeout=120) as conn:
            conn.sendall(head)
            assert conn.recv(4096).startswith(b"HTTP/1.1 100"), "the server never started reading the body"
            conn.sendall(body[:10])
            srv.proc.send_signal(signal.SIGTERM)
            _wait_for_log(srv, "shutting down: new builds are refused")
            conn.sendall(body[10:])
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        headers, _, payload = rest.partition(b"\r\n\r\n")
        assert status_line.startswith(b"HTTP/1.1 503"), answer
        assert b"retry-after: 2" in headers.lower()
        error = json.loads(payload)["error"]
        assert error == {"exit_code": 3, "message": "the server is shutting down"}
        assert srv.proc.wait(timeout=120) == 0
        assert not any(e.get("logger") == "launchbuild.serve" and e.get("build_id") for e in srv.logs)
        assert list((srv.state_dir / "work").iterdir()) == []  # nothing was laid out for it
    finally:
        srv.stop()


def test_an_unexpected_error_is_one_json_line_500_logged_with_the_request_id(tmp_path):
    """The test hook (an environment variable read at start, never from a request) makes the
    rules route raise; the answer says only where to look."""
    srv = start_server(tmp_path, env={"LAUNCHBUILD_SERVE_TEST_FAULT": "rules"})
    try:
        response = httpx.get(srv.url + "/v1/rules", headers={**srv.headers, "X-Request-ID": "fault-42"})
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/json"
        assert response.text.count("\n") == 0 and "Traceback" not in response.text
        assert "fault injected" not in response.text and "RuntimeError" not in response.text  # no internals
        assert response.json() == {"error": {"exit_code": 1,
                                             "message": "internal error; the server log has request id fault-42"}}
        assert httpx.get(srv.url + "/healthz").status_code == 200  # the server lives on
    finally:
        assert srv.stop() == 0
    logged = [e for e in srv.logs if e.get("msg") == "unexpected error"]
    assert len(logged) == 1 and logged[0]["request_id"] == "fault-42" and logged[0]["level"] == "error"
    assert "RuntimeError: fault injected" in logged[0]["exc"]  # the cause is in the log, not the answer
    assert all(e.get("status") == 500 for e in srv.logs if e.get("logger") == "launchbuild.access"
               and e.get("request_id") == "fault-42")
