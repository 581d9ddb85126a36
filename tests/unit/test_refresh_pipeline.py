"""`launchbuild data refresh` against recorded fixtures: PyPI pages and metadata captured from
PyPI (tests/fixtures/refresh/pypi, see capture_pypi.py), NVIDIA's Dockerfiles copied verbatim
(tests/fixtures/refresh/nvidia), and synthetic wheels and Packages indexes made here."""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from launchbuild.cli import app
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.refresh import distros, nvidia_images, pipeline, pypi, schema
from launchbuild.refresh.http import FixtureFetcher, fixture_name
from tests.helpers_refresh import cuda_so, elf_with_sections, wheel_bytes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "refresh"
REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def _opts(tmp_path, fetcher, **kw):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return pipeline.Options(data_dir=data, fetcher=fetcher, today="2026-12-01", log=lambda _m: None, **kw)


def _rows(opts, table, key="wheels"):
    return json.loads((opts.data_dir / f"{table}.json").read_text())[key]


def test_pypi_rows_come_from_the_recorded_metadata(tmp_path):
    opts = _opts(tmp_path, FixtureFetcher(FIXTURES / "pypi"), packages=("torch", "tensorflow", "jax-cuda13-plugin"))
    pipeline.refresh_pypi(opts)
    rows = {(r["package"], r["version"], r["machine"]): r for r in _rows(opts, "pypi_wheels")}
    torch = rows[("torch", "2.6.0", "x86_64")]
    assert torch["cuda"] == "12.4"  # nvidia-cuda-runtime-cu12==12.4.127 in its Requires-Dist
    assert torch["pythons"] == ["3.9", "3.10", "3.11", "3.12", "3.13"]
    assert torch["requires_python"] == ">=3.9.0" and torch["checked"] == "2026-12-01"
    assert torch["source"].endswith(".whl.metadata") and len(torch["sha256"]) == 64
    tf = rows[("tensorflow", "2.20.0", "x86_64")]
    assert tf["cuda"] is None and tf["extras_cuda"]["and-cuda"] == "12.5"  # only with [and-cuda]
    jax = rows[("jax-cuda13-plugin", "0.9.2", "x86_64")]
    assert jax["extras_cuda"]["with-cuda"].startswith("13")
    assert schema.check_table("pypi_wheels", json.loads((opts.data_dir / "pypi_wheels.json").read_text())) == []


def test_markers_are_evaluated_per_machine():
    meta = (
        "Metadata-Version: 2.1\nName: torch\nVersion: 2.9.1\n"
        'Requires-Dist: nvidia-cuda-runtime-cu12==12.8.90; platform_system == "Linux" and platform_machine == "x86_64"\n'
        "Requires-Dist: filelock\n\nbody text Requires-Dist: nvidia-cublas-cu11\n"
    )
    assert pypi.cuda_pins(meta, "x86_64", "3.12")["cuda"] == "12.8"
    assert pypi.cuda_pins(meta, "aarch64", "3.12") == {"cuda": None, "pins": []}  # CPU-only on aarch64


def test_cuda_13_unsuffixed_pins_and_toolkit_pins_are_read():
    meta = "Name: x\nRequires-Dist: cuda-toolkit[cublas,cudart]==13.2.2\nRequires-Dist: nvidia-cudnn-cu13==9.26.0.51\n"
    assert pypi.cuda_pins(meta, "x86_64", "3.12")["cuda"] == "13.2"
    assert pypi.cuda_pins("Name: y\nRequires-Dist: nvidia-cudnn-cu12>=9\n", "x86_64", "3.12")["cuda"] == "12"


