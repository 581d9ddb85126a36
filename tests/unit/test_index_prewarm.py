"""The index connection opened while the lock is made (resolver/index_prewarm.py): the facts
fetch after it reuses that connection; a warm-up that hangs, fails or is not needed never
holds the resolver up, never leaks its session, and is never taken as a fact.

A real HTTP server on 127.0.0.1 counts connections and requests; a hung answer waits on an
event the test sets (no timing).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from launchbuild.resolver import index
from launchbuild.resolver.index_prewarm import IndexPrewarm
from launchbuild.resolver.model import Lock, LockedPackage, Target

RELEASE = {"info": {"requires_python": ">=3.8"},
           "urls": [{"filename": "demo-1.0-py3-none-any.whl", "packagetype": "bdist_wheel", "size": 1234}]}


class CountingIndex:
    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.hold_head = threading.Event()  # set: HEAD answers; clear: HEAD waits on `release`
        self.hold_head.set()
        self.release = threading.Event()
        self.head_seen = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                owner.connections += 1

            def do_HEAD(self) -> None:
                owner.requests.append(("HEAD", self.path))
                owner.head_seen.set()
                if not owner.hold_head.is_set():
                    owner.release.wait()
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                owner.requests.append(("GET", self.path))
                body = json.dumps(RELEASE).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/pypi"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = CountingIndex()
    yield s
    s.close()


def _lock() -> Lock:
    target = Target(python="3.11")
    return Lock(packages=(LockedPackage("demo", "1.0"),), text="demo==1.0\n", target=target, backend="uv",
                input_hash="x", index_urls=("https://pypi.org/simple",))


def test_no_json_api_no_warm_up():
    assert IndexPrewarm.start(None) is None


def test_the_facts_fetch_reuses_the_connection_the_warm_up_opened(server, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    warm = IndexPrewarm.start(index.json_api_base_of(("https://pypi.org/simple",)))
    facts = index.package_facts(_lock(), tmp_path, warm=warm)
    assert facts[0].requires_python == ">=3.8"
    assert server.requests == [("HEAD", "/pypi/"), ("GET", "/pypi/demo/1.0/json")]
    assert server.connections == 1  # the GET went over the warmed-up connection
    assert warm.take() is None  # handed over once; package_facts closed it


def test_a_cached_release_needs_no_fetch_and_the_warm_up_is_closed(server, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    index.package_facts(_lock(), tmp_path, warm=IndexPrewarm.start(server.base))  # fills the cache
    before = list(server.requests)
    warm = IndexPrewarm.start(server.base)
    index.package_facts(_lock(), tmp_path, warm=warm)
    assert [r for r in server.requests[len(before):] if r[0] == "GET"] == []
    assert warm.take() is None and warm._session is None


def test_a_warm_up_that_hangs_is_given_up_and_the_fetch_connects_itself(server, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    server.hold_head.clear()
    warm = IndexPrewarm.start(server.base)
    assert server.head_seen.wait(30)
    assert warm.take(wait_s=0) is None  # still waiting on its answer: not waited for
    # package_facts with that (now abandoned) warm-up: its own session, the facts as usual.
    facts = index.package_facts(_lock(), tmp_path, warm=warm)
    assert facts[0].requires_python == ">=3.8" and ("GET", "/pypi/demo/1.0/json") in server.requests
    server.release.set()
    warm._thread.join(30)
    assert not warm._thread.is_alive() and warm._session is None  # closed by the thread, not kept


def test_a_warm_up_against_no_server_hands_over_a_plain_session_and_facts_stay_unknown(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setattr(index, "PYPI_JSON", f"http://127.0.0.1:{port}/pypi")
    warm = IndexPrewarm.start(index.PYPI_JSON)
    warm._thread.join(30)
    # The refused HEAD taught nothing; the session (requests imported meanwhile) is still handed over.
    facts = index.package_facts(_lock(), tmp_path, warm=warm)
    assert facts[0].requires_python is None and facts[0].has_target_wheel is None  # unknown, never a guess
    warm.close()  # idempotent


def test_a_base_other_than_the_locks_is_not_used(server, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    other = CountingIndex()
    try:
        warm = IndexPrewarm.start(other.base)
        other.head_seen.wait(30)
        index.package_facts(_lock(), tmp_path, warm=warm)
        assert [r for r in other.requests if r[0] == "GET"] == []  # facts come from the lock's index only
        assert ("GET", "/pypi/demo/1.0/json") in server.requests
    finally:
        other.close()
