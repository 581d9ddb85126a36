"""The context archive the cluster builders read: reproducible bytes, modes kept, links not followed."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from launchbuild.builder import kubernetes as k8s
from launchbuild.errors import BadInput


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (root / "pkg" / "train.py").write_text("print('hi')\n")
    run = root / "run.sh"
    run.write_text("#!/bin/sh\n")
    run.chmod(0o755)
    (root / "link").symlink_to("/etc/passwd")
    return root


def test_same_tree_gives_same_bytes_whatever_the_mtimes(tmp_path: Path) -> None:
    a = _tree(tmp_path / "a")
    b = _tree(tmp_path / "b")
    old = time.time() - 86400
    for p in (b / "Dockerfile", b / "pkg" / "train.py"):
        os.utime(p, (old, old))
    assert k8s.build_context_archive(a) == k8s.build_context_archive(b)
    (b / "pkg" / "train.py").write_text("print('changed')\n")
    assert k8s.build_context_archive(a) != k8s.build_context_archive(b)


def test_archive_contents(tmp_path: Path) -> None:
    data = k8s.build_context_archive(_tree(tmp_path / "ctx"))
    assert gzip.decompress(data)  # a real gzip stream, as kaniko's tar:// and busybox tar -z expect
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["Dockerfile", "link", "pkg", "pkg/train.py", "run.sh"]
        assert list(members) == sorted(members)
        assert members["run.sh"].mode == 0o755
        assert members["link"].issym() and members["link"].linkname == "/etc/passwd"  # stored, not followed
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members.values())
        assert tar.extractfile("pkg/train.py").read() == b"print('hi')\n"


def test_write_context_archive(tmp_path: Path) -> None:
    ctx = _tree(tmp_path / "ctx")
    out = k8s.write_context_archive(ctx, tmp_path / "ctx.tar.gz")
    assert out.read_bytes() == k8s.build_context_archive(ctx)
    with pytest.raises(BadInput, match="cannot write the context archive"):
        k8s.write_context_archive(ctx, tmp_path / "nope" / "ctx.tar.gz")


def test_bad_context_dirs(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="is not a directory"):
        k8s.build_context_archive(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="has no Dockerfile"):
        k8s.build_context_archive(tmp_path / "empty")
    ctx = _tree(tmp_path / "ctx")
    with pytest.raises(BadInput, match="has no docker/Dockerfile"):
        k8s.build_context_archive(ctx, dockerfile="docker/Dockerfile")
