"""Internal consistency of the sourced tables in data/."""

from __future__ import annotations

import pytest

from launchbuild.compat import cuda, data, gpus


@pytest.mark.parametrize("table", data.TABLES)
def test_every_table_is_sourced(table):
    doc = data.load(table)
    assert doc["source"] and doc["retrieved"] and doc["refresh"]


def _rows_with_sources(table, key):
    return data.load(table)[key]


@pytest.mark.parametrize(
    "table,key",
    [("torch", "builds"), ("torch", "releases"), ("tensorflow", "releases"), ("tensorflow", "arch_lists"),
     ("distro_pythons", "distros"), ("packages", "packages"), ("packages", "needs_nvcc"), ("packages", "needs_compiler")],
)
def test_every_row_names_its_source(table, key):
    for row in _rows_with_sources(table, key):
        assert row.get("source"), row


def test_toolkit_driver_minimums_never_decrease():
    rows = data.toolkit_drivers()
    assert [r.cuda for r in rows] == sorted(r.cuda for r in rows)
    for a, b in zip(rows, rows[1:]):
        assert data.version_cmp_key(a.driver) <= data.version_cmp_key(b.driver), (a, b)


def test_minor_compat_minimum_is_at_most_every_toolkit_driver_of_its_major():
    for r in data.toolkit_drivers():
        minimum = cuda.minor_compat_minimum(r.cuda[0])
        if minimum is None:
            assert r.cuda[0] < 11  # no minor-version compatibility before CUDA 11
            continue
        if r.cuda[:2] == (11, 0):
            # Documented exception: 11.0 shipped with 450.51.x; minor compat starts at 450.80.02.
            continue
        assert data.version_cmp_key(minimum[0]) <= data.version_cmp_key(r.driver), r


@pytest.mark.parametrize(
    "driver,expected",
    [("410.48", (10, 0)), ("440.33.01", (10, 2)), ("450.80.02", (11, 0)), ("470.86", (11, 4)),
     ("515.65.01", (11, 7)), ("525.125.06", (12, 0)), ("535.104.05", (12, 2)), ("550.54.15", (12, 4)),
     ("560.35.03", (12, 6)), ("570.124.06", (12, 8)), ("575.57.08", (12, 9)), ("580.65.06", (13, 0)),
     ("595.71.05", (13, 2)), ("390.30", None)],
)
def test_driver_cuda_version(driver, expected):
    assert cuda.driver_cuda(data.parse_version(driver)) == expected


def test_arch_rows_are_ordered_and_only_change_as_documented():
    rows = data.cuda_arch_rows()
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    by_start = {r[0][:2]: r[1] for r in rows}
    assert 90 in by_start[(11, 8)] and 90 not in by_start[(11, 4)]
    assert 37 not in by_start[(12, 0)] and 37 in by_start[(11, 8)]
    assert 70 not in by_start[(13, 0)] and 110 in by_start[(13, 0)] and 101 not in by_start[(13, 0)]


def test_every_gpu_cc_is_targeted_by_some_toolkit():
    for row in data.gpu_rows():
        assert cuda.first_toolkit_for(row.cc) is not None, row


def test_gpu_spellings_are_unambiguous():
    seen: dict[str, str] = {}
    for row in data.gpu_rows():
        for spelling in (row.name, *row.aliases):
            key = gpus.normalize(spelling)
            assert seen.setdefault(key, row.name) == row.name, (spelling, seen[key], row.name)


def _variant_toolkit(variant: str) -> data.Version:
    return cuda.variant_cuda(variant)


def test_torch_arch_lists_only_hold_arches_the_variant_toolkit_can_target():
    for (minor, variant), build in data.torch_builds().items():
        targets = cuda.offline_targets(_variant_toolkit(variant))
        for a, b in build.archs + ((build.ptx,) if build.ptx else ()):
            assert a * 10 + b in targets, (minor, variant, (a, b))


def test_torch_arch_lists_are_sorted_and_ptx_is_the_newest_arch():
    for key, build in data.torch_builds().items():
        assert list(build.archs) == sorted(build.archs), key
        if build.ptx:
            assert build.ptx == build.archs[-1], key


