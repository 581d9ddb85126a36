"""A hostile package index on 127.0.0.1 against the index-facts reader (resolver/index.py).

The index answers one byte a second, sends a body past the cap, JSON nested 100000 deep,
a 5000-digit integer, or the right keys with the wrong types. Each answer is "facts unknown"
(None) within the operation's deadline, never an exception; a damaged cache entry is a
miss and is rewritten with the next good answer.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from launchbuild.netbounds import Deadline, deadline_session
from launchbuild.resolver import index
from launchbuild.resolver.cache import facts_path
from launchbuild.core.cache import read_json

GOOD = {"info": {"requires_python": ">=3.8"},
        "urls": [{"filename": "demo-1.0-py3-none-any.whl", "packagetype": "bdist_wheel"}]}
ANSWERS: dict[str, bytes] = {
    "good": json.dumps(GOOD).encode(),
    "urls-is-a-number": json.dumps({"info": {}, "urls": 5}).encode(),
    "url-entries-are-lists": json.dumps({"info": [], "urls": [[1, 2], "x", None]}).encode(),
    "filename-is-an-object": json.dumps({"info": {"requires_python": 5}, "urls": [{"filename": {"a": 1}}]}).encode(),
    "top-level-list": b"[1, 2, 3]",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "huge-int": b'{"urls": ' + b"9" * 5000 + b"}",
    "not-json": b"<html>proxy error</html>",
}


class HostileIndex:
    def __init__(self) -> None:
        self.mode = "good"
        self.paths: list[str] = []
        self.stop = threading.Event()
        index_self = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                try:
                    index_self.answer(self)
                except OSError:
                    pass  # the client hung up: the deadline did its job

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/pypi"

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        self.paths.append(h.path)
        if self.mode == "project-only":  # a mirror: release documents 404, the project document has them
            release = len(h.path.strip("/").split("/")) == 4  # /pypi/<name>/<version>/json
            body = b"" if release else json.dumps({"releases": {
                v: GOOD["urls"] for v in ("1.0", "1.1")}}).encode()
            h.send_response(404 if release else 200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        if self.mode in ("drip", "oversize"):
            size = index.MAX_INDEX_DOC + 10 if self.mode == "oversize" else 10_000_000
            kind = "text/html" if "/simple/" in h.path else "application/json"  # what a pip/uv client accepts
            h.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {size}\r\n\r\n".encode())
            if self.mode == "oversize":
                chunk = b" " * (1 << 20)
                for _ in range(size // len(chunk) + 1):
                    h.wfile.write(chunk)
                return
            while not self.stop.is_set():
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.2)
            return
        body = ANSWERS[self.mode]
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile():
    server = HostileIndex()
    yield server
    server.close()


def fetch(server: HostileIndex, cache_root: Path, seconds: float = 30.0):
    with Deadline(seconds) as deadline, deadline_session(deadline) as session:
        return index.fetch_release_files(server.base, "demo", "1.0", cache_root, session)


@pytest.mark.parametrize("mode", [m for m in ANSWERS if m != "good"] + ["oversize"])
def test_hostile_answer_is_unknown_not_a_crash(hostile, tmp_path, mode):
    hostile.mode = mode
    release = fetch(hostile, tmp_path)
    assert release is None or index.valid_release(release)
    if release is not None:
        assert all(isinstance(name, str) for name, _ in release["files"])


def test_one_byte_a_second_ends_at_the_deadline(hostile, tmp_path):
    hostile.mode = "drip"
    deadline = Deadline(1.0)
    with deadline, deadline_session(deadline) as session:
        release = index.fetch_release_files(hostile.base, "demo", "1.0", tmp_path, session)
    assert release is None and deadline.expired
    assert read_json(facts_path(tmp_path, hostile.base, "demo", "1.0")) is None  # unknown is not cached


@pytest.mark.parametrize("garbage", [b"[1]", b'{"files": 5}', b'{"files": [[1, 2]]}', b'{"missing": "yes"}',
                                     b"[" * 5000, b'{"files": [], "requires_python": 5}'])
def test_damaged_cache_entry_is_a_miss_and_rewritten(hostile, tmp_path, garbage):
    path = facts_path(tmp_path, hostile.base, "demo", "1.0")
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    release = fetch(hostile, tmp_path)
    assert release == {"files": [["demo-1.0-py3-none-any.whl", "bdist_wheel"]], "requires_python": ">=3.8",
                       "sizes": {}, "sha256": {}}  # this index gives no sizes or digests
    assert read_json(path) == release  # rewritten with the good answer
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_lock_against_an_index_that_answers_one_byte_a_second_ends_at_the_deadline(hostile, monkeypatch):
    """uv's HTTP timeout is per read, so a dripping index never trips it: the lock has one
    overall deadline (LAUNCHBUILD_RESOLVE_DEADLINE, default 600 s) and ends with exit 3."""
    from launchbuild.errors import InfraUnavailable
    from launchbuild.resolver.backends import CompileRequest, make_backend
    from launchbuild.resolver.model import Target

    hostile.mode = "drip"
    monkeypatch.setenv("LAUNCHBUILD_RESOLVE_DEADLINE", "3")
    simple = hostile.base.replace("/pypi", "/simple")
    backend = make_backend("uv", Target(python="3.11"))
    request = CompileRequest(f"--index-url {simple}\ndemo\n", "requirements.txt", "", Target(python="3.11"))
    with pytest.raises(InfraUnavailable, match="did not finish in 3 s") as err:
        backend.compile(request)
    assert err.value.exit_code == 3


def test_file_sizes_are_kept_and_an_entry_cached_without_them_is_asked_again(hostile, tmp_path, monkeypatch):
    """The layer split sorts by the index's `size`; a release cached before sizes were kept is
    fetched once more (only a hostile size, a bool or a negative number, is left out)."""
    sized = {"info": {}, "urls": [{"filename": "demo-1.0-py3-none-any.whl", "packagetype": "bdist_wheel",
                                   "size": 12_345_678},
                                  {"filename": "demo-1.0.tar.gz", "packagetype": "sdist", "size": True}]}
    monkeypatch.setitem(ANSWERS, "good", json.dumps(sized).encode())
    path = facts_path(tmp_path, hostile.base, "demo", "1.0")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"files": [["old.whl", "bdist_wheel"]], "requires_python": None}))
    release = fetch(hostile, tmp_path)
    assert release["sizes"] == {"demo-1.0-py3-none-any.whl": 12_345_678}
    assert read_json(path) == release
    from launchbuild.resolver.model import Target

    assert index.facts_for_target("demo", "1.0", release, Target("3.11")).wheel_bytes == 12_345_678


def test_a_mirror_serving_only_project_documents_is_asked_for_them_at_once_after_the_first(hostile, tmp_path):
    """Release documents that answer 404 for a release the project document lists: the next
    release is read from the project document without the 404 round trip first."""
    hostile.mode = "project-only"
    with Deadline(30) as deadline, deadline_session(deadline) as session:
        first = index.fetch_release_files(hostile.base, "demo", "1.0", tmp_path, session)
        assert hostile.paths == ["/pypi/demo/1.0/json", "/pypi/demo/json"]
        second = index.fetch_release_files(hostile.base, "demo", "1.1", tmp_path, session)
    assert hostile.paths[2:] == ["/pypi/demo/json"]
    assert first["files"] == second["files"] == [["demo-1.0-py3-none-any.whl", "bdist_wheel"]]


def test_a_release_neither_document_has_marks_nothing(hostile, tmp_path):
    hostile.mode = "project-only"
    with Deadline(30) as deadline, deadline_session(deadline) as session:
        assert index.fetch_release_files(hostile.base, "demo", "9.9", tmp_path, session) is None
        index.fetch_release_files(hostile.base, "demo", "1.0", tmp_path, session)  # 404, then the project
    marker = facts_path(tmp_path, hostile.base, "demo", "1.0").parent / index.PROJECT_ONLY_MARK
    assert marker.exists()  # set by 1.0 (the project lists it), not by 9.9 (nobody does)
