"""One image-reference grammar (core/imageref.py) for every caller: the job edge
(validate_image_ref), compat's inspection (parse_image_ref), the builder's repositories and
the cluster's push destinations agree on what is a reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.builder import kubernetes as k8s
from launchbuild.builder.tags import registry_of, split_ref, validate_repository
from launchbuild.core.imageref import parse_image_ref, registry_host, split_reference, validate_image_ref
from launchbuild.errors import BadInput

HEX = "0123456789abcdef"


def _accepts(func, *args) -> bool:
    try:
        func(*args)
    except BadInput as exc:
        assert "\n" not in str(exc)
        return False
    return True


@pytest.mark.parametrize(("algo", "digits", "ok"), [
    ("sha256", 64, True), ("sha384", 96, True), ("sha512", 128, True),
    ("sha512", 64, False),  # the case two parsers used to disagree on
    ("sha256", 63, False), ("sha256", 128, False), ("md5", 32, False), ("sha1", 40, False),
])
def test_digests_follow_the_oci_lengths_in_every_parser(algo: str, digits: int, ok: bool) -> None:
    ref = f"a/b@{algo}:" + "a" * digits
    assert _accepts(validate_image_ref, ref, "--base-image") is ok
    assert _accepts(parse_image_ref, ref) is ok
    assert _accepts(split_reference, ref) is ok


def test_job_edge_names_the_field_and_the_reason() -> None:
    with pytest.raises(BadInput) as err:
        validate_image_ref("a/b@sha512:" + "a" * 64, "job.yaml: source.base_image")
    message = str(err.value)
    assert message.startswith("job.yaml: source.base_image:") and "128 lowercase hex" in message


def test_digest_only_reference_keeps_its_registry_port() -> None:
    ref = parse_image_ref("localhost:5000/team/app@sha256:" + "b" * 64)
    assert ref.familiar_name == "localhost:5000/team/app" and ref.tag is None


_component = st.text(alphabet="abcz09._-A", min_size=0, max_size=8)
_refs = st.builds(
    lambda host, parts, tag, digest: (f"{host}/" if host else "") + "/".join(parts) + (f":{tag}" if tag else "") + (f"@{digest}" if digest else ""),
    st.sampled_from(["", "localhost", "localhost:5000", "127.0.0.1:5055", "reg.example.com", "reg:99999", "-bad.host", "[::1]:5000"]),
    st.lists(_component, min_size=1, max_size=3),
    st.one_of(st.none(), st.text(alphabet="aZ09._-", min_size=0, max_size=10)),
    st.one_of(st.none(), st.builds(lambda a, n: f"{a}:" + (HEX * 8)[:n],
                                   st.sampled_from(["sha256", "sha512", "md5"]), st.sampled_from([64, 128, 32]))),
)


@settings(max_examples=400, deadline=None)
@given(_refs)
def test_job_edge_and_inspection_accept_the_same_references(ref: str) -> None:
    assert _accepts(validate_image_ref, ref, "image") == _accepts(parse_image_ref, ref)


@settings(max_examples=400, deadline=None)
@given(_refs)
def test_builder_repositories_and_destinations_use_the_same_grammar(ref: str) -> None:
    written = split_reference(ref) if _accepts(split_reference, ref) else None
    name, tag = split_ref(ref)
    if written is None:
        assert not _accepts(k8s.parse_destination, ref)
        return
    assert registry_of(written.name) == registry_host(written.name) == written.host
    if tag is None:
        assert validate_repository(ref) == ref
    if written.host and written.tag and not written.digest:
        assert str(k8s.parse_destination(ref)) == ref
