"""A git remote on 127.0.0.1 that answers one byte a second: git's own timeouts are per
read and never fire, so the clone's one overall deadline (jobs/git_clone.clone_git) ends it:
exit 3, one line naming the remote and the deadline, the process group killed, the temp
checkout removed."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from launchbuild.errors import InfraUnavailable
from launchbuild.jobs.fetch import materialize
from launchbuild.jobs.spec import JobOverrides, load_job


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
