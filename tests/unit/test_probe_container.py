"""builder/probe_container.py: the verification container's calls over the engine socket,
against a fake engine on a unix socket (a hostile one too), the log stream's framing, and
verify_image's handling of each answer through a fake `Containers` (pure logic)."""

from __future__ import annotations

import io
import json
import socketserver
import struct
import tarfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchbuild.builder import probe_container, verify
from launchbuild.builder.plan import BuildPlan
from launchbuild.builder.probe_container import (
    ContainerSpec,
    ProbeRun,
    ProbeTimedOut,
    RunRefused,
    SocketContainers,
    demultiplex,
)
from launchbuild.errors import InfraUnavailable
from launchbuild.jobs.model import SourceKind

CID = "c0ffee" * 10 + "abcd"


def frame(kind: int, data: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + struct.pack(">I", len(data)) + data


class FakeEngine:
    """An Engine API on a unix socket: `answers[(method, path)]` is (status, body) or a callable
    of the request body; every request is recorded. `hang` holds the named path's answer until
    the test ends (the client's own timeout decides)."""

    def __init__(self, path, answers, hang=()):
        self.answers, self.hang, self.seen = answers, set(hang), []
        self.release = threading.Event()
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                route = self.path.split("?")[0]
                engine.seen.append((self.command, self.path, body))
                if route in engine.hang:
                    engine.release.wait(30)
                    return
                status, payload = engine.answers.get((self.command, route), (404, b'{"message":"no route"}'))
                if callable(payload):
                    payload = payload(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that stopped reading at its limit

            do_GET = do_POST = do_PUT = do_DELETE = _any

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(str(path), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def engine(tmp_path):
    made = []

    def make(answers, hang=()):
        e = FakeEngine(tmp_path / "engine.sock", answers, hang)
        made.append(e)
        return e, SocketContainers(str(tmp_path / "engine.sock"))

    yield make
    for e in made:
        e.close()


SPEC = ContainerSpec("launchbuild/job:lb-1", ("/opt/venv/bin/python", "/tmp/p/probe.py"), ("[]",),
                     (("io.launchbuild.role", "verify"),), binds=(("/usr/bin/uv", "/tmp/p/uv"),))


def happy(logs: bytes = frame(1, b'{"ok": 1}\n') + frame(2, b"warn\n")):
    base = f"/containers/{CID}"
    return {
        ("POST", "/containers/create"): (201, json.dumps({"Id": CID, "Warnings": []}).encode()),
        ("PUT", f"{base}/archive"): (200, b""),
        ("POST", f"{base}/start"): (204, b""),
        ("POST", f"{base}/wait"): (200, b'{"StatusCode": 3}'),
        ("GET", f"{base}/logs"): (200, logs),
        ("DELETE", base): (204, b""),
    }


def test_a_probe_run_over_the_socket(engine):
    fake, containers = engine(happy())
    container = containers.create(SPEC)
    run = containers.run(container, "/tmp", b"TAR", 60)
    containers.remove(container)
    assert container == CID
    assert run == ProbeRun(3, '{"ok": 1}\n', "warn\n")
    calls = [(m, p.split("?")[0]) for m, p, _ in fake.seen]
    assert calls == [("POST", "/containers/create"), ("PUT", f"/containers/{CID}/archive"),
                     ("POST", f"/containers/{CID}/start"), ("POST", f"/containers/{CID}/wait"),
                     ("GET", f"/containers/{CID}/logs"), ("DELETE", f"/containers/{CID}")]
    config = json.loads(fake.seen[0][2])
    # Offline, labelled, the bind read-only: what the SDK path asks for too.
    assert config["HostConfig"] == {"NetworkMode": "none", "Binds": ["/usr/bin/uv:/tmp/p/uv:ro"]}
    assert config["Labels"] == {"io.launchbuild.role": "verify"}
    assert config["Entrypoint"] == ["/opt/venv/bin/python", "/tmp/p/probe.py"] and config["Cmd"] == ["[]"]
    assert fake.seen[1][1] == f"/containers/{CID}/archive?path=%2Ftmp" and fake.seen[1][2] == b"TAR"
    assert "force=1" in fake.seen[5][1]


def test_a_fully_mounted_probe_copies_nothing(engine):
    fake, containers = engine(happy())
    container = containers.create(SPEC)
    assert containers.run(container, "/tmp", None, 60) == ProbeRun(3, '{"ok": 1}\n', "warn\n")
    assert [m for m, _, _ in fake.seen] == ["POST", "POST", "POST", "GET"]  # create, start, wait, logs


def test_an_engine_refusal_is_its_own_message(engine):
    answers = happy()
    answers[("POST", "/containers/create")] = (404, b'{"message":"No such image: launchbuild/job:lb-1"}')
    _, containers = engine(answers)
    with pytest.raises(RunRefused, match="No such image: launchbuild/job:lb-1"):
        containers.create(SPEC)


def test_a_refused_start_and_an_answer_without_a_message(engine):
    answers = happy()
    answers[("POST", f"/containers/{CID}/start")] = (500, b"<html>")
    _, containers = engine(answers)
    with pytest.raises(RunRefused, match="engine answered HTTP 500"):
        containers.run(CID, "/tmp", b"", 60)


@pytest.mark.parametrize("body", [b"not json", b'{"Id": 7}', b'{"Id": "../../images/x"}', b"{}"])
def test_a_created_container_without_a_plain_id_is_the_engines_failure(engine, body):
    answers = happy()
    answers[("POST", "/containers/create")] = (201, body)
    _, containers = engine(answers)
    with pytest.raises(InfraUnavailable, match="Docker engine failed during verification"):
        containers.create(SPEC)


def test_a_probe_that_never_exits_is_timed_out(engine):
    _, containers = engine(happy(), hang=[f"/containers/{CID}/wait"])
    with pytest.raises(ProbeTimedOut):
        containers.run(CID, "/tmp", b"", 0.2)


def test_no_engine_on_the_socket_is_infrastructure(tmp_path):
    with pytest.raises(InfraUnavailable, match="Docker engine failed during verification"):
        SocketContainers(str(tmp_path / "absent.sock")).create(SPEC)


def test_remove_never_raises(tmp_path, engine):
    SocketContainers(str(tmp_path / "absent.sock")).remove(CID)
    _, containers = engine({})
    containers.remove(CID)  # a 404 from the engine


def test_endless_output_is_read_only_up_to_the_limit(engine, monkeypatch):
    monkeypatch.setattr(probe_container, "OUTPUT_LIMIT", 64)
    _, containers = engine(happy(logs=frame(1, b"x" * 1000) + frame(1, b'{"late": 1}\n')))
    run = containers.run(CID, "/tmp", b"", 60)
    assert len(run.stdout) <= 64 and "late" not in run.stdout


@given(st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.binary(max_size=300)), max_size=12),
       st.integers(min_value=0, max_value=40))
def test_demultiplex_splits_the_streams_and_never_fails_on_a_cut(frames, cut):
    data = b"".join(frame(k, d) for k, d in frames)
    out, err = demultiplex(data)
    assert out == b"".join(d for k, d in frames if k == 1).decode("utf-8", "replace")
    assert err == b"".join(d for k, d in frames if k == 2).decode("utf-8", "replace")
    short_out, short_err = demultiplex(data[: max(0, len(data) - cut)])  # a truncated read
    assert len(short_out) <= len(out) + cut and len(short_err) <= len(err) + cut


# --- verify_image over any Containers ----------------------------------------------------------

class ScriptedContainers:
    def __init__(self, *, refuse_binds=False, refuse=False, timeout=False, run=None):
        self.refuse_binds, self.refuse, self.timeout = refuse_binds, refuse, timeout
        self.result = run or ProbeRun(1, "", "Traceback\nboom")
        self.created, self.removed, self.archives = [], [], []

    def create(self, spec):
        if self.refuse_binds and spec.binds:
            raise RunRefused("invalid mount config")
        self.created.append(spec)
        return f"c{len(self.created)}"

    def run(self, container, archive_dir, archive, timeout_s):
        self.archives.append(None if archive is None else tarfile.open(fileobj=io.BytesIO(archive)).getnames())
        if self.refuse:
            raise RunRefused("OCI runtime create failed: exec format error")
        if self.timeout:
            raise ProbeTimedOut()
        return self.result

    def remove(self, container):
        self.removed.append(container)


PLAN = BuildPlan(source_kind=SourceKind.CODE, base_image="x", python="3.11", entrypoint=("python", "train.py"))


def verified(tmp_path, monkeypatch, *, local_engine, with_uv=True, **scripted):
    """verify_image over ScriptedContainers on a local or remote engine: (containers, results)."""
    uv = tmp_path / "uv"
    uv.write_bytes(b"#!uv")
    monkeypatch.setattr(verify, "_local_engine", lambda: local_engine)
    containers = ScriptedContainers(**scripted)
    results = verify.verify_image(containers, "img", PLAN, uv_binary=uv if with_uv else None)
    return containers, results


def test_a_bind_the_engine_cannot_see_is_copied_in_instead(tmp_path, monkeypatch):
    containers, results = verified(tmp_path, monkeypatch, local_engine=True, refuse_binds=True)
    assert [s.binds for s in containers.created] == [()]
    assert "launchbuild-verify/uv" in containers.archives[0]
    assert containers.removed == ["c1"]
    assert results[0].check == "run image" and "probe exited 1: boom" in results[0].detail


def test_on_a_local_engine_the_probe_and_uv_are_mounted_and_nothing_is_copied(tmp_path, monkeypatch):
    containers, _ = verified(tmp_path, monkeypatch, local_engine=True)
    binds = dict(containers.created[0].binds)
    assert {dst: Path(src).name for src, dst in binds.items()} == {
        f"{verify.PROBE_DIR}/probe.py": "verify_probe.py", f"{verify.PROBE_DIR}/imports_probe.py": "imports_probe.py",
        f"{verify.PROBE_DIR}/entrypoint_imports.py": "entrypoint_imports.py",
        f"{verify.PROBE_DIR}/uv": "uv"}
    assert all(Path(src).is_file() for src in binds)
    assert containers.archives == [None]
    labels = dict(containers.created[0].labels)
    assert labels["io.launchbuild.role"] == "verify" and "io.launchbuild.owner-pid" in labels
    # Without a host uv (another architecture) the probe is still mounted; pip check uses the image's pip.
    containers, _ = verified(tmp_path, monkeypatch, local_engine=True, with_uv=False)
    assert len(containers.created[0].binds) == 3 and containers.archives == [None]  # the three probe files


def test_a_remote_engine_gets_the_probe_copied_into_the_created_container(tmp_path, monkeypatch):
    containers, _ = verified(tmp_path, monkeypatch, local_engine=False)
    assert containers.created[0].binds == ()
    assert containers.archives == [["launchbuild-verify", "launchbuild-verify/probe.py",
                                    "launchbuild-verify/imports_probe.py", "launchbuild-verify/entrypoint_imports.py",
                                    "launchbuild-verify/uv"]]


@pytest.mark.parametrize(("kind", "detail"), [
    ({"refuse": True}, "could not run the image: OCI runtime create failed"),
    ({"timeout": True}, "probe did not finish within 180s"),
])
def test_a_run_that_fails_is_a_failed_check_and_the_container_goes(kind, detail):
    containers = ScriptedContainers(**kind)
    (result,) = verify.verify_image(containers, "img", PLAN)
    assert (result.check, result.passed) == ("run image", False) and detail in result.detail
    assert containers.removed == ["c1"]
