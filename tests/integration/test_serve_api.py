"""`launchbuild serve` as a real process: open routes, auth, bad input, upload limits, full
queues, cancel, SIGTERM and restart. None of these needs Docker or the package index: the
blocked work is a git clone against a server the test holds (HoldingGitServer)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.helpers_serve import TOKEN, HoldingGitServer, launchbuild_exe, start_server, tar_gz

V1_ROUTES = [("GET", "/v1/rules"), ("POST", "/v1/checks"), ("POST", "/v1/builds"), ("GET", "/v1/builds/x"),
             ("GET", "/v1/builds/x/events"), ("DELETE", "/v1/builds/x")]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the stateless tests; its TMPDIR is checked for leftovers at the end."""
    tmp = tmp_path_factory.mktemp("serve")
    srv = start_server(tmp, env={"TMPDIR": str(_tmpdir(tmp))})
    srv.tmp = tmp  # type: ignore[attr-defined]
    yield srv
    assert srv.stop() == 0
    assert list((tmp / "tmpdir").iterdir()) == []  # every request's directory is gone


@pytest.fixture()
def server(tmp_path):
    srv = start_server(tmp_path, env={"TMPDIR": str(_tmpdir(tmp_path))})
    yield srv
    assert srv.stop() == 0


def _tmpdir(tmp_path: Path) -> Path:
    d = tmp_path / "tmpdir"
    d.mkdir(exist_ok=True)
    return d


