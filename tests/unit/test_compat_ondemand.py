"""On-demand measurement of a locked wheel no table has measured: cached by sha256, offline-safe."""

from __future__ import annotations

import json

from launchbuild.compat.facts import ondemand
from launchbuild.compat.catalog import evaluate
from launchbuild.resolver.model import Lock, LockedPackage, Target
from tests.helpers_compat import ctx


def _lock(version: str, sha: str) -> Lock:
    pkg = LockedPackage("torch", version, hashes=(f"sha256:{sha}",))
    return Lock(packages=(pkg,), text="", target=Target("3.11"), backend="uv", input_hash="t")


def test_cached_measurement_is_used_offline_and_drives_lb203(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path))
    sha = "a" * 64
    (tmp_path / "wheel-archs").mkdir()
    (tmp_path / "wheel-archs" / f"{sha}.json").write_text(json.dumps({
        "package": "torch", "version": "1.9.1", "machine": "x86_64", "sha256": sha, "member": "torch/lib/libtorch_python.so",
        "cubins": [37, 50, 60, 70], "ptx": [], "cuda_named": 3, "method": "arch-flags", "source": "test", "checked": "2026-12-01"}))
    got = ondemand.measure_locked(_lock("1.9.1", sha), "linux/amd64", offline=True)
    assert len(got) == 1 and got[0].build.describe() == "sm_37 sm_50 sm_60 sm_70"
    base = ctx(gpus=("A100",), pins=("torch==1.9.1",), python="3.9")
    findings, _ = evaluate(base.__class__(**{**base.__dict__, "measurements": got}))
    lb203 = [f for f in findings if f.rule == "LB203"]
    assert lb203 and "measured on demand" in " ".join(e.source for e in lb203[0].evidence)


def test_a_cached_reading_that_folded_arch_specific_code_is_a_miss(tmp_path, monkeypatch):
    # Before sm_100a was read apart it counted as sm_100 (which would claim an sm_103): such an entry
    # is measured again; one with no SM from 90 up could not have folded anything and is kept.
    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path))
    (tmp_path / "wheel-archs").mkdir()
    row = {"package": "torch", "version": "2.99.0", "machine": "x86_64", "member": "torch/lib/libtorch_python.so",
           "cubins": [80, 90, 100], "ptx": [], "cuda_named": 3, "method": "arch-flags", "source": "test", "checked": "2026-12-01"}
    for sha, extra in (("c" * 64, {}), ("d" * 64, {"cubins_a": [100], "ptx_a": []})):
        (tmp_path / "wheel-archs" / f"{sha}.json").write_text(json.dumps({**row, "sha256": sha, **extra}))
    assert ondemand.measure_locked(_lock("2.99.0", "c" * 64), "linux/amd64", offline=True) == ()
    got = ondemand.measure_locked(_lock("2.99.0", "d" * 64), "linux/amd64", offline=True)
    assert len(got) == 1 and got[0].build.describe() == "sm_80 sm_90 sm_100 sm_100a"


def test_nothing_measured_offline_without_a_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path))
    assert ondemand.measure_locked(_lock("1.9.1", "b" * 64), "linux/amd64", offline=True) == ()
    assert ondemand.measure_locked(None, "linux/amd64", offline=False) == ()


def test_a_wheel_the_tables_know_is_never_measured_again(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path))
    assert ondemand.measure_locked(_lock("2.6.0", "c" * 64), "linux/amd64", offline=False) == ()  # no network touched
