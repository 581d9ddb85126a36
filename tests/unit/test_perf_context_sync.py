"""synced_context: the kept per-job BuildKit context holds exactly what build_context
writes, leaves unchanged files untouched (so BuildKit does not re-send them), rewrites
changed ones, drops stale ones, and disappears when a build fails or is interrupted."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from launchbuild.builder.context import build_context, scan, stable_context_dir, synced_context


def _tree(root: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for rel, mode in (modes or {}).items():
        os.chmod(root / rel, mode)
    return root


def _snapshot(ctx: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted(ctx.rglob("*")):
        rel = p.relative_to(ctx).as_posix()
        st = p.lstat()
        out[rel] = ("l", os.readlink(p)) if p.is_symlink() else ("d", st.st_mode & 0o777) if p.is_dir() \
            else ("f", st.st_mode & 0o777, p.read_bytes())
    return out


def _stat(p: Path) -> tuple[int, int]:
    st = p.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.fixture()
def uv(tmp_path: Path) -> Path:
    u = tmp_path / "uv-bin"
    u.write_bytes(b"\x7fELF" * 100)
    return u


def test_same_content_as_the_temporary_context(tmp_path, uv):
    src = _tree(tmp_path / "s", {"train.py": "print(1)", ".env": "SECRET", "pkg/run.sh": "#!/bin/sh", "pkg/a/b.txt": "b"},
                {"pkg/run.sh": 0o775})
    (src / "link.py").symlink_to("train.py")
    with build_context(src, dockerfile="FROM x\n", lock_text="six==1\n", uv_binary=uv) as tmp_ctx:
        expected = _snapshot(tmp_ctx)
    with synced_context(tmp_path / "c" / "job", src, dockerfile="FROM x\n", lock_text="six==1\n", uv_binary=uv) as ctx:
        assert _snapshot(ctx) == expected
        assert not (ctx / "code/.env").exists()
    assert ctx.is_dir()  # kept for the next build


def test_second_sync_touches_only_what_changed(tmp_path, uv):
    src = _tree(tmp_path / "s", {"train.py": "print(1)", "keep.py": "k", "old/gone.py": "g", "pkg/x.py": "x"})
    where = tmp_path / "c" / "job"
    with synced_context(where, src, dockerfile="FROM x\n", lock_text="six==1\n", uv_binary=uv) as ctx:
        kept_before = _stat(ctx / "code/keep.py")
        uv_before = _stat(ctx / ".launchbuild/uv")
        lock_before = _stat(ctx / "requirements.lock")
    time.sleep(0.01)
    (src / "train.py").write_text("print(2)")
    (src / "old/gone.py").unlink()
    (src / "old").rmdir()
    (src / "pkg/x.py").unlink()
    (src / "pkg").rmdir()
    (src / "pkg").write_text("now a file")
    (src / "new.py").write_text("n")
    with synced_context(where, src, dockerfile="FROM y\n", lock_text="six==1\n", uv_binary=uv) as ctx:
        assert _stat(ctx / "code/keep.py") == kept_before
        assert _stat(ctx / ".launchbuild/uv") == uv_before
        assert _stat(ctx / "requirements.lock") == lock_before
        assert (ctx / "code/train.py").read_text() == "print(2)"
        assert (ctx / "code/pkg").read_text() == "now a file"
        assert (ctx / "code/new.py").read_text() == "n"
        assert not (ctx / "code/old").exists()
        assert (ctx / ".launchbuild/Dockerfile").read_text() == "FROM y\n"
        with build_context(src, dockerfile="FROM y\n", lock_text="six==1\n", uv_binary=uv) as tmp_ctx:
            assert _snapshot(ctx) == _snapshot(tmp_ctx)


def test_a_file_edited_inside_the_kept_context_is_rewritten(tmp_path, uv):
    src = _tree(tmp_path / "s", {"train.py": "print(1)"})
    where = tmp_path / "c" / "job"
    with synced_context(where, src, dockerfile="F\n", lock_text="", uv_binary=uv) as ctx:
        pass
    (ctx / "code/train.py").write_text("tampered")
    (ctx / "stray").write_text("x")
    with synced_context(where, src, dockerfile="F\n", lock_text="", uv_binary=None) as ctx:
        assert (ctx / "code/train.py").read_text() == "print(1)"
        assert not (ctx / "stray").exists()
        assert not (ctx / ".launchbuild/uv").exists()


@pytest.mark.parametrize("error", [RuntimeError("build failed"), KeyboardInterrupt()])
def test_removed_when_the_build_fails_or_is_interrupted(tmp_path, uv, error):
    src = _tree(tmp_path / "s", {"train.py": ""})
    where = tmp_path / "c" / "job"
    with pytest.raises(type(error)):
        with synced_context(where, src, dockerfile="", lock_text="", uv_binary=uv):
            raise error
    assert not where.exists()
    assert not where.with_name("job.json").exists()


def test_two_builds_of_one_job_take_turns(tmp_path, monkeypatch):
    """The second build of a job waits on the first's lock: synchronised on the second build
    actually finding the lock held (a non-blocking try that fails), never on a sleep."""
    import fcntl

    src = _tree(tmp_path / "s", {"train.py": ""})
    where = tmp_path / "c" / "job"
    events: list[str] = []
    second_is_waiting = threading.Event()
    real_flock = fcntl.flock

    def flock(fd, op):
        if threading.current_thread().name == "second" and op == fcntl.LOCK_EX:
            try:
                real_flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return None  # not held: the test below fails on the order of events
            except BlockingIOError:
                second_is_waiting.set()
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)

    def second():
        with synced_context(where, src, dockerfile="B\n", lock_text="", uv_binary=None):
            events.append("second in")

    with synced_context(where, src, dockerfile="A\n", lock_text="", uv_binary=None) as ctx:
        t = threading.Thread(target=second, name="second")
        t.start()
        assert second_is_waiting.wait(30), "the second build never reached the job's lock"
        assert (ctx / ".launchbuild/Dockerfile").read_text() == "A\n"  # not swapped under the build
        events.append("first out")
    t.join(30)
    assert events == ["first out", "second in"]


def test_dir_name_is_safe_and_distinct():
    a = stable_context_dir(Path("/c"), "127.0.0.1:5055/team/job")
    b = stable_context_dir(Path("/c"), "127.0.0.1:5055/team_job")
    assert a.parent == Path("/c/contexts") and a != b and "/" not in a.name and ":" not in a.name


def test_scan_entries_passed_in_are_used(tmp_path):
    src = _tree(tmp_path / "s", {"a.py": "a", "b.py": "b"})
    entries = tuple(e for e in scan(src) if e.path == "a.py")
    with synced_context(tmp_path / "c" / "job", src, dockerfile="", lock_text="", entries=entries) as ctx:
        assert sorted(p.name for p in (ctx / "code").iterdir()) == ["a.py"]


def test_contexts_unused_for_long_are_pruned(tmp_path):
    src = _tree(tmp_path / "s", {"train.py": ""})
    contexts = tmp_path / "c"
    with synced_context(contexts / "old", src, dockerfile="", lock_text=""):
        pass
    with synced_context(contexts / "recent", src, dockerfile="", lock_text=""):
        pass
    long_ago = time.time() - 30 * 86400
    os.utime(contexts / "old.json", (long_ago, long_ago))
    with synced_context(contexts / "now", src, dockerfile="", lock_text=""):
        pass
    assert not (contexts / "old").exists() and not (contexts / "old.json").exists()
    assert (contexts / "recent").is_dir() and (contexts / "now").is_dir()
