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
