"""pylock.toml and Pipfile.lock entries go through one writer (detectors/locks.entry_lines and
git_requirement): the same locked package reads the same from either lock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.errors import BadInput
from launchbuild.resolver.detectors.locks import git_requirement, pylock_body, vcs_lines
from launchbuild.resolver.detectors.pipfile import _lock_git_lines, pipfile_lock_body

SHA = "ab" * 32
COMMIT = "c" * 40


def _body_without_origin(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if "# via" not in line)


@settings(max_examples=60, deadline=None)
@given(name=st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True), version=st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True),
       hashes=st.lists(st.sampled_from([SHA, "cd" * 32, "ef" * 32]), min_size=1, max_size=3),
       marker=st.sampled_from([None, "python_version >= '3.8'", "sys_platform == 'linux'"]))
def test_the_same_package_reads_the_same_from_both_locks(name, version, hashes, marker):
    pylock = {"lock-version": "1.0", "packages": [{
        "name": name, "version": version, "wheels": [{"hashes": {"sha256": h}} for h in hashes],
        **({"marker": marker} if marker else {})}]}
    pipfile = {"default": {name: {"version": f"=={version}", "hashes": [f"sha256:{h}" for h in hashes],
                                  **({"markers": marker} if marker else {})}}}
    body_a, findings_a, _ = pylock_body(pylock, "pylock.toml")
    body_b, findings_b = pipfile_lock_body(pipfile, "Pipfile.lock", ())
    assert findings_a == () and findings_b == ()
    assert _body_without_origin(body_a) == _body_without_origin(body_b)
    assert body_a.count("--hash=") == len(set(hashes))


def test_git_entries_read_the_same_from_both_locks():
    for url in ("https://example.com/r.git", "git+https://example.com/r.git"):
        (a,) = vcs_lines({"packages": [{"name": "pkg", "vcs": {"type": "git", "url": url, "commit-id": COMMIT}}]}, "pylock.toml")
        (b,) = _lock_git_lines({"default": {"pkg": {"git": url, "ref": COMMIT}}}, "Pipfile.lock", ())
        assert a.url == b.url == f"git+https://example.com/r.git@{COMMIT}"


def test_git_entry_without_exact_commit_is_not_a_requirement():
    assert git_requirement("pkg", "https://example.com/r.git", "main", "x") is None
    assert git_requirement("bad name", "https://example.com/r.git", COMMIT, "x") is None
    assert git_requirement("pkg", None, COMMIT, "x") is None


@pytest.mark.parametrize("marker", [
    "python_version >= '3'\n--index-url https://evil.invalid/simple",
    "python_version >= '3\n--find-links /etc'",  # inside a quoted value, which PEP 508 would keep
    "python_version >= '3'\u2028--index-url https://evil.invalid/simple",
    "not a marker",
])
def test_a_lock_marker_that_is_not_pep508_is_bad_input_in_both_locks(marker):
    """A lock's marker went into the lock text as written: a line break in it wrote an index
    option of the job's choosing into the lock the image installs from."""
    pylock = {"lock-version": "1.0", "packages": [{
        "name": "six", "version": "1.17.0", "wheels": [{"hashes": {"sha256": SHA}}], "marker": marker}]}
    pipfile = {"default": {"six": {"version": "==1.17.0", "hashes": [f"sha256:{SHA}"], "markers": marker}}}
    with pytest.raises(BadInput, match="six in pylock.toml: marker"):
        pylock_body(pylock, "pylock.toml")
    with pytest.raises(BadInput, match="six in Pipfile.lock: marker"):
        pipfile_lock_body(pipfile, "Pipfile.lock", ())


def test_pipfile_lock_extras_must_be_names():
    pipfile = {"default": {"idna": {"version": "==3.7", "hashes": [f"sha256:{SHA}"],
                                    "extras": ["x]\n--find-links https://evil.invalid/"]}}}
    with pytest.raises(BadInput, match="idna in Pipfile.lock: extras"):
        pipfile_lock_body(pipfile, "Pipfile.lock", ())



_UV_LOCK = '''version = 1
revision = 5
requires-python = ">=3.10"

[[package]]
name = "six"
version = "1.17.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.example/six-1.17.0.tar.gz", size = 34031HASH_SDIST }
wheels = [
    { url = "https://files.example/six-1.17.0-py2.py3-none-any.whl", size = 11050HASH_WHEEL },
]

[[package]]
name = "j"
version = "1"
source = { virtual = "." }
dependencies = [
    { name = "six" },
]

[package.metadata]
requires-dist = [{ name = "six" }]
'''


def test_a_uv_lock_entry_without_hashes_is_lb305_not_an_unhashed_pin(tmp_path):
    # `uv export` wrote `six==1.17.0` with no --hash for a lock that records none, and it went
    # into the lock as is (exit 0): an install that is not hash-checked.
    from launchbuild.resolver.detectors.locks import UvLockInput

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "j"\nversion = "1"\nrequires-python = ">=3.10"\n'
                                             'dependencies = ["six"]\n')
    (tmp_path / "uv.lock").write_text(_UV_LOCK.replace("HASH_SDIST", "").replace("HASH_WHEEL", ""))
    loaded = UvLockInput(tmp_path / "uv.lock", tmp_path).load()
    assert "six" not in loaded.lock_body
    assert [(f.rule, f.message.split(" is ")[0]) for f in loaded.findings] == [("LB305", "six in uv.lock")]
    hashed = _UV_LOCK.replace("HASH_SDIST", f', hash = "sha256:{"a" * 64}"').replace("HASH_WHEEL", f', hash = "sha256:{"b" * 64}"')
    (tmp_path / "uv.lock").write_text(hashed)
    loaded = UvLockInput(tmp_path / "uv.lock", tmp_path).load()
    assert loaded.findings == () and "six==1.17.0" in loaded.lock_body and f"--hash=sha256:{'b' * 64}" in loaded.lock_body
