"""The stand-in data files agree with the sourced facts and with the fixtures (no Docker needed)."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers_testenv import (
    STANDIN_IMAGES,
    STANDINS_DIR,
    TESTENV_SCRIPT,
    dockerfile_env,
    require_cuda_branches,
)

# Brands in the real x86_64 strings, in NVIDIA's order (dist/*/ubuntu2204/base/Dockerfile).
BRANDS = ["tesla", "unknown", "nvidia", "nvidiartx", "geforce", "geforcertx", "quadro", "quadrortx", "titan", "titanrtx"]

# compat-sources.md 3.1 (branches after the Nov 2023 rewrite) and 3.2 (cuDNN by CUDA image).
CUDA_STANDINS = [
    # version, major.minor, branches, cudart, cudnn
    ("12.1.1", "12.1", [470, 525], "12.1.105-1", "8.9.0.131"),
    ("11.8.0", "11.8", [470], "11.8.89-1", "8.9.6.50"),
]


def test_script_and_fixtures_name_the_same_standins():
    script = TESTENV_SCRIPT.read_text()
    block = re.search(r"^STANDINS=\((.*?)^\)", script, re.S | re.M)
    assert block, "STANDINS=( ... ) not found in scripts/testenv.sh"
    pairs = dict(re.findall(r'"(\w+) \$\{REGISTRY_NAMESPACE\}/(\S+)"', block.group(1)))
    namespace = re.search(r'^REGISTRY_NAMESPACE="([^"]+)"', script, re.M).group(1)
    assert {key: f"{namespace}/{ref}" for key, ref in pairs.items()} == STANDIN_IMAGES


@pytest.mark.parametrize(("version", "major_minor", "branches", "cudart", "cudnn"), CUDA_STANDINS)
def test_cuda_dockerfile_carries_the_real_markers(version, major_minor, branches, cudart, cudnn):
    env = dockerfile_env(STANDINS_DIR / f"cuda-{version}-runtime-ubuntu22.04.Dockerfile")
    expected_require = f"cuda>={major_minor} " + " ".join(
        f"brand={brand},driver>={branch},driver<{branch + 1}" for branch in branches for brand in BRANDS
    )
    assert env["NVIDIA_REQUIRE_CUDA"] == expected_require
    assert require_cuda_branches(env["NVIDIA_REQUIRE_CUDA"]) == set(branches)
    assert env["CUDA_VERSION"] == version
    assert env["NV_CUDA_CUDART_VERSION"] == cudart
    assert env["NV_CUDA_COMPAT_PACKAGE"] == f"cuda-compat-{major_minor.replace('.', '-')}"
    assert env["NV_CUDNN_VERSION"] == cudnn
    assert env["NV_CUDNN_PACKAGE_NAME"] == "libcudnn8"
    assert env["label:com.nvidia.cudnn.version"] == "${NV_CUDNN_VERSION}"
    assert env["NVARCH"] == "x86_64"
    assert env["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert env["PATH"] == "/usr/local/nvidia/bin:/usr/local/cuda/bin:${PATH}"
    assert env["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib:/usr/local/nvidia/lib64"


@pytest.mark.parametrize(("version", "major_minor", "branches", "cudart", "cudnn"), CUDA_STANDINS)
def test_version_json_matches_the_dockerfile(version, major_minor, branches, cudart, cudnn):
    manifest = json.loads((STANDINS_DIR / f"cuda-{version}" / "version.json").read_text())
    env = dockerfile_env(STANDINS_DIR / f"cuda-{version}-runtime-ubuntu22.04.Dockerfile")
    assert manifest["cuda"] == {"name": "CUDA SDK", "version": version}
    # Debian package versions carry a "-1" revision that version.json does not.
    assert manifest["cuda_cudart"]["version"] == env["NV_CUDA_CUDART_VERSION"].rsplit("-", 1)[0]
    assert manifest["libcublas"]["version"] == env["NV_LIBCUBLAS_VERSION"].rsplit("-", 1)[0]


@pytest.mark.parametrize(
    ("require", "branches"),
    [
        ("cuda>=12.1", set()),
        ("cuda>=11.8 brand=tesla,driver>=470,driver<471", {470}),
        ("cuda>=12.3 brand=tesla,driver>=470,driver<471 brand=tesla,driver>=525,driver<526 brand=tesla,driver>=535,driver<536", {470, 525, 535}),
        ("cuda>=12.1 driver>=450", set()),
    ],
)
def test_require_cuda_branches(require, branches):
    assert require_cuda_branches(require) == branches
