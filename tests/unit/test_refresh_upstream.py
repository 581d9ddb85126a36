"""Tables produced from upstream files pinned by commit (refresh/upstream.py): gpus.json from
pci.ids, cuda_archs.json from CMake's CMakeCUDAArchitecturesAll.cmake. Read from recorded
fixtures (tests/fixtures/refresh/upstream, see its SOURCE) and from a --source-dir snapshot."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from launchbuild.cli import app
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.refresh import cuda_archs, gpus, pipeline, schema, upstream
from launchbuild.refresh.http import FixtureFetcher, fixture_name

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "refresh" / "upstream"


def _opts(tmp_path, **kw):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return pipeline.Options(data_dir=data, fetcher=FixtureFetcher(FIXTURES), today="2026-12-01", log=lambda _m: None, **kw)


def _table(opts, name):
    return json.loads((opts.data_dir / f"{name}.json").read_text())


def test_gpu_rows_come_from_pci_ids_with_the_chips_capability(tmp_path):
    opts = _opts(tmp_path)
    pipeline.refresh_gpus(opts)
    doc = _table(opts, "gpus")
    rows = {r["name"]: r for r in doc["gpus"]}
    m10 = rows["Tesla M10"]  # GM107GL [Tesla M10]: first-generation Maxwell, 5.0 (the M40/M60 are GM200/GM204, 5.2)
    assert (m10["cc"], m10["datacenter"], m10["chips"], m10["pci_ids"]) == ("5.0", True, ["GM107"], ["10de:13bd"])
    assert rows["GeForce GTX 1650"]["cc"] == "7.5" and set(rows["GeForce GTX 1650"]["chips"]) >= {"TU117", "TU116"}
    assert rows["TITAN Xp"]["cc"] == "6.1" and rows["Quadro P4000"]["cc"] == "6.1"
    assert rows["A800 80GB PCIe"]["cc"] == "8.0" and rows["B100"]["cc"] == "10.0" and rows["B300 SXM6 AC"]["cc"] == "10.3"
    assert rows["RTX PRO 6000 Blackwell Server Edition"]["datacenter"] is True
    assert rows["RTX PRO 6000 Blackwell Workstation Edition"]["datacenter"] is False
    assert rows["Jetson AGX Thor"]["forward_compat"] is True and rows["Jetson AGX Thor"]["cc"] == "11.0"
    assert "GeForce GT 1030" not in rows  # pci.ids names a GK107 and a GP108 part so: ambiguous, not guessed
    assert all(r["checked"] == "2026-12-01" and "pciutils/pciids/blob/c1c12547" in r["source"] for r in doc["gpus"])
    assert not any(r.get("manual") for r in doc["gpus"])
    assert schema.check_table("gpus", doc) == []


def test_models_pci_ids_lacks_are_kept_manual_with_their_citation(tmp_path):
    opts = _opts(tmp_path)
    old = {"table": "gpus", "gpus": [
        {"name": "Jetson Orin", "cc": "8.7", "datacenter": None, "forward_compat": True, "aliases": ["Orin"],
         "source": "developer.nvidia.com/cuda-gpus", "checked": "2026-08-21"},
        {"name": "V100", "cc": "7.0", "datacenter": True, "aliases": ["Tesla V100"], "source": "x", "checked": "2026-08-21"}]}
    pipeline.save(opts.data_dir, "gpus", old)
    pipeline.refresh_gpus(opts)
    rows = {r["name"]: r for r in _table(opts, "gpus")["gpus"]}
    assert rows["Jetson Orin"]["manual"] is True and rows["Jetson Orin"]["source"] == "developer.nvidia.com/cuda-gpus"
    assert "V100" not in rows  # pci.ids lists the Tesla V100 variants: the old row is not carried


def test_cuda_arch_rows_evaluate_cmakes_list_per_toolkit(tmp_path):
    opts = _opts(tmp_path)
    pipeline.refresh_cuda_archs(opts)
    doc = _table(opts, "cuda_archs")
    rows = {r["from"]: r["sm"] for r in doc["rows"]}
    assert 30 in rows["10.0"] and 30 not in rows["11.0"] and 80 in rows["11.0"]
    assert 35 not in rows["12.0"] and 50 in rows["12.9"] and 103 in rows["12.9"]
    assert rows["12.8"] == [50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 101, 120]
    assert min(rows["13.0"]) == 75 and 110 in rows["13.0"] and 101 not in rows["13.0"]  # sm_101 renamed sm_110
    assert schema.check_table("cuda_archs", doc) == []
    assert all("Kitware/CMake/blob/03676b05" in r["source"] for r in doc["rows"])


CMAKE_SNIPPET = """
set(CMAKE_CUDA_ARCHITECTURES_ALL 50 52)
if(${lang_var_}TOOLKIT_VERSION VERSION_GREATER_EQUAL 11.0)
  if(CMAKE_${lang}_COMPILER_ID STREQUAL "NVIDIA"
      OR (CMAKE_${lang}_COMPILER_ID STREQUAL "Clang" AND CMAKE_${lang}_COMPILER_VERSION VERSION_GREATER_EQUAL 11.0))
    list(APPEND CMAKE_CUDA_ARCHITECTURES_ALL 80)
  endif()
  if(CMAKE_${lang}_COMPILER_ID STREQUAL "Clang")
    list(APPEND CMAKE_CUDA_ARCHITECTURES_ALL 99)
  endif()
