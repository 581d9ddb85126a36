"""Import results carried over across an unchanged heavy layer (builder/verify_layers.py) and
the probe's refusal when a later layer could change them (builder/imports_probe.py)."""

from __future__ import annotations

import json
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchbuild.builder import imports_probe, verify_layers
from launchbuild.builder.verify_imports import judge_imports
from launchbuild.jobs.model import SourceKind
from tests.helpers_builder import seed_plan
from tests.unit.test_builder_layers import TORCH_LOCK, lock_of


def plan(packages=TORCH_LOCK, **changes):
    return seed_plan(SourceKind.CODE, False, lock_text=lock_of(packages), **{"layer_roots": ("torch",), **changes})


def test_the_key_ignores_later_layers_and_follows_what_built_the_heavy_one():
    key = verify_layers.heavy_layer_key(plan(), "sha256:base")
    added = {**TORCH_LOCK, "tqdm": ("4.67.1", ["-r requirements.txt"])}
    assert verify_layers.heavy_layer_key(plan(added), "sha256:base") == key
    assert verify_layers.heavy_layer_key(plan(), "sha256:other-base") != key
    bumped = {**TORCH_LOCK, "torch": ("2.5.2", ["-r requirements.txt"])}
    assert verify_layers.heavy_layer_key(plan(bumped), "sha256:base") != key
    assert verify_layers.heavy_layer_key(plan(uid=4242, gid=4242), "sha256:base") != key  # the user step
    assert verify_layers.heavy_layer_key(seed_plan(SourceKind.CODE, False), "sha256:base") is None
    assert verify_layers.heavy_layer_key(plan(), "") is None


def test_a_heavy_only_lock_has_the_key_it_keeps_when_a_light_package_comes():
    everything = tuple(TORCH_LOCK)
    alone = verify_layers.heavy_layer_key(plan(layer_roots=everything), "sha256:base")
    added = {**TORCH_LOCK, "tqdm": ("4.67.1", ["-r requirements.txt"])}
    assert alone is not None
    assert verify_layers.heavy_layer_key(plan(added, layer_roots=everything), "sha256:base") == alone


def entry(dist, module, ok=True, gpu=False):
    return {"dist": dist, "module": module, "ok": ok, "gpu": gpu, "error": ""}


def test_only_passed_heavy_results_are_kept_and_read_back(tmp_path):
    cache = verify_layers.HeavyImports(tmp_path)
    imports = [entry("torch", "torch", ok=False, gpu=True), entry("jinja2", "jinja2"), entry("tqdm", "tqdm")]
    cache.put("k", ("jinja2", "torch"), imports)
    dists, kept = cache.get("k")
    assert dists == ("jinja2", "torch")
    assert {e["dist"] for e in kept} == {"jinja2", "torch"}  # tqdm is not the heavy layer's
    cache.put("failed", ("torch",), [entry("torch", "torch", ok=False)])
    assert cache.get("failed") is None


@pytest.mark.parametrize("garbage", [b"[1]", b'{"dists": [], "imports": []}', b'{"dists": ["a"], "imports": [1]}',
                                     b'{"dists": ["a"], "imports": [{"dist": "b", "module": "b", "ok": true, "gpu": false}]}',
                                     b'{"dists": ["a"], "imports": [{"dist": "a", "module": "a", "ok": false, "gpu": false}]}',
                                     b"[" * 5000])
def test_a_damaged_entry_is_a_miss(tmp_path, garbage):
    cache = verify_layers.HeavyImports(tmp_path)
    cache.dir.mkdir(parents=True)
    (cache.dir / "k.json").write_bytes(garbage)
    assert cache.get("k") is None


def test_merged_probe_adds_only_what_the_probe_agreed_to_carry_over():
    carried = (entry("torch", "torch"), entry("jinja2", "jinja2"))
    probe = {"imports": [entry("tqdm", "tqdm")], "imports_reused": ["torch"]}
    merged = verify_layers.merged_probe(probe, carried)
    assert [e["dist"] for e in merged["imports"]] == ["torch", "tqdm"] and merged["imports_carried"] == 1
    (result,) = judge_imports(merged)
    assert result.passed and "1 carried over from the unchanged heavy layer" in result.detail
    refused = {"imports": [entry("tqdm", "tqdm")], "imports_reused": [], "imports_reuse_refused": "x installs a.pth"}
    assert verify_layers.merged_probe(refused, carried) == refused
    assert "none carried over from the heavy layer: x installs a.pth" in judge_imports(refused)[0].detail


class FakeDist:
    def __init__(self, name, files):
        self.name = name
        self.files = files

    def read_text(self, filename):
        return f"Metadata-Version: 2.1\nName: {self.name}\nVersion: 1\n" if filename == "METADATA" else None


def fake_metadata(monkeypatch, dists):
    monkeypatch.setattr(imports_probe, "metadata", types.SimpleNamespace(distributions=lambda: dists))


def test_the_probe_refuses_when_a_later_layer_touches_the_heavy_files_or_start_up(monkeypatch):
    heavy = FakeDist("torch", ["torch/__init__.py", "torch-2.5.1.dist-info/RECORD"])
    fake_metadata(monkeypatch, [heavy, FakeDist("tqdm", ["tqdm/__init__.py", "tqdm-4.dist-info/RECORD"])])
    assert imports_probe.reuse_refused({"torch"}) is None
    fake_metadata(monkeypatch, [heavy, FakeDist("evil", ["torch/__init__.py"])])
    assert "both install torch/__init__.py" in imports_probe.reuse_refused({"torch"})
    fake_metadata(monkeypatch, [heavy, FakeDist("hook", ["hook.pth"])])
    assert "hook installs hook.pth" in imports_probe.reuse_refused({"torch"})
    fake_metadata(monkeypatch, [heavy, FakeDist("site", ["sitecustomize.py"])])
    assert imports_probe.reuse_refused({"torch"}) is not None
    # Heavy distributions sharing a namespace folder among themselves is normal (nvidia-*).
    fake_metadata(monkeypatch, [FakeDist("nvidia-a", ["nvidia/__init__.py"]), FakeDist("nvidia-b", ["nvidia/__init__.py"])])
    assert imports_probe.reuse_refused({"nvidia-a", "nvidia-b"}) is None


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]),
                          st.lists(st.sampled_from(["x/1.py", "y/2.py", "z.pth", "w.py"]), max_size=3)), max_size=5),
       st.sets(st.sampled_from(["a", "b", "c", "d"])))
def test_reuse_refused_never_raises_and_is_none_only_without_crossing_files(dists, reused):
    fakes = [FakeDist(n, files) for n, files in dists]
    imports_probe.metadata, saved = types.SimpleNamespace(distributions=lambda: fakes), imports_probe.metadata
    try:
        why = imports_probe.reuse_refused(reused)
    finally:
        imports_probe.metadata = saved
    if why is None:
        owners: dict[str, set[bool]] = {}
        for n, files in dists:
            for f in files:
                owners.setdefault(f, set()).add(n in reused)
                assert not (f.endswith(".pth") and n not in reused)
        assert all(len(v) == 1 for v in owners.values())
    json.dumps(why)
