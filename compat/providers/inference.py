"""Facts guessed from the tags of well-known images, when nothing could be read. Pure.

Every fact from here is marked "inferred": tags are mutable (NVIDIA has rewritten
NVIDIA_REQUIRE_CUDA under the same tag), so rules must say so when they rely on these.
Names we do not know give `None`: no facts rather than wrong ones.
"""

from __future__ import annotations

import re
from typing import Any

from launchbuild.compat.facts import ImageFacts
from launchbuild.compat.imageref import ImageRef

PROVIDER = "inferred"

# Release -> glibc of the distro's libc6 package (packages.debian.org, packages.ubuntu.com,
# Red Hat's UBI/Rocky release notes).
_GLIBC = {
    ("debian", "10"): "2.28",
    ("debian", "11"): "2.31",
    ("debian", "12"): "2.36",
    ("debian", "13"): "2.41",
    ("ubuntu", "18.04"): "2.27",
    ("ubuntu", "20.04"): "2.31",
    ("ubuntu", "22.04"): "2.35",
    ("ubuntu", "24.04"): "2.39",
    ("rhel", "8"): "2.28",
    ("rhel", "9"): "2.34",
    ("rocky", "8"): "2.28",
    ("rocky", "9"): "2.34",
}
_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}
_UBUNTU_CODENAMES = {"bionic": "18.04", "focal": "20.04", "jammy": "22.04", "noble": "24.04"}
# nvidia/cuda ubuntu22.04 cudnn images -> NV_CUDNN_VERSION (reference/compat-sources.md §3.2,
# from gitlab nvidia/container-images/cuda dist/<ver>/ubuntu2204/runtime/cudnn*/Dockerfile).
_CUDA_IMAGE_CUDNN = {
    "11.8.0": "8.9.6.50",
    "12.0.1": "8.8.0.121",
    "12.1.1": "8.9.0.131",
    "12.2.2": "8.9.6.50",
    "12.3.2": "9.0.0.312",
    "12.4.1": "9.1.0.70",
    "12.5.1": "9.2.1.18",
    "12.6.3": "9.5.1.17",
}

# nvidia/cuda ubuntu22.04 x86_64 images -> the driver branches their NVIDIA_REQUIRE_CUDA
# admits through brand clauses (forward compatibility), after NVIDIA's Nov-2023 rewrite of the
# tags (reference/compat-sources.md §3.1 table, from gitlab nvidia/container-images/cuda
# dist/<ver>/ubuntu2204/base/Dockerfile). The arm64 (sbsa) stage has no brand clauses.
_CUDA_IMAGE_BRANCHES = {
    "11.8.0": (470,),
    "12.0.1": (470,),
    "12.1.1": (470, 525),
    "12.2.2": (470, 525),
    "12.3.2": (470, 525, 535),
    "12.4.1": (470, 525, 535),
    "12.5.1": (470, 535, 550),
    "12.6.3": (470, 535, 550),
}
# The brand order of the real strings (dist/12.1.1/ubuntu2204/base/Dockerfile).
_BRANDS = ("tesla", "unknown", "nvidia", "nvidiartx", "geforce", "geforcertx", "quadro", "quadrortx",
           "titan", "titanrtx")


def _require_cuda(cuda: str, branches: tuple[int, ...]) -> str:
    """NVIDIA_REQUIRE_CUDA as the image sets it: `cuda>=X.Y` OR one of the branch clauses."""
    major_minor = ".".join(cuda.split(".")[:2])
    clauses = [f"brand={b},driver>={br},driver<{br + 1}" for br in branches for b in _BRANDS]
    return " ".join([f"cuda>={major_minor}", *clauses])


_CUDA_TAG = re.compile(
    r"(?P<cuda>\d+\.\d+(?:\.\d+)?)-(?:(?P<cudnn>cudnn\d*)-)?(?P<flavour>base|runtime|devel)"
    r"-(?P<os>ubuntu|ubi|rockylinux|centos|oraclelinux)(?P<osver>\d+(?:\.\d+)?)\Z"
)
_PYTHON_TAG = re.compile(
    r"(?P<version>\d+(?:\.\d+){0,2})(?:(?:a|b|rc)\d*)?"
    r"(?:-(?P<slim>slim))?(?:-(?P<distro>bookworm|bullseye|buster|trixie|alpine(?:\d+\.\d+)?))?"
    r"(?:-(?P<slim2>slim))?\Z"
)
_PYTORCH_TAG = re.compile(
    r"(?P<torch>\d+\.\d+(?:\.\d+)?)-cuda(?P<cuda>\d+\.\d+)-cudnn(?P<cudnn>\d+)-(?P<flavour>runtime|devel)\Z"
)


