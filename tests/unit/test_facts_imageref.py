"""Image reference parsing: table of valid/invalid refs, and a property: only BadInput escapes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.core.imageref import ImageRef, parse_image_ref
from launchbuild.errors import BadInput

SHA = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("ref", "registry", "repository", "tag", "digest", "familiar"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None, "ubuntu:latest"),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None, "ubuntu:22.04"),
        ("docker.io/library/python:3.11-slim", "docker.io", "library/python", "3.11-slim", None, "python:3.11-slim"),
        ("index.docker.io/nvidia/cuda:12.1.1-runtime-ubuntu22.04", "docker.io", "nvidia/cuda", "12.1.1-runtime-ubuntu22.04", None, "nvidia/cuda:12.1.1-runtime-ubuntu22.04"),
        ("nvidia/cuda:12.1.1-devel-ubuntu22.04", "docker.io", "nvidia/cuda", "12.1.1-devel-ubuntu22.04", None, "nvidia/cuda:12.1.1-devel-ubuntu22.04"),
        ("127.0.0.1:5055/launchbuild-test/debian:12", "127.0.0.1:5055", "launchbuild-test/debian", "12", None, "127.0.0.1:5055/launchbuild-test/debian:12"),
        ("localhost/app", "localhost", "app", "latest", None, "localhost/app:latest"),
        ("localhost:5000/team/app:v1", "localhost:5000", "team/app", "v1", None, "localhost:5000/team/app:v1"),
        ("nvcr.io/nvidia/pytorch:24.01-py3", "nvcr.io", "nvidia/pytorch", "24.01-py3", None, "nvcr.io/nvidia/pytorch:24.01-py3"),
        (f"ubuntu@{SHA}", "docker.io", "library/ubuntu", None, SHA, f"ubuntu@{SHA}"),
        (f"ubuntu:22.04@{SHA}", "docker.io", "library/ubuntu", "22.04", SHA, f"ubuntu:22.04@{SHA}"),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None, "[::1]:5000/app:1"),
        ("my_org/my__app-x.y:T_1", "docker.io", "my_org/my__app-x.y", "T_1", None, "my_org/my__app-x.y:T_1"),
        ("  ubuntu:22.04  ", "docker.io", "library/ubuntu", "22.04", None, "ubuntu:22.04"),
    ],
)
def test_valid_references_normalise(ref, registry, repository, tag, digest, familiar):
    parsed = parse_image_ref(ref)
    assert parsed == ImageRef(registry, repository, tag, digest)
    assert parsed.familiar == familiar
    assert parse_image_ref(parsed.canonical) == parsed


@pytest.mark.parametrize(
    ("ref", "scheme", "api"),
    [
        ("127.0.0.1:5055/a:1", "http", "127.0.0.1:5055"),
        ("localhost:5000/a", "http", "localhost:5000"),
        ("[::1]:5000/a", "http", "[::1]:5000"),
        ("ghcr.io/a/b", "https", "ghcr.io"),
        ("ubuntu", "https", "registry-1.docker.io"),
        ("10.0.0.1:5000/a", "https", "10.0.0.1:5000"),
    ],
)
def test_transport_follows_docker_insecure_loopback_rule(ref, scheme, api):
    parsed = parse_image_ref(ref)
    assert (parsed.scheme, parsed.api_host) == (scheme, api)
    assert parsed.base_url == f"{scheme}://{api}"


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Ubuntu:22.04", "uppercase"),
        ("ubuntu:", "tag"),
        ("ubuntu:bad tag", "whitespace"),
        ("ubuntu:-x", "tag"),
        ("ubuntu:" + "x" * 129, "tag"),
        ("ubuntu@sha256:abc", "digest"),
        ("ubuntu@md5:" + "a" * 32, "algorithm"),
        ("ubuntu@sha256:" + "A" * 64, "hex"),
        ("team//app", "path component"),
        ("/app", "path component"),
        ("app/", "path component"),
        ("reg:99999/app", "registry"),
        ("reg:port/app", "registry"),
        ("-bad.host/app", "registry"),
        ("ubuntu:22.04\nx", "whitespace"),
        ("ubüntu", "non-ASCII"),
        (":tag", "name is missing"),
        ("a" * 300, "longer than"),
    ],
)
def test_invalid_references_raise_one_line_bad_input(ref, words):
    with pytest.raises(BadInput) as err:
        parse_image_ref(ref)
    message = str(err.value)
    assert words in message
    assert "\n" not in message
    assert "e.g." in message  # says what to write instead


def test_non_string_is_bad_input():
    with pytest.raises(BadInput):
        parse_image_ref(None)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.from_regex(r"[a-z0-9.:/@_-]{0,60}", fullmatch=True)))
def test_only_bad_input_escapes(text):
    try:
        parsed = parse_image_ref(text)
    except BadInput as exc:
        assert "\n" not in str(exc)
    else:
        assert parse_image_ref(parsed.canonical) == parsed
