"""builder/layer_bytecode.py --cache: bytecode from the cache scope's mount (it runs in the
image). A dependency change reinstalls its whole layer; the .pyc of every file this Python
compiled before comes back from the cache instead of being compiled again. What comes back is
exactly the checked-hash .pyc of that source at that path, or nothing: a changed source, a
torn or foreign entry, or a cache that cannot be written leaves the file to be compiled. The
engine side is tests/integration/test_layers_docker.py (the image's .pyc are checked-hash)."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.builder import layer_bytecode as helper

CHECKED_HASH = 0b11


def _tree(root: Path, files: dict[str, str]) -> list[str]:
    paths = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(str(path))
    return sorted(paths)


def _pyc(path: str) -> bytes:
    return Path(importlib.util.cache_from_source(path)).read_bytes()


def _drop_pycs(root: Path) -> None:
    for pyc in root.rglob("*.pyc"):
        pyc.unlink()


def _no_compiling(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("compiled although the cache holds it")

    monkeypatch.setattr(helper.py_compile, "compile", refuse)


def test_a_second_install_gets_the_same_checked_hash_pyc_from_the_cache_without_compiling(tmp_path, monkeypatch):
    site, cache = tmp_path / "site", tmp_path / "cache"
    paths = _tree(site, {"pkg/__init__.py": "x = 1\n", "pkg/mod.py": "def f():\n    return 2\n"})
    helper.compile_cached(paths, str(cache), workers=1)
    first = {p: _pyc(p) for p in paths}
    assert all(int.from_bytes(pyc[4:8], "little") == CHECKED_HASH for pyc in first.values())
    assert len(list(cache.rglob("*.pyc"))) == 2
    _drop_pycs(site)  # the reinstall of a later build: same files, no bytecode yet
    _no_compiling(monkeypatch)
    helper.compile_cached(paths, str(cache), workers=1)
    assert {p: _pyc(p) for p in paths} == first


def test_a_changed_source_is_compiled_again_and_its_pyc_fits_the_new_source(tmp_path):
    site, cache = tmp_path / "site", str(tmp_path / "cache")
    (path,) = _tree(site, {"m.py": "x = 1\n"})
    helper.compile_cached([path], cache, workers=1)
    old = _pyc(path)
    Path(path).write_text("x = 2\n")
    _drop_pycs(site)
    helper.compile_cached([path], cache, workers=1)
    new = _pyc(path)
    assert new != old and new[8:16] == importlib.util.source_hash(b"x = 2\n")


def test_the_same_source_at_another_path_is_never_served_another_paths_pyc(tmp_path, monkeypatch):
    # A .pyc names its source's path (tracebacks show it): the path is part of the key.
    cache = str(tmp_path / "cache")
    (a,) = _tree(tmp_path / "a", {"m.py": "x = 1\n"})
    (b,) = _tree(tmp_path / "b", {"m.py": "x = 1\n"})
    helper.compile_cached([a], cache, workers=1)
    assert helper.cache_entry(cache, a, b"x = 1\n") != helper.cache_entry(cache, b, b"x = 1\n")
    assert not helper.restore(b, cache)


def test_a_torn_or_foreign_entry_is_not_used_and_is_replaced(tmp_path):
    site, cache = tmp_path / "site", str(tmp_path / "cache")
    (path,) = _tree(site, {"m.py": "x = 1\n"})
    entry = Path(helper.cache_entry(cache, path, b"x = 1\n"))
    entry.parent.mkdir(parents=True)
    for junk in (b"", importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + b"\0" * 16,  # a timestamp .pyc
                 importlib.util.MAGIC_NUMBER + b"\3\0\0\0" + b"\1" * 8 + b"code"):  # another source's hash
        entry.write_bytes(junk)
        assert not helper.restore(path, cache)
        helper.compile_cached([path], cache, workers=1)
        assert _pyc(path)[8:16] == importlib.util.source_hash(b"x = 1\n")
        assert entry.read_bytes() == _pyc(path)  # the bad entry was replaced by a good one
        _drop_pycs(site)


def test_a_cache_that_cannot_be_written_still_compiles_and_never_fails(tmp_path):
    site = tmp_path / "site"
    paths = _tree(site, {"m.py": "x = 1\n", "broken.py": "def f(:\n"})
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    assert helper.main(["layer_bytecode.py", "--cache", str(blocked), "--all", str(site)]) == 0
    assert os.path.exists(importlib.util.cache_from_source(paths[1]))  # m.py
    assert not os.path.exists(importlib.util.cache_from_source(paths[0]))  # broken.py: skipped


def test_all_compiles_every_source_under_the_root_but_test_folders(tmp_path):
    site = tmp_path / "lib"
    _tree(site, {"pkg/__init__.py": "", "pkg/tests/test_a.py": "", "pkg/test/t.py": "", "mod.py": "",
                 "pkg/data.txt": "not python"})
    assert helper.main(["layer_bytecode.py", "--cache", str(tmp_path / "cache"), "--all", str(site)]) == 0
    compiled = sorted(str(p.relative_to(site)) for p in site.rglob("*.pyc"))
    assert [c.split(".")[0] for c in compiled] == ["__pycache__/mod", "pkg/__pycache__/__init__"]


def test_many_misses_compile_in_a_worker_pool_and_every_one_is_kept(tmp_path, monkeypatch):
    site, cache = tmp_path / "site", str(tmp_path / "cache")
    paths = _tree(site, {f"pkg/m{i}.py": f"x = {i}\n" for i in range(helper.PARALLEL_MIN_FILES + 3)})
    helper.compile_cached(paths, cache, workers=2)
    assert len(list(Path(cache).rglob("*.pyc"))) == len(paths)
    _drop_pycs(site)
    _no_compiling(monkeypatch)
    helper.compile_cached(paths, cache, workers=2)
    assert all(os.path.exists(importlib.util.cache_from_source(p)) for p in paths)


def test_the_interpreter_uses_the_restored_pyc_and_recompiles_a_source_edited_later(tmp_path):
    # Checked-hash: the import system checks the source's hash, never its mtime (uv's copies get
    # new ones); an edit made in the container after the build is seen at the next import.
    site, cache = tmp_path / "site", str(tmp_path / "cache")
    (path,) = _tree(site, {"cached_mod.py": "VALUE = 'from the build'\n"})
    helper.compile_cached([path], cache, workers=1)
    _drop_pycs(site)
    helper.compile_cached([path], cache, workers=1)
    os.utime(path, (1, 1))  # another mtime than the one the .pyc was made beside
    probe = "import cached_mod, sys; print(cached_mod.VALUE)"
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "from the build"
    pyc = Path(importlib.util.cache_from_source(path))
    pyc.write_bytes(pyc.read_bytes()[:16] + b"\0" * 8)  # a body the interpreter would choke on...
    Path(path).write_text("VALUE = 'edited'\n")  # ...is never read: the source's hash changed
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "edited"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=200), st.integers(0, 7))
def test_an_entry_fits_only_a_checked_hash_pyc_of_this_interpreter_for_exactly_that_source(source, other, flags):
    good = importlib.util.MAGIC_NUMBER + CHECKED_HASH.to_bytes(4, "little") + importlib.util.source_hash(source) + b"c"
    assert helper._fits(good, source)
    assert helper._fits(good, other) == (importlib.util.source_hash(other) == importlib.util.source_hash(source))
    flagged = good[:4] + flags.to_bytes(4, "little") + good[8:]
    assert helper._fits(flagged, source) == (flags == CHECKED_HASH)
    assert not helper._fits(b"\0\0\0\0" + good[4:], source)
    assert not helper._fits(good[:16], source)  # a header with no code after it is torn
    assert not helper._fits(None, source)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["--cache", "--all", "--newer-than", "x.lock", "/nowhere", ""]), max_size=5))
def test_any_command_line_is_no_failure(argv):
    # The step runs `... || true`, but the helper itself must not raise on what it is given either.
    assert helper.main(["layer_bytecode.py", *argv]) == 0


def test_a_pyc_compiled_by_py_compile_fits_its_source(tmp_path):
    (path,) = _tree(tmp_path, {"m.py": "y = [i for i in range(3)]\n"})
    py_compile.compile(path, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    assert helper._fits(_pyc(path), Path(path).read_bytes())
