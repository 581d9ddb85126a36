"""The refresh against the real PyPI: one small package, end to end (metadata and one wheel)."""

from __future__ import annotations

import json

import pytest

from launchbuild.refresh import pipeline
from launchbuild.refresh.http import LiveFetcher

pytestmark = pytest.mark.network


def test_live_refresh_of_one_small_package(tmp_path):
    opts = pipeline.Options(data_dir=tmp_path, fetcher=LiveFetcher(), today="2026-12-01", log=lambda _m: None,
                            packages=("jax-cuda13-plugin",), max_minors=1, measure_minors=1, budget_bytes=64 * 2**20)
    pipeline.refresh_pypi(opts)
    pipeline.refresh_archs(opts)
    wheels = json.loads((tmp_path / "pypi_wheels.json").read_text())["wheels"]
    assert wheels and all(w["package"] == "jax-cuda13-plugin" and len(w["sha256"]) == 64 for w in wheels)
    assert any(w["machine"] == "x86_64" and str(w["extras_cuda"].get("with-cuda", "")).startswith("13") for w in wheels)
    measured = json.loads((tmp_path / "wheel_archs.json").read_text())["wheels"]
    x86 = [m for m in measured if m["machine"] == "x86_64"]
    assert x86 and x86[0]["member"] and 75 in x86[0]["cubins"]  # CUDA 13 builds start at sm_75


def test_on_demand_measurement_of_a_locked_wheel_no_table_has(tmp_path, monkeypatch):
    """torch 1.9.1 is older than the tables reach: measured from PyPI by its sha256, then cached."""
    from launchbuild.compat.facts import ondemand
    from launchbuild.refresh import pypi
    from launchbuild.resolver.model import Lock, LockedPackage, Target

    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path))
    wheels = pypi.parse_simple_page(LiveFetcher().get(pypi.SIMPLE.format(name="torch"), accept=pypi.ACCEPT_JSON))
    wheel = next(w for w in wheels if str(w.version) == "1.9.1" and "x86_64" in w.machines and "3.9" in w.pythons)
    lock = Lock(packages=(LockedPackage("torch", "1.9.1", hashes=(f"sha256:{wheel.sha256}",)),), text="",
                target=Target("3.9"), backend="uv", input_hash="t")
    got = ondemand.measure_locked(lock, "linux/amd64", offline=False)
    assert got and (8, 0) not in got[0].build.archs and (7, 0) in got[0].build.archs  # cu102: sm_37..sm_70
    assert (tmp_path / "wheel-archs" / f"{wheel.sha256}.json").is_file()
    assert ondemand.measure_locked(lock, "linux/amd64", offline=True) == got  # cached: no network


def test_live_plugin_metadata_gives_the_cudnn_floor_jax_cupy_is_derived_from(tmp_path):
    opts = pipeline.Options(data_dir=tmp_path, fetcher=LiveFetcher(), today="2026-12-01", log=lambda _m: None,
                            packages=("jax-cuda12-plugin",), max_minors=1)
    pipeline.refresh_pypi(opts)
    wheels = json.loads((tmp_path / "pypi_wheels.json").read_text())["wheels"]
    x86 = [w for w in wheels if w["machine"] == "x86_64"]
    assert x86 and x86[0]["extras_cudnn"]["with-cuda"].startswith("9.")  # nvidia-cudnn-cu12>=9.x in [with-cuda]
