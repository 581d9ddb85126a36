"""Pure derivation of facts from what an image holds: its config and a few of its files.

Both the probe container (docker provider) and the layer walk (registry provider) reduce
an image to a `FileScan`; one function turns that into facts, so both providers agree by
construction and the parsing is unit-tested on fixture text.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from launchbuild.core.records import dataclass

# python3.X for X in this range is looked for on PATH and probed with apt-cache policy.
PYTHON_MINORS = tuple(range(6, 16))
PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
PYTHON_DIRS = ("/usr/local/bin", "/usr/bin", "/bin", "/opt/conda/bin")

_PYTHON_NAME = re.compile(r"(?:^|/)python(3\.\d{1,2})\Z")
_GLIBC_PATTERNS = (
    re.compile(r"^glibc\s+(\d+\.\d+)", re.M),  # getconf GNU_LIBC_VERSION
    re.compile(r"^ldd \(.*?GLIBC.*?\)\s+(\d+\.\d+)", re.M),  # ldd --version
    re.compile(r"^ldd \(GNU libc\)\s+(\d+\.\d+)", re.M),
    re.compile(r"GNU C Library[^\n]*?version (\d+\.\d+)"),  # the string inside libc.so.6
    re.compile(r"libc-(\d+\.\d+)\.so"),  # pre-2.34 file name
)
_CUDA_TXT = re.compile(r"CUDA Version\s+(\d+\.\d+(?:\.\d+)?)")
# The system cuDNN, where the dynamic loader finds it (the multiarch and lib64 folders, the CUDA
# toolkit's own lib folders): the library's file name carries its version, libcudnn.so.9.1.0.
CUDNN_LIB_GLOBS = ("/usr/lib/libcudnn.so.*", "/usr/lib64/libcudnn.so.*", "/usr/lib/*-linux-gnu/libcudnn.so.*",
                   "/usr/local/lib/libcudnn.so.*", "/usr/local/cuda*/lib64/libcudnn.so.*",
                   "/usr/local/cuda*/targets/*/lib/libcudnn.so.*")
CUDNN_LIB = re.compile(r"^/?(?:usr/lib(?:64)?(?:/[a-z0-9_]+-linux-gnu[a-z]*)?|usr/local/lib|"
                       r"usr/local/cuda[^/]*/(?:lib64|targets/[^/]+/lib))/libcudnn\.so\.(\d+(?:\.\d+){0,2})\Z")
_PKG_REVISION = re.compile(r"-\d+(?:\+\S+)?\Z")


@dataclass(frozen=True)
class FileScan:
    """What was found in the image's filesystem. `None` = could not tell."""

    where: str  # "probe container" or "registry layers"
    os_release: str | None = None
    debian_version: str | None = None
    apt_get: str | None = None  # its path; "" = looked everywhere and it is absent
    glibc: str | None = None  # raw text that names the version
    python_paths: tuple[str, ...] = ()
    nvcc: str | None = None  # its path; "" = absent
    cuda_version_json: str | None = None
    cuda_version_txt: str | None = None
    apt_policy: str | None = None  # `apt-cache policy python3.X ...` output; None = not run
    apt_list_files: int | None = None  # package list files under /var/lib/apt/lists
    cudnn_libs: tuple[str, ...] = ()  # paths of system libcudnn.so.N[.M.P] files (CUDNN_LIB)
    complete: bool = True  # False when a layer walk stopped early: absence is not proof


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5): KEY=value lines, values optionally quoted with shell escapes."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not re.fullmatch(r"[A-Z0-9_]+", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\([\\$\"`])", r"\1", value[1:-1])
        elif len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        out[key] = value
    return out


