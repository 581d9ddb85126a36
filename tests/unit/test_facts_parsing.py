"""Pure parsing of image facts: probe output fixtures, os-release, glibc, apt policy, config."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.compat.facts.providers.docker import PROBE_SCRIPT, facts_from_inspect, parse_probe_output
from launchbuild.core.imageref import parse_image_ref
from launchbuild.compat.facts.providers.filefacts import (
    FileScan,
    facts_from_config,
    facts_from_files,
    merge_facts,
    parse_apt_policy,
    parse_glibc,
    parse_os_release,
    parse_pythons,
    strip_package_revision,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facts"


def probe(name: str) -> FileScan:
    return parse_probe_output((FIXTURES / name).read_text())


def test_probe_of_cuda_devel_ubuntu_image():
    facts, sources = facts_from_files(probe("probe_ubuntu_cuda_devel.txt"))
    assert facts == {
        "os_id": "ubuntu",
        "os_id_like": ("debian",),
        "os_version": "22.04",
        "os_codename": "jammy",
        "debian_version": "bookworm/sid",
        "has_apt": True,
        "glibc": "2.35",
        "pythons": ("3.10",),
        "system_pythons": ("3.10",),
        "has_nvcc": True,
        "cuda_version": "12.1.1",
        "cuda_toolkit_version": "12.1.1",
        "apt_pythons": ("3.10", "3.11"),
    }
    assert sources["cuda_version"] == "probe container /usr/local/cuda/version.json"
    assert sources["has_nvcc"] == "probe container /usr/local/cuda/bin/nvcc"


def test_probe_of_busybox_says_no_apt_and_nothing_else():
    scan = probe("probe_busybox.txt")
    assert scan.complete and scan.apt_policy is None
    facts, _ = facts_from_files(scan)
    assert facts == {"has_apt": False, "pythons": (), "has_nvcc": False}


def test_slim_image_without_apt_lists_leaves_apt_pythons_to_the_table():
    facts, _ = facts_from_files(probe("probe_python_slim.txt"))
    assert "apt_pythons" not in facts
    assert facts["pythons"] == ("3.11",)
    assert facts["has_nvcc"] is False


def test_probe_cut_short_does_not_claim_absence():
    scan = probe("probe_cut_short.txt")
    assert not scan.complete
    facts, _ = facts_from_files(scan)
    assert facts["os_id"] == "debian"
    assert "has_nvcc" not in facts  # unknown, not False
    assert facts["pythons"] == ("3.11",)


def test_empty_probe_output_knows_nothing():
    facts, _ = facts_from_files(parse_probe_output(""))
    assert facts == {}


def test_probe_script_prints_every_section_it_parses():
    for section in ("os-release", "debian_version", "apt-get", "glibc", "pythons", "nvcc",
                    "cuda-version-json", "apt-lists", "apt-policy", "end"):
        assert f"echo @@{section}" in PROBE_SCRIPT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('ID=debian\nVERSION_ID="12"\n', {"ID": "debian", "VERSION_ID": "12"}),
        ("# comment\n\nID='alpine'\n", {"ID": "alpine"}),
        ('NAME="a \\"quoted\\" \\$name"\n', {"NAME": 'a "quoted" $name'}),
        ("garbage line\nlower=case\nID=x\n", {"ID": "x"}),
        ('ID_LIKE="rhel centos fedora"', {"ID_LIKE": "rhel centos fedora"}),
    ],
)
def test_os_release(text, expected):
    assert parse_os_release(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("glibc 2.36", "2.36"),
        ("ldd (Debian GLIBC 2.36-9+deb12u4) 2.36", "2.36"),
        ("ldd (Ubuntu GLIBC 2.35-0ubuntu3.8) 2.35", "2.35"),
        ("ldd (GNU libc) 2.28", "2.28"),
        ("/lib/x86_64-linux-gnu/libc-2.31.so", "2.31"),
        ("GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.", "2.36"),
        ("musl libc (x86_64)\nVersion 1.2.4", None),
        ("", None),
        (None, None),
    ],
)
def test_glibc(text, expected):
    assert parse_glibc(text) == expected


def test_pythons_are_deduplicated_and_sorted_numerically():
    paths = ["/usr/bin/python3.9", "/usr/local/bin/python3.12", "/usr/bin/python3.10", "/usr/bin/python3.9",
             "/usr/bin/python3.11-config", "/usr/bin/python3"]
    assert parse_pythons(paths) == ("3.9", "3.10", "3.12")


def test_apt_policy_keeps_only_python_packages_with_a_candidate():
    text = (FIXTURES / "probe_ubuntu_cuda_devel.txt").read_text().split("@@apt-policy\n")[1]
    assert parse_apt_policy(text) == ("3.10", "3.11")
    assert parse_apt_policy("python3.12:\n  Installed: (none)\n  Candidate: (none)\n") == ()


@pytest.mark.parametrize(("raw", "clean"), [("9.5.1.17-1", "9.5.1.17"), ("8.9.0.131", "8.9.0.131"),
                                             ("8.9.0.131-1+cuda12.1", "8.9.0.131")])
def test_strip_package_revision(raw, clean):
    assert strip_package_revision(raw) == clean


CUDA_ENV = {
    "CUDA_VERSION": "12.1.1",
    "NV_CUDNN_VERSION": "8.9.0.131",
    "NVIDIA_REQUIRE_CUDA": "cuda>=12.1 brand=tesla,driver>=470,driver<471",
}


def test_config_facts_of_a_cuda_image():
    facts, sources = facts_from_config(CUDA_ENV, {"com.nvidia.cudnn.version": "8.9.0.131"}, where="image config")
    assert facts == {"cuda_version": "12.1.1", "cudnn_version": "8.9.0.131",
                     "require_cuda": "cuda>=12.1 brand=tesla,driver>=470,driver<471"}
    assert sources["require_cuda"] == "image config env NVIDIA_REQUIRE_CUDA"


def test_config_facts_fall_back_to_the_cudnn_label_and_flag_end_of_life():
    facts, sources = facts_from_config({"NVIDIA_CUDA_END_OF_LIFE": "1"}, {"com.nvidia.cudnn.version": "9.1.0.70-1"}, where="c")
    assert facts == {"cudnn_version": "9.1.0.70", "end_of_life": True}
    assert sources["cudnn_version"] == "c label com.nvidia.cudnn.version"


def test_env_cuda_wins_but_a_disagreeing_version_file_is_noted():
    files = ({"cuda_version": "12.1.0"}, {"cuda_version": "probe container /usr/local/cuda/version.json"})
    config = ({"cuda_version": "12.1.1"}, {"cuda_version": "image config env CUDA_VERSION"})
    facts, sources = merge_facts(files, config)
    assert facts["cuda_version"] == "12.1.1"
    assert "12.1.0" in sources["cuda_version"]


def test_facts_from_docker_inspect():
    attrs = {
        "Id": "sha256:" + "1" * 64,
        "RepoDigests": ["127.0.0.1:5055/team/app@sha256:" + "2" * 64, "other/app@sha256:" + "3" * 64],
        "Architecture": "arm64",
        "Variant": "v8",
        "Os": "linux",
        "Config": {"Env": ["PATH=/bin", "CUDA_VERSION=11.8.0", "BROKEN"], "Labels": None, "User": "1000"},
    }
    facts, sources = facts_from_inspect(attrs, parse_image_ref("127.0.0.1:5055/team/app:1"))
    assert facts["digest"] == "sha256:" + "2" * 64
    assert facts["image_id"] == "sha256:" + "1" * 64
    assert facts["architecture"] == "arm64" and facts["variant"] == "v8" and facts["user"] == "1000"
    assert facts["cuda_version"] == "11.8.0"
    assert dict(facts["env"]) == {"PATH": "/bin", "CUDA_VERSION": "11.8.0"}
    # No repo digest for this name: the image ID stands in.
    facts, _ = facts_from_inspect({**attrs, "RepoDigests": []}, parse_image_ref("team/app"))
    assert facts["digest"] == "sha256:" + "1" * 64


# ---- the system cuDNN from its library files --------------------------------------------

from hypothesis import given, strategies as st  # noqa: E402

from launchbuild.compat.facts.providers.filefacts import parse_cudnn_libs  # noqa: E402


@pytest.mark.parametrize("paths, want", [
    (["/usr/lib/x86_64-linux-gnu/libcudnn.so.9", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0"], ("9.1.0", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0")),
    (["usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudnn.so.8.9.7"], ("8.9.7", "/usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudnn.so.8.9.7")),
    (["/usr/lib/aarch64-linux-gnu/libcudnn.so.8"], ("8", "/usr/lib/aarch64-linux-gnu/libcudnn.so.8")),
    (["/usr/lib64/libcudnn.so.8.9.0", "/usr/lib64/libcudnn.so.9.0.0"], ("9.0.0", "/usr/lib64/libcudnn.so.9.0.0")),
    # a wheel's copy, a sub-library, a folder or a bare .so name is not the system cuDNN's version
    (["/opt/venv/lib/python3.11/site-packages/nvidia/cudnn/lib/libcudnn.so.9"], None),
    (["/usr/lib/x86_64-linux-gnu/libcudnn_ops.so.9.1.0", "/usr/lib/x86_64-linux-gnu/libcudnn.so"], None),
    (["/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0.bak", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.x"], None),
])
def test_cudnn_version_from_library_file_names(paths, want):
    assert parse_cudnn_libs(paths) == want


@given(st.lists(st.text(max_size=80), max_size=8))
def test_cudnn_library_parsing_never_raises_and_only_names_a_given_path(paths):
    found = parse_cudnn_libs(paths)
    if found is not None:
        version, path = found
        assert path.lstrip("/") in {p.strip().lstrip("/") for p in paths}
        assert path.endswith("libcudnn.so." + version)


def test_the_probe_reads_cudnn_files_and_the_env_wins_over_them():
    text = ("@@cudnn\n/usr/lib/x86_64-linux-gnu/libcudnn.so.9\n/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0\n@@end\n")
    scan = parse_probe_output(text)
    assert scan.cudnn_libs == ("/usr/lib/x86_64-linux-gnu/libcudnn.so.9", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0")
    files = facts_from_files(scan)
    assert files[0]["cudnn_version"] == "9.1.0" and "libcudnn.so.9.1.0" in files[1]["cudnn_version"]
    config = facts_from_config({"NV_CUDNN_VERSION": "9.3.0.75-1"}, {}, where="image config")
    merged, sources = merge_facts(files, config)
    assert merged["cudnn_version"] == "9.3.0.75" and "NV_CUDNN_VERSION" in sources["cudnn_version"]
    assert "libcudnn.so" in PROBE_SCRIPT
    assert "cudnn_version" not in facts_from_files(parse_probe_output("@@cudnn\n@@end\n"))[0]
