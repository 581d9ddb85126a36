"""One real build of a hostile git job (served over file://), through `launchbuild build -v`.

The job names a private index whose URL carries credentials and shell metacharacters
(`;`, `&`, `$(...)`, `(`, `)`, `!`, `*`, `,`, `+`, `=`), and an entrypoint whose arguments are
every shell metacharacter plus a newline that would start a new Dockerfile instruction; the
repository's own path (the source label) holds `;&$(id)'"`uname`|<>{}#!*$HOME`. The
operator's machine holds canaries: a CA bundle used for installs, a host file outside the
job, the operator's ~/.netrc. After the build:

* the index really was used with the credentials (the server saw them), yet neither the
  token nor the user name is in any layer of `docker save`, the image config, the history,
  the lock copied into the image, the `-v` output or the JSON report;
* no planted command ran: no marker file in any layer, none on the host, and the container
  receives the entrypoint arguments verbatim (train.py prints its argv), and the label holds
  the repository path verbatim;
* no host canary (CA bundle, host file, ~/.netrc) reached the image.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import threading
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers_image import saved_image_members
from tests.helpers_resolver import build_wheel

pytestmark = [pytest.mark.docker, pytest.mark.network]

RUN = uuid.uuid4().hex[:8]
USER = f"lbuser{RUN}"
TOKEN = f"lbtoken{RUN}"
HOST_CANARY = f"lbhostfile{RUN}"
CA_CANARY = f"lbcamarker{RUN}"
HOME_CANARY = f"lbhomenetrc{RUN}"
PACKAGE = f"lbhostile{RUN}"
SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")
PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
BIN = Path(sys.executable).parent / "launchbuild"
# A path segment that is every URL-legal shell metacharacter; a real folder on the index.
INDEX_SEGMENT = "idx;x=$(id)&y=(1)!*,+"
REPO_NAME = "repo;&$(id)'\"`uname`|<>{}#!*$HOME"
MARKERS = [f"pwn-{name}-{RUN}" for name in ("semi", "sub", "tick", "pipe", "and", "newline", "redir", "brace")]
ENTRY_ARGS = [
    f"; touch /tmp/{MARKERS[0]}",
    f"$(touch /tmp/{MARKERS[1]})",
    f"`touch /tmp/{MARKERS[2]}`",
    f"| touch /tmp/{MARKERS[3]}",
    f"&& touch /tmp/{MARKERS[4]}",
    f"x\nRUN touch /{MARKERS[5]}",
    f"> /tmp/{MARKERS[6]} \\",
    f"${{IFS}}{{touch,/tmp/{MARKERS[7]}}} '\"# $HOME",
]


class _AuthIndex(SimpleHTTPRequestHandler):
    expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    seen: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.end_headers()
            return
        self.seen.append(self.path)
        super().do_GET()

    do_HEAD = do_GET


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    build_wheel(root / INDEX_SEGMENT / PACKAGE, PACKAGE, "1.0")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_AuthIndex, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, index):
    root = tmp_path_factory.mktemp("hostile")
    # The remote's path is job data too (a spec's source.git.remote): it becomes the source label.
    repo = root / REPO_NAME
    repo.mkdir()
    (repo / "train.py").write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    (repo / "requirements.txt").write_text(
        f"--extra-index-url http://{USER}:{TOKEN}@{index}/{INDEX_SEGMENT}/\n{PACKAGE}==1.0\n")
    entrypoint = shlex.join(["python", "train.py", *ENTRY_ARGS])
    (repo / "launchbuild.toml").write_text(f'python = "3.11"\nentrypoint = {json.dumps(entrypoint)}\n')
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hostile job")
    commit = _git(repo, "rev-parse", "HEAD").strip()
    home = root / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine corp.invalid login ops password {HOME_CANARY}\n")
    (root / "host-file.txt").write_text(f"{HOST_CANARY}\n")
    ca = root / "corp-ca.pem"
    ca.write_bytes(SYSTEM_CA.read_bytes() + f"# {CA_CANARY}\n".encode())
    env = {**os.environ, "HOME": str(home), "SSL_CERT_FILE": str(ca), "NO_COLOR": "1", "COLUMNS": "200",
           "XDG_CONFIG_HOME": str(root / "xdg"),
           "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")}
    return {"root": root, "url": f"file://{repo}@{commit}", "env": env}


@pytest.fixture(scope="module")
def built(hostile, docker_client, standin_images):
    root = hostile["root"]
    args = [str(BIN), "build", hostile["url"], "--python-base-image", PYTHON_STANDIN, "--no-cache", "--verbose",
            "--format", "rich", "--format", "json", "--output", str(root / "report")]
    result = subprocess.run(args, capture_output=True, text=True, env=hostile["env"], cwd=root, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((root / "report.json").read_text())
    tag = report["build"]["tag"]
    yield {"tag": tag, "output": result.stdout + result.stderr, "report": report}
    docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def layers(built):
    return list(saved_image_members(built["tag"], include_non_files=True))


@pytest.mark.parametrize("canary", [USER, TOKEN, HOST_CANARY, CA_CANARY, HOME_CANARY])
def test_no_canary_in_layers_config_history_or_output(built, layers, docker_client, canary):
    hits = [f"{layer}:{name}" for layer, name, data in layers if canary.encode() in data or canary in name]
    assert hits == []
    image = docker_client.images.get(built["tag"])
    assert canary not in json.dumps(image.attrs) + json.dumps(image.history())
    assert canary not in built["output"] and canary not in json.dumps(built["report"])


def test_the_index_was_used_with_the_credentials_through_the_secret(built, layers, docker_client):
    assert any(PACKAGE in path and path.endswith(".whl") for path in _AuthIndex.seen)
    lock = [data for _, name, data in layers if name.endswith("opt/launchbuild/requirements.lock")]
    assert lock and f"/{INDEX_SEGMENT}/".encode() in lock[-1] and f"{PACKAGE}==1.0".encode() in lock[-1]
    created = " ".join(h.get("CreatedBy", "") for h in docker_client.images.get(built["tag"]).history())
    assert "NETRC=/run/secrets/netrc" in created and INDEX_SEGMENT not in created
    assert not [n for _, n, _ in layers if n.startswith("run/secrets/")]  # the mount point dir only


def test_no_planted_command_ran(built, layers, docker_client):
    names = " ".join(name for _, name, _ in layers)
    for marker in MARKERS:
        assert marker not in names
        assert not Path("/tmp", marker).exists() and not Path("/", marker).exists()
    out = docker_client.containers.run(built["tag"], network_mode="none", remove=True)
    assert json.loads(out.decode().strip().splitlines()[-1]) == ENTRY_ARGS
    config = docker_client.images.get(built["tag"]).attrs["Config"]
    assert config["Entrypoint"] == ["python", "train.py", *ENTRY_ARGS]
    assert config["Labels"]["org.opencontainers.image.source"].endswith("/" + REPO_NAME)


def _plain_job(root: Path, index: str, pin: str) -> Path:
    job = root / f"job-{pin.replace('=', '')}"
    job.mkdir()
    (job / "train.py").write_text("print('ok')\n")
    (job / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    (job / "requirements.txt").write_text(f"--extra-index-url http://{USER}:{TOKEN}@{index}/{INDEX_SEGMENT}/\n{pin}\n")
    return job


def test_lb301_and_resolve_json_never_carry_the_credentials(hostile, index):
    env = hostile["env"]
    job = _plain_job(hostile["root"], index, f"{PACKAGE}==9.9")
    checked = subprocess.run([str(BIN), "check", str(job), "--python-base-image", "python:3.11-slim", "--format", "json",
                              "-v"], capture_output=True, text=True, env=env, timeout=300)
    assert checked.returncode == 1, checked.stderr
    findings = json.loads(checked.stdout)["findings"]
    assert any(f["rule"] == "LB301" and PACKAGE in f["message"] for f in findings)
    good = _plain_job(hostile["root"], index, f"{PACKAGE}==1.0")
    resolved = subprocess.run([str(BIN), "resolve", str(good), "--format", "json", "-v"], capture_output=True,
                              text=True, env=env, timeout=300)
    assert resolved.returncode == 0, resolved.stderr
    assert f"/{INDEX_SEGMENT}/" in json.loads(resolved.stdout)["lock"]["index_urls"][-1]
    for text in (checked.stdout + checked.stderr, resolved.stdout + resolved.stderr):
        assert TOKEN not in text and USER not in text