def _os_facts(os_id: str, version: str | None, tag: str) -> dict[str, Any]:
    facts: dict[str, Any] = {"os_id": os_id}
    if os_id in ("debian", "ubuntu"):
        facts["has_apt"] = True
        if os_id == "ubuntu":
            facts["os_id_like"] = ("debian",)
    elif os_id in ("rhel", "rocky", "alpine", "centos", "ol"):
        facts["has_apt"] = False
    if version:
        facts["os_version"] = version
        glibc = _GLIBC.get((os_id, version))
        if glibc:
            facts["glibc"] = glibc
        codenames = _DEBIAN_CODENAMES if os_id == "debian" else _UBUNTU_CODENAMES if os_id == "ubuntu" else {}
        for name, ver in codenames.items():
            if ver == version:
                facts["os_codename"] = name
    return facts


def _nvidia_cuda(tag: str, architecture: str = "amd64") -> dict[str, Any] | None:
    match = _CUDA_TAG.match(tag)
    if not match:
        return None
    os_map = {"ubuntu": "ubuntu", "ubi": "rhel", "rockylinux": "rocky", "centos": "centos", "oraclelinux": "ol"}
    osver = match["osver"]
    facts = _os_facts(os_map[match["os"]], osver, tag)
    facts["cuda_version"] = match["cuda"]
    branches = _CUDA_IMAGE_BRANCHES.get(match["cuda"]) if match["os"] == "ubuntu" and osver == "22.04" else None
    if branches and architecture == "amd64":
        facts["require_cuda"] = _require_cuda(match["cuda"], branches)
    facts["has_nvcc"] = match["flavour"] == "devel"
    if match["cudnn"]:
        known = _CUDA_IMAGE_CUDNN.get(match["cuda"]) if match["os"] == "ubuntu" and osver == "22.04" else None
        major = match["cudnn"][len("cudnn"):]
        if known and (not major or known.split(".")[0] == major):
            facts["cudnn_version"] = known
        elif major:
            facts["cudnn_version"] = major
    return facts


def _python(tag: str) -> dict[str, Any] | None:
    match = _PYTHON_TAG.match(tag)
    if not match:
        return None
    distro = match["distro"] or ""
    if distro.startswith("alpine"):
        facts = _os_facts("alpine", distro[len("alpine"):] or None, tag)
        facts.pop("glibc", None)  # musl
    elif distro:
        facts = _os_facts("debian", _DEBIAN_CODENAMES[distro], tag)
    else:
        facts = {"os_id": "debian", "has_apt": True}  # default suite moves with time
    parts = match["version"].split(".")
    if len(parts) >= 2:
        facts["pythons"] = (f"{parts[0]}.{parts[1]}",)
    return facts


def _debian(tag: str) -> dict[str, Any] | None:
    base = tag.removesuffix("-slim")
    base = re.sub(r"-\d{8}\Z", "", base)
    if base in _DEBIAN_CODENAMES:
        return _os_facts("debian", _DEBIAN_CODENAMES[base], tag)
    match = re.fullmatch(r"(\d+)(?:\.\d+)?", base)
    if match and match.group(1) in _DEBIAN_CODENAMES.values():
        return _os_facts("debian", match.group(1), tag)
    return None


def _ubuntu(tag: str) -> dict[str, Any] | None:
    base = re.sub(r"-\d{8}(?:\.\d+)?\Z", "", tag)
    if base in _UBUNTU_CODENAMES:
        return _os_facts("ubuntu", _UBUNTU_CODENAMES[base], tag)
    if re.fullmatch(r"\d{2}\.\d{2}", base):
        return _os_facts("ubuntu", base, tag)
    return None


def _pytorch(tag: str) -> dict[str, Any] | None:
    match = _PYTORCH_TAG.match(tag)
    if not match:
        return None
    # The official images are Ubuntu with conda; the release changes with the version.
    return {
        "os_id": "ubuntu",
        "os_id_like": ("debian",),
        "has_apt": True,
        "cuda_version": match["cuda"],
        "cudnn_version": match["cudnn"],
        "has_nvcc": match["flavour"] == "devel",
    }


_RULES = {
    ("docker.io", "nvidia/cuda"): _nvidia_cuda,
    ("nvcr.io", "nvidia/cuda"): _nvidia_cuda,
    ("docker.io", "library/python"): _python,
    ("docker.io", "library/debian"): _debian,
    ("docker.io", "library/ubuntu"): _ubuntu,
    ("docker.io", "pytorch/pytorch"): _pytorch,
}


def infer_facts(ref: ImageRef, architecture: str = "amd64") -> ImageFacts | None:
    """Facts from a well-known name and tag, or None when we know nothing about it."""
    rule = _RULES.get((ref.registry, ref.repository))
    if rule is None or not ref.tag:
        return None
    facts = _nvidia_cuda(ref.tag, architecture) if rule is _nvidia_cuda else rule(ref.tag)
    if not facts:
        return None
    return ImageFacts(
        reference=ref.familiar,
        provider=PROVIDER,
        digest=ref.digest,
        fact_sources=tuple(sorted((name, f"inferred from tag {ref.tag}") for name in facts)),
        **facts,
    )