endif()
if(${lang_var_}TOOLKIT_VERSION VERSION_GREATER_EQUAL 12.0 AND ${lang_var_}TOOLKIT_VERSION VERSION_LESS 12.5)
  list(REMOVE_ITEM CMAKE_CUDA_ARCHITECTURES_ALL 50)
else()
  list(APPEND CMAKE_CUDA_ARCHITECTURES_ALL 90)
endif()
"""


def test_cmake_conditions_are_evaluated_for_nvcc_with_else_branches():
    rows = {r["from"]: r["sm"] for r in cuda_archs.arch_rows(CMAKE_SNIPPET, "c", "2026-12-01")}
    assert rows == {"11.0": [50, 52, 80, 90], "12.0": [52, 80], "12.5": [50, 52, 80, 90]}


def test_a_cmake_file_it_does_not_understand_is_bad_input(tmp_path):
    src = tmp_path / "src" / "Kitware+CMake" / "Modules" / "Internal"
    src.mkdir(parents=True)
    (src / "CMakeCUDAArchitecturesAll.cmake").write_text(
        "set(CMAKE_CUDA_ARCHITECTURES_ALL 50)\nif(${x}TOOLKIT_VERSION VERSION_GREATER_EQUAL 12.0 AND FOO)\nendif()\n")
    with pytest.raises(BadInput, match="condition not understood"):
        pipeline.refresh_cuda_archs(_opts(tmp_path, source_dir=tmp_path / "src"))


def test_source_dir_reads_a_checkout_or_a_bare_git_dir_and_cites_the_commit(tmp_path):
    work = tmp_path / "src" / "pciutils+pciids"
    work.mkdir(parents=True)
    shutil.copy(FIXTURES / fixture_name(upstream.PCIIDS.url), work / "pci.ids")
    got = upstream.read(upstream.PCIIDS, None, tmp_path / "src")
    assert got.via == "checkout" and "10de" in got.text
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(work)]
    subprocess.run([*git[:5], "init", "-q", str(work)], check=True)
    subprocess.run([*git, "add", "pci.ids"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    bare = tmp_path / "mirror" / "pciutils+pciids" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    got = upstream.read(upstream.PCIIDS, None, tmp_path / "mirror")
    assert got.via == "git" and got.commit == head and head in got.citation


def test_missing_snapshot_is_bad_input_and_missing_fixture_is_infrastructure(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="pciutils\\+pciids"):
        upstream.read(upstream.PCIIDS, None, tmp_path / "empty")
    with pytest.raises(InfraUnavailable, match="--source-dir"):
        upstream.read(upstream.PCIIDS, FixtureFetcher(tmp_path / "empty"), None)


def test_cli_source_dir_not_a_directory_is_one_line_exit_2(tmp_path):
    r = CliRunner().invoke(app, ["data", "refresh", "--only", "gpus", "--source-dir", str(tmp_path / "nope"),
                                 "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "--source-dir" in r.output and "Traceback" not in r.output


def test_cli_refreshes_gpus_from_fixtures(tmp_path):
    r = CliRunner().invoke(app, ["data", "refresh", "--only", "gpus", "--only", "cuda-archs", "--fixtures", str(FIXTURES),
                                 "--data-dir", str(tmp_path), "--today", "2026-12-01"])
    assert "gpus:" in r.output and "cuda_archs: 11 rows" in r.output
    assert json.loads((tmp_path / "gpus.json").read_text())["retrieved"] == "2026-12-01"


@given(st.text(max_size=400))
def test_pci_ids_parser_never_crashes(text):
    rows, notes = gpus.gpu_rows(text, "c", "2026-12-01")
    assert all(r["cc"] in gpus.CHIP_CC.values() for r in rows) and isinstance(notes, list)


@given(st.lists(st.sampled_from(["10de  NVIDIA", "\t13bd  GM107GL [Tesla M10]", "\t1f82  TU117 [GeForce GTX 1650 / Max-Q]",
                                 "\t20bd  GA100 [A2 / A16]", "\tzzzz  junk", "# c", "8086  Intel", "\t\t10de 1234  sub"]), max_size=12))
def test_pci_ids_rows_only_ever_come_from_nvidia_lines(lines):
    rows, _ = gpus.gpu_rows("\n".join(lines), "c", "2026-12-01")
    assert all(pid.startswith("10de:") for r in rows for pid in r["pci_ids"])


@given(st.text(max_size=300))
def test_cmake_reader_raises_only_value_error(text):
    try:
        cuda_archs.arch_rows(text, "c", "2026-12-01")
    except ValueError:
        pass


from launchbuild.refresh import torch_builds  # noqa: E402

BUILD_SCRIPT = """
TORCH_CUDA_ARCH_LIST="5.0;6.0"
case ${CUDA_VERSION} in
    12.4)
        if [[ "$GPU_ARCH_TYPE" = "cuda-aarch64" ]]; then
            TORCH_CUDA_ARCH_LIST="9.0"
        else
            TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST};9.0+PTX"
        fi
        ;;
    11.[67]|11.8)
        TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST};3.7"
        ;;
    *)
        exit 1
        ;;
