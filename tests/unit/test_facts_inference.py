"""Tag inference for well-known images: table-driven. Everything it gives is marked inferred."""

from __future__ import annotations

import pytest

from launchbuild.core.imageref import parse_image_ref
from launchbuild.compat.facts.providers.inference import infer_facts

CASES = [
    ("nvidia/cuda:12.1.1-runtime-ubuntu22.04",
     dict(cuda_version="12.1.1", has_nvcc=False, os_id="ubuntu", os_version="22.04", has_apt=True, glibc="2.35", cudnn_version=None)),
    ("nvidia/cuda:12.1.1-cudnn8-devel-ubuntu22.04",
     dict(cuda_version="12.1.1", has_nvcc=True, cudnn_version="8.9.0.131", os_codename="jammy")),
    ("nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04", dict(cudnn_version="9.1.0.70", has_nvcc=False)),
    ("nvidia/cuda:11.8.0-cudnn8-devel-ubuntu20.04", dict(cudnn_version="8.9.6.50", os_version="20.04", glibc="2.31")),
    ("nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04", dict(cudnn_version="8")),  # no row: the tag's major still counts
    ("nvidia/cuda:11.8.0-base-ubi8", dict(os_id="rhel", has_apt=False, glibc="2.28", has_nvcc=False)),
    ("nvidia/cuda:12.6.3-devel-rockylinux9", dict(os_id="rocky", has_apt=False, has_nvcc=True)),
    ("nvcr.io/nvidia/cuda:12.2.2-runtime-ubuntu22.04", dict(cuda_version="12.2.2")),
    ("python:3.11-slim", dict(os_id="debian", has_apt=True, pythons=("3.11",), os_version=None)),
    ("python:3.12.4-slim-bookworm", dict(os_version="12", pythons=("3.12",), glibc="2.36")),
    ("python:3.9-bullseye", dict(os_version="11", os_codename="bullseye", pythons=("3.9",))),
    ("python:3.11-alpine3.19", dict(os_id="alpine", has_apt=False, glibc=None, pythons=("3.11",))),
    ("python:3.13-rc-slim", None),
    ("python:3", dict(pythons=())),
    ("debian:12", dict(os_id="debian", os_version="12", os_codename="bookworm")),
    ("debian:bookworm-slim", dict(os_version="12")),
    ("debian:bullseye-20240110", dict(os_version="11")),
    ("ubuntu:22.04", dict(os_id="ubuntu", os_id_like=("debian",), glibc="2.35")),
    ("ubuntu:noble", dict(os_version="24.04")),
    ("ubuntu:jammy-20240125", dict(os_version="22.04")),
    ("pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime",
     dict(cuda_version="12.1", cudnn_version="9", has_nvcc=False, os_id="ubuntu", has_apt=True)),
    ("pytorch/pytorch:2.1.0-cuda11.8-cudnn8-devel", dict(has_nvcc=True, cuda_version="11.8")),
    ("pytorch/pytorch:latest", None),
    ("nvidia/cuda:latest", None),
    ("debian:sid", None),
    ("team/private:1.0", None),
    ("127.0.0.1:5055/library/python:3.11", None),  # same path, other registry: not the official image
]


@pytest.mark.parametrize(("ref", "expected"), CASES)
def test_inference(ref, expected):
    facts = infer_facts(parse_image_ref(ref))
    if expected is None:
        assert facts is None
        return
    assert facts is not None and facts.provider == "inferred"
    for name, value in expected.items():
        assert getattr(facts, name) == value, name
    # Every fact given says it was inferred, and from which tag.
    sources = dict(facts.fact_sources)
    assert sources and all(v.startswith("inferred from tag") for v in sources.values())
    assert all(facts.source_of(name) == "inferred" for name in sources)
    assert facts.architecture is None  # a tag says nothing about the platform


# --- NVIDIA_REQUIRE_CUDA of well-known nvidia/cuda tags ------------------------------------------

import pytest as _pytest  # noqa: E402

from launchbuild.core.imageref import parse_image_ref as _ref  # noqa: E402
from launchbuild.compat.facts.providers.inference import infer_facts as _infer  # noqa: E402


@_pytest.mark.parametrize("version", ["12.1.1", "11.8.0"])
def test_inferred_require_cuda_is_the_real_string(version):
    """The stand-ins carry NVIDIA's strings byte for byte (scripts/standins); inference must
    produce the same, brand clauses and their order included."""
    from pathlib import Path

    from tests.helpers_testenv import dockerfile_env

    standin = Path(__file__).resolve().parents[2] / "scripts" / "standins" / f"cuda-{version}-runtime-ubuntu22.04.Dockerfile"
    real = dockerfile_env(standin)["NVIDIA_REQUIRE_CUDA"]
    assert _infer(_ref(f"nvidia/cuda:{version}-runtime-ubuntu22.04")).require_cuda == real


@_pytest.mark.parametrize(
    ("tag", "architecture", "branches"),
    [
        ("12.4.1-runtime-ubuntu22.04", "amd64", {470, 525, 535}),
        ("12.6.3-cudnn-devel-ubuntu22.04", "amd64", {470, 535, 550}),
        ("11.8.0-runtime-ubuntu22.04", "arm64", set()),  # this sbsa stage has only cuda>=X.Y
        ("12.4.1-runtime-ubuntu22.04", "arm64", {470, 525, 535}),  # NVIDIA's Dockerfile: the sbsa stage has branches
        ("12.8.0-runtime-ubuntu24.04", "amd64", {470, 535, 550, 560, 565}),  # NVIDIA's Dockerfiles, per OS flavour
        ("12.8.1-runtime-ubuntu22.04", "arm64", {470, 535, 550, 560, 565}),  # 12.8.1 sbsa stages have branches too
        ("13.0.0-runtime-ubuntu24.04", "amd64", {535, 550, 565, 570, 575}),
        ("12.4.1-runtime-ubuntu20.04", "amd64", {470, 525, 535}),
        ("13.3.1-runtime-ubuntu24.04", "amd64", None),  # not in the data: unknown (LB211), never guessed
    ],
)
def test_inferred_forward_compat_branches(tag, architecture, branches):
    from tests.helpers_testenv import require_cuda_branches

    facts = _infer(_ref(f"nvidia/cuda:{tag}"), architecture)
    if branches is None:
        assert facts.require_cuda is None
    else:
        assert require_cuda_branches(facts.require_cuda) == branches
        assert facts.source_of("require_cuda") == "inferred"
