"""The service's egress allow-lists, pure: entry parsing, matching of git URLs and image
references by the project's one image-reference parser (Docker Hub's names are one), and
the operator-config snapshot's round trip. Property tests: whatever a request names, the
policy either lets it through or refuses it with one BadInput line naming the host."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.core.imageref import parse_image_ref
from launchbuild.errors import BadInput
from launchbuild.service.egress import EgressPolicy, refuse_git_redirects
from launchbuild.service.request import parse_request

labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
hosts = st.builds(lambda parts: ".".join(parts), st.lists(labels, min_size=2, max_size=3))
ports = st.none() | st.integers(1, 65535)


def _registry(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


@settings(max_examples=200)
@given(allowed=hosts, other=hosts, port=ports)
def test_an_image_is_allowed_exactly_when_its_registry_is(allowed, other, port):
    policy = EgressPolicy.from_flags([], [_registry(allowed, port)])
    policy.check_image(f"{_registry(allowed, port)}/team/img:1", "source.image")
    registry = parse_image_ref(f"{_registry(other, port)}/team/img:1").registry
    if registry == parse_image_ref(f"{_registry(allowed, port)}/x:1").registry:
        return
    with pytest.raises(BadInput) as err:
        policy.check_image(f"{_registry(other, port)}/team/img:1", "source.image")
    assert repr(registry) in err.value.message and "\n" not in err.value.message


@settings(max_examples=200)
@given(allowed=hosts, port=st.integers(1, 65535), path=st.text(string.ascii_letters + "/-_.", max_size=20))
def test_a_host_entry_allows_every_port_and_a_host_port_entry_only_its_own(allowed, port, path):
    by_host = EgressPolicy.from_flags([allowed], [])
    by_host.check_git_url(f"https://{allowed}:{port}/{path}", "source.git.url")
    by_port = EgressPolicy.from_flags([f"{allowed}:{port}"], [])
    by_port.check_git_url(f"http://{allowed}:{port}/{path}", "source.git.url")
    with pytest.raises(BadInput):
        by_port.check_git_url(f"https://{allowed}/{path}", "source.git.url")
    with pytest.raises(BadInput):
        by_port.check_git_url(f"https://{allowed}:{port % 65535 + 1}/{path}", "source.git.url")


@settings(max_examples=300)
@given(url=st.text(max_size=60), image=st.text(max_size=40))
def test_any_request_host_is_allowed_or_one_bad_input_line(url, image):
    policy = EgressPolicy.from_flags(["git.example.org"], ["127.0.0.1:5055"])
    for check in (lambda: policy.check_git_url(url, "source.git.url"),
                  lambda: policy.check_image(image, "source.image")):
        try:
            check()
        except BadInput as exc:
            assert "\n" not in exc.message


@pytest.mark.parametrize("entry", ["docker.io", "index.docker.io", "registry-1.docker.io", "DOCKER.IO"])
@pytest.mark.parametrize("ref", ["python:3.11", "library/python:3.11", "docker.io/library/python:3.11",
                                 "index.docker.io/nvidia/cuda:12.1.1-runtime-ubuntu22.04"])
def test_docker_hub_is_one_registry_however_it_is_spelled(entry, ref):
    EgressPolicy.from_flags([], [entry]).check_image(ref, "source.image")


def test_registry_hosts_match_whatever_their_case():
    EgressPolicy.from_flags([], ["ghcr.io"]).check_image("GHCR.io/team/img:1", "source.image")
    EgressPolicy.from_flags([], ["GHCR.IO:443"]).check_image("ghcr.io:443/team/img:1", "source.image")


def test_no_list_allows_anything_and_a_python_template_is_read_by_its_registry():
    EgressPolicy().check_git_url("http://169.254.169.254/x", "source.git.url")
    EgressPolicy().check_image("ghcr.io/x:1", "source.image")
    policy = EgressPolicy.from_flags([], ["127.0.0.1:5055"])
    policy.check_image("127.0.0.1:5055/python:{python}-slim", "options.python-base-image")
    with pytest.raises(BadInput, match="'docker.io'"):
        policy.check_image("python:{python}-slim", "options.python-base-image")


def test_every_host_a_request_body_names_is_checked():
    policy = EgressPolicy.from_flags(["git.example.org"], ["127.0.0.1:5055"])
    body = {"spec": {"source_type": "artifact", "source": {"artifact": "a", "base_image": "ghcr.io/x:1"},
                     "builder": {"cuda": {"base_image": "127.0.0.1:5055/cuda:1"}}},
            "source": {"archive": "source"}}
    req = parse_request(body, kind="check", has_archive=True, push_prefix=None)
    with pytest.raises(BadInput, match=r"spec\.source\.base_image registry 'ghcr\.io'"):
        policy.check_request(req)
    body["spec"]["source"]["base_image"] = "127.0.0.1:5055/py:1"
    body["spec"]["builder"]["cuda"]["base_image"] = "nvcr.io/nvidia/cuda:12"
    with pytest.raises(BadInput, match=r"spec\.builder\.cuda\.base_image registry 'nvcr\.io'"):
        policy.check_request(parse_request(body, kind="check", has_archive=True, push_prefix=None))


@pytest.mark.parametrize("flag,value", [("git", "https://github.com"), ("git", "a b"), ("git", "h:0"),
                                        ("registry", "x/y"), ("registry", "h:70000"), ("registry", "")])
def test_bad_entries_are_one_line(flag, value):
    with pytest.raises(BadInput) as err:
        EgressPolicy.from_flags([value] if flag == "git" else [], [value] if flag == "registry" else [])
    assert "\n" not in err.value.message and "serve: --allow-" in err.value.message


def test_policy_round_trips_to_the_build_runner():
    policy = EgressPolicy.from_flags(["git.example.org", "127.0.0.1:8080"], ["docker.io", "127.0.0.1:5055"])
    assert EgressPolicy.from_json(policy.to_json()) == policy
    assert EgressPolicy.from_json(EgressPolicy().to_json()) == EgressPolicy()


def test_git_redirects_are_refused_by_appending_to_git_config_env():
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.name", "GIT_CONFIG_VALUE_0": "x"}
    refuse_git_redirects(env)
    assert env["GIT_CONFIG_COUNT"] == "2" and env["GIT_CONFIG_KEY_1"] == "http.followRedirects"
    assert env["GIT_CONFIG_VALUE_1"] == "false" and env["GIT_CONFIG_KEY_0"] == "user.name"


@settings(max_examples=100)
@given(values=st.fixed_dictionaries({}, optional={
    # A blank text value is refused (options.files.coerce), not a value to read back.
    "python-base-image": st.text(max_size=30).filter(lambda s: "\x00" not in s and s.strip(" \t\r\n")),
    "uid": st.integers(0, 2**31 - 1), "offline": st.booleans(),
    "gpu": st.lists(st.text(string.printable, min_size=1, max_size=8).filter(lambda s: "," not in s.strip() and s.strip() == s),
                    max_size=3)}))
def test_the_operator_config_snapshot_reads_back_as_written(tmp_path_factory, values):
    from launchbuild.service import operator

    tmp = tmp_path_factory.mktemp("op")
    source = tmp / "config.toml"
    source.write_text("".join(f"{k} = {operator._toml_value(v)}\n" for k, v in values.items()), encoding="utf-8")
    loaded = operator.load(source, tmp, environ={})
    assert loaded.values == {k: v for k, v in values.items() if v is not None}
    assert loaded.unalias(f"from {loaded.snapshot}") == f"from {loaded.shown}"
