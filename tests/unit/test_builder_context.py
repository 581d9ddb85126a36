"""Ignore rules (dockerignore semantics), the deterministic code hash, and the context dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launchbuild.dockerignore import DEFAULT_IGNORES, IgnoreRules, parse_ignore
from launchbuild.builder.context import (
    build_context, code_hash, content_hash, scan,
)
from launchbuild.errors import BadInput

RULES = [
    # (patterns, path, excluded)
    (["*.log"], "a.log", True),
    (["*.log"], "sub/a.log", False),
    (["**/*.log"], "sub/deep/a.log", True),
    (["**/*.log"], "a.log", True),
    (["data"], "data/x.bin", True),
    (["data"], "src/data", False),
    (["/data"], "data/x.bin", True),
    (["data/", "!data/keep.txt"], "data/keep.txt", False),
    (["data/", "!data/keep.txt"], "data/drop.txt", True),
    (["*.md", "!README.md"], "README.md", False),
    (["!README.md", "*.md"], "README.md", True),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[ab].txt"], "b.txt", True),
    (["[!ab].txt"], "c.txt", True),
    (["[!ab].txt"], "a.txt", False),
    (["# comment", ""], "# comment", False),
    (["./build"], "build/out", True),
    (["docs/**"], "docs/a/b.md", True),
    (["**"], "anything/at/all", True),
]


@pytest.mark.parametrize("patterns,path,excluded", RULES)
def test_dockerignore_semantics(patterns, path, excluded):
    assert IgnoreRules(parse_ignore(patterns)).excluded(path) is excluded


DEFAULTS = [
    (".git/config", True), ("sub/.git/HEAD", True), (".venv/bin/python", True),
    ("pkg/__pycache__/m.cpython-311.pyc", True), ("m.pyc", True), (".env", True), (".env.local", True),
    ("secrets/server.pem", True), ("tls.key", True), ("id_rsa", True), ("home/.ssh/id_ed25519.pub", True),
    (".netrc", True), (".pypirc", True), ("wandb/run-20240101_000000-abc/files/x", True),
    ("wandb/offline-run-1/x", True), ("wandb/latest-run", True), ("web/node_modules/x/index.js", True),
    (".ipynb_checkpoints/a.ipynb", True),
    ("train.py", False), ("pkg/env.py", False), ("wandb/settings", False), ("configs/key_points.yaml", False),
    ("requirements.txt", False), ("data/keys.csv", False),
]


@pytest.mark.parametrize("path,excluded", DEFAULTS)
def test_default_ignores(path, excluded):
    assert IgnoreRules(parse_ignore(DEFAULT_IGNORES)).excluded(path) is excluded


def _tree(root: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for rel, mode in (modes or {}).items():
        os.chmod(root / rel, mode)
    return root


def test_scan_applies_defaults_and_dockerignore(tmp_path):
    src = _tree(tmp_path / "src", {
        "train.py": "print(1)", ".env": "TOKEN=x", "data/a.csv": "1", "data/b.tmp": "x",
        ".dockerignore": "*.tmp\n**/*.tmp\n", ".git/HEAD": "ref", "venv2/pyvenv.cfg": "home=/usr", "venv2/lib/x.py": "",
    })
    paths = [e.path for e in scan(src) if e.path != ".dockerignore"]  # compat's set may drop it too
    assert paths == ["data", "data/a.csv", "train.py"]


def test_hash_ignores_mtime_owner_and_umask_but_not_exec_bit(tmp_path):
    a = _tree(tmp_path / "a", {"train.py": "print(1)", "run.sh": "#!/bin/sh"}, {"train.py": 0o644, "run.sh": 0o755})
    b = _tree(tmp_path / "b", {"train.py": "print(1)", "run.sh": "#!/bin/sh"}, {"train.py": 0o664, "run.sh": 0o775})
    os.utime(b / "train.py", (1, 1))
    assert code_hash(a) == code_hash(b)
    os.chmod(b / "train.py", 0o755)
    assert code_hash(a) != code_hash(b)


@pytest.mark.parametrize("change", ["content", "rename", "new-file", "empty-dir"])
def test_hash_changes_with_the_tree(tmp_path, change):
    src = _tree(tmp_path / "s", {"train.py": "print(1)"})
    before = code_hash(src)
    if change == "content":
        (src / "train.py").write_text("print(2)")
    elif change == "rename":
        (src / "train.py").rename(src / "main.py")
    elif change == "new-file":
        (src / "util.py").write_text("")
    else:
        (src / "outputs").mkdir()
    assert code_hash(src) != before


def test_hash_unchanged_by_ignored_files(tmp_path):
    src = _tree(tmp_path / "s", {"train.py": "print(1)"})
    before = code_hash(src)
    (src / "wandb").mkdir()
    before = code_hash(src)
    _tree(src, {"__pycache__/train.cpython-311.pyc": "x", "wandb/run-1/log": "x", ".git/x": "y", ".env": "T=1"})
    assert code_hash(src) == before


def test_symlink_inside_is_kept_outside_is_refused(tmp_path):
    src = _tree(tmp_path / "s", {"train.py": "print(1)", "conf/base.yaml": "a: 1"})
    (src / "current.yaml").symlink_to("conf/base.yaml")
    entries = {e.path: e for e in scan(src)}
    assert entries["current.yaml"].kind == "l" and entries["current.yaml"].target == "conf/base.yaml"
    (tmp_path / "secret.txt").write_text("s")
    (src / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(BadInput, match="outside the code directory"):
        scan(src)


def test_fifo_is_refused(tmp_path):
    src = _tree(tmp_path / "s", {"train.py": ""})
    os.mkfifo(src / "pipe")
    with pytest.raises(BadInput, match="not a regular file"):
        scan(src)


def test_missing_dir_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        scan(tmp_path / "nope")


def test_build_context_layout_and_cleanup(tmp_path):
    src = _tree(tmp_path / "s", {"train.py": "print(1)", ".env": "SECRET", "pkg/run.sh": "#!/bin/sh"}, {"pkg/run.sh": 0o775})
    uv = tmp_path / "uv"
    uv.write_bytes(b"\x7fELF")
    with build_context(src, dockerfile="FROM x\n", lock_text="six==1\n", uv_binary=uv) as ctx:
        assert (ctx / ".launchbuild/Dockerfile").read_text() == "FROM x\n"
        assert (ctx / "requirements.lock").read_text() == "six==1\n"
        assert (ctx / ".launchbuild/uv").stat().st_mode & 0o777 == 0o755
        assert (ctx / "code/train.py").stat().st_mode & 0o777 == 0o644
        assert (ctx / "code/pkg/run.sh").stat().st_mode & 0o777 == 0o755
        assert not (ctx / "code/.env").exists()
        assert not (ctx / ".launchbuild/ca.pem").exists()
        kept = ctx
    assert not kept.exists()


def test_build_context_removed_on_error(tmp_path):
    src = _tree(tmp_path / "s", {"train.py": ""})
    with pytest.raises(RuntimeError):
        with build_context(src, dockerfile="", lock_text="") as ctx:
            kept = ctx
            raise RuntimeError("boom")
    assert not kept.exists()


def test_content_hash_is_order_independent():
    from launchbuild.builder.context import Entry

    e1, e2 = Entry("a", "f", 0o644, "x"), Entry("b", "f", 0o644, "y")
    assert content_hash((e1, e2)) == content_hash((e2, e1))


@pytest.mark.parametrize("dockerignore", ["!.git\n", "!.git\n!.git/config\n", "!**/.git\n!**/.git/config\n!**\n"])
def test_a_checkouts_git_config_is_never_copied_even_when_the_job_keeps_git(tmp_path, dockerignore):
    """The job may keep .git (its version from tags), never the operator's credentials in
    .git/config: a remote URL with a token, a CI checkout's persisted Authorization header."""
    src = _tree(tmp_path / "src", {
        "train.py": "print(1)", ".dockerignore": dockerignore, ".git/HEAD": "ref: refs/heads/main",
        ".git/config": '[remote "origin"]\n\turl = https://ci:TOKEN@git.example/r.git\n'
                       '[http "https://git.example/"]\n\textraheader = AUTHORIZATION: basic VE9LRU4=\n',
        "libs/sub/.git/config": "[core]\n", "libs/sub/.git/HEAD": "ref", "docs/config": "not git",
    })
    paths = {e.path for e in scan(src)}
    assert {".git/HEAD", "docs/config"} <= paths
    assert ("libs/sub/.git/HEAD" in paths) == ("**/.git" in dockerignore)  # a nested one only when re-included
    assert not {p for p in paths if p.endswith(".git/config")}
    assert IgnoreRules.for_source(src).excluded(".git/config")


