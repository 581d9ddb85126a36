"""One cache (core/cache.py): one root for every stage, atomic writes that leave no temp
file, schema stamps, and reads where anything damaged is a miss, never an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.compat.facts import factcache, ondemand
from launchbuild.core import cache


def test_root_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "launchbuild"
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "env"))
    assert cache.cache_root() == tmp_path / "env"
    assert cache.cache_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_every_stage_caches_under_the_one_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # ondemand used to ignore XDG_CACHE_HOME: a second root.
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    root = tmp_path / "launchbuild"
    assert factcache.default_dir() == root / "facts"
    assert ondemand.cache_dir() == root / "wheel-archs"


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "entry.json"
    assert cache.write_json(path, {"x": 1})
    assert cache.write_json(path, {"x": 2})
    assert cache.read_json(path) == {"x": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["entry.json"]


def test_unwritable_cache_is_false_or_raises_when_asked(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cache.write_json(blocker / "entry.json", {"x": 1}) is False
    with pytest.raises(OSError):
        cache.write_json(blocker / "entry.json", {"x": 1}, best_effort=False)


def test_unserialisable_value_leaves_no_temp_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        cache.write_json(tmp_path / "entry.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '"text"', "[" * 500 + "]" * 500, "\xff\xfe"])
def test_damaged_entries_are_a_miss(tmp_path: Path, text: str) -> None:
    path = tmp_path / "entry.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff\xfe" else b"\xff\xfe")
    assert cache.read_json(path) is None
    assert cache.read_json(tmp_path / "absent.json") is None


def test_schema_stamp(tmp_path: Path) -> None:
    path = tmp_path / "entry.json"
    cache.write_json(path, cache.stamped({"x": 1}, 3))
    assert cache.read_stamped(path, 3) == {"x": 1, "schema": 3}
    assert cache.read_stamped(path, 4) is None
    cache.write_json(path, {"x": 1})
    assert cache.read_stamped(path, 3) is None


def test_ondemand_damaged_row_is_a_miss(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    (tmp_path / "wheel-archs").mkdir()
    (tmp_path / "wheel-archs" / "abc.json").write_text(json.dumps({"package": "torch", "cubins": "oops"}))
    (tmp_path / "wheel-archs" / "def.json").write_text(json.dumps([1, 2]))
    assert ondemand._cached("abc") is None and ondemand._cached("def") is None


_json = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _json, max_size=6))
def test_round_trip(data: dict) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "entry.json"
        assert cache.write_json(path, data)
        assert cache.read_json(path) == data
        assert os.listdir(tmp) == ["entry.json"]
