"""Facts guessed from the tags of well-known images, when nothing could be read. Pure.

Every fact from here is marked "inferred": tags are mutable (NVIDIA has rewritten
NVIDIA_REQUIRE_CUDA under the same tag), so rules must say so when they rely on these.
Names we do not know give `None`: no facts rather than wrong ones.
"""

from __future__ import annotations

import re
from typing import Any

from launchbuild.compat import data
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.imageref import ImageRef

PROVIDER = "inferred"

_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}
_UBUNTU_CODENAMES = {"bionic": "18.04", "focal": "20.04", "jammy": "22.04", "noble": "24.04", "resolute": "26.04"}

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
        glibc = data.distro_glibc().get((os_id, version))
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
    # Rows measured from NVIDIA's Dockerfiles, per OS flavour and architecture stage.
    label = f"{match['os']}{osver}"
    known = data.nvidia_cuda_images().get((match["cuda"], label, architecture))
    if known is not None:
        facts["require_cuda"] = known.require_cuda
        if known.ld_library_path:
            facts["env"] = (("LD_LIBRARY_PATH", known.ld_library_path),)
    facts["has_nvcc"] = match["flavour"] == "devel"
    if match["cudnn"]:
        cudnn = known.cudnn if known else None
        major = match["cudnn"][len("cudnn"):]
        if cudnn and (not major or cudnn.split(".")[0] == major):
            facts["cudnn_version"] = cudnn
        elif major:
            facts["cudnn_version"] = major  # `-cudnn8-`: the major is known even without a row
        else:
            facts["cudnn_version"] = "present"  # `-cudnn-`: some cuDNN, version not in the data
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