esac
"""


def test_torch_build_script_is_evaluated_per_cuda_and_machine():
    assert torch_builds.arch_list(BUILD_SCRIPT, "12.4") == "5.0;6.0;9.0+PTX"
    assert torch_builds.arch_list(BUILD_SCRIPT, "12.4", "aarch64") == "9.0"
    assert torch_builds.arch_list(BUILD_SCRIPT, "11.7") == torch_builds.arch_list(BUILD_SCRIPT, "11.8") == "5.0;6.0;3.7"
    assert torch_builds.arch_list(BUILD_SCRIPT, "12.1") is None  # only the catch-all: not built
    rows = torch_builds.build_rows(BUILD_SCRIPT, "2.5", ["cu118", "cu121", "cu124"], "c", "2026-12-01")
    assert [(r["variant"], r["archs"], r.get("ptx")) for r in rows] == [
        ("cu118", ["3.7", "5.0", "6.0"], None), ("cu124", ["5.0", "6.0", "9.0"], "9.0")]


def test_an_assignment_under_an_unknown_condition_is_refused():
    script = BUILD_SCRIPT.replace('"$GPU_ARCH_TYPE" = "cuda-aarch64"', '"$FOO" = "bar"')
    with pytest.raises(ValueError, match="cannot decide"):
        torch_builds.arch_list(script, "12.4")


def test_torch_builds_come_from_the_builder_release_branches(tmp_path):
    opts = _opts(tmp_path)
    pipeline.save(opts.data_dir, "torch", {"table": "torch", "releases": [
        {"torch": "1.12", "variants": ["cu102", "cu113", "cu116"]}, {"torch": "2.5", "variants": ["cu118", "cu121", "cu124"]},
        {"torch": "2.9", "variants": ["cu126"]}],
        "builds": [{"torch": "2.5", "variant": "cu124", "archs": ["9.0"], "ptx": "9.0", "source": "old", "checked": "2026-08-21"},
                   {"torch": "2.9", "variant": "cu126", "archs": ["5.0"], "source": "kept", "checked": "2026-08-21", "manual": True}]})
    pipeline.refresh_torch_builds(opts)
    builds = {(b["torch"], b["variant"]): b for b in _table(opts, "torch")["builds"]}
    assert builds[("1.12", "cu116")]["archs"] == ["3.7", "5.0", "6.0", "7.0", "7.5", "8.0", "8.6"]
    assert builds[("1.12", "cu102")]["archs"] == ["3.7", "5.0", "6.0", "7.0"]
    cu124 = builds[("2.5", "cu124")]  # the release branch lists no +PTX: the 2.5 wheels have none
    assert "ptx" not in cu124 and "9.0" in cu124["archs"] and "pytorch/builder/blob/aec5fb5d" in cu124["source"]
    assert builds[("2.9", "cu126")]["source"] == "kept"


@given(st.text(max_size=300), st.sampled_from(["11.8", "12.4", "10.2"]))
def test_build_script_reader_raises_only_value_error(text, cuda):
    try:
        torch_builds.arch_list(text, cuda)
    except ValueError:
        pass


def test_check_refuses_a_hand_typed_row_in_a_produced_table(tmp_path):
    import launchbuild.data

    shipped = Path(launchbuild.data.__file__).resolve().parent
    for f in shipped.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    doc = json.loads((tmp_path / "cuda_archs.json").read_text())
    doc["rows"][0]["manual"] = True
    (tmp_path / "cuda_archs.json").write_text(json.dumps(doc))
    problems = pipeline.check(tmp_path)
    assert problems == ["cuda_archs.json rows/0: a manual row in a table the refresh produces; run `launchbuild data refresh --only cuda-archs`"]


# Cross-check of the produced tables against shared/reference/data-audit-2026-12.md, which read
# developer.nvidia.com/cuda-gpus and NVIDIA's nvcc reference: models it found missing or wrong.
AUDIT_GPUS = [("RTX 5070 Ti", (12, 0)), ("RTX 5060 Ti", (12, 0)), ("RTX 5050", (12, 0)), ("RTX 4070 Ti", (8, 9)),
              ("RTX 4060 Ti", (8, 9)), ("RTX 4050", (8, 9)), ("RTX 5000 Ada", (8, 9)), ("RTX 4500 Ada", (8, 9)),
              ("RTX 2000 Ada", (8, 9)), ("RTX A5000", (8, 6)), ("RTX A3000", (8, 6)), ("RTX A2000", (8, 6)),
              ("Quadro GV100", (7, 0)), ("TITAN Xp", (6, 1)), ("H800", (9, 0)), ("A800", (8, 0)), ("GB10", (12, 1)),
              ("B300", (10, 3)), ("GB300", (10, 3)), ("GB200", (10, 0)), ("Tesla M10", (5, 0))]


@pytest.mark.parametrize("name,cc", AUDIT_GPUS)
def test_the_audits_missing_models_are_table_facts_now(name, cc):
    from launchbuild.compat import gpus as lookup

    row = lookup.lookup(name)
    assert row is not None and row.cc == cc and not row.inferred_from, name


def test_the_audits_table_facts_hold():
    from launchbuild.compat import data as compat_data
    from launchbuild.compat import gpus as lookup

    rows = {str(v[0]): v[1] for v in ((".".join(map(str, r[0])), r[1]) for r in compat_data.cuda_arch_rows())}
    assert 88 in rows["13.0"]  # the audit: the hand-kept 13.0 row lacked sm_88
    for server in ("RTX PRO 6000 Blackwell Server Edition", "RTX PRO 4500 Blackwell Server Edition"):
        assert lookup.lookup(server).datacenter is True  # NVIDIA's Data Center column
    assert lookup.lookup("RTX PRO 6000 Blackwell Workstation Edition").datacenter is False
    assert compat_data.tf_arch_build("2.18").archs[0] == (6, 0)  # no sm_50 from 2.18 (measured: from 2.17)
    assert compat_data.jax_facts()["min_cc_by_cuda"]["13"] == "7.5"
    assert compat_data.jax_local_cudnn("jax-cuda12-plugin", "0.10.2") == "9.8"


def test_a_full_refresh_keeps_tables_of_an_unreachable_upstream_but_only_fails_when_asked(tmp_path, monkeypatch):
    opts = pipeline.Options(data_dir=tmp_path, fetcher=FixtureFetcher(tmp_path / "none"), today="2026-12-01",
                            log=lambda _m: None)
    pipeline.save(tmp_path, "torch", {"table": "torch", "releases": [{"torch": "2.5", "variants": ["cu124"]}], "builds": []})
    monkeypatch.setattr(pipeline, "SOURCES", {k: pipeline.SOURCES[k] for k in pipeline.UPSTREAM_SOURCES})
    summary = pipeline.refresh(opts)
    assert [line.split(":")[0] for line in summary] == list(pipeline.UPSTREAM_SOURCES)
    assert all("skipped, tables kept" in line and "--source-dir" in line for line in summary)
    opts.only = ("gpus",)
    with pytest.raises(InfraUnavailable, match="--source-dir"):
        pipeline.refresh(opts)