def _modes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.lstat().st_mode & 0o777
            for p in sorted(root.rglob("*")) if not p.is_symlink()}


@pytest.mark.parametrize("umask", [0o002, 0o077])
def test_the_contexts_modes_do_not_depend_on_the_hosts_umask(tmp_path, umask):
    """COPY keeps a context file's mode and the content tag does not hold the host's umask, so
    every file and folder launchbuild writes is 0644/0755 under any umask: the lock, the
    sub-locks of the layer split, and the folders above a file a `!` rule re-includes."""
    from launchbuild.builder import layers
    from launchbuild.builder.context import synced_context
    from launchbuild.builder.plan import BuildPlan
    from launchbuild.jobs.model import SourceKind

    src = _tree(tmp_path / "s", {"train.py": "print(1)", ".dockerignore": "data/\n!data/deep/keep.txt\n",
                                 "data/deep/keep.txt": "x", "data/drop.txt": "y", "pkg/m.py": ""})
    lock = "numpy==2.0.0 \\\n    --hash=sha256:" + "a" * 64 + "\nsix==1.16.0 \\\n    --hash=sha256:" + "b" * 64 + "\n"
    plan = BuildPlan(source_kind=SourceKind.CODE, base_image="python:3.11-slim", python="3.11",
                     entrypoint=("python", "train.py"), lock_text=lock, layer_roots=("numpy",))

    def written(mask):
        old = os.umask(mask)
        try:
            with build_context(src, dockerfile="FROM x\n", lock_text=lock) as ctx:
                layers.place(ctx, plan)
                fresh = _modes(ctx)
            kept = tmp_path / f"kept-{mask:o}"
            with synced_context(kept, src, dockerfile="FROM x\n", lock_text=lock) as ctx:
                layers.place(ctx, plan)
                synced = _modes(ctx)
        finally:
            os.umask(old)
        return fresh, synced

    fresh, synced = written(0o022)
    assert fresh["code/data"] == fresh["code/data/deep"] == 0o755 and fresh["code/data/deep/keep.txt"] == 0o644
    assert fresh["requirements.lock"] == fresh[".launchbuild/layers/1-heavy.lock"] == 0o644
    assert synced == fresh
    assert written(umask) == (fresh, fresh)
