"""Whether an image is the launchbuild image its labels describe: its history, read from the
engine (newest first, sizes) or a registry's config blob (oldest first, empty_layer), shows
no filesystem layer after the LABEL step that wrote its lock. A derived image (FROM a
launchbuild image, then RUN/COPY) inherits the labels, so its lock label is not trusted."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.compat.facts.factcache import from_json, to_json
from launchbuild.compat.facts.image_env import built_image_environment, inherited_labels, label_rows
from launchbuild.compat.facts.providers.docker import engine_history
from launchbuild.compat.facts.providers.registry_shapes import config_history
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.labels import LOCK_LABEL, LOCK_SHA_LABEL, encode_lock, layers_after_build

LOCK = "six==1.17.0 \\\n    --hash=sha256:" + "ab" * 32 + "\n"
SHA = hashlib.sha256(LOCK.encode()).hexdigest()
BUILDKIT_LABEL = f'LABEL io.launchbuild.checked-facts={{"arch":"amd64"}} io.launchbuild.lock-sha256={SHA} io.launchbuild.python=3.11'
CLASSIC_LABEL = f'/bin/sh -c #(nop)  LABEL io.launchbuild.lock-sha256="{SHA}" io.launchbuild.python="3.11"'
BASE = [("/bin/sh -c #(nop) ADD file:abc in /", True), ("RUN /bin/sh -c apt-get install python3 # buildkit", True)]
OURS = [("RUN /bin/sh -c uv pip install -r /opt/launchbuild/requirements.lock # buildkit", True),
        ("COPY code/ /app/ # buildkit", True)]


def test_the_image_launchbuild_built_has_nothing_after_its_label():
    for label in (BUILDKIT_LABEL, CLASSIC_LABEL):
        history = [*BASE, *OURS, (label, False), ('ENTRYPOINT ["python" "train.py"]', False)]
        assert layers_after_build(history, SHA) == 0


def test_a_derived_image_counts_the_layers_it_adds_not_its_config_steps():
    history = [*BASE, *OURS, (BUILDKIT_LABEL, False), ("ENTRYPOINT []", False),
               ("USER root", False), ("RUN /bin/sh -c pip install torch", True), ("ENV A=1", False),
               ("COPY extra /x", True)]
    assert layers_after_build(history, SHA) == 2


def test_the_last_label_step_counts_when_an_image_is_built_again_from_itself():
    history = [*BASE, (BUILDKIT_LABEL, False), ("RUN x", True), (BUILDKIT_LABEL, False)]
    assert layers_after_build(history, SHA) == 0


def test_unknown_without_history_or_without_the_step_that_wrote_the_lock():
    assert layers_after_build([], SHA) is None
    assert layers_after_build([*BASE, *OURS], SHA) is None  # labels set some other way
    assert layers_after_build([*BASE, (BUILDKIT_LABEL, False)], None) is None
    # Another lock's label (a prefix of this digest's hex, or a different one) is not this lock's.
    other = BUILDKIT_LABEL.replace(SHA, SHA[:40])
    assert layers_after_build([*BASE, (other, False)], SHA) is None
    assert layers_after_build([*BASE, (BUILDKIT_LABEL.replace(SHA, SHA + "ff"), False)], SHA) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=120), st.booleans()), max_size=40),
       st.lists(st.tuples(st.text(max_size=60).filter(lambda t: SHA not in t), st.booleans()), max_size=20))
def test_layers_after_build_counts_exactly_what_follows_the_last_label(before, after):
    history = [*before, (BUILDKIT_LABEL, False), *after]
    assert layers_after_build(history, SHA) == sum(1 for _, layer in after if layer)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=80), st.booleans()), max_size=30), st.text(max_size=70))
def test_layers_after_build_never_raises(history, sha):
    result = layers_after_build(history, sha)
    assert result is None or 0 <= result <= len(history)


def test_engine_history_is_newest_first_and_sized():
    doc = [{"CreatedBy": "COPY extra /x", "Size": 12}, {"CreatedBy": BUILDKIT_LABEL, "Size": 0},
           {"CreatedBy": "", "Size": 5000, "Id": "sha256:abc"}]
    assert engine_history(doc) == [("", True), (BUILDKIT_LABEL, False), ("COPY extra /x", True)]
    assert layers_after_build(engine_history(doc), SHA) == 1


def test_config_history_is_oldest_first_with_empty_layer_marks():
    config = {"history": [{"created_by": "ADD rootfs"}, {"created_by": BUILDKIT_LABEL, "empty_layer": True},
                          {"created_by": "RUN pip install x"}]}
    assert config_history(config) == [("ADD rootfs", True), (BUILDKIT_LABEL, False), ("RUN pip install x", True)]
    assert config_history({}) is None  # history is optional in an image config


_JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
                        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                        max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_JSONISH, st.lists(st.fixed_dictionaries({}, optional={"CreatedBy": _JSONISH, "Size": _JSONISH}))))
def test_engine_history_takes_any_answer(doc):
    entries = engine_history(doc)
    assert entries is None or all(isinstance(c, str) and isinstance(m, bool) for c, m in entries)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_JSONISH, st.lists(st.fixed_dictionaries({}, optional={"created_by": _JSONISH, "empty_layer": _JSONISH}))))
def test_config_history_takes_any_config(history):
    entries = config_history({"history": history})
    assert entries is None or all(isinstance(c, str) and isinstance(m, bool) for c, m in entries)


def labelled(layers_after: int | None) -> ImageFacts:
    labels = {LOCK_LABEL: encode_lock(LOCK), LOCK_SHA_LABEL: SHA, "io.launchbuild.python": "3.11"}
    return ImageFacts(reference="team/job:lb-1", provider="docker", labels=tuple(sorted(labels.items())),
                      layers_after_build=layers_after)


def test_only_the_image_launchbuild_built_is_checked_by_its_lock_label():
    env, python = built_image_environment(labelled(0), python=None, platform="linux/amd64")
    assert env is not None and [p.name for p in env.lock.packages] == ["six"] and inherited_labels(labelled(0)) is None
    for doubtful in (2, None):  # derived, or a history that cannot say
        env, python = built_image_environment(labelled(doubtful), python=None, platform="linux/amd64")
        assert env is None and python == "3.11"  # the layers are read instead; the label's Python still helps
    assert "adds 2 layers over the launchbuild image" in inherited_labels(labelled(2))
    assert "not known to be its own" in inherited_labels(labelled(None))
    assert ("labels inherited", inherited_labels(labelled(2)), "image history") in label_rows(labelled(2))


def test_an_image_without_a_lock_label_has_nothing_inherited():
    assert inherited_labels(ImageFacts(reference="python:3.11", provider="docker")) is None


def test_the_fact_cache_keeps_the_count_and_refuses_a_bad_one():
    facts = ImageFacts(reference="x", provider="docker", image_id="sha256:" + "a" * 64, layers_after_build=3)
    stored = json.loads(json.dumps(to_json(facts)))  # as the cache file holds it
    assert from_json(stored).layers_after_build == 3
    for bad in (-1, True, "3", 10**6):
        data = dict(stored)
        data["layers_after_build"] = bad
        assert from_json(data) is None
