"""Hostile git remotes on 127.0.0.1.

A remote that answers one byte a second: git's own timeouts are per read and never fire, so
the clone's one overall deadline (jobs/git_clone.clone_git) ends it: exit 3, one line naming
the remote and the deadline, the process group killed, the temp checkout removed.

A job whose .dockerignore re-includes `.git`: the checkout launchbuild made must not hold the
remote's credentials anywhere, or they would be copied into the job's image."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from launchbuild.builder.context import scan
from launchbuild.errors import InfraUnavailable
from launchbuild.jobs.fetch import materialize
from launchbuild.jobs.spec import JobOverrides, load_job
from tests.helpers_git_http import serve_git


@pytest.fixture
def dripping_remote():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"
                         b"Content-Length: 100000000\r\n\r\n")
            while not stop.is_set():
                conn.sendall(b"0")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/org/repo.git"
    stop.set()
    server.close()


def test_one_byte_a_second_git_remote_ends_at_the_clone_deadline(dripping_remote: str, tmp_path: Path) -> None:
    temp_parent = tmp_path / "tmp"
    temp_parent.mkdir()
    with pytest.raises(InfraUnavailable) as err:
        with materialize(load_job(dripping_remote, JobOverrides()), temp_parent=temp_parent, git_timeout=2):
            pass
    message = str(err.value)
    assert "no answer within 2s" in message and "127.0.0.1" in message and "\n" not in message
    assert err.value.exit_code == 3
    assert list(temp_parent.iterdir()) == []  # the checkout is gone


def test_a_checkout_never_holds_the_remotes_credentials(tmp_path: Path) -> None:
    """`git remote add` would write `https://user:TOKEN@host/...` into .git/config; a job's
    `.dockerignore` saying `!.git` would then copy the operator's token into the image."""
    token = "hostile-git-token-5f3a"
    work = tmp_path / "work"
    work.mkdir()
    (work / ".dockerignore").write_text("!.git\n!**/.git\n")
    (work / "train.py").write_text("print(open('.git/config').read())\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)
    served = tmp_path / "served"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(served / "job.git")], check=True, capture_output=True)
    with serve_git(served) as url:
        remote = url.replace("http://", f"http://ops:{token}@") + "/job.git"
        with materialize(load_job(remote, JobOverrides()), temp_parent=tmp_path) as workspace:
            copied = {e.path for e in scan(workspace.path)}
            assert ".git/HEAD" in copied  # the job did re-include .git ...
            assert ".git/config" not in copied  # ... but a checkout's config is never copied (dockerignore.py)
            for dirpath, _dirs, files in os.walk(workspace.path):
                for name in files:
                    assert token.encode() not in (Path(dirpath) / name).read_bytes(), os.path.join(dirpath, name)


def test_a_remote_that_answers_not_found_is_bad_input_and_cleans_up(tmp_path: Path) -> None:
    """The host answers (HTTP 404 from git's smart-HTTP endpoint): the job names a repository
    that does not exist, which is the job's to fix (exit 2), not the infrastructure (exit 3)."""
    from launchbuild.errors import BadInput

    temp_parent = tmp_path / "tmp"
    temp_parent.mkdir()
    (tmp_path / "served").mkdir()
    with serve_git(tmp_path / "served") as url:
        with pytest.raises(BadInput) as err:
            with materialize(load_job(f"{url}/org/no-such-repo.git", JobOverrides()), temp_parent=temp_parent):
                pass
        cli = subprocess.run(["launchbuild", "check", f"{url}/org/no-such-repo.git"], capture_output=True, text=True,
                             timeout=120, env={**os.environ, "NO_COLOR": "1", "TMPDIR": str(temp_parent)})
    message = str(err.value)
    assert err.value.exit_code == 2 and "no such repository" in message and "no-such-repo" in message
    assert "\n" not in message
    assert list(temp_parent.iterdir()) == []  # the checkout is gone
    assert cli.returncode == 2, cli.stdout + cli.stderr
    errors = [ln for ln in cli.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no such repository" in errors[0] and "Traceback" not in cli.stderr