def test_newest_patch_per_minor_and_micro_for_0_0_packages():
    page = {"files": [{"filename": f"xformers-0.0.{n}-cp39-abi3-manylinux_2_28_x86_64.whl", "url": f"https://h/x{n}.whl",
                       "hashes": {"sha256": "0" * 64}} for n in (27, 28, 29)]
            + [{"filename": f"t-2.{m}.{p}-cp312-cp312-manylinux_2_28_x86_64.whl", "url": f"https://h/t{m}{p}.whl",
                "hashes": {"sha256": "1" * 64}} for m in (5, 6) for p in (0, 1)]}
    wheels = pypi.parse_simple_page(json.dumps(page).encode())
    versions = [str(v) for v in pypi.newest_per_minor(wheels, 10)]
    assert versions == ["2.6.1", "2.5.1", "0.0.29", "0.0.28", "0.0.27"]
    assert next(w for w in wheels if "0.0.27" in w.filename).abi3


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_simple_page_parser_rejects_garbage_with_value_error(blob):
    try:
        pypi.parse_simple_page(blob)
    except ValueError:
        pass


def _synthetic_package(root: Path, name: str, members: dict[str, bytes], meta: str) -> None:
    """A PEP 691 page, its wheel and its metadata, stored as fixtures the way --record would."""
    blob = wheel_bytes(members, meta)
    url = f"https://files.example/{name.replace('-', '_')}-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"
    page = {"files": [{"filename": url.rsplit("/", 1)[1], "url": url, "hashes": {"sha256": hashlib.sha256(blob).hexdigest()},
                       "requires-python": ">=3.10"}]}
    root.mkdir(exist_ok=True)
    (root / fixture_name(pypi.SIMPLE.format(name=name))).write_text(json.dumps(page))
    (root / fixture_name(url)).write_bytes(blob)
    (root / fixture_name(url + ".metadata")).write_text(meta)


def test_archs_are_measured_from_the_wheel_binary_and_cached_by_sha256(tmp_path):
    fx = tmp_path / "fx"
    _synthetic_package(fx, "demo-cuda", {"demo/lib/libdemo_cuda.so": cuda_so((75, 80, 90), (90,)),
                                         "demo/lib/libcudnn.so.9": cuda_so((50,))},
                       "Name: demo-cuda\nVersion: 1.0\nRequires-Dist: nvidia-cuda-runtime-cu12==12.8.90\n")
    _synthetic_package(fx, "demo-cpu", {"demo/lib/libdemo.so": elf_with_sections({".text": b"\0" * 8})}, "Name: demo-cpu\nVersion: 1.0\n")
    opts = _opts(tmp_path, FixtureFetcher(fx), packages=("demo-cuda", "demo-cpu"))
    pipeline.refresh_pypi(opts)
    pipeline.refresh_archs(opts)
    rows = {r["package"]: r for r in _rows(opts, "wheel_archs")}
    assert rows["demo-cuda"]["cubins"] == [75, 80, 90] and rows["demo-cuda"]["ptx"] == [90]
    assert rows["demo-cuda"]["member"] == "demo/lib/libdemo_cuda.so"  # not NVIDIA's libcudnn
    assert rows["demo-cuda"]["sha256"] in rows["demo-cuda"]["source"]
    assert rows["demo-cpu"]["member"] is None and rows["demo-cpu"]["cuda_named"] == 0
    # Measured once: a second run reads nothing, even with the wheels gone.
    for f in fx.iterdir():
        if f.name.endswith(".whl." + f.name.rsplit(".", 1)[1]) and ".metadata" not in f.name:
            f.unlink()
    opts.summary.clear()
    pipeline.refresh_archs(opts)
    assert "0 measured now" in opts.summary[-1]


def _git_checkout(tmp_path) -> Path:
    repo = tmp_path / "container-images"
    shutil.copytree(FIXTURES / "nvidia", repo)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "fixtures"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env)
    return repo