def error_of(response: httpx.Response, status: int, exit_code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["exit_code"] == exit_code, body
    message = body["error"]["message"]
    assert "\n" not in message and "Traceback" not in message and "/tmp" not in message, message
    return message


def test_open_routes_answer_without_a_token(server):
    health = httpx.get(server.url + "/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    spec = httpx.get(server.url + "/openapi.json").json()
    assert {"/v1/checks", "/v1/builds", "/v1/builds/{build_id}", "/v1/builds/{build_id}/events",
            "/v1/rules", "/healthz", "/metrics"} <= set(spec["paths"])
    httpx.post(server.url + "/v1/checks", json={})  # a 401, counted below
    metrics = httpx.get(server.url + "/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'launchbuild_http_requests_total{route="/healthz",method="GET",status="200"} 1' in text
    assert 'launchbuild_http_requests_total{route="/v1/checks",method="POST",status="401"} 1' in text
    assert 'launchbuild_http_request_duration_seconds_bucket{route="/healthz",method="GET",status="200",le="+Inf"} 1' in text
    for gauge in ("launchbuild_check_queue_depth", "launchbuild_build_queue_depth", "launchbuild_builds_running"):
        assert f"\n{gauge} 0" in text


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer",
                                    f"Bearer {TOKEN[:-1]}", "another-token"])
def test_every_v1_route_needs_the_right_token(shared, header):
    headers = {"Authorization": header} if header else {}
    for method, path in V1_ROUTES:
        response = httpx.request(method, shared.url + path, headers=headers, json={})
        error_of(response, 401, 2)
        assert response.headers["www-authenticate"] == "Bearer"


def test_rules_is_the_document_the_cli_prints(server):  # its own server: it reads the access log
    response = httpx.get(server.url + "/v1/rules", headers=server.headers)
    cli = subprocess.run([launchbuild_exe(), "rules", "--format", "json"], capture_output=True, text=True, check=True)
    assert response.status_code == 200 and response.json() == json.loads(cli.stdout)
    from launchbuild.compat.registry import ALL_RULES

    assert [(e["id"], e["group"], e["docs"]) for e in response.json()] == [
        (r.id, {"id": r.group.id, "title": r.group.title}, r.docs) for r in ALL_RULES]
    second = httpx.get(server.url + "/v1/rules", headers={"Authorization": "Bearer another-token"})
    assert second.status_code == 200  # any name in the token file
    entries = [e for e in server.logs if e.get("logger") == "launchbuild.access" and e.get("route") == "/v1/rules"]
    assert {e["caller"] for e in entries} >= {"ci-bot"}  # the last one may still be in flight to the log
    assert all(len(e["request_id"]) == 32 for e in entries)


def test_request_ids_are_echoed_and_logged(server):
    response = httpx.get(server.url + "/healthz", headers={"X-Request-ID": "agent-42.req_7"})
    assert response.headers["x-request-id"] == "agent-42.req_7"
    ours = httpx.get(server.url + "/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert ours.headers["x-request-id"] != "bad id with spaces" and len(ours.headers["x-request-id"]) == 32
    server.stop()
    logged = {e["request_id"] for e in server.logs if e.get("logger") == "launchbuild.access"}
    assert {"agent-42.req_7", ours.headers["x-request-id"]} <= logged


def test_refuses_to_start_without_tokens(tmp_path):
    proc = subprocess.run([launchbuild_exe(), "serve", "--port", "0", "--state-dir", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=60, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "--token-file" in proc.stderr and "Traceback" not in proc.stderr
    public = subprocess.run([launchbuild_exe(), "serve", "--port", "0", "--insecure-no-auth", "--host", "0.0.0.0",
                             "--state-dir", str(tmp_path / "s")], capture_output=True, text=True, timeout=60)
    assert public.returncode == 2 and "loopback" in public.stderr
    (tmp_path / "bad-tokens").write_text("no-colon-here\n")
    bad = subprocess.run([launchbuild_exe(), "serve", "--port", "0", "--token-file", str(tmp_path / "bad-tokens"),
                          "--state-dir", str(tmp_path / "s")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "line 1" in bad.stderr and "no-colon-here" not in bad.stderr


def test_insecure_no_auth_serves_on_loopback(tmp_path):
    srv = start_server(tmp_path, "--insecure-no-auth", auth=False)
    try:
        assert httpx.get(srv.url + "/v1/rules").status_code == 200
        assert any("no auth" in e.get("msg", "") for e in srv.logs)
    finally:
        assert srv.stop() == 0


OPERATOR_OPTIONS = ["engine", "uid", "ca-bundle", "resolver", "offline", "torch-index-url", "kubernetes-namespace",
                    "kubernetes-context-store", "kubernetes-builder"]


@pytest.mark.parametrize("route", ["/v1/checks", "/v1/builds"])
@pytest.mark.parametrize("option", OPERATOR_OPTIONS)
def test_operator_options_in_a_request_are_refused(shared, route, option):
    body = {"source": {"image": "example/img:1"}, "options": {option: "x"}}
    message = error_of(httpx.post(shared.url + route, json=body, headers=shared.headers), 400, 2)
    assert repr(option) in message and "operator" in message


BAD_BODIES = [
    ({"source": {"image": "a:1"}, "surprise": 1}, "'surprise'"),
    ({}, "no 'source'"),
    ({"source": {"git": {"url": "file:///etc"}}}, "http(s) git URL"),
    ({"source": {"git": {"url": "ssh://git@127.0.0.1/x.git"}}}, "http(s) git URL"),
    ({"source": {"git": {"url": "/srv/repos/secret"}}}, "http(s) git URL"),
    ({"spec": {"source_type": "repo", "source": {"git": {"remote": "file:///root/repo"}}}}, "spec.source.git.remote"),
    ({"source": {"archive": "source"}}, "no 'source' part"),
    ({"source": {"svn": "x"}}, "unknown source kind"),
    ({"source": {"image": "a:1"}, "options": {"no-such-option": 1}}, "unknown option 'no-such-option'"),
    ({"source": {"image": "a:1"}, "options": {"strict": "yes"}}, "'strict' must be true or false"),
    ({"source": {"image": "a:1"}, "options": {"gpu": 7}}, "'gpu' must be a list"),
    ({"source": {"image": "a:1"}, "options": {"push": "127.0.0.1:5000/x"}}, "'push' is set by the server"),
]


@pytest.mark.parametrize("body,expected", BAD_BODIES)
def test_bad_requests_are_400_with_one_line(shared, body, expected):
    message = error_of(httpx.post(shared.url + "/v1/checks", json=body, headers=shared.headers), 400, 2)
    assert expected in message


def test_malformed_bodies_are_400(shared):
    server, h = shared, shared.headers
    assert "not valid JSON" in error_of(httpx.post(server.url + "/v1/checks", content=b"{nope",
                                                   headers={**h, "Content-Type": "application/json"}), 400, 2)
    for deep in (b"[" * 100_000, b'{"queue_config": ' + b'{"a": ' * 500 + b"1" + b"}" * 501):  # not a 500
        assert "levels deep" in error_of(httpx.post(server.url + "/v1/checks", content=deep,
                                                    headers={**h, "Content-Type": "application/json"}), 400, 2)
    assert "Content-Type" in error_of(httpx.post(server.url + "/v1/checks", content=b"x",
                                                 headers={**h, "Content-Type": "text/plain"}), 400, 2)
    assert "does not use it" in error_of(httpx.post(server.url + "/v1/checks", headers=h,
                                                  files={"request": (None, json.dumps({"source": {"image": "a:1"}})),
                                                         "source": ("code.tar.gz", b"abc")}), 400, 2)
    assert "unknown multipart part" in error_of(httpx.post(server.url + "/v1/checks", headers=h,
                                                           files={"other": (None, "x")}), 400, 2)


def multipart_check(server, archive: bytes, request: dict | None = None, filename: str = "code.tar.gz"):
    request = request or {"source": {"archive": "source"}, "options": {"python": "3.11"}}
    return httpx.post(server.url + "/v1/checks", headers=server.headers, timeout=120,
                      files={"request": (None, json.dumps(request)), "source": (filename, archive)})


def test_unsafe_and_broken_archives_are_400_and_leave_nothing(server, tmp_path):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    message = error_of(multipart_check(server, buf.getvalue()), 400, 2)
    assert "archive" in message
    assert "not a readable tar" in error_of(multipart_check(server, b"this is not an archive"), 400, 2)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "tmpdir" / "escaped.txt").exists()
    assert list((tmp_path / "tmpdir").iterdir()) == []  # every request's directory is gone


@pytest.mark.parametrize("route", ["/v1/checks", "/v1/builds"])
@pytest.mark.parametrize("option", ["ca-bundle", "engine", "torch-index-url"])
def test_operator_options_in_the_jobs_own_config_are_refused(shared, option, route):
    archive = tar_gz({"train.py": "print(1)\n", "launchbuild.toml": f'{option} = "/etc/shadow"\n'})
    request = {"source": {"archive": "source"}, "options": {"python": "3.11"}}
    response = httpx.post(shared.url + route, headers=shared.headers, timeout=120,
                          files={"request": (None, json.dumps(request)), "source": ("code.tar.gz", archive)})
    message = error_of(response, 400, 2)
    assert f"'{option}' is an operator option" in message and "launchbuild.toml" in message


def test_oversized_uploads_are_413_streamed_or_declared(tmp_path):
    srv = start_server(tmp_path, "--max-upload-bytes", "4096", env={"TMPDIR": str(_tmpdir(tmp_path))})
    try:
        big = b"\0" * 20_000
        declared = multipart_check(srv, big)
        assert "upload limit of 4096 bytes" in error_of(declared, 413, 2)

        def chunks():  # no Content-Length: the limit holds while streaming, inside a valid part
            yield b'--zzz\r\nContent-Disposition: form-data; name="source"; filename="a.tar"\r\n\r\n'
            for _ in range(5):
                yield b"x" * 2000

        streamed = httpx.post(srv.url + "/v1/checks", content=chunks(),
                              headers={**srv.headers, "Content-Type": "multipart/form-data; boundary=zzz"})
        assert "upload limit" in error_of(streamed, 413, 2)
        small = httpx.post(srv.url + "/v1/checks", json={"source": {"git": {"url": "file:///x"}}}, headers=srv.headers)
        error_of(small, 400, 2)  # under the limit: parsed as usual
        assert list((tmp_path / "tmpdir").iterdir()) == []
    finally:
        assert srv.stop() == 0


def test_a_full_check_queue_is_429_and_a_dead_remote_is_503(tmp_path):
    srv = start_server(tmp_path, "--max-concurrent-checks", "1", "--check-queue-size", "0")
    holder = HoldingGitServer()
    try:
        first: dict = {}

        def blocked_check() -> None:
            first["r"] = httpx.post(srv.url + "/v1/checks", headers=srv.headers, timeout=300,
                                    json={"source": {"git": {"url": holder.url}}})

        t = threading.Thread(target=blocked_check)
        t.start()
        assert holder.connected.wait(120), "the check never reached the git server"
        full = httpx.post(srv.url + "/v1/checks", headers=srv.headers, json={"source": {"image": "a:1"}})
        error_of(full, 429, 3)
        assert int(full.headers["retry-after"]) > 0
        assert "\nlaunchbuild_checks_in_flight 1" in httpx.get(srv.url + "/metrics").text
        holder.release()
        t.join(300)
        message = error_of(first["r"], 503, 3)
        assert "git" in message.lower() or "remote" in message.lower()
    finally:
        holder.release()
        assert srv.stop() == 0


def read_events(srv, build_id: str) -> list[dict]:
    events = []
    with httpx.stream("GET", f"{srv.url}/v1/builds/{build_id}/events", headers=srv.headers, timeout=600) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                assert data["type"] == kind
                events.append(data)
    return events


def test_build_queue_dedupe_cancel_sigterm_and_restart(tmp_path):
    args = ("--max-concurrent-builds", "1", "--build-queue-size", "0")
    srv = start_server(tmp_path, *args)
    holder = HoldingGitServer()
    try:
        body = {"source": {"git": {"url": holder.url}}, "options": {"entrypoint": "python train.py"}}
        created = httpx.post(srv.url + "/v1/builds", headers=srv.headers, json=body)
        assert created.status_code == 202 and created.json()["status"] == "queued"
        build_id = created.json()["id"]
        assert holder.connected.wait(120), "the build never reached the git server"
        same = httpx.post(srv.url + "/v1/builds", headers=srv.headers, json=body)
        assert same.status_code == 202 and same.json()["id"] == build_id  # identical content: one build
        other = httpx.post(srv.url + "/v1/builds", headers=srv.headers,
                           json={**body, "options": {"entrypoint": "python other.py"}})
        error_of(other, 429, 3)
        assert int(other.headers["retry-after"]) > 0
        running = httpx.get(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers).json()
        assert running["status"] == "running" and running["tag"] is None and running["finished_at"] is None
        # Another caller's identical request joins the build; its cancel only lets go of it:
        # the build keeps running for its first requester, and a caller not holding it is refused.
        other_caller = {"Authorization": "Bearer another-token"}
        joined = httpx.post(srv.url + "/v1/builds", headers=other_caller, json=body)
        assert joined.status_code == 202 and joined.json()["id"] == build_id
        let_go = httpx.delete(f"{srv.url}/v1/builds/{build_id}", headers=other_caller, timeout=300)
        assert let_go.status_code == 200 and let_go.json()["status"] == "running" and let_go.json()["held_by_others"]
        assert "only its requesters can cancel it" in error_of(
            httpx.delete(f"{srv.url}/v1/builds/{build_id}", headers=other_caller), 403, 2)
        assert httpx.get(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers).json()["status"] == "running"

        cancelled = httpx.delete(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers, timeout=300)
        assert cancelled.status_code == 200, cancelled.text
        record = cancelled.json()
        assert record["status"] == "cancelled" and record["tag"] is None and record["finished_at"]
        events = read_events(srv, build_id)
        assert [e["type"] for e in events][0] == "status" and events[-1] == {"type": "end", "status": "cancelled",
                                                                            "tag": None}
        again = httpx.delete(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers)
        assert "already cancelled" in error_of(again, 409, 2)
        error_of(httpx.get(f"{srv.url}/v1/builds/nope", headers=srv.headers), 404, 2)

        # A second build, blocked again, is in flight when SIGTERM comes: cancelled, exit 0.
        holder2 = HoldingGitServer()
        body2 = {"source": {"git": {"url": holder2.url}}}
        second = httpx.post(srv.url + "/v1/builds", headers=srv.headers, json=body2).json()["id"]
        assert holder2.connected.wait(120)
        assert srv.stop(signal.SIGTERM) == 0
        holder2.release()

        # Restart on the same state dir: the records are still there.
        srv = start_server(tmp_path, *args, state_dir=srv.state_dir)
        first_again = httpx.get(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers).json()
        assert first_again == record
        assert httpx.get(f"{srv.url}/v1/builds/{second}", headers=srv.headers).json()["status"] == "cancelled"
        assert read_events(srv, second)[-1]["status"] == "cancelled"
        assert list((srv.state_dir / "work").iterdir()) == []
    finally:
        holder.release()
        assert srv.stop() == 0


def test_start_up_errors_are_one_line_exit_2(tmp_path):
    srv = start_server(tmp_path)
    try:
        port = srv.url.rsplit(":", 1)[1]
        taken = subprocess.run([launchbuild_exe(), "serve", "--port", port, "--token-file", str(tmp_path / "tokens.txt"),
                                "--state-dir", str(tmp_path / "s2")], capture_output=True, text=True, timeout=60)
        assert taken.returncode == 2 and "cannot listen" in taken.stderr and "Traceback" not in taken.stderr
    finally:
        assert srv.stop() == 0
    (tmp_path / "a-file").write_text("")
    cases = [["--token-file", str(tmp_path / "missing")],
             ["--token-file", str(tmp_path / "tokens.txt"), "--state-dir", str(tmp_path / "a-file")],
             ["--token-file", str(tmp_path / "tokens.txt"), "--max-concurrent-checks", "0"]]
    for extra in cases:
        proc = subprocess.run([launchbuild_exe(), "serve", "--port", "0", "--state-dir", str(tmp_path / "s3"), *extra],
                              capture_output=True, text=True, timeout=60)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, (extra, proc.stderr)


def test_a_build_that_is_bad_input_fails_with_exit_code_2(server):
    """No entrypoint anywhere: the build is accepted (the body is well formed), then fails the
    way `launchbuild build` would, exit 2, before any engine work."""
    archive = tar_gz({"train.py": "print(1)\n"})
    created = httpx.post(server.url + "/v1/builds", headers=server.headers, timeout=120,
                         files={"request": (None, json.dumps({"source": {"archive": "source"}})),
                                "source": ("code.tar.gz", archive)})
    assert created.status_code == 202, created.text
    build_id = created.json()["id"]
    assert read_events(server, build_id)[-1] == {"type": "end", "status": "failed", "tag": None}
    record = httpx.get(f"{server.url}/v1/builds/{build_id}", headers=server.headers).json()
    assert record["status"] == "failed" and record["error"]["exit_code"] == 2
    assert "entrypoint" in record["error"]["message"] and "/tmp" not in record["error"]["message"]
    assert 'launchbuild_builds_total{status="failed"} 1' in httpx.get(server.url + "/metrics").text
