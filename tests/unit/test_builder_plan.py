"""BuildPlan validation: each bad value is one BadInput line; good values pass."""

from __future__ import annotations

import pytest

from launchbuild.builder.plan import BuildPlan, CaMode, Frontend, find_ca_bundle, normalize_entrypoint
from launchbuild.errors import BadInput
from launchbuild.jobs.model import SourceKind
from tests.helpers_builder import seed_plan

BAD = [
    ("python", "3", "not X.Y"),
    ("python", "python-3.10", "not X.Y"),
    ("python", "3.11.4", "not X.Y"),
    ("base_image", "python:3.11 slim", "whitespace"),
    ("base_image", "python:3.11#x", "whitespace"),
    ("base_image", "img:$TAG", "whitespace"),
    ("base_image", "", "empty"),
    ("entrypoint", (), "no entrypoint"),
    ("uid", 0, "root"),
    ("gid", 0, "root"),
    ("user", "Bad User", "account name"),
    ("workdir", "app", "absolute"),
    ("workdir", "/my app", "absolute"),
    ("apt_packages", ("libgl1; rm -rf /",), "apt package"),
    ("apt_packages", ("-oFoo=bar",), "apt package"),
    ("platform", "linux/386", "platform"),
    ("platform", "windows/amd64", "platform"),
    ("installer", "poetry", "installer"),
    ("index_urls", ("http://x/simple extra",), "index URL"),
]


@pytest.mark.parametrize("field,value,needle", BAD)
def test_bad_values_are_bad_input(field, value, needle):
    plan = seed_plan(SourceKind.CODE, False, **{field: value})
    with pytest.raises(BadInput) as exc:
        plan.validate()
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("changes,needle", [
    (dict(frontend=Frontend.CLASSIC, installer="uv"), "classic builder cannot bind-mount uv"),
    (dict(frontend=Frontend.CLASSIC, installer="pip", ca_mode=CaMode.SECRET), "no secret mounts"),
    (dict(frontend=Frontend.BUILDKIT, ca_mode=CaMode.THROWAWAY_STAGE), "as a secret"),
])
def test_engine_combinations_that_cannot_work(changes, needle):
    with pytest.raises(BadInput, match=needle):
        seed_plan(SourceKind.CODE, False, **changes).validate()


@pytest.mark.parametrize("changes", [
    {}, dict(python="3.10"), dict(python="3.13"), dict(uid=1001, gid=1001), dict(platform="linux/arm64"),
    dict(apt_packages=("libgl1", "libglib2.0-0", "libstdc++6", "python3.11-dev")), dict(base_image="127.0.0.1:5055/team/cuda:12@sha256:" + "a" * 64),
])
def test_good_values_pass(changes):
    seed_plan(SourceKind.CODE, False, **changes).validate()


def test_image_job_needs_no_entrypoint_or_base_checks():
    BuildPlan(SourceKind.IMAGE, "team/img:v1", "3.11").validate()


@pytest.mark.parametrize("argv,expected", [
    (("python3.10", "train.py"), ("python", "train.py")),
    (("python3", "-m", "pkg.train"), ("python", "-m", "pkg.train")),
    (("/usr/bin/python3.9", "x.py"), ("python", "x.py")),
    (("python", "x.py"), ("python", "x.py")),
    (("torchrun", "--nproc_per_node=2", "train.py"), ("torchrun", "--nproc_per_node=2", "train.py")),
    (("bash", "run.sh"), ("bash", "run.sh")),
    (("pythonista",), ("pythonista",)),
])
def test_normalize_entrypoint(argv, expected):
    assert normalize_entrypoint(argv) == expected


def test_lock_sha_and_labels():
    plan = seed_plan(SourceKind.GIT, False)
    labels = dict(plan.labels())
    assert labels["io.launchbuild.lock-sha256"] == plan.lock_sha256
    assert labels["org.opencontainers.image.revision"] == plan.commit
    assert list(labels) == sorted(labels)


def test_ca_bundle_precedence(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.pem", "b.pem", "c.pem"))
    for p in (a, b, c):
        p.write_text("x")
    env = {"SSL_CERT_FILE": str(a), "REQUESTS_CA_BUNDLE": str(b), "PIP_CERT": str(c)}
    assert find_ca_bundle(None, env) == a
    assert find_ca_bundle(str(c), env) == c
    assert find_ca_bundle(None, {"PIP_CERT": str(c)}) == c
    assert find_ca_bundle(None, {}) is None


def test_ca_bundle_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="SSL_CERT_FILE"):
        find_ca_bundle(None, {"SSL_CERT_FILE": str(tmp_path / "nope.pem")})
