"""The service's parsers, pure: request bodies, token files, the bearer header, multipart
bodies, archive kinds. Property tests: whatever arrives, the answer is a value or BadInput
(never another exception), and nothing outside the job-level options gets through."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.errors import BadInput
from launchbuild.options import SPECS_BY_NAME
from launchbuild.service.auth import authenticate, load_tokens
from launchbuild.service.request import JOB_LEVEL_OPTIONS, archive_suffix, parse_body, parse_request, redact_paths
from launchbuild.service.upload import TooLarge, read_body

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                           max_leaves=12)
option_names = st.sampled_from(sorted(SPECS_BY_NAME) + ["extras", "push", "bogus"])


@settings(max_examples=300)
@given(body=st.dictionaries(st.sampled_from(["source", "subdir", "spec", "queue_config", "options", "x"]), json_values,
                            max_size=5),
       kind=st.sampled_from(["check", "build"]), has_archive=st.booleans())
def test_any_body_parses_or_is_bad_input(body, kind, has_archive):
    try:
        req = parse_request(body, kind=kind, has_archive=has_archive, push_prefix="127.0.0.1:5000/team")
    except BadInput as exc:
        assert "\n" not in exc.message
        return
    assert set(req.flags) <= JOB_LEVEL_OPTIONS
    assert req.source_kind in ("archive", "git", "image", None)


@settings(max_examples=300)
@given(options=st.dictionaries(option_names, json_values, max_size=4), kind=st.sampled_from(["check", "build"]))
def test_only_job_level_options_are_accepted(options, kind):
    body = {"source": {"image": "example/img:1"}, "options": options}
    try:
        req = parse_request(body, kind=kind, has_archive=False, push_prefix="127.0.0.1:5000/team")
    except BadInput as exc:
        offending = [k for k in options if k not in JOB_LEVEL_OPTIONS | ({"push"} if kind == "build" else set())]
        assert not offending or any(repr(k)[:60] in exc.message or k[:60] in exc.message for k in offending) \
            or "must be" in exc.message or "push" in exc.message
        return
    assert set(options) <= JOB_LEVEL_OPTIONS | ({"push"} if kind == "build" else set())
    assert set(req.flags) <= JOB_LEVEL_OPTIONS - {"extras"}


@given(st.binary(max_size=200))
def test_any_bytes_are_a_body_or_bad_input(data):
    try:
        assert isinstance(parse_body(data), dict)
    except BadInput:
        pass


@pytest.mark.parametrize("data", [
    b"[" * 100_000,  # the decoder's own RecursionError
    b'{"queue_config": ' + b'{"a": ' * 500 + b"1" + b"}" * 501,  # decodes, but would overflow pickling it
    b'{"spec": {"x": [' + b"1" * 5000 + b"]}}",  # an integer past the interpreter's digit limit
])
def test_deep_or_unreadable_json_is_one_bad_input_line(data):
    with pytest.raises(BadInput, match="nested more than 64 levels deep|more than [0-9]+ digits") as info:
        parse_body(data)
    assert info.value.exit_code == 2 and "\n" not in info.value.message


@pytest.mark.parametrize("url", ["file:///etc", "ssh://h/x.git", "git@h:x.git", "/srv/x", "https://", "http:// x/y"])
def test_only_http_git_urls(url):
    with pytest.raises(BadInput, match="http\\(s\\) git URL"):
        parse_request({"source": {"git": {"url": url}}}, kind="check", has_archive=False, push_prefix=None)


@pytest.mark.parametrize("push,ok", [("127.0.0.1:5000/team/job", True), ("127.0.0.1:5000/teamx/job", False),
                                     ("127.0.0.1:5000/team/../other", False), ("evil.example/team/job", False)])
def test_push_stays_under_the_prefix(push, ok):
    body = {"source": {"image": "a:1"}, "options": {"push": push}}
    if ok:
        assert parse_request(body, kind="build", has_archive=False, push_prefix="127.0.0.1:5000/team").push == push
    else:
        with pytest.raises(BadInput, match="outside the server's push prefix"):
            parse_request(body, kind="build", has_archive=False, push_prefix="127.0.0.1:5000/team")
    with pytest.raises(BadInput, match="pushes nowhere"):
        parse_request(body, kind="build", has_archive=False, push_prefix=None)


def test_identical_content_has_one_key_and_any_difference_another():
    a = parse_request({"source": {"image": "a:1"}, "options": {"gpu": ["H100"]}}, kind="build", has_archive=False,
                      push_prefix=None)
    b = parse_request({"options": {"gpu": ["H100"]}, "source": {"image": "a:1"}}, kind="build", has_archive=False,
                      push_prefix=None)
    c = parse_request({"source": {"image": "a:1"}, "options": {"gpu": ["A100"]}}, kind="build", has_archive=False,
                      push_prefix=None)
    assert a.content_key("x") == b.content_key("x") != c.content_key("x")
    assert a.content_key("x") != a.content_key("y")


names = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=":#"), min_size=1, max_size=12)
tokens = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=24)


@settings(max_examples=200)
@given(st.dictionaries(names, tokens, min_size=1, max_size=5))
def test_token_files_round_trip_and_authenticate_exactly(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("tok") / "tokens"
    path.write_text("".join(f"{n}:{t}\n" for n, t in table.items()))
    loaded = load_tokens(path)
    assert {n: t.decode() for n, t in loaded.items()} == table
    for name, token in table.items():
        found = authenticate(f"Bearer {token}", loaded)
        assert found is not None and table[found] == token
        assert authenticate(f"Bearer {token}-", loaded) is None or f"{token}-" in table.values()
    assert authenticate(None, loaded) is None and authenticate("Basic x", loaded) is None


@pytest.mark.parametrize("token", ["tök€n", "caf\u00e9", "ctl\x7fx"])
def test_a_token_no_client_can_send_is_refused_at_start(tmp_path, token):
    # Header values arrive as Latin-1: "tök€n" sent as UTF-8 is never equal to the file's bytes.
    path = tmp_path / "tokens"
    path.write_text(f"ci:{token}\n", encoding="utf-8")
    with pytest.raises(BadInput, match="printable ASCII") as info:
        load_tokens(path)
    assert token not in info.value.message and "\n" not in info.value.message


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_any_token_file_loads_or_is_bad_input_without_the_token(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("tok") / "tokens"
    path.write_text(text, encoding="utf-8")
    try:
        load_tokens(path)
    except BadInput as exc:
        for line in text.splitlines():
            secret = line.partition(":")[2].strip()
            if len(secret) > 6:
                assert secret not in exc.message


@pytest.mark.parametrize("kind", ["fifo", "directory", "device", "huge", "binary"])
def test_a_token_file_that_is_no_small_text_file_is_one_line_at_once(tmp_path, kind):
    """--token-file FIFO (or /dev/stdin) hung the server's start for ever; a huge file was
    read whole. Each is one bad-input line, before anything blocks."""
    import os

    path = {"fifo": tmp_path / "fifo", "directory": tmp_path, "device": Path("/dev/zero"),
            "huge": tmp_path / "huge", "binary": tmp_path / "bin"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        path.write_bytes(b"ci:" + b"a" * (2 * 1024 * 1024) + b"\n")
    elif kind == "binary":
        path.write_bytes(b"ci:\xff\xfe\n")
    with pytest.raises(BadInput) as err:
        load_tokens(path)
    assert str(path) in err.value.message and "\n" not in str(err.value)


@given(st.text(max_size=40), st.binary(max_size=8))
def test_archive_kind_is_always_one_extraction_knows(name, head):
    assert archive_suffix(name, head) in (".tar.gz", ".tgz", ".tar", ".zip")


def test_redaction_leaves_no_server_path():
    work = Path("/tmp/launchbuild-serve-abc")
    text = f"archive {work}/source.tar.gz and {work}/job/code/requirements.txt in {work}/job"
    assert redact_paths(text, work) == "archive source.tar.gz and code/requirements.txt in ."


class _FakeRequest:
    """Only what read_body uses: headers and an async byte stream."""

    def __init__(self, content_type: str, chunks: list[bytes]) -> None:
        self.headers = {"content-type": content_type}
        self._chunks = chunks

    async def stream(self):
        for c in self._chunks:
            yield c


class _StalledRequest(_FakeRequest):
    """Sends its chunks, then nothing more while keeping the connection open."""

    async def stream(self):
        for c in self._chunks:
            yield c
        await asyncio.sleep(3600)
        yield b""


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=bnd"])
def test_a_body_that_stops_arriving_times_out(monkeypatch, content_type):
    import time

    from launchbuild.service import upload

    monkeypatch.setattr(upload, "BODY_IDLE_TIMEOUT_S", 0.2)
    started = time.monotonic()
    with pytest.raises(upload.BodyTimeout, match="stopped arriving"):
        asyncio.run(read_body(_StalledRequest(content_type, [_multipart([("request", b'{"sou', None)])[:-20]]),
                              limit=10**6))
    assert time.monotonic() - started < 30


def _multipart(parts: list[tuple[str, bytes, str | None]], boundary: str = "bnd") -> bytes:
    out = b""
    for name, data, filename in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@settings(max_examples=100)
@given(request=st.binary(max_size=300), source=st.binary(min_size=1, max_size=3000), split=st.integers(1, 500))
def test_multipart_parts_arrive_whole_in_any_chunking(request, source, split):
    body = _multipart([("request", request, None), ("source", source, "code.zip")], boundary="z" * 30)
    chunks = [body[i:i + split] for i in range(0, len(body), split)]
    got = asyncio.run(read_body(_FakeRequest("multipart/form-data; boundary=" + "z" * 30, chunks), limit=10**6))
    try:
        assert got.request == request and got.archive_filename == "code.zip"
        got.archive.seek(0)
        assert got.archive.read() == source
    finally:
        got.close()


@given(st.binary(max_size=400), st.integers(0, 300))
def test_any_body_is_parsed_refused_or_too_large(data, limit):
    try:
        got = asyncio.run(read_body(_FakeRequest("multipart/form-data; boundary=bnd", [data]), limit=limit))
    except (BadInput, TooLarge):
        return
    assert len(data) <= limit
    got.close()


def test_the_cli_never_imports_the_web_stack():
    code = ("import sys\nfrom launchbuild import cli\nsys.argv=['launchbuild','rules','--format','json']\n"
            "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi','uvicorn','starlette','python_multipart',"
            "'anyio','pydantic'}), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr
    assert json.loads(proc.stdout)


_SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? -?[0-9.e+-]+$', re.DOTALL)


@given(st.lists(st.tuples(st.text(max_size=20), st.sampled_from(["GET", "POST"]), st.integers(100, 599),
                          st.floats(0, 100)), max_size=8),
       st.lists(st.sampled_from(["pass", "warn", "fail"]), max_size=5))
def test_metrics_are_valid_prometheus_text_whatever_the_labels(requests, verdicts):
    from launchbuild.service.metrics import Metrics

    m = Metrics()
    m.gauges["launchbuild_check_queue_depth"] = lambda: 3
    for route, method, status, seconds in requests:
        m.observe_request(route, method, status, seconds)
    for v in verdicts:
        m.check_done(v)
    text = m.render()
    assert text.endswith("\n")
    lines = text[:-1].split("\n")  # the exposition format's only line break is \n
    for line in lines:
        assert line.startswith("# ") or _SAMPLE.match(line), line
    total = sum(int(line.rsplit(" ", 1)[1]) for line in lines
                if line.startswith("launchbuild_http_requests_total{"))
    assert total == len(requests)
    assert "\nlaunchbuild_check_queue_depth 3\n" in text


def test_metrics_series_do_not_grow_with_made_up_methods():
    from launchbuild.service.metrics import Metrics

    m = Metrics()
    for i in range(200):  # any token is a valid HTTP method; a client can send a new one each time
        m.observe_request("/healthz", f"X{i}", 405, 0.001)
    m.observe_request("/healthz", "GET", 200, 0.001)
    text = m.render()
    assert 'method="other"' in text and 'method="GET"' in text and "X1" not in text
    assert sum(line.startswith("launchbuild_http_requests_total{") for line in text.splitlines()) == 2
