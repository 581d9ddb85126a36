"""The git source against a real local repository, through the real git CLI (file://)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.jobs.fetch import materialize
from launchbuild.jobs.git_clone import clone_git
from launchbuild.jobs.spec import JobOverrides, load_job


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A repository with three commits on main and one on a side branch."""
    root = tmp_path_factory.mktemp("remote") / "project"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    commits = []
    for version in ("v1", "v2", "v3"):
        (root / "train.py").write_text(f"VERSION = {version!r}\n")
        (root / "sub").mkdir(exist_ok=True)
        (root / "sub" / "version.txt").write_text(version)
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", version)
        commits.append(_git(root, "rev-parse", "HEAD"))
    _git(root, "tag", "release-1", commits[0])
    _git(root, "checkout", "-q", "-b", "feature/x", commits[1])
    (root / "train.py").write_text("VERSION = 'feature'\n")
    _git(root, "commit", "-qam", "feature")
    feature = _git(root, "rev-parse", "HEAD")
    _git(root, "checkout", "-q", "main")
    return {"url": f"file://{root}", "v1": commits[0], "v2": commits[1], "v3": commits[2], "feature": feature}


@pytest.fixture
def temp_parent(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def _version(ws) -> str:
    return (ws.path / "train.py").read_text()


@pytest.mark.parametrize("ref_key,expected", [
    (None, "v3"),          # remote HEAD
    ("v1", "v1"),          # an older commit by full sha
    ("v2", "v2"),
    ("main", "v3"),        # a branch
    ("feature/x", "feature"),  # a branch with a slash
    ("release-1", "v1"),   # a tag
    ("v1:short", "v1"),    # an abbreviated sha
])
def test_checkout_at_ref(repo, temp_parent: Path, ref_key, expected) -> None:
    if ref_key is None:
        job_arg = repo["url"]
    elif ref_key.endswith(":short"):
        job_arg = f"{repo['url']}@{repo[ref_key.split(':')[0]][:10]}"
    else:
        job_arg = f"{repo['url']}@{repo.get(ref_key, ref_key)}"
    with materialize(load_job(job_arg, JobOverrides()), temp_parent=temp_parent) as ws:
        assert expected in _version(ws)
        expected_commit = {"v1": repo["v1"], "v2": repo["v2"], "v3": repo["v3"], "feature": repo["feature"]}[expected]
        assert ws.commit == expected_commit
        assert ws.source_description.endswith("@" + expected_commit)
        if ref_key != "v1:short":  # abbreviated shas need the history to be resolved
            assert _git(ws.path, "rev-list", "--count", "HEAD") == "1", "a shallow clone"
    assert list(temp_parent.iterdir()) == [], "the clone is removed afterwards"


def test_ref_flag_and_subdirectory(repo, temp_parent: Path) -> None:
    job = load_job(repo["url"], JobOverrides(ref=repo["v2"], subdir="sub"))
    with materialize(job, temp_parent=temp_parent) as ws:
        assert ws.path.name == "sub" and (ws.path / "version.txt").read_text() == "v2"


def test_shallow_clone_has_one_commit(repo, tmp_path: Path) -> None:
    commit = clone_git(repo["url"], repo["v2"], tmp_path / "c")
    assert commit == repo["v2"]
    assert _git(tmp_path / "c", "rev-list", "--count", "HEAD") == "1"


@pytest.mark.parametrize("ref", ["0" * 40, "no-such-branch", "deadbeef"])
def test_unknown_commit_is_bad_input_and_cleans_up(repo, temp_parent: Path, ref: str) -> None:
    with pytest.raises(BadInput) as err:
        with materialize(load_job(f"{repo['url']}@{ref}", JobOverrides()), temp_parent=temp_parent):
            pass
    assert "unknown commit" in str(err.value) and ref in str(err.value)
    assert list(temp_parent.iterdir()) == []


def test_missing_subdirectory_is_bad_input_and_cleans_up(repo, temp_parent: Path) -> None:
    with pytest.raises(BadInput, match="subdirectory 'nope' does not exist"):
        with materialize(load_job(repo["url"], JobOverrides(subdir="nope")), temp_parent=temp_parent):
            pass
    assert list(temp_parent.iterdir()) == []


def test_a_file_remote_that_holds_no_repository_is_bad_input(tmp_path: Path, temp_parent: Path) -> None:
    """The operator's CLI may name a file:// remote (a job spec may not): a path with no repository
    behind it, absent or a plain folder, is the caller's to fix (exit 2); the checkout is removed."""
    (tmp_path / "plain-folder").mkdir()
    for missing in (tmp_path / "no-such-repo", tmp_path / "plain-folder"):
        with pytest.raises(BadInput) as err:
            with materialize(load_job(f"file://{missing}", JobOverrides()), temp_parent=temp_parent):
                pass
        assert err.value.exit_code == 2 and "no such repository" in str(err.value) and missing.name in str(err.value)
    assert list(temp_parent.iterdir()) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_https_remote_never_prints_credentials(temp_parent: Path) -> None:
    url = f"https://alice:s3cr3t-token@127.0.0.1:{_closed_port()}/org/repo.git"
    with pytest.raises(InfraUnavailable) as err:
        with materialize(load_job(url, JobOverrides()), temp_parent=temp_parent):
            pass
    text = f"{err.value} {err.value!r} {err.value.hint}"
    assert "s3cr3t-token" not in text and "alice" not in text
    assert "https://***@127.0.0.1" in str(err.value)


def test_token_only_url_never_printed(temp_parent: Path) -> None:
    url = f"https://ghp_TOKEN1234567890@127.0.0.1:{_closed_port()}/org/repo.git@main"
    job = load_job(url, JobOverrides())
    assert "ghp_TOKEN" not in repr(job)
    with pytest.raises(InfraUnavailable) as err:
        with materialize(job, temp_parent=temp_parent):
            pass
    assert "ghp_TOKEN" not in str(err.value)


def test_silent_remote_times_out_as_infra(temp_parent: Path) -> None:
    """A server that accepts the connection and never answers: the git timeout ends it, the
    whole process group is killed, and the temp dir is removed."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.getsockname()[1]}/org/repo.git"
        with pytest.raises(InfraUnavailable, match="no answer within 2s"):
            with materialize(load_job(url, JobOverrides()), temp_parent=temp_parent, git_timeout=2):
                pass
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()
    assert list(temp_parent.iterdir()) == []


def test_image_job_materializes_to_none() -> None:
    with materialize(load_job("image:launchbuild-test/debian:12", JobOverrides())) as ws:
        assert ws is None
