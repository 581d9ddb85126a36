"""The labels a launchbuild image carries (lock, checked facts, rule set) and reading them
back: a round trip, a bound, and a parser that never raises on a foreign or damaged label."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.builder.labels import image_labels, rules_version
from launchbuild.core.labels import (
    FACTS_LABEL, LOCK_LABEL, LOCK_SHA_LABEL, MAX_LOCK_LABEL, RULES_LABEL, decode_lock, encode_lock, read_labels,
)
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.compat.facts.image_env import built_image_environment

LOCK = "nvidia-cuda-runtime-cu12==12.1.105 \\\n    --hash=sha256:" + "ab" * 32 + "\n    # via -r requirements.txt\n"


def labels_of(lock: str = LOCK) -> dict[str, str]:
    facts = ImageFacts(reference="base", provider="docker", cuda_version="12.1.1", cudnn_version="8.9.0",
                       require_cuda="cuda>=12.1")
    out = dict(image_labels(lock_text=lock, lock_path="/opt/launchbuild/requirements.lock", facts=facts,
                            python="3.11", platform="linux/amd64", cuda_variants=(("torch", "cu121"),)))
    out[LOCK_SHA_LABEL] = hashlib.sha256(lock.encode()).hexdigest()  # the plan's own label
    out["io.launchbuild.python"] = "3.11"
    return out


def test_round_trip_of_lock_and_checked_facts():
    built = read_labels(labels_of())
    assert built is not None and built.lock_text == LOCK and built.lock_verified
    assert built.facts == {"python": "3.11", "pythons": ["3.11"], "arch": "amd64", "cuda": "12.1.1", "cudnn": "8.9.0",
                           "require_cuda": "cuda>=12.1", "cuda_variants": {"torch": "cu121"}}
    assert built.lock_path == "/opt/launchbuild/requirements.lock" and built.rules_version == rules_version()


def test_the_environment_of_a_built_image_is_its_lock():
    facts = ImageFacts(reference="team/job:lb-1", provider="registry", labels=tuple(sorted(labels_of().items())),
                       layers_after_build=0)  # its history: nothing installed after the build
    env, python = built_image_environment(facts, python=None, platform="linux/amd64")
    assert python == "3.11" and env is not None and env.lock is not None
    assert [(p.name, p.version) for p in env.lock.packages] == [("nvidia-cuda-runtime-cu12", "12.1.105")]
    assert env.lock.cuda_variants == (("torch", "cu121"),) and env.lock.target.python == "3.11"


def test_a_lock_that_does_not_fit_is_left_to_the_file_in_the_image():
    big = "".join(f"pkg{i}=={i}.0 \\\n    --hash=sha256:{hashlib.sha256(str(i).encode()).hexdigest()}\n" for i in range(4000))
    assert encode_lock(big) is None
    labels = labels_of(big)
    assert LOCK_LABEL not in labels and all(len(v) <= MAX_LOCK_LABEL for v in labels.values())
    built = read_labels(labels)
    assert built is not None and built.lock_text is None and built.lock_path


def test_a_lock_label_edited_after_the_build_is_not_trusted():
    labels = labels_of()
    labels[LOCK_SHA_LABEL] = "0" * 64
    assert read_labels(labels).lock_text is None


def test_an_image_without_our_labels_is_not_ours():
    assert read_labels({"org.opencontainers.image.title": "pytorch"}) is None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([LOCK_LABEL, LOCK_SHA_LABEL, FACTS_LABEL, RULES_LABEL, "io.launchbuild.python",
                                        "io.launchbuild.x", "other"]),
                       st.one_of(st.text(max_size=200), st.just("zlib+base64:"), st.just("zlib+base64:eJzLSM3JyQcABiwCFQ=="),
                                 st.just('{"cuda": 1}'), st.just("[]"))))
def test_read_labels_never_raises(labels):
    built = read_labels(labels)
    if built is not None and built.lock_text is not None:
        assert isinstance(built.lock_text, str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_encode_decode_round_trip(text):
    encoded = encode_lock(text)
    assert encoded is not None and decode_lock(encoded) == text


def test_the_label_python_fills_a_scan_that_found_none():
    from launchbuild.compat.facts.image_env import with_label_python

    facts = ImageFacts(reference="team/job:lb-1", provider="registry", labels=tuple(sorted(labels_of().items())))
    filled = with_label_python(facts, "3.11")
    assert filled.pythons == ("3.11",) and filled.source_of("pythons") == "image label io.launchbuild.python"
    scanned = ImageFacts(reference="x", provider="docker", pythons=("3.12",))
    assert with_label_python(scanned, "3.11") is scanned  # what the files say wins
