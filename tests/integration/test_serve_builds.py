"""Builds through a real `launchbuild serve` on the test engine (BuildKit on the local dockerd):
one build end to end with its event stream, two identical requests sharing one build, and a
server killed with -9 mid-build whose record is `interrupted` on restart with no tag and no
container left behind."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx
import pytest

from tests.helpers_serve import start_server, tar_gz

pytestmark = [pytest.mark.docker, pytest.mark.network]

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"


def build_body(name: str) -> tuple[dict, bytes]:
    spec = {"_version": "v0", "name": name, "source_type": "artifact",
            "source": {"artifact": f"wandb-artifact://_id/{name}", "entrypoint": ["python", "train.py"]},
            "runtime": "3.11"}
    code = tar_gz({"train.py": f"import six\nprint('{name}', six.__version__)\n", "requirements.txt": "six==1.16.0\n"})
    return {"source": {"archive": "source"}, "spec": spec, "options": {"python-base-image": PYTHON_STANDIN}}, code


def submit(srv, body: dict, code: bytes) -> httpx.Response:
    return httpx.post(srv.url + "/v1/builds", headers=srv.headers, timeout=300,
                      files={"request": (None, json.dumps(body)), "source": ("code.tar.gz", code)})


def events(srv, build_id: str, stop_when=None) -> list[dict]:
    seen = []
    with httpx.stream("GET", f"{srv.url}/v1/builds/{build_id}/events", headers=srv.headers, timeout=900) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if stop_when is not None and stop_when(seen[-1]):
                    break
    return seen


def tags_of(client, repo: str) -> list[str]:
    return [t for image in client.images.list() for t in image.tags if t.startswith(repo + ":")]


def test_a_build_through_the_api_and_identical_requests_share_it(tmp_path, docker_client, standin_images):
    name = f"serve-build-{os.getpid()}-{time.time_ns()}"
    srv = start_server(tmp_path, "--max-concurrent-builds", "1")
    repo = f"launchbuild/{name}"
    try:
        body, code = build_body(name)
        answers: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda: answers.append(submit(srv, body, code))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
        ids = {a.json()["id"] for a in answers}
        assert len(ids) == 1  # two identical builds at once: one build
        build_id = ids.pop()

        stream = events(srv, build_id)
        kinds = [e["type"] for e in stream]
        assert kinds[0] == "status" and "phase" in kinds and "log" in kinds
        assert stream[-1]["type"] == "end" and stream[-1]["status"] == "succeeded", stream[-12:]
        record = httpx.get(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers).json()
        assert record["status"] == "succeeded" and record["finished_at"] >= record["created_at"]
        assert record["tag"] == stream[-1]["tag"] == record["report"]["build"]["tag"]
        assert record["report"]["schema_version"] == 1 and record["report"]["verdict"] in ("pass", "warn")
        assert record["tag"].startswith(repo + ":")
        assert docker_client.images.get(record["tag"])  # really in the engine
        metrics = httpx.get(srv.url + "/metrics").text
        assert 'launchbuild_builds_total{status="succeeded"} 1' in metrics
        assert srv.stop() == 0
        assert list((srv.state_dir / "work").iterdir()) == []
    finally:
        srv.stop(signal.SIGKILL)
        for tag in tags_of(docker_client, repo):
            docker_client.images.remove(tag, force=True)


def test_kill_9_during_a_build_leaves_an_interrupted_record_and_nothing_else(tmp_path, docker_client, standin_images):
    name = f"serve-kill-{os.getpid()}-{time.time_ns()}"
    repo = f"launchbuild/{name}"
    running_before = {c.id for c in docker_client.containers.list()}
    srv = start_server(tmp_path, "--max-concurrent-builds", "1")
    try:
        body, code = build_body(name)
        created = submit(srv, body, code)
        assert created.status_code == 202, created.text
        build_id = created.json()["id"]
        # Kill as soon as the engine is building (BuildKit's own "#N" lines reach the stream).
        seen = events(srv, build_id, stop_when=lambda e: e["type"] == "end" or
                      (e["type"] == "log" and e["line"].startswith("#")))
        assert seen[-1]["type"] == "log", f"the build ended before it could be killed: {seen[-5:]}"
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(timeout=60)

        # The restart waits for the orphaned build process's clean-up, then answers.
        srv = start_server(tmp_path, "--max-concurrent-builds", "1", state_dir=srv.state_dir)
        record = httpx.get(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers).json()
        assert record["status"] == "interrupted" and record["tag"] is None and record["finished_at"]
        assert "server stopped" in record["error"]["message"]
        assert events(srv, build_id)[-1] == {"type": "end", "status": "interrupted", "tag": None}
        assert tags_of(docker_client, repo) == []
        assert {c.id for c in docker_client.containers.list()} <= running_before
        assert list((srv.state_dir / "work").iterdir()) == []
        for pid in os.listdir("/proc"):  # no build client or runner of that build survives
            if pid.isdigit():
                try:
                    cwd = os.readlink(f"/proc/{pid}/cwd")
                except OSError:
                    continue
                assert build_id not in cwd, f"process {pid} still works in the build's directory"
        assert srv.stop() == 0
    finally:
        srv.stop(signal.SIGKILL)
        for tag in tags_of(docker_client, repo):
            docker_client.images.remove(tag, force=True)


def test_delete_during_a_build_tags_nothing(tmp_path, docker_client, standin_images):
    name = f"serve-cancel-{os.getpid()}-{time.time_ns()}"
    repo = f"launchbuild/{name}"
    running_before = {c.id for c in docker_client.containers.list()}
    srv = start_server(tmp_path, "--max-concurrent-builds", "1")
    try:
        body, code = build_body(name)
        build_id = submit(srv, body, code).json()["id"]
        seen = events(srv, build_id, stop_when=lambda e: e["type"] == "end" or
                      (e["type"] == "log" and e["line"].startswith("#")))
        assert seen[-1]["type"] == "log", f"the build ended before it could be cancelled: {seen[-5:]}"
        answer = httpx.delete(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers, timeout=300)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "cancelled" and answer.json()["tag"] is None
        assert events(srv, build_id)[-1] == {"type": "end", "status": "cancelled", "tag": None}
        assert tags_of(docker_client, repo) == []
        assert {c.id for c in docker_client.containers.list()} <= running_before
        assert 'launchbuild_builds_total{status="cancelled"} 1' in httpx.get(srv.url + "/metrics").text
        assert srv.stop() == 0
    finally:
        srv.stop(signal.SIGKILL)
        for tag in tags_of(docker_client, repo):
            docker_client.images.remove(tag, force=True)


def test_a_build_pushes_only_under_the_servers_prefix(tmp_path, docker_client, standin_images, local_registry):
    name = f"serve-push-{os.getpid()}-{time.time_ns()}"
    prefix = f"{local_registry}/lbserve"
    srv = start_server(tmp_path, "--push-prefix", prefix)
    try:
        body, code = build_body(name)
        outside = submit(srv, {**body, "options": {**body["options"], "push": f"{local_registry}/elsewhere/{name}"}},
                         code)
        assert outside.status_code == 400 and "outside the server's push prefix" in outside.json()["error"]["message"]
        inside = submit(srv, {**body, "options": {**body["options"], "push": f"{prefix}/{name}"}}, code)
        assert inside.status_code == 202, inside.text
        build_id = inside.json()["id"]
        assert events(srv, build_id)[-1]["status"] == "succeeded"
        record = httpx.get(f"{srv.url}/v1/builds/{build_id}", headers=srv.headers).json()
        assert record["tag"].startswith(f"{prefix}/{name}:")
        assert record["report"]["build"]["pushed"] == record["tag"]
        tags = httpx.get(f"http://{local_registry}/v2/lbserve/{name}/tags/list").json()["tags"]
        assert record["tag"].rsplit(":", 1)[1] in tags
        assert srv.stop() == 0
    finally:
        srv.stop(signal.SIGKILL)
        for tag in tags_of(docker_client, f"{prefix}/{name}") + tags_of(docker_client, f"launchbuild/{name}"):
            docker_client.images.remove(tag, force=True)