def test_nvidia_image_rows_reproduce_the_dockerfiles(tmp_path):
    repo = _git_checkout(tmp_path)
    opts = _opts(tmp_path, None, nvidia_dockerfiles=repo, nvidia_origin="fixture mirror")
    pipeline.refresh_nvidia_images(opts)
    rows = {(r["cuda"], r["os"], r["arch"]): r for r in _rows(opts, "nvidia_cuda_images", "images")}
    r = rows[("12.8.1", "ubuntu22.04", "amd64")]
    assert r["forward_compat_branches"] == [470, 535, 550, 560, 565] and r["cudnn"] == "9.8.0.87"
    assert r["ld_library_path"] == "/usr/local/cuda/lib64"
    assert "dist/12.8.1/ubuntu2204/base/Dockerfile" in r["source"] and "fixture mirror" in r["source"]
    assert rows[("11.8.0", "ubuntu22.04", "arm64")]["forward_compat_branches"] == []  # sbsa: cuda>=11.8 only
    assert rows[("11.8.0", "ubuntu22.04", "amd64")]["cudnn"] == "8.9.6.50"  # from runtime/cudnn8
    assert rows[("13.0.0", "ubuntu24.04", "amd64")]["cudnn"] is None  # no cudnn Dockerfile copied
    text = (FIXTURES / "nvidia/dist/12.8.1/ubuntu2204/base/Dockerfile").read_text()
    original = nvidia_images.dockerfile_env(text)["amd64"]["NVIDIA_REQUIRE_CUDA"]
    assert nvidia_images.render_require("12.8", tuple(r["forward_compat_branches"]), tuple(r["brands"])) == original


def test_bare_git_dir_is_read_with_git(tmp_path):
    repo = _git_checkout(tmp_path)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    rows = nvidia_images.image_rows(nvidia_images.Checkout(bare, "bare"), "2026-12-01")
    assert {r["cuda"] for r in rows} == {"11.8.0", "12.8.1", "13.0.0"}


def test_not_a_checkout_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="nvidia-dockerfiles"):
        pipeline.refresh_nvidia_images(_opts(tmp_path, None, nvidia_dockerfiles=tmp_path / "missing"))


PACKAGES = """Package: libc6
Version: 2.36-9+deb12u9

Package: python3
Version: 3.11.2-1+b1

Package: python3.11
Version: 3.11.2-6+deb12u5
"""


def test_distro_rows_come_from_packages_indexes(tmp_path):
    fx = tmp_path / "fx"
    fx.mkdir()
    rel = distros.Release("debian", "12", "bookworm", distros.DEBIAN, ("main",), ("",))
    (fx / fixture_name(distros.index_url(rel, "", "main"))).write_bytes(lzma.compress(PACKAGES.encode()))
    pythons, glibc = distros.release_rows(FixtureFetcher(fx), rel, "2026-12-01")
    assert pythons["default"] == "3.11" and pythons["extra"] == [] and glibc["glibc"] == "2.36"
    jammy = distros.Release("ubuntu", "22.04", "jammy", distros.UBUNTU, ("universe",), ("",))
    text = "Package: python3\nVersion: 3.10.6-1~22.04\n\nPackage: python3.11\nVersion: 3.11.0~rc1-1~22.04\n\nPackage: libc6\nVersion: 2.35-0ubuntu3\n"
    (fx / fixture_name(distros.index_url(jammy, "", "universe"))).write_bytes(lzma.compress(text.encode()))
    p, _ = distros.release_rows(FixtureFetcher(fx), jammy, "2026-12-01")
    assert p["extra"] == [{"python": "3.11", "component": "universe", "package_version": "3.11.0~rc1-1~22.04", "prerelease": True}]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_packages_index_parser_never_crashes(text):
    assert isinstance(distros.parse_packages(text), dict)


def test_the_shipped_tables_pass_the_check():
    assert pipeline.check(REPO_DATA) == []


