"""The wheel-libs source: which shared libraries a manylinux wheel ships, from its zip central
directory, on synthetic wheels stored as fixtures the way --record stores responses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.refresh import pipeline, pypi, schema, wheel_libs, wheelzip
from launchbuild.refresh.http import FixtureFetcher, fixture_name
from tests.helpers_refresh import elf_with_sections, wheel_bytes

SO = elf_with_sections({".text": b"\0" * 16})


def test_library_names_from_auditwheel_and_vendored_members():
    assert wheel_libs.library_of("libsndfile_x86_64.so") == "libsndfile"  # soundfile's _soundfile_data/
    assert wheel_libs.library_of("libsndfile_arm64.so") == "libsndfile"
    assert wheel_libs.library_of("libavcodec-9aae2a0d.so.59.37.100") == "libavcodec"  # auditwheel's rename
    assert wheel_libs.library_of("libopenblas-r0-f650aae0.3.3.so") == "libopenblasr0"
    assert wheel_libs.library_of("libglib-2.0-3a1b2c3d.so.0") == "libglib20"
    assert wheel_libs.library_of("cv2.abi3.so") is None  # extension modules are not libraries
    assert wheel_libs.library_of("libfoo.cpython-312-x86_64-linux-gnu.so") is None


def test_apt_names_map_to_their_library_by_the_debian_naming_rule():
    got = {a: wheel_libs.apt_library(a) for a in ("libsndfile1", "libgl1", "libglib2.0-0", "libvips42", "libcairo2-dev",
                                                   "libopenmpi-dev", "ffmpeg", "pkg-config", "portaudio19-dev", "tesseract-ocr")}
    assert got == {"libsndfile1": "libsndfile", "libgl1": "libgl", "libglib2.0-0": "libglib20", "libvips42": "libvips",
                   "libcairo2-dev": "libcairo", "libopenmpi-dev": "libopenmpi", "ffmpeg": None, "pkg-config": None,
                   "portaudio19-dev": None, "tesseract-ocr": None}


def test_manylinux_floor_per_machine_legacy_tags_included():
    assert wheel_libs.manylinux_floor("a-1.0-py3-none-manylinux_2_28_x86_64.whl") == {"x86_64": "2.28"}
    assert wheel_libs.manylinux_floor("a-1.0-cp312-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.whl") == {"aarch64": "2.17"}
    assert wheel_libs.manylinux_floor("a-1.0-py3-none-any.whl") == {}
    assert wheel_libs.manylinux_floor("a-1.0-py3-none-musllinux_1_2_x86_64.whl") == {}
    assert wheel_libs.manylinux_floor("not a wheel name") == {}


NAME = st.from_regex(r"lib[a-z]{2,8}(?:[0-9]{1,2}[a-z]{1,3})?", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(name=NAME, digest=st.from_regex(r"[0-9a-f]{8}", fullmatch=True), so=st.integers(0, 99),
       machine=st.sampled_from(["", "_x86_64", "_arm64", "-aarch64"]))
def test_a_bundled_member_is_the_library_of_its_apt_package(name, digest, so, machine):
    """Debian names the package of libNAME.so.SO 'libNAMESO' (a hyphen between when NAME ends in
    a digit); a wheel ships it as auditwheel or its project renames it: both give one key."""
    apt = f"{name}-{so}" if name[-1].isdigit() else f"{name}{so}"
    key = wheel_libs.apt_library(apt)
    assert key == wheel_libs.library_key(name)
    assert wheel_libs.library_of(f"{name}-{digest}.so.{so}") == key
    assert wheel_libs.library_of(f"{name}{machine}.so") == key


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_name_parsers_never_crash(text):
    for got in (wheel_libs.library_of(text), wheel_libs.apt_library(text)):
        assert got is None or (got.startswith("lib") and wheel_libs.library_key(got) == got)
    assert isinstance(wheel_libs.manylinux_floor(text), dict)


def test_targets_keep_every_patch_of_the_newest_series_and_only_manylinux_wheels():
    files = [{"filename": f"demo-{v}-py3-none-{plat}.whl", "url": f"https://files.example/demo-{v}-{plat}.whl",
              "hashes": {"sha256": hashlib.sha256(f"{v}{plat}".encode()).hexdigest()}}
             for v in ("1.0.0", "1.1.0", "1.1.1", "2.0.0", "2.1.0rc1") for plat in ("manylinux_2_28_x86_64", "any", "win_amd64")]
    wheels = pypi.parse_simple_page(json.dumps({"files": files}).encode())
    got = wheel_libs.targets(wheels, "demo", minors=2, max_versions=12)
    assert [(t.version, t.machine) for t in got] == [("1.1.0", "x86_64"), ("1.1.1", "x86_64"), ("2.0.0", "x86_64")]
    assert [t.version for t in wheel_libs.targets(wheels, "demo", minors=2, max_versions=1)] == ["2.0.0"]


def _fixtures(root: Path, wheels: dict[str, bytes]) -> None:
    root.mkdir(exist_ok=True)
    files = []
    for filename, blob in wheels.items():
        url = f"https://files.example/{filename}"
        files.append({"filename": filename, "url": url, "hashes": {"sha256": hashlib.sha256(blob).hexdigest()}})
        (root / fixture_name(url)).write_bytes(blob)
    (root / fixture_name(pypi.SIMPLE.format(name="demo-audio"))).write_text(json.dumps({"files": files}))


def _packages(data: Path) -> None:
    data.mkdir(exist_ok=True)
    row = {"apt": ["libsndfile1", "ffmpeg"], "why": "loads libsndfile", "source": "demo README", "checked": "2026-08-21", "manual": True}
    doc = {"table": "packages", "description": "d", "source": "s", "retrieved": "2026-08-21", "refresh": "manual",
           "packages": [{"name": "demo-audio", **row}, {"name": "demo-binary", **row, "apt": ["ffmpeg"]}],
           "needs_nvcc": [], "needs_compiler": []}
    (data / "packages.json").write_text(json.dumps(doc))


def test_refresh_records_each_wheels_shared_objects_once_per_sha256(tmp_path):
    fx = tmp_path / "fx"
    _fixtures(fx, {
        "demo_audio-1.0-py3-none-manylinux_2_28_x86_64.whl": wheel_bytes({"_demo_data/libsndfile_x86_64.so": SO, "demo/__init__.py": b""}),
        "demo_audio-1.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl": wheel_bytes(
            {"demo_audio.libs/libogg-0123abcd.so.0.8.5": SO, "demo/_ext.cpython-312-aarch64-linux-gnu.so": SO}),
        "demo_audio-1.0-py3-none-any.whl": wheel_bytes({"demo/__init__.py": b""}),  # not manylinux: not a target
    })
    _packages(tmp_path / "data")
    logs: list[str] = []
    opts = pipeline.Options(data_dir=tmp_path / "data", fetcher=FixtureFetcher(fx), today="2026-12-01", log=logs.append)
    pipeline.refresh_wheel_libs(opts)
    doc = json.loads((opts.data_dir / "wheel_libs.json").read_text())
    assert schema.check_table("wheel_libs", doc) == []
    rows = {r["machine"]: r for r in doc["wheels"]}
    assert set(rows) == {"x86_64", "aarch64"} and {r["package"] for r in doc["wheels"]} == {"demo-audio"}  # demo-binary needs no library
    assert rows["x86_64"]["shared_objects"] == ["libsndfile_x86_64.so"] and rows["x86_64"]["libraries"] == ["libsndfile"]
    assert rows["x86_64"]["glibc"] == "2.28" and rows["aarch64"]["glibc"] == "2.17"
    assert rows["aarch64"]["libraries"] == ["libogg"]  # the extension module is listed, not a library
    assert "_ext.cpython-312-aarch64-linux-gnu.so" in rows["aarch64"]["shared_objects"]
    assert rows["x86_64"]["sha256"] in rows["x86_64"]["source"] and rows["x86_64"]["checked"] == "2026-12-01"
    assert doc["apt_libraries"] == [{"apt": "libsndfile1", "library": "libsndfile", "checked": "2026-12-01",
                                     "source": f"{wheel_libs.DEBIAN_POLICY} (the package name, data/packages.json)"}]
    assert "2 measured now" in opts.summary[-1]
    for f in fx.iterdir():  # measured once: a second run reads only the index page
        if ".whl." in f.name:
            f.unlink()
    opts.summary.clear()
    pipeline.refresh_wheel_libs(opts)
    assert "0 measured now" in opts.summary[-1]
    assert json.loads((opts.data_dir / "wheel_libs.json").read_text())["wheels"] == doc["wheels"]


def test_a_broken_wheel_is_logged_and_left_unmeasured(tmp_path):
    fx = tmp_path / "fx"
    _fixtures(fx, {"demo_audio-1.0-py3-none-manylinux_2_28_x86_64.whl": b"PK not a zip at all" * 10})
    _packages(tmp_path / "data")
    logs: list[str] = []
    opts = pipeline.Options(data_dir=tmp_path / "data", fetcher=FixtureFetcher(fx), today="2026-12-01", log=logs.append)
    pipeline.refresh_wheel_libs(opts)
    assert json.loads((opts.data_dir / "wheel_libs.json").read_text())["wheels"] == []
    assert any("not measured" in m for m in logs) and "1 not measured" in opts.summary[-1]


def test_the_byte_budget_stops_the_measurement(tmp_path):
    fx = tmp_path / "fx"
    blob = wheel_bytes({"_demo_data/libsndfile_x86_64.so": SO})
    _fixtures(fx, {"demo_audio-1.0-py3-none-manylinux_2_28_x86_64.whl": blob})
    _packages(tmp_path / "data")
    logs: list[str] = []
    opts = pipeline.Options(data_dir=tmp_path / "data", fetcher=FixtureFetcher(fx), today="2026-12-01", log=logs.append,
                            budget_bytes=16)
    pipeline.refresh_wheel_libs(opts)
    assert json.loads((opts.data_dir / "wheel_libs.json").read_text())["wheels"] == []
    assert any("byte budget" in m for m in logs)


def test_shared_objects_come_from_the_central_directory_alone():
    blob = wheel_bytes({"pkg.libs/libz-abcdef12.so.1.2.13": SO, "pkg/x.py": b""})
    budget = wheelzip.Budget(10 * 2**20)
    assert wheel_libs.measure(wheelzip.BytesSource(blob), budget) == ["libz-abcdef12.so.1.2.13"]
    assert budget.used < len(blob) + 1  # the tail (here the whole small file), never a member's data on top