def test_torch_releases_are_consistent():
    releases = data.torch_releases()
    builds = data.torch_builds()
    for minor, r in releases.items():
        assert r.pypi_default in r.variants, minor
        lo, hi = (data.parse_version(v) for v in r.python)
        assert lo <= hi
    for (minor, variant) in builds:
        assert minor in releases
        row = next(b for b in data.load("torch")["builds"] if (b["torch"], b["variant"]) == (minor, variant))
        assert variant in releases[minor].variants or "nightly" in row.get("note", ""), (minor, variant)


def test_torch_pypi_default_crosses_to_cuda_13_at_2_11():
    assert data.torch_releases()["2.10"].pypi_default == "cu128"
    assert data.torch_releases()["2.11"].pypi_default == "cu130"
    assert data.torch_releases()["2.1"].pypi_default == "cu121"


def test_tensorflow_rows():
    for minor, r in data.tf_releases().items():
        assert cuda.toolkit_driver(data.parse_version(r.cuda)) is not None, minor
        assert data.parse_version(r.python[0]) <= data.parse_version(r.python[1])
    # measured in each release's build_info.py (wheel_archs.json): 2.16.2 still has sm_50, 2.17.1 starts at sm_60
    assert data.tf_arch_build("2.16").describe() == "sm_50 sm_60 sm_70 sm_80 compute_90"
    assert data.tf_arch_build("2.17").describe() == "sm_60 sm_70 sm_80 sm_89 compute_90"
    assert data.tf_arch_build("2.18").describe() == "sm_60 sm_70 sm_80 sm_89 compute_90"
    assert data.tf_releases()["2.18"].cudnn == "9.3" and data.tf_releases()["2.12"].cuda == "11.8"


@pytest.mark.parametrize(
    "distro,expected",
    [(("debian", "11"), ("3.9",)), (("debian", "12"), ("3.11",)), (("debian", "13"), ("3.13",)),
     (("ubuntu", "20.04"), ("3.8", "3.9")), (("ubuntu", "22.04"), ("3.10", "3.11")), (("ubuntu", "24.04"), ("3.12",)),
     (("debian", "12.5"), ("3.11",)), (("alpine", "3.19"), None), ((None, None), None)],
)
def test_apt_pythons(distro, expected):
    assert data.apt_pythons(*distro) == expected


def test_package_tables_have_apt_names():
    for row in data.system_library_needs().values():
        assert row.apt and all(" " not in a for a in row.apt)
    assert data.system_library_needs()["opencv-python"].apt == ("libgl1", "libglib2.0-0")
    assert "flash-attn" in data.nvcc_needs()


@pytest.mark.parametrize(
    "build,cc,expected",
    [
        (data.ArchBuild(((8, 0), (8, 6)), None), (8, 9), "cubin"),
        (data.ArchBuild(((8, 0),), None), (9, 0), None),
        (data.ArchBuild(((8, 0),), (8, 0)), (9, 0), "ptx"),
        (data.ArchBuild(((9, 0),), None), (8, 6), None),
        (data.ArchBuild(((10, 0),), None), (10, 3), "cubin"),
        (data.ArchBuild(((12, 0),), (12, 0)), (12, 1), "cubin"),
        (data.ArchBuild((), (9, 0)), (8, 9), None),
        # architecture-specific code (sm_100a, compute_100a) runs on exactly its CC
        (data.ArchBuild(((9, 0),), None, ((10, 0),)), (10, 0), "cubin"),
        (data.ArchBuild(((9, 0),), None, ((10, 0),)), (10, 3), None),
        (data.ArchBuild((), None, ((12, 0),)), (12, 1), None),
        (data.ArchBuild((), None, (), ((10, 0),)), (10, 0), "ptx"),
        (data.ArchBuild((), None, (), ((9, 0),)), (10, 0), None),
    ],
)
def test_binary_compatibility_rules(build, cc, expected):
    assert cuda.runs_on(build, cc) == expected


@pytest.mark.parametrize(
    "toolkit,cc,expected",
    [((11, 7), (9, 0), None), ((11, 8), (9, 0), "native"), ((12, 4), (3, 7), None), ((11, 8), (3, 7), "native"),
     ((12, 4), (12, 0), None), ((12, 8), (12, 0), "native"), ((12, 8), (10, 3), "same-major"), ((12, 9), (10, 3), "native"),
     ((13, 0), (7, 0), None), ((11, 4), (8, 9), "same-major")],
)
def test_toolkit_covers(toolkit, cc, expected):
    assert cuda.toolkit_covers(toolkit, cc) == expected
