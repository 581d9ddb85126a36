"""What a push sent, from the registry's manifests (builder/push_bytes.py): the pure half."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchbuild.builder import push_bytes as pb

DIGESTS = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)
BLOBS = st.lists(st.builds(pb.Blob, DIGESTS, st.integers(0, 10**10)), max_size=12)


def manifest(blobs):
    config, *layers = blobs
    part = lambda b: {"mediaType": "x", "digest": b.digest, "size": b.size}  # noqa: E731
    return {"schemaVersion": 2, "config": part(config), "layers": [part(b) for b in layers]}


@given(BLOBS.filter(bool))
def test_blobs_of_reads_config_and_layers(blobs):
    assert pb.blobs_of(manifest(blobs)) == tuple(blobs)


@pytest.mark.parametrize("bad", [
    None, [], "x", {}, {"config": {"digest": "sha256:a"}}, {"config": {"digest": 1, "size": 1}},
    {"config": {"digest": "sha256:a", "size": -1}}, {"config": {"digest": "sha256:a", "size": True}},
    {"config": {"digest": "sha256:a", "size": 1}, "layers": ["not a dict"]},
])
def test_blobs_of_refuses_anything_but_a_single_image_manifest(bad):
    assert pb.blobs_of(bad) is None


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3)))
def test_blobs_of_never_raises_on_hostile_json(value):
    result = pb.blobs_of(value)
    assert result is None or all(isinstance(b, pb.Blob) for b in result)


@given(BLOBS, st.sets(DIGESTS))
def test_stats_counts_only_what_the_registry_lacked(blobs, extra_had):
    had = frozenset({b.digest for b in blobs[::2]} | extra_had)
    stats = pb.stats(tuple(blobs), had)
    unique = {b.digest: b for b in blobs}
    assert stats.blobs_total == len(unique)
    assert stats.bytes_sent == sum(b.size for d, b in unique.items() if d not in had)
    assert 0 <= stats.bytes_sent <= stats.image_bytes
    assert pb.stats(tuple(blobs), frozenset(unique)).bytes_sent == 0


def test_pull_bytes_are_the_new_manifests_blobs_the_node_lacks():
    a, b, c = (pb.Blob(f"sha256:{ch * 64}", size) for ch, size in (("a", 100), ("b", 20), ("c", 3)))
    assert pb.pull_bytes((a, b, c), (a, b)) == 3
    assert pb.pull_bytes((a, b), ()) == 120
    assert pb.pull_bytes((a, a), ()) == 100


@pytest.mark.parametrize("ref, expected", [
    ("127.0.0.1:5055/team/job:lb-1", ("http://127.0.0.1:5055", "team/job", "lb-1")),
    ("localhost:5000/job:t", ("http://localhost:5000", "job", "t")),
    ("registry.example.com/team/job:t", ("https://registry.example.com", "team/job", "t")),
    ("team/job:t", None),  # Docker Hub: not asked
    ("127.0.0.1:5055/team/job", None),  # no tag
    ("127.0.0.1:5055/team/job@sha256:" + "a" * 64, None),
])
def test_registry_parts(ref, expected):
    assert pb.registry_parts(ref) == expected


def test_an_unreachable_registry_is_unknown_not_an_error():
    # Port 9 on 127.0.0.1 (discard) has no registry: the push's measure is unknown (None).
    assert pb.blobs_before_push("127.0.0.1:9/team/job:t") is None
    assert pb.manifest_blobs("127.0.0.1:9/team/job:t") is None
    assert pb.summary_fields(None) == {}
