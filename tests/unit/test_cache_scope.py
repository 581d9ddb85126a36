"""The install steps' download cache is shared only inside one scope (builder/plan.py
cache_scope_of): job code runs in those steps, so another scope's build must never mount it.
The real attack is tests/integration/test_cache_isolation_docker.py."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from launchbuild.builder.api import fit_and_tag
from launchbuild.builder.dockerfile import render
from launchbuild.builder.plan import Frontend, cache_scope_of
from launchbuild.errors import BadInput
from launchbuild.jobs.model import CodeSource, GitSource, Job
from launchbuild.pipeline.build import _source_identity
from launchbuild.pipeline.prepare import Prepared
from tests.helpers_builder import GOLDEN_CASES

UV = Path("/usr/local/bin/uv")
_CACHE_MOUNT = re.compile(r"--mount=type=cache,target=(\S+),id=([^ ,\\]+)")


def _mounts(text: str) -> list[tuple[str, str]]:
    return _CACHE_MOUNT.findall(text)


@given(st.text(max_size=60), st.text(max_size=60))
def test_the_scope_is_sixteen_hex_digits_and_two_sources_never_share_one(a, b):
    sa, sb = cache_scope_of(None, a), cache_scope_of(None, b)
    assert re.fullmatch(r"[0-9a-f]{16}", sa)
    assert (sa == sb) == (a == b)


def test_the_operator_scope_replaces_the_source_and_is_never_a_source_scope():
    assert cache_scope_of("team-a", "git\0https://h/x") == cache_scope_of("team-a", "code\0/srv/y")
    assert cache_scope_of("team-a", "s") != cache_scope_of("team-b", "s")
    # A source whose identity reads like an operator's scope does not land in that scope.
    assert cache_scope_of(None, "operator\0team-a") != cache_scope_of("team-a", "anything")


@pytest.mark.parametrize("name", ["git", "code", "code-buildkit-pip", "code-accelerator"])
def test_every_cache_mount_carries_the_plans_scope(name):
    plan = GOLDEN_CASES[name]
    mounts = _mounts(render(plan))
    assert mounts, name
    assert all(cache_id.endswith("-" + plan.cache_scope) for _, cache_id in mounts)
    other = dataclasses.replace(plan, cache_scope=cache_scope_of(None, "another job"))
    assert not set(cache_id for _, cache_id in mounts) & set(cache_id for _, cache_id in _mounts(render(other)))


@pytest.mark.parametrize("name", ["git", "code-buildkit-pip"])
def test_no_scope_means_no_shared_cache_at_all(name):
    text = render(dataclasses.replace(GOLDEN_CASES[name], cache_scope=""))
    assert "type=cache" not in text
    assert "UV_CACHE_DIR" not in text and "PIP_CACHE_DIR" not in text
    install = [line for line in text.splitlines() if " install " in line and "requirements.lock" in line]
    assert install and all("--no-cache-dir" in line for line in install if "-m pip install" in line)
    assert ("UV_NO_CACHE=1" in text) == (GOLDEN_CASES[name].installer == "uv")


@pytest.mark.parametrize("scope", ["launchbuild-uv", "0123", "ABCDEF0123456789", "0123456789abcdef,id=x"])
def test_a_scope_that_is_not_the_plans_own_digest_is_refused(scope):
    with pytest.raises(BadInput, match="cache scope"):
        dataclasses.replace(GOLDEN_CASES["git"], cache_scope=scope).validate()


def test_the_content_tag_does_not_depend_on_the_scope():
    plan = GOLDEN_CASES["git"]
    tags = set()
    for scope in (plan.cache_scope, cache_scope_of(None, "other"), cache_scope_of("tenant", "")):
        _, text, ref = fit_and_tag(dataclasses.replace(plan, cache_scope=scope), frontend=Frontend.BUILDKIT,
                                   ca_bundle=None, uv_binary=UV, code_hash="c" * 64, base_digest="sha256:" + "b" * 64)
        assert scope in text  # the Dockerfile the engine builds is the scope's own
        tags.add(ref)
    assert len(tags) == 1


def _prepared(source) -> Prepared:
    return Prepared(job=Job(source=source), options=None, source_dir=None, commit=None)  # type: ignore[arg-type]


def test_a_git_jobs_scope_is_its_remote_whatever_the_ref_or_the_credentials():
    plain = _source_identity(_prepared(GitSource("https://git.example/team/proj.git", ref="a" * 40)))
    assert plain == _source_identity(_prepared(GitSource("https://user:tok@git.example/team/proj", ref="main")))
    assert "tok" not in plain
    assert plain != _source_identity(_prepared(GitSource("https://git.example/team/other.git")))
    scp = _source_identity(_prepared(GitSource("git@git.example:team/proj.git")))
    assert scp == _source_identity(_prepared(GitSource("deploy@git.example:team/proj")))
    assert scp != _source_identity(_prepared(GitSource("git@git.example:team/other")))


def test_a_code_jobs_scope_is_the_real_path_of_its_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a")
    a = _source_identity(_prepared(CodeSource(tmp_path / "a")))
    assert a == _source_identity(_prepared(CodeSource(tmp_path / "link")))
    assert a != _source_identity(_prepared(CodeSource(tmp_path / "b")))
    assert a != _source_identity(_prepared(CodeSource(tmp_path / "a", subdir="sub")))


def test_an_image_jobs_plan_has_a_scope_too_though_nothing_is_built():
    from launchbuild.jobs.model import ImageSource

    assert _source_identity(_prepared(ImageSource("registry.example/team/x:1"))).startswith("image\0")
