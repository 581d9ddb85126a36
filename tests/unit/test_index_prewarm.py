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
        self.documents: dict | None = None  # path -> JSON answered (others 404); None: RELEASE for every GET
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
                doc = RELEASE if owner.documents is None else owner.documents.get(self.path)
                if doc is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(doc).encode()
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


PROJECT = {"releases": {"1.0": RELEASE["urls"]}}


def _project_only(tmp_path, base) -> None:
    """An index seen to serve only project documents (index.PROJECT_ONLY_MARK), as a mirror does."""
    mark = index.facts_path(tmp_path, base, "x", "0").parent / index.PROJECT_ONLY_MARK
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text("{}")


def test_prefetch_urls_name_only_what_the_facts_step_will_ask_and_no_cached_name(tmp_path):
    base = "https://pypi.org/pypi"
    cached = index.facts_path(tmp_path, base, "numpy", "2.1.0")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text("{}")
    names = {"numpy": "2.1.0", "tqdm": "4.67.1", "rich": None, "num": None}
    # Release documents: a pin's own; an unpinned name's release is not known before the lock.
    assert index.prefetch_urls(base, names, tmp_path) == (f"{base}/tqdm/4.67.1/json",)
    _project_only(tmp_path, base)
    # Project documents only: every new name's ("num" is not numpy, whose facts are cached).
    assert index.prefetch_urls(base, names, tmp_path) == (
        f"{base}/num/json", f"{base}/rich/json", f"{base}/tqdm/json")
    assert len(index.prefetch_urls(base, {f"p{i}": None for i in range(9)}, tmp_path, limit=4)) == 4


def test_a_document_fetched_while_the_lock_is_made_is_not_asked_for_again(server, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    server.documents = {"/pypi/demo/1.0/json": RELEASE}
    urls = index.prefetch_urls(server.base, {"demo": "1.0"}, tmp_path)
    warm = IndexPrewarm.start(server.base, urls)
    warm._thread.join(30)
    during = list(server.requests)
    facts = index.package_facts(_lock(), tmp_path, warm=warm)
    assert facts[0].requires_python == ">=3.8" and facts[0].wheel_bytes == 1234
    assert during == [("GET", "/pypi/demo/1.0/json")] and server.requests == during  # nothing after the lock


def test_a_prefetched_project_document_serves_a_project_only_index(server, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    server.documents = {"/pypi/demo/json": PROJECT}
    _project_only(tmp_path, server.base)
    warm = IndexPrewarm.start(server.base, index.prefetch_urls(server.base, {"demo": None}, tmp_path))
    warm._thread.join(30)
    facts = index.package_facts(_lock(), tmp_path, warm=warm)
    assert facts[0].wheel_bytes == 1234 and server.requests == [("GET", "/pypi/demo/json")]


def test_a_project_document_without_the_locked_release_is_asked_for_again(server, tmp_path, monkeypatch):
    """The release came out between the prefetch and the lock: the document is fetched anew."""
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    server.documents = {"/pypi/demo/json": {"releases": {"0.9": RELEASE["urls"]}}}
    _project_only(tmp_path, server.base)
    warm = IndexPrewarm.start(server.base, (f"{server.base}/demo/json",))
    warm._thread.join(30)
    server.documents = {"/pypi/demo/json": PROJECT}
    facts = index.package_facts(_lock(), tmp_path, warm=warm)
    assert facts[0].wheel_bytes == 1234
    assert server.requests == [("GET", "/pypi/demo/json"), ("GET", "/pypi/demo/json")]


def test_a_prefetch_that_failed_is_not_a_fact_and_is_asked_again(server, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "PYPI_JSON", server.base)
    server.documents = {}  # every GET answers 404 during the prefetch
    warm = IndexPrewarm.start(server.base, (f"{server.base}/demo/1.0/json",))
    warm._thread.join(30)
    assert warm.documents == {}
    server.documents = {"/pypi/demo/1.0/json": RELEASE}
    facts = index.package_facts(_lock(), tmp_path, warm=warm)
    assert facts[0].requires_python == ">=3.8"
    assert server.requests == [("GET", "/pypi/demo/1.0/json"), ("GET", "/pypi/demo/1.0/json")]
