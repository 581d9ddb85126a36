"""Content tags and image references (registries with ports included)."""

from __future__ import annotations

import pytest

from launchbuild.builder.tags import content_tag, image_ref, registry_of, split_ref, validate_repository
from launchbuild.errors import BadInput

SPLIT = [
    ("localhost:5000/team/img:abcd1234", ("localhost:5000/team/img", "abcd1234")),
    ("127.0.0.1:5055/launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04", ("127.0.0.1:5055/launchbuild-test/cuda", "12.1.1-runtime-ubuntu22.04")),
    ("127.0.0.1:5055/team/img", ("127.0.0.1:5055/team/img", None)),
    ("python:3.11-slim", ("python", "3.11-slim")),
    ("python", ("python", None)),
    ("team/img@sha256:" + "a" * 64, ("team/img", "@sha256:" + "a" * 64)),
    ("[::1]:5000/img:t", ("[::1]:5000/img", "t")),
]


@pytest.mark.parametrize("ref,expected", SPLIT)
def test_split_ref(ref, expected):
    assert split_ref(ref) == expected


@pytest.mark.parametrize("repo,tag,expected", [
    ("127.0.0.1:5055/team/job", "lb-0123", "127.0.0.1:5055/team/job:lb-0123"),
    ("localhost:5000/img", "t", "localhost:5000/img:t"),
    ("registry.example.com/a/b/c", "v1.2", "registry.example.com/a/b/c:v1.2"),
    ("launchbuild/job", "lb-x", "launchbuild/job:lb-x"),
])
def test_image_ref(repo, tag, expected):
    assert image_ref(repo, tag) == expected
    assert split_ref(image_ref(repo, tag)) == (repo, tag)


@pytest.mark.parametrize("repo,needle", [
    ("127.0.0.1:5055/team/job:latest", "already has a tag"),
    ("Team/Job", "not valid"),
    ("", "empty"),
    (" team/job", "spaces"),
    ("team//job", "not valid"),
    ("bad_host!:5000/x", "not valid"),
    ("team/job@sha256:" + "a" * 64, "already has a tag"),
])
def test_bad_repositories(repo, needle):
    with pytest.raises(BadInput, match=needle):
        validate_repository(repo)


def test_bad_tag():
    with pytest.raises(BadInput, match="tag"):
        image_ref("team/job", "-bad")


@pytest.mark.parametrize("repo,registry", [
    ("127.0.0.1:5055/team/job", "127.0.0.1:5055"), ("localhost/job", "localhost"),
    ("registry.example.com/team/job", "registry.example.com"), ("team/job", None), ("job", None),
])
def test_registry_of(repo, registry):
    assert registry_of(repo) == registry


BASE = dict(dockerfile="FROM x\n", lock_text="six==1.16.0\n", code_hash="c" * 64, base_digest="sha256:" + "b" * 64,
            options={"platform": "linux/amd64"})


def test_tag_is_deterministic_and_prefixed():
    t = content_tag(**BASE)
    assert t == content_tag(**dict(BASE)) and t.startswith("lb-") and len(t) == 23


@pytest.mark.parametrize("field,value", [
    ("dockerfile", "FROM y\n"), ("lock_text", "six==1.17.0\n"), ("code_hash", "d" * 64),
    ("base_digest", "sha256:" + "e" * 64), ("options", {"platform": "linux/arm64"}),
])
def test_every_input_changes_the_tag(field, value):
    assert content_tag(**{**BASE, field: value}) != content_tag(**BASE)


def test_no_concatenation_collisions():
    a = content_tag(**{**BASE, "dockerfile": "FROM xsix", "lock_text": "==1"})
    b = content_tag(**{**BASE, "dockerfile": "FROM x", "lock_text": "six==1"})
    assert a != b


def test_tag_ignores_the_host(monkeypatch, tmp_path):
    t = content_tag(**BASE)
    monkeypatch.setenv("USER", "someone-else")
    monkeypatch.setenv("LOGNAME", "someone-else")
    monkeypatch.chdir(tmp_path)
    assert content_tag(**BASE) == t
