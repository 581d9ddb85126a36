"""Uncached checks in worker processes, against a real `launchbuild serve` (result cache off):
a fact sheet a worker keeps by engine image ID is never used after the name points at another
image, a worker that dies is replaced (its request at worst a one-line 500), and no request
directory outlives the server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers_serve import HoldingGitServer, start_server

pytestmark = [pytest.mark.docker]

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"


@pytest.fixture(scope="module")
def uncached(tmp_path_factory, standin_images):
    tmp = tmp_path_factory.mktemp("serve-pool")
    srv = start_server(tmp, "--check-cache-ttl", "0", "--max-concurrent-checks", "2", env={"TMPDIR": str(tmp)})
    srv.tmp = tmp  # type: ignore[attr-defined]
    yield srv
    assert srv.stop() == 0
    assert [p.name for p in tmp.iterdir() if p.name.startswith("launchbuild-serve-")] == []


def _events_seen(server) -> int:
    deadline = time.monotonic() + 60  # a bound only: the watch connects at start-up
    text = httpx.get(server.url + "/metrics").text
    while "\nlaunchbuild_engine_image_events_connected 1" not in text:
        assert time.monotonic() < deadline, "the server never followed the engine's events"
        text = httpx.get(server.url + "/metrics").text
    return int(text.split("\nlaunchbuild_engine_image_events_seen ")[1].split()[0])


def check(server, body: dict) -> httpx.Response:
    return httpx.post(server.url + "/v1/checks", headers=server.headers, json=body, timeout=300)


def test_a_remembered_fact_sheet_is_dropped_when_its_name_points_at_another_image(uncached, docker_client):
    ref = f"launchbuild-test/serve-pool-{os.getpid()}:1"
    python, debian = (docker_client.images.get(r) for r in (PYTHON_STANDIN, "launchbuild-test/debian:12"))
    python.tag(ref)
    try:
        body = {"source": {"image": ref}}
        first = [check(uncached, body) for _ in range(4)]  # every worker reads it, then answers from memory
        assert all(r.status_code == 200 and r.headers["x-launchbuild-cache"] == "miss" for r in first)
        documents = [r.json() for r in first]
        for doc in documents:
            doc.pop("duration_s")
        assert all(doc == documents[0] for doc in documents)
        seen = _events_seen(uncached)
        debian.tag(ref)  # the same name, another image
        deadline = time.monotonic() + 60  # a bound only: we wait on the server saying it saw the event
        while _events_seen(uncached) == seen:
            assert time.monotonic() < deadline, "the server never saw the engine's tag event"
        for _ in range(4):  # whichever worker answers
            changed = check(uncached, body).json()
            assert changed["image"]["digest"] != documents[0]["image"]["digest"]
            assert changed["image"]["pythons"] != documents[0]["image"]["pythons"]
    finally:
        docker_client.images.remove(ref)


def _workers(server_pid: int) -> list[int]:
    pids = []
    for child in Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            pids.append(int(child))
    return pids


def test_a_dead_worker_is_replaced(uncached):
    body = {"source": {"image": PYTHON_STANDIN}}
    assert check(uncached, body).status_code == 200
    workers = _workers(uncached.proc.pid)
    assert workers, "no check worker processes"
    os.kill(workers[0], signal.SIGKILL)
    answers = [check(uncached, body) for _ in range(2)]
    # The request that meets the broken pool may be a 500 (one JSON line naming the request id);
    # the pool is replaced, and the next one is checked.
    for response in answers:
        if response.status_code != 200:
            assert response.status_code == 500
            message = response.json()["error"]["message"]
            assert "internal error" in message and "\n" not in message
    assert answers[-1].status_code == 200, answers[-1].text
    assert workers[0] not in _workers(uncached.proc.pid)


def test_a_worker_killed_mid_check_is_a_500_that_leaves_nothing_and_the_next_check_works(uncached):
    """The check holds in a git clone the test controls; its worker is killed there."""
    import threading

    holder = HoldingGitServer()
    answer: dict = {}
    try:
        t = threading.Thread(target=lambda: answer.setdefault("r", check(uncached, {"source": {"git": {"url": holder.url}}})))
        t.start()
        assert holder.connected.wait(120), "the check never reached the git server"
        for pid in _workers(uncached.proc.pid):
            os.kill(pid, signal.SIGKILL)
        t.join(300)
    finally:
        holder.release()
    response = answer["r"]
    assert response.status_code == 500, response.text
    message = response.json()["error"]["message"]
    assert "internal error" in message and "\n" not in message
    # Its temp files (the clone) lived in the request's directory, removed by the server.
    assert [p.name for p in uncached.tmp.iterdir() if p.name.startswith("launchbuild-")] == []
    assert check(uncached, {"source": {"image": PYTHON_STANDIN}}).status_code == 200