def parse_glibc(text: str | None) -> str | None:
    if not text:
        return None
    for pattern in _GLIBC_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def parse_pythons(paths: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    found = set()
    for path in paths:
        match = _PYTHON_NAME.search(path.strip())
        if match:
            found.add(match.group(1))
    return tuple(sorted(found, key=lambda v: tuple(int(p) for p in v.split("."))))


def parse_cuda_version_json(text: str | None) -> str | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # the image's own file: garbage or a deep bomb is "unknown"
        return None
    if isinstance(data, dict):
        cuda = data.get("cuda")
        if isinstance(cuda, dict) and isinstance(cuda.get("version"), str):
            return cuda["version"].strip() or None
    return None


def parse_cuda_version_txt(text: str | None) -> str | None:
    match = _CUDA_TXT.search(text or "")
    return match.group(1) if match else None


def parse_apt_policy(text: str) -> tuple[str, ...]:
    """X.Y versions whose python3.X package has an apt candidate (installed or installable)."""
    installable = set()
    package = None
    for line in text.splitlines():
        head = re.match(r"^(python3\.\d{1,2}):\s*$", line)
        if head:
            package = head.group(1)
            continue
        cand = re.match(r"^\s+Candidate:\s*(\S+)", line)
        if cand and package:
            if cand.group(1) != "(none)":
                installable.add(package[len("python") :])
            package = None
    return tuple(sorted(installable, key=lambda v: tuple(int(p) for p in v.split("."))))


def parse_cudnn_libs(paths: tuple[str, ...] | list[str]) -> tuple[str, str] | None:
    """(version, path) of the system cuDNN from its library files: the most precise version
    of the highest major (libcudnn.so.9.1.0 over its libcudnn.so.9 link); None: none found."""
    found = []
    for path in paths:
        match = CUDNN_LIB.match(path.strip())
        if match:
            parts = tuple(int(p) for p in match.group(1).split("."))
            found.append((parts[0], len(parts), parts, "/" + path.strip().lstrip("/")))
    if not found:
        return None
    _, _, parts, path = max(found)
    return ".".join(str(p) for p in parts), path


def strip_package_revision(version: str) -> str:
    """`9.5.1.17-1` (a Debian package version) -> `9.5.1.17`."""
    return _PKG_REVISION.sub("", version.strip())


def facts_from_config(
    env: Mapping[str, str], labels: Mapping[str, str], *, where: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Facts carried by the image config: CUDA markers set by the nvidia/cuda Dockerfiles."""
    facts: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if env.get("CUDA_VERSION"):
        facts["cuda_version"] = env["CUDA_VERSION"].strip()
        sources["cuda_version"] = f"{where} env CUDA_VERSION"
    if env.get("NV_CUDNN_VERSION"):
        facts["cudnn_version"] = strip_package_revision(env["NV_CUDNN_VERSION"])
        sources["cudnn_version"] = f"{where} env NV_CUDNN_VERSION"
    elif labels.get("com.nvidia.cudnn.version"):
        facts["cudnn_version"] = strip_package_revision(labels["com.nvidia.cudnn.version"])
        sources["cudnn_version"] = f"{where} label com.nvidia.cudnn.version"
    elif env.get("CUDNN_VERSION"):  # older images
        facts["cudnn_version"] = strip_package_revision(env["CUDNN_VERSION"])
        sources["cudnn_version"] = f"{where} env CUDNN_VERSION"
    if "NVIDIA_REQUIRE_CUDA" in env:
        facts["require_cuda"] = env["NVIDIA_REQUIRE_CUDA"]
        sources["require_cuda"] = f"{where} env NVIDIA_REQUIRE_CUDA"
    if env.get("NVIDIA_CUDA_END_OF_LIFE", "").strip().lower() in {"1", "true", "yes"}:
        facts["end_of_life"] = True
        sources["end_of_life"] = f"{where} env NVIDIA_CUDA_END_OF_LIFE"
    return facts, sources


def facts_from_files(scan: FileScan) -> tuple[dict[str, Any], dict[str, str]]:
    """Facts read from files. A fact that cannot be told stays out (None = unknown)."""
    facts: dict[str, Any] = {}
    sources: dict[str, str] = {}
    where = scan.where

    def put(name: str, value: Any, source: str) -> None:
        facts[name] = value
        sources[name] = f"{where} {source}"

    def put_presence(name: str, path: str | None, absent: str) -> None:
        # A path: present. "": looked everywhere and not there, proof only when the scan was
        # complete. None: could not tell, so the fact stays unknown.
        if path:
            put(name, True, path)
        elif path == "" and scan.complete:
            put(name, False, absent)

    if scan.os_release:
        osr = parse_os_release(scan.os_release)
        if osr.get("ID"):
            put("os_id", osr["ID"].lower(), "/etc/os-release ID")
        if osr.get("ID_LIKE"):
            put("os_id_like", tuple(osr["ID_LIKE"].lower().split()), "/etc/os-release ID_LIKE")
        if osr.get("VERSION_ID"):
            put("os_version", osr["VERSION_ID"], "/etc/os-release VERSION_ID")
        codename = osr.get("VERSION_CODENAME") or osr.get("UBUNTU_CODENAME")
        if codename:
            put("os_codename", codename, "/etc/os-release VERSION_CODENAME")
    if scan.debian_version and scan.debian_version.strip():
        put("debian_version", scan.debian_version.strip().splitlines()[0], "/etc/debian_version")
    put_presence("has_apt", scan.apt_get, "no apt-get on PATH")
    glibc = parse_glibc(scan.glibc)
    if glibc:
        put("glibc", glibc, "libc")
    pythons = parse_pythons(scan.python_paths)
    if pythons or scan.complete:
        put("pythons", pythons, "python3.X on PATH")
    system = parse_pythons([p for p in scan.python_paths if p.strip().startswith("/usr/bin/python3.")])
    if system:
        put("system_pythons", system, "/usr/bin/python3.X")
    put_presence("has_nvcc", scan.nvcc, "no nvcc on PATH or in /usr/local/cuda/bin")
    cudnn = parse_cudnn_libs(scan.cudnn_libs)
    if cudnn:  # the config's NV_CUDNN_VERSION, where the image sets one, wins (merge_facts)
        put("cudnn_version", cudnn[0], cudnn[1])
    cuda = parse_cuda_version_json(scan.cuda_version_json)
    if cuda:
        put("cuda_version", cuda, "/usr/local/cuda/version.json")
        put("cuda_toolkit_version", cuda, "/usr/local/cuda/version.json")
    else:
        cuda = parse_cuda_version_txt(scan.cuda_version_txt)
        if cuda:
            put("cuda_version", cuda, "/usr/local/cuda/version.txt")
            put("cuda_toolkit_version", cuda, "/usr/local/cuda/version.txt")
    # Slim images delete /var/lib/apt/lists: apt-cache then only knows what is installed,
    # so its answer would be wrong; the caller falls back to the per-distro table.
    if scan.apt_policy is not None and scan.apt_list_files:
        put("apt_pythons", parse_apt_policy(scan.apt_policy), "apt-cache policy")
    return facts, sources


def merge_facts(
    file_facts: tuple[dict[str, Any], dict[str, str]],
    config_facts: tuple[dict[str, Any], dict[str, str]],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Config facts win over file facts for CUDA: the env is what the NVIDIA runtime reads."""
    facts = {**file_facts[0], **config_facts[0]}
    sources = {**file_facts[1], **config_facts[1]}
    file_cuda, env_cuda = file_facts[0].get("cuda_version"), config_facts[0].get("cuda_version")
    if file_cuda and env_cuda and file_cuda != env_cuda:
        sources["cuda_version"] += f" (the toolkit's version file says {file_cuda})"
    return facts, sources