def _unsourced(value, where: str, in_row: bool = False):
    """Rows (dicts in a list, at any depth: jax_cupy's cupy.packages too) without a source and a
    checked date, and sourced sections (a dict with a source) without a date. A dict inside a
    row (distro_pythons' extra Pythons) is part of that row and shares its citation."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                if not in_row and not (item.get("source") and item.get("checked")):
                    yield f"{where}/{i}"
                yield from _unsourced(item, f"{where}/{i}", True)
    elif isinstance(value, dict):
        if not in_row and value.get("source") and not value.get("checked"):
            yield where
        for key, item in value.items():
            if isinstance(item, (list, dict)):
                yield from _unsourced(item, f"{where}/{key}", in_row)


def test_the_data_dir_holds_exactly_the_checked_tables():
    assert sorted(p.stem for p in REPO_DATA.glob("*.json")) == sorted(pipeline.TABLES)


@pytest.mark.parametrize("table", pipeline.TABLES)
def test_every_shipped_row_has_source_and_checked_date(table):
    doc = json.loads((REPO_DATA / f"{table}.json").read_text())
    assert doc.get("source") and doc.get("retrieved"), table
    body = {k: v for k, v in doc.items() if k not in ("table", "description", "source", "retrieved", "refresh")}
    assert list(_unsourced(body, table)) == []


def test_check_finds_a_nested_row_without_provenance():
    doc = json.loads((REPO_DATA / "jax_cupy.json").read_text())
    del doc["cupy"]["packages"][0]["source"]
    del doc["jax"]["min_cc_measured"][0]["checked"]
    problems = schema.check_table("jax_cupy", doc)
    assert any("cupy/packages/0" in p and "source" in p for p in problems), problems
    assert any("jax/min_cc_measured/0" in p and "checked" in p for p in problems), problems


def test_check_finds_missing_provenance_and_disorder(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(REPO_DATA, data, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    doc = json.loads((data / "cuda_drivers.json").read_text())
    del doc["toolkits"][3]["checked"]
    doc["toolkits"][5], doc["toolkits"][6] = doc["toolkits"][6], doc["toolkits"][5]
    (data / "cuda_drivers.json").write_text(json.dumps(doc))
    problems = pipeline.check(data)
    assert any("toolkits/3" in p and "checked" in p for p in problems), problems
    del doc["toolkits"][3]
    doc["toolkits"][3]["checked"] = "2026-12-01"
    (data / "cuda_drivers.json").write_text(json.dumps(doc))
    assert any("out of order" in p for p in pipeline.check(data))


def test_cli_check_passes_and_bad_flags_are_one_line_exit_2(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["data", "refresh", "--check"])
    assert ok.exit_code == 0 and "data check: ok" in ok.output
    bad = runner.invoke(app, ["data", "refresh", "--only", "nope", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "no such source" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(app, ["data", "refresh", "--fixtures", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "--fixtures" in missing.output
    date = runner.invoke(app, ["data", "refresh", "--today", "yesterday", "--data-dir", str(tmp_path)])
    assert date.exit_code == 2 and "YYYY-MM-DD" in date.output


@pytest.mark.parametrize(("args", "words"), [
    (["--budget-mb", "-1"], "--budget-mb -1: must be 0 or more"),
    (["--check", "--data-dir", "{tmp}/nowhere"], "--data-dir {tmp}/nowhere: does not exist"),
    (["--data-dir", "{tmp}/nowhere"], "does not exist (pass the folder that holds the tables"),
    (["--data-dir", "{tmp}/a-file"], "--data-dir {tmp}/a-file: is not a directory"),
])
def test_cli_bad_refresh_options_are_one_line_exit_2_and_write_nothing(tmp_path, args, words):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "data").mkdir()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--data-dir" not in args:
        args += ["--data-dir", str(tmp_path / "data"), "--fixtures", str(tmp_path)]
    r = CliRunner().invoke(app, ["data", "refresh", *args])
    assert r.exit_code == 2 and words.replace("{tmp}", str(tmp_path)) in r.output, r.output
    assert "Traceback" not in r.output and len([ln for ln in r.output.splitlines() if ln.strip()]) == 1
    assert list((tmp_path / "data").iterdir()) == []


def test_cli_a_recording_the_fixtures_folder_lacks_is_bad_input_exit_2(tmp_path):
    # --fixtures replays recordings and reaches no host: the folder the user gave lacks a file.
    (tmp_path / "fx").mkdir()
    shutil.copytree(REPO_DATA, tmp_path / "data", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for only in ("pypi", "gpus"):  # a recorded index page; an upstream file at its pinned URL
        r = CliRunner().invoke(app, ["data", "refresh", "--only", only, "--package", "torch", "--fixtures",
                                     str(tmp_path / "fx"), "--data-dir", str(tmp_path / "data")])
        assert r.exit_code == 2 and "no recorded response for" in r.output and "--record" in r.output, r.output


def test_fixture_fetcher_names_are_stable_and_distinct():
    a, b = fixture_name("https://pypi.org/simple/a/"), fixture_name("https://pypi.org/simple/b/")
    assert a != b and a == fixture_name("https://pypi.org/simple/a/")
    with pytest.raises(InfraUnavailable):
        FixtureFetcher(Path("/nonexistent")).get("https://x/")


def test_cpython_rows_from_the_devguide_file_and_bad_files_are_bad_input(tmp_path):
    opts = _opts(tmp_path, None, cpython_release_cycle=FIXTURES / "cpython" / "release-cycle.json", cpython_origin="devguide @ test")
    pipeline.refresh_cpython(opts)
    rows = {r["python"]: r for r in _rows(opts, "cpython", "releases")}
    assert rows["3.8"]["end_of_life"] == "2024-10-07" and rows["3.14"]["first_release"] == "2025-10-01"
    assert "2.7" not in rows and all("devguide @ test" in r["source"] for r in rows.values())
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(BadInput, match="--cpython-releases .*expected an object"):
        pipeline.refresh_cpython(_opts(tmp_path, None, cpython_release_cycle=bad))
    bad.write_text("{not json")
    with pytest.raises(BadInput, match="cannot read it as JSON"):
        pipeline.refresh_cpython(_opts(tmp_path, None, cpython_release_cycle=bad))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_dockerfile_env_parser_never_crashes(text):
    try:
        stages = nvidia_images.dockerfile_env(text)
    except ValueError:  # shlex: an unclosed quote in an ENV line
        return
    assert set(stages) == {"common", "amd64", "arm64"}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=400, max_value=700), max_size=6), st.sampled_from(["12.8", "13.0"]))
def test_require_cuda_shape_round_trips(branches, floor):
    brands = ("unknown", "tesla", "nvidia")
    text = nvidia_images.render_require(floor, tuple(sorted(set(branches))), brands)
    shape = nvidia_images.branches_of(text)
    assert shape is not None and nvidia_images.render_require(floor, *shape) == text if branches else shape is not None


def test_a_dockerfile_that_is_not_nvidias_is_bad_input(tmp_path):
    repo = _git_checkout(tmp_path)
    (repo / "dist/12.8.1/ubuntu2204/base/Dockerfile").write_text('FROM x AS base-amd64\nENV NVIDIA_REQUIRE_CUDA="cuda>=12.8\n')
    with pytest.raises(BadInput, match="cannot parse its ENV lines"):
        nvidia_images.image_rows(nvidia_images.Checkout(repo, "t"), "2026-12-01")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60), max_size=8),
       st.sampled_from(["x86_64", "aarch64"]))
def test_metadata_pin_reader_never_crashes(lines, machine):
    meta = "Name: x\n" + "".join(f"Requires-Dist: {line}\n" for line in lines)
    got = pypi.cuda_pins(meta, machine, "3.12")
    assert set(got) <= {"cuda", "pins", "extras_cuda"} and isinstance(got["pins"], list)
