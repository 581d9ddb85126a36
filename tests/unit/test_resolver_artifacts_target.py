"""A wheel built or copied on this host that the TARGET cannot install is an error before the
build, naming its line; a pure-Python wheel or a matching compiled one passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.core.findings import Location
from launchbuild.resolver import artifacts
from launchbuild.resolver.model import Target
from launchbuild.resolver.requirements import IndexOptions, parse_requirement


def _line(job: Path, name: str):
    wheel = job / "wheels" / name
    wheel.parent.mkdir(parents=True, exist_ok=True)
    wheel.write_bytes(b"not read: only the file name's tags matter here " + name.encode())
    return parse_requirement(f"./wheels/{name}", Location("requirements.txt", 3), base_dir=job)


@pytest.mark.parametrize("name, target, ok", [
    ("fastpkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", Target("3.11", "linux/amd64"), True),
    ("fastpkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", Target("3.10", "linux/amd64"), False),
    ("fastpkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", Target("3.11", "linux/arm64"), False),
    ("fastpkg-1.0-cp311-cp311-linux_x86_64.whl", Target("3.11", "linux/amd64"), True),
    ("purepkg-1.0-py3-none-any.whl", Target("3.9", "linux/arm64"), True),
    ("abipkg-1.0-cp38-abi3-manylinux_2_28_x86_64.whl", Target("3.12", "linux/amd64", "2.36"), True),
    ("abipkg-1.0-cp38-abi3-manylinux_2_28_x86_64.whl", Target("3.12", "linux/amd64", "2.27"), False),
])
def test_host_wheels_are_held_to_the_target(tmp_path, name, target, ok):
    job = tmp_path / "job"
    line = _line(job, name)
    built = artifacts.prepare((line,), IndexOptions(), job, tmp_path / "cache", target=target)
    problems = [f for f in built.findings if f.rule == "LB305"]
    if ok:
        assert problems == []
    else:
        assert len(problems) == 1
        message = problems[0].message
        assert name in message and f"Python {target.python} on {target.platform}" in message
        assert "requirements.txt:3" in message and problems[0].location == line.location


def test_without_a_target_nothing_is_judged(tmp_path):
    job = tmp_path / "job"
    line = _line(job, "fastpkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert artifacts.prepare((line,), IndexOptions(), job, tmp_path / "cache").findings == ()


@pytest.mark.parametrize("lock_name, text", [
    ("pylock.toml", 'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "fastpkg"\nversion = "1.0"\n'
                    f'vcs = {{ type = "git", url = "https://git.example/fastpkg.git", commit-id = "{"c" * 40}" }}\n'),
    ("Pipfile.lock", '{"_meta": {}, "default": {"fastpkg": {"git": "https://git.example/fastpkg.git", '
                     f'"ref": "{"c" * 40}"}}}}}}'),
])
def test_a_locks_git_entry_built_on_this_host_is_held_to_the_target(tmp_path, monkeypatch, lock_name, text):
    # A lock's git dependency was built with the host's Python and CPU and pinned for any target:
    # a cp311 x86_64 wheel passed for Python 3.10 on arm64 and failed in the image's install.
    from launchbuild.jobs.model import CodeSource, Job
    from launchbuild.resolver.api import ResolveOptions, resolve

    wheel = tmp_path / "built" / "fastpkg-1.0-cp311-cp311-linux_x86_64.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"a compiled wheel, as the host builds it")
    monkeypatch.setattr(artifacts, "build_vcs_wheel", lambda line, root, offline=False, **_: (wheel, "c" * 40))
    job = tmp_path / "job"
    job.mkdir()
    (job / lock_name).write_text(text)
    options = dict(cache_dir=tmp_path / "cache", fetch_package_facts=False)
    result = resolve(job, Job(source=CodeSource(job)), ResolveOptions(**options, python="3.10", platform="linux/arm64"))
    [problem] = result.findings
    assert problem.rule == "LB305" and wheel.name in problem.message and "Python 3.10 on linux/arm64" in problem.message
    assert result.lock is None
    host = resolve(job, Job(source=CodeSource(job)), ResolveOptions(**options, python="3.11", platform="linux/amd64"))
    assert host.findings == () and [p.name for p in host.lock.packages] == ["fastpkg"]
