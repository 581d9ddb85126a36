"""jax_cupy.json is derived from the measured tables (refresh/frameworks.py): JAX's minimum CC
per CUDA major from the plugin's cubins, plugin cuDNN floors from their nvidia-cudnn pins, the
CUDA minor of jaxlib +cudaNN from jax's extras, CuPy's floor from cuda_archs.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchbuild.compat import data
from launchbuild.compat.catalog import evaluate
from launchbuild.compat.rules._common import cuda_uses
from launchbuild.errors import BadInput
from launchbuild.refresh import frameworks, pipeline, pypi, schema
from tests.helpers_compat import ctx

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def _shipped_day() -> str:
    """The day the shipped framework tables were derived: a re-derivation on it changes nothing."""
    return json.loads((REPO_DATA / "jax_cupy.json").read_text())["retrieved"]
SHA = "a" * 64


def _wheel(package, version, **kw):
    return {"package": package, "version": version, "machine": "x86_64", "source": f"{package}-{version}.metadata",
            "checked": "2026-12-01", "sha256": SHA, **kw}


def test_jax_facts_come_from_the_plugin_cubins_and_the_wheels_pins():
    archs = [_wheel("jax-cuda12-plugin", "0.9.2", cubins=[50, 60, 90]), _wheel("jax-cuda12-plugin", "0.10.2", cubins=[52, 90]),
             _wheel("jax-cuda13-plugin", "0.10.2", cubins=[75, 120])]
    wheels = [_wheel("jax-cuda12-plugin", "0.5.3", extras_cudnn={"with-cuda": "9.1"}),
              _wheel("jax-cuda12-plugin", "0.10.2", extras_cudnn={"with-cuda": "9.8"}),
              _wheel("jax", "0.4.20", extras_cuda={"cuda11-pip": "11.8", "cuda12-pip": "12.2"}, requires_python=">=3.9"),
              _wheel("jax", "0.10.2", extras_cuda={}, requires_python=">=3.11")]
    jax = frameworks.jax_section(pypi.PACKAGES, wheels, archs, "2026-12-01")
    assert jax["min_cc_by_cuda"] == {"12": "5.2", "13": "7.5"}  # the newest measured plugin of each major
    assert jax["min_cc"] == "5.2" and jax["python_min"] == "3.11"
    assert jax["cudnn_min_by_plugin"]["jax-cuda12-plugin"] == {"0.5.3": "9.1", "0.10.2": "9.8"}
    assert jax["cuda_local"]["cudnn_min"] == "9.8" and "0.10.2" in jax["cuda_local"]["source"]
    assert jax["cuda_local"]["checked"] == "2026-12-01"  # the plugin metadata row's own date
    assert jax["jaxlib_cuda_by_jax"] == {"0.4.20": {"11": "11.8", "12": "12.2"}}
    assert all(m["sha256"] == SHA and m["source"] for m in jax["min_cc_measured"])


def test_cupy_floor_is_the_lowest_sm_of_its_cuda_major():
    arch_rows = [{"from": v, "sm": sm, "source": "c", "checked": "2026-08-22"}
                 for v, sm in (("11.0", [35, 80]), ("12.0", [50, 90]), ("12.8", [50, 120]), ("13.0", [75, 120]))]
    cupy = frameworks.cupy_section(("cupy-cuda102", "cupy-cuda12x", "cupy-cuda13x", "torch"), [], arch_rows, "2026-12-01")
    rows = {r["name"]: r for r in cupy["packages"]}
    assert rows["cupy-cuda13x"]["min_cc"] == "7.5" and rows["cupy-cuda12x"]["min_cc"] == "5.0"
    assert rows["cupy-cuda102"]["cuda"] == "10.2" and "min_cc" not in rows["cupy-cuda102"]  # no CUDA 10 row here
    assert cupy["min_cc"] == "5.0" and cupy["bundles_runtime"] is None
    # every package row cites what it comes from and is dated by the toolkit row it derives from
    assert rows["cupy-cuda13x"]["checked"] == "2026-08-22" and "cuda_archs.json CUDA 13.0 (c)" in rows["cupy-cuda13x"]["source"]
    assert rows["cupy-cuda102"]["checked"] == "2026-12-01" and rows["cupy-cuda102"]["source"]


def test_the_shipped_jax_cupy_table_is_what_the_pipeline_derives(tmp_path):
    for name in ("pypi_wheels", "wheel_archs", "cuda_archs", "jax_cupy"):
        (tmp_path / f"{name}.json").write_text((REPO_DATA / f"{name}.json").read_text())
    opts = pipeline.Options(data_dir=tmp_path, fetcher=None, today=_shipped_day(), log=lambda _m: None)
    pipeline.refresh_frameworks(opts)
    derived = json.loads((tmp_path / "jax_cupy.json").read_text())
    shipped = json.loads((REPO_DATA / "jax_cupy.json").read_text())
    assert derived["jax"] == shipped["jax"] and derived["cupy"] == shipped["cupy"]
    assert schema.check_table("jax_cupy", derived) == []


def test_frameworks_without_the_measured_tables_is_bad_input(tmp_path):
    opts = pipeline.Options(data_dir=tmp_path, fetcher=None, today="2026-12-01", log=lambda _m: None)
    with pytest.raises(BadInput, match="--only pypi"):
        pipeline.refresh_frameworks(opts)


def test_jaxlib_cuda11_gets_its_minor_from_jax_extras():
    # jax 0.4.20 on PyPI: jaxlib ==0.4.20+cuda11.cudnn86 ; extra == 'cuda11_pip' with nvidia-cuda-runtime-cu11>=11.8
    uses = [u for u in cuda_uses(ctx(pins=("jax==0.4.20", "jaxlib==0.4.20+cuda11.cudnn86"))) if u.package == "jaxlib"]
    assert [(u.major, u.minor) for u in uses] == [(11, 8)]
    assert data.jaxlib_cuda_minor("0.4.7+cuda11.cudnn82", 11) is None  # not in the table: unknown, not guessed


def test_plugin_cudnn_floor_is_the_locked_releases_own():
    assert data.jax_local_cudnn("jax-cuda12-plugin", "0.10.2") == "9.8"
    assert data.jax_local_cudnn("jax-cuda12-plugin", "0.5.3") == "9.1"
    assert data.jax_local_cudnn("jax-cuda12-plugin", "0.10.3") == "9.8"  # a patch the table lacks: its minor's


def test_cupy_cuda13x_on_a_volta_is_an_error_but_cupy_cuda12x_passes():
    findings, _ = evaluate(ctx(gpus=("V100",), driver="580.95.05", pins=("cupy-cuda13x==14.0.1",)))
    assert any(f.rule == "LB203" and "7.5" in f.message for f in findings)
    findings, _ = evaluate(ctx(gpus=("V100",), driver="580.95.05", pins=("cupy-cuda12x==14.0.1",)))
    assert not any(f.rule == "LB203" and "CuPy" in f.message for f in findings)


def test_tensorflow_rows_come_from_build_info_and_the_and_cuda_pins():
    archs = [_wheel("tensorflow", "2.12.1", cubins=[35, 50], ptx=[80], build_versions={"cuda_version": "11.8", "cudnn_version": "8"}),
             _wheel("tensorflow", "2.16.2", cubins=[50, 80], ptx=[90], build_versions={"cuda_version": "12.3", "cudnn_version": "8"}),
             _wheel("tensorflow", "2.18.1", cubins=[60, 89], ptx=[90], build_versions={"cuda_version": "12.5.1", "cudnn_version": "9"}),
             _wheel("tensorflow", "2.19.1", cubins=[60, 89], ptx=[90], build_versions={"cuda_version": "12.5.1", "cudnn_version": "9"})]
    wheels = [_wheel("tensorflow", v, pythons=["3.9", "3.12"], **({"extras_cudnn": {"and-cuda": pin}} if pin else {}))
              for v, pin in (("2.12.1", None), ("2.16.2", "8.9"), ("2.18.1", "9.3"), ("2.19.1", "9.3"))]
    releases, lists = frameworks.tensorflow_tables(wheels, archs, "2026-12-01")
    got = {r["tensorflow"]: (r["cuda"], r["cudnn"]) for r in releases}
    assert got == {"2.12": ("11.8", "8"), "2.16": ("12.3", "8.9"), "2.18": ("12.5", "9.3"), "2.19": ("12.5", "9.3")}
    assert [(r["from"], r["archs"], r["ptx"]) for r in lists] == [
        ("2.12", ["3.5", "5.0"], "8.0"), ("2.16", ["5.0", "8.0"], "9.0"), ("2.18", ["6.0", "8.9"], "9.0")]


def test_build_info_versions_are_read_from_the_file():
    from launchbuild.refresh.archs import build_versions

    text = "build_info = collections.OrderedDict([('cuda_version', '12.5.1'), ('cudnn_version', '9'), ('is_cuda_build', True)])"
    assert dict(build_versions(text)) == {"cuda_version": "12.5.1", "cudnn_version": "9"}
    assert build_versions("nothing here") == ()


def test_the_shipped_tensorflow_table_is_what_the_pipeline_derives(tmp_path):
    for name in ("pypi_wheels", "wheel_archs", "cuda_archs", "jax_cupy", "tensorflow"):
        (tmp_path / f"{name}.json").write_text((REPO_DATA / f"{name}.json").read_text())
    pipeline.refresh_frameworks(pipeline.Options(data_dir=tmp_path, fetcher=None, today=_shipped_day(), log=lambda _m: None))
    derived = json.loads((tmp_path / "tensorflow.json").read_text())
    shipped = json.loads((REPO_DATA / "tensorflow.json").read_text())
    assert derived["releases"] == shipped["releases"] and derived["arch_lists"] == shipped["arch_lists"]
    assert not any(r.get("manual") for r in shipped["releases"] + shipped["arch_lists"])


def test_torch_releases_take_python_and_default_from_pypi_and_keep_the_cited_variants():
    old = [{"torch": "1.12", "python": ["3.7", "3.10"], "variants": ["cu102", "cu116"], "pypi_default": "cu102",
            "source": "cited", "checked": "2026-08-21", "manual": True},
           {"torch": "1.13", "python": ["3.7", "3.10"], "variants": ["cu116", "cu117"], "pypi_default": "cu117",
            "source": "cited", "checked": "2026-08-21", "manual": True}]
    wheels = [_wheel("torch", "1.12.1", pythons=["3.7", "3.10"], cuda=None),
              _wheel("torch", "1.13.1", pythons=["3.7", "3.8", "3.11"], cuda="11.7"),
              _wheel("torch", "2.15.0", pythons=["3.11", "3.14"], cuda="13.2")]
    rows = {r["torch"]: r for r in frameworks.torch_releases(old, wheels, "2026-12-01")}
    assert rows["1.13"]["python"] == ["3.7", "3.11"] and rows["1.13"]["manual"] is True  # cp311 wheels exist
    assert rows["1.12"]["pypi_default"] == "cu102"  # bundles its CUDA, pins none: the cited default stays
    assert rows["2.15"] == {"torch": "2.15", "python": ["3.11", "3.14"], "variants": ["cu132"], "pypi_default": "cu132",
                            "source": [rows["2.15"]["source"][0]], "checked": "2026-12-01"}


def test_rerunning_frameworks_on_the_shipped_torch_table_changes_nothing(tmp_path):
    for name in ("pypi_wheels", "wheel_archs", "cuda_archs", "jax_cupy", "tensorflow", "torch"):
        (tmp_path / f"{name}.json").write_text((REPO_DATA / f"{name}.json").read_text())
    pipeline.refresh_frameworks(pipeline.Options(data_dir=tmp_path, fetcher=None, today=_shipped_day(), log=lambda _m: None))
    assert json.loads((tmp_path / "torch.json").read_text())["releases"] == json.loads((REPO_DATA / "torch.json").read_text())["releases"]
