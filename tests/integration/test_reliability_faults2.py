"""Faults that strike mid-operation, through the real CLI: a Docker daemon that dies during a
build, and a git remote that goes away during a clone. Each gives one `error:` line with its
exit code, no traceback, and leaves nothing behind (temp dirs, tags, containers).

The dying daemon is a private dockerd this module starts and kills; the shared test daemon
(scripts/testenv.sh) is never touched. The vanishing remote is a real `git daemon` reached
through a byte-counting TCP proxy that cuts the connection mid-pack, so the cut always lands
in the same place instead of depending on when a kill signal happens to arrive.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.helpers_testenv import REPO_ROOT, SET_UP_HINT, find_docker_cli

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"


def cli_env(tmpdir: Path, **extra: str) -> dict[str, str]:
    # An own TMPDIR per run: "nothing left behind" is then an exact check, not a diff
    # against a /tmp that concurrent tests also write to.
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "300", "TMPDIR": str(tmpdir), **extra}


def one_error_line(text: str, *needles: str) -> None:
    # Plain progress lines ("==> ...", stderr without a TTY) are progress, not errors.
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("==> ")]
    assert len(lines) == 1 and lines[0].startswith("error:"), text
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, (needle, text)


# --- a private Docker daemon ------------------------------------------------------------------------


class PrivateDaemon:
    """A dockerd of our own under `root` (short: unix socket paths are limited to ~100 chars).

    It manages its own containerd under its exec-root, so it shares nothing with the test
    daemon. Only processes it started are ever signalled, by their recorded PIDs."""

    def __init__(self, root: Path, docker_cli: str) -> None:
        self.root = root
        self.docker_cli = docker_cli
        self.host = f"unix://{root / 'd.sock'}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self._forget_stale_containerd()
        log = open(self.root / "dockerd.log", "ab")
        self.proc = subprocess.Popen(
            [DOCKERD, "--host", self.host, "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "d.pid"),
             "--bridge=none", "--iptables=false", "--ip-masq=false"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"private dockerd exited with {self.proc.returncode}: {self.log_tail()}")
            if self.docker("version", "--format", "{{.Server.Version}}", check=False).returncode == 0:
                return
            time.sleep(0.3)
        raise RuntimeError(f"private dockerd did not answer within {timeout:g}s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return " | ".join((self.root / "dockerd.log").read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "no log"

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.docker_cli, "-H", self.host, *args], capture_output=True, text=True,
                              timeout=120, check=check, stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        """A crash, not a shutdown: SIGKILL gives the daemon no chance to tidy up."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._stop_own_containerd()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._stop_own_containerd()

    def _own_containerd_pid(self) -> int | None:
        """The pid in our containerd's pidfile, if that process is still our containerd."""
        try:
            pid = int(self._containerd_pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if "containerd" in cmdline and str(self.root / "exec") in cmdline else None

    @property
    def _containerd_pidfile(self) -> Path:
        return self.root / "exec" / "containerd" / "containerd.pid"

    def _stop_own_containerd(self) -> None:
        # dockerd starts containerd with a parent-death signal; if it is still there after
        # a moment, end it: only the containerd whose command line names our exec-root.
        deadline = time.monotonic() + 10
        while (pid := self._own_containerd_pid()) is not None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def _forget_stale_containerd(self) -> None:
        # dockerd 20.10 reuses "the containerd in the pidfile" when that pid is merely alive;
        # after a crash the pid may already belong to another process (or thread), and the
        # restart then waits for a containerd that never answers.
        if self._containerd_pidfile.exists() and self._own_containerd_pid() is None:
            self._containerd_pidfile.unlink()

    def remove(self) -> None:
        self.stop()
        # dockerd bind-mounts its data-root (and overlay layers) and leaves them on a crash.
        with open("/proc/mounts") as mounts:
            ours = [fields[1] for fields in (line.split() for line in mounts)
                    if fields[1] == str(self.root) or fields[1].startswith(str(self.root) + "/")]
        for mountpoint in sorted(ours, key=len, reverse=True):
            if subprocess.run(["umount", mountpoint], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", mountpoint], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_daemon(standin_images):
    if os.geteuid() != 0:
        pytest.skip("a second dockerd needs root")
    docker_cli = find_docker_cli()
    if docker_cli is None or not os.access(DOCKERD, os.X_OK):
        pytest.fail(f"dockerd or the docker client is missing; {SET_UP_HINT}", pytrace=False)
    daemon = PrivateDaemon(Path(tempfile.mkdtemp(prefix="lbd-", dir="/tmp")), docker_cli)
    try:
        daemon.start()
        # The stand-in comes from the shared daemon (its default DOCKER_HOST): nothing is pulled.
        save = subprocess.Popen([docker_cli, "save", standin_images["python"]], stdout=subprocess.PIPE)
        load = subprocess.run([docker_cli, "-H", daemon.host, "load"], stdin=save.stdout, capture_output=True,
                              text=True, timeout=300)
        assert save.stdout is not None
        save.stdout.close()
        assert save.wait(timeout=60) == 0 and load.returncode == 0, load.stderr
        yield daemon
    finally:
        daemon.remove()


def image_tags(daemon: PrivateDaemon) -> set[str]:
    out = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    return {line for line in out.splitlines() if line.strip()}


def image_ids(daemon: PrivateDaemon) -> set[str]:
    return set(daemon.docker("images", "-aq", "--no-trunc").stdout.split())


@pytest.mark.docker
def test_docker_daemon_dying_mid_build(private_daemon: PrivateDaemon, tmp_path: Path) -> None:
    """The daemon dies while it is inside the install step, by construction: the job's one
    package comes from a gate index on 127.0.0.1 that holds the wheel download (made only by
    the install step in the engine) until the daemon has been killed."""
    from tests.helpers_gate import GatedIndex

    job = tmp_path / "job"
    shutil.copytree(REPO_ROOT / "examples" / "demo", job)
    sub_tmp = tmp_path / "tmp"
    sub_tmp.mkdir()
    cache = tmp_path / "cache"  # BuildKit contexts are kept here between builds
    tags_before, ids_before = image_tags(private_daemon), image_ids(private_daemon)

    with GatedIndex(tmp_path / "wheels") as gate:
        (job / "requirements.txt").write_text(f"--index-url {gate.url}\n{gate.requirement}\n")
        proc = subprocess.Popen(["launchbuild", "build", str(job), "--python-base-image", PYTHON_STANDIN],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=cli_env(sub_tmp, DOCKER_HOST=private_daemon.host, LAUNCHBUILD_CACHE_DIR=str(cache)))
        try:
            while not gate.held.wait(1.0) and proc.poll() is None:
                pass  # the outcome depends on the event, not on how long this takes
            assert gate.held.is_set(), f"the build ended before its install step: {proc.communicate()}"
            private_daemon.kill()
            stdout, stderr = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    assert proc.returncode == 3, (stdout, stderr)
    one_error_line(stderr, "Docker engine", "during the build")  # either client wording
    assert "Traceback" not in stdout
    assert list(sub_tmp.iterdir()) == []
    contexts = cache / "contexts"
    assert not contexts.exists() or [p for p in contexts.iterdir() if p.is_dir()] == []  # no half-sent context kept

    private_daemon.start()  # same data-root: whatever the crash left is visible again
    assert image_tags(private_daemon) == tags_before
    assert image_ids(private_daemon) == ids_before
    assert private_daemon.docker("ps", "-aq").stdout.split() == []


# --- a git remote that goes away mid-clone ---------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


class CuttingProxy:
    """Forwards 127.0.0.1:port to `upstream`; after `cut_after` bytes towards the client it
    drops both sides (with a FIN, or a RST when `reset`). `cut_after=None` never cuts."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.cut_after: int | None = None
        self.reset = False
        self.forwarded = 0
        self.cuts = 0
        self.max_cuts: int | None = None  # None: every connection past the cut point is cut
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        # One thread per connection, both directions in one select loop: a socket closed here
        # is closed at once (a close from another thread would wait for its blocked recv).
        try:
            server = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            client.close()
            return
        peer = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [], 120)
                if not readable:
                    return
                for src in readable:
                    data = src.recv(65536)
                    if not data:
                        return
                    if src is server and self._cut_here(client, data):
                        return
                    peer[src].sendall(data)
        except OSError:
            return
        finally:
            server.close()
            client.close()

    def _cut_here(self, client: socket.socket, data: bytes) -> bool:
        """Forward what fits before the cut point; True when the connection must drop now."""
        with self._lock:
            exhausted = self.max_cuts is not None and self.cuts >= self.max_cuts
            room = None if self.cut_after is None or exhausted else self.cut_after - self.forwarded
            if room is None or room > len(data):
                self.forwarded += len(data)
                return False
            client.sendall(data[:max(room, 0)])
            self.forwarded += max(room, 0)
            self.cuts += 1
            if self.reset:  # linger 0: the close sends a RST, as a crashed host's stack would
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return True

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def git_remote(tmp_path_factory: pytest.TempPathFactory):
    """A real `git daemon` on 127.0.0.1 serving repo.git (~6 MB of incompressible blobs), and
    a proxy in front of it. Yields (proxy, commit sha)."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed", pytrace=False)
    base = tmp_path_factory.mktemp("gitd")
    src = base / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main")
    (src / "train.py").write_text("print('train')\n")
    (src / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    for i in range(3):
        (src / f"weights{i}.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    _git(src, "add", "-A")
    _git(src, "commit", "-qm", "big")
    sha = _git(src, "rev-parse", "HEAD")
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(base / "repo.git")], check=True)

    daemon = None
    for _ in range(5):  # the free port may be taken between probe and bind: try another
        port = _free_port()
        daemon = subprocess.Popen(["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={base}",
                                   "--listen=127.0.0.1", f"--port={port}", str(base)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 10
        while daemon.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        if daemon.poll() is None:
            break
    assert daemon is not None and daemon.poll() is None, "git daemon did not start"
    proxy = CuttingProxy(("127.0.0.1", port))
    try:
        yield proxy, sha
    finally:
        proxy.close()
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def test_proxied_git_remote_clones_when_nothing_is_cut(git_remote, tmp_path: Path) -> None:
    """The control: the same URL and sha clone fine, so the failure below is the cut's doing."""
    from launchbuild.jobs.fetch import materialize
    from launchbuild.jobs.spec import JobOverrides, load_job

    proxy, sha = git_remote
    proxy.cut_after, proxy.forwarded = None, 0
    url = f"git://127.0.0.1:{proxy.port}/repo.git@{sha}"
    with materialize(load_job(url, JobOverrides()), temp_parent=tmp_path) as workspace:
        assert workspace is not None and workspace.commit == sha
        assert (workspace.path / "weights2.bin").stat().st_size == 2 * 1024 * 1024
    assert proxy.forwarded > 6 * 1024 * 1024  # the pack really went through the proxy
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("reset", [False, True], ids=["connection-closed", "connection-reset"])
def test_git_remote_gone_mid_clone(git_remote, tmp_path: Path, reset: bool) -> None:
    proxy, sha = git_remote
    with proxy._lock:
        proxy.cut_after, proxy.reset, proxy.forwarded, proxy.cuts = 512 * 1024, reset, 0, 0
        proxy.max_cuts = None
    sub_tmp = tmp_path / "tmp"
    sub_tmp.mkdir()
    # The cut is an event the proxy controls (a byte count); a hang would end at the timeout.
    result = subprocess.run(["launchbuild", "check", f"git://127.0.0.1:{proxy.port}/repo.git@{sha}"],
                            capture_output=True, text=True, timeout=180, env=cli_env(sub_tmp))
    # The first fetch was cut, and so was what it tried again.
    assert proxy.cuts > 1, f"{proxy.cuts} cut(s): the pack was smaller than the cut point, or no retry"
    assert result.returncode == 3, result.stdout + result.stderr
    one_error_line(result.stderr, "git remote", f"127.0.0.1:{proxy.port}/repo.git", "broke during the fetch")
    assert "Traceback" not in result.stdout
    assert list(sub_tmp.iterdir()) == []


@pytest.mark.parametrize("reset", [False, True], ids=["connection-closed", "connection-reset"])
def test_a_git_remote_cut_once_is_fetched_again(git_remote, tmp_path: Path, reset: bool) -> None:
    """A transfer that breaks once (a busy server, a proxy) is retried within the deadline."""
    from launchbuild.jobs.fetch import materialize
    from launchbuild.jobs.spec import JobOverrides, load_job

    proxy, sha = git_remote
    with proxy._lock:
        proxy.cut_after, proxy.reset, proxy.forwarded, proxy.cuts = 512 * 1024, reset, 0, 0
        proxy.max_cuts = 1
    try:
        url = f"git://127.0.0.1:{proxy.port}/repo.git@{sha}"
        with materialize(load_job(url, JobOverrides()), temp_parent=tmp_path) as workspace:
            assert workspace is not None and workspace.commit == sha
            assert (workspace.path / "weights1.bin").stat().st_size == 2 * 1024 * 1024
        assert proxy.cuts == 1
        assert list(tmp_path.iterdir()) == []
    finally:
        with proxy._lock:
            proxy.max_cuts, proxy.cut_after = None, None
