"""PyPI facts from the PEP 691 JSON simple pages and PEP 658 metadata files (no wheel download).

Per package, for the newest patch of each minor release: Requires-Python, the CPython tags of
its Linux wheels per machine (x86_64, aarch64), and the CUDA its Requires-Dist pins for that
machine (markers evaluated for it), unconditionally and per extra.
"""

from __future__ import annotations

from typing import Any

import json
import re

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from launchbuild.core.records import dataclass
from launchbuild.errors import InfraUnavailable
from launchbuild.refresh.http import Fetcher

SIMPLE = "https://pypi.org/simple/{name}/"
ACCEPT_JSON = "application/vnd.pypi.simple.v1+json"
MACHINES = ("x86_64", "aarch64")

# Packages whose wheels say which CUDA they need. Keep sorted; docs/data.md explains adding one.
PACKAGES = (
    "bitsandbytes", "cupy-cuda102", "cupy-cuda110", "cupy-cuda111", "cupy-cuda112", "cupy-cuda113", "cupy-cuda114",
    "cupy-cuda115", "cupy-cuda116", "cupy-cuda117", "cupy-cuda11x", "cupy-cuda12x", "cupy-cuda13x", "flash-attn", "jax",
    "jax-cuda12-pjrt", "jax-cuda12-plugin", "jax-cuda13-pjrt", "jax-cuda13-plugin", "jaxlib",
    "onnxruntime-gpu", "tensorflow", "torch", "torchaudio", "torchvision", "vllm", "xformers",
)

# 0.x releases of these are each a release of their own (jax 0.4.20 and 0.4.26 differ in the CUDA
# majors their extras offer): one row per micro release, not per minor.
PER_MICRO = ("jax", "jaxlib")
_CUDNN_PIN = re.compile(r"^nvidia-cudnn(?:-cu\d+)?$")
_RUNTIME_PIN = re.compile(r"^(?:nvidia-cuda-runtime(?:-cu\d+)?|cuda-toolkit|nvidia-cuda-nvcc(?:-cu\d+)?)$")
_SUFFIXED = re.compile(r"^nvidia-[a-z0-9-]+-cu(\d+)$")
_MAJOR_MINOR = re.compile(r"(\d+)\.(\d+)")


@dataclass(frozen=True)
class WheelFile:
    """One Linux wheel listed on a PEP 691 simple page: where to fetch it, its hash, and the
    Pythons and machines it installs on."""

    filename: str
    url: str
    sha256: str
    requires_python: str | None
    has_metadata: bool
    version: Version
    pythons: tuple[str, ...]  # "3.11"; abi3 wheels give their floor
    abi3: bool
    machines: tuple[str, ...]  # which of MACHINES the wheel installs on


def _machines(platform_tags: set[str]) -> tuple[str, ...]:
    if any(t == "any" for t in platform_tags):
        return MACHINES
    out = []
    for m in MACHINES:
        if any(t.startswith(("manylinux", "linux")) and t.endswith("_" + m) for t in platform_tags):
            out.append(m)
    return tuple(out)


def _pythons(interpreters: set[str]) -> tuple[str, ...]:
    out = set()
    for tag in interpreters:
        m = re.fullmatch(r"(?:cp|py)(\d)(\d+)", tag)
        if m:
            out.add(f"{m.group(1)}.{m.group(2)}")
        elif re.fullmatch(r"py\d", tag):
            out.add(tag[2:])  # "py3": any Python 3
    return tuple(sorted(out, key=lambda v: tuple(int(p) for p in v.split("."))))


def parse_simple_page(body: bytes) -> list[WheelFile]:
    """The Linux wheels of a PEP 691 JSON page (yanked files and sdists left out)."""
    try:
        doc = json.loads(body)
        files = doc["files"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("not a PEP 691 JSON simple page") from None
    out: list[WheelFile] = []
    for f in files:
        name = f.get("filename", "")
        if not name.endswith(".whl") or f.get("yanked"):
            continue
        try:
            _dist, version, _build, tags = parse_wheel_filename(name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        machines = _machines({t.platform for t in tags})
        if not machines:
            continue
        meta = f.get("core-metadata") or f.get("dist-info-metadata")
        out.append(WheelFile(
            filename=name, url=f["url"], sha256=(f.get("hashes") or {}).get("sha256", ""),
            requires_python=f.get("requires-python") or None, has_metadata=bool(meta), version=version,
            pythons=_pythons({t.interpreter for t in tags}), abi3=any(t.abi == "abi3" for t in tags),
            machines=machines,
        ))
    return out


def newest_per_minor(wheels: list[WheelFile], max_minors: int, per_micro: bool = False) -> list[Version]:
    """The newest final patch of each major.minor, newest minors first, at most `max_minors`
    (`per_micro`: every 0.x.y release, at most 4 * max_minors)."""
    best: dict[tuple[int, ...], Version] = {}
    for w in wheels:
        v = w.version
        if v.is_prerelease or v.is_devrelease or v.local:
            continue
        # 0.0.N packages (xformers) release on the micro number: each one is its own "minor".
        key = (v.major, v.minor) if (v.major, v.minor) != (0, 0) and not (per_micro and v.major == 0) else (v.major, v.minor, v.micro)
        if key not in best or v > best[key]:
            best[key] = v
    return [best[k] for k in sorted(best, reverse=True)[:max_minors * (4 if per_micro else 1)]]


def _cudnn_of(reqs: list[Requirement]) -> str | None:
    """The cuDNN floor an nvidia-cudnn pin sets ('9.8'), or None."""
    for r in reqs:
        if _CUDNN_PIN.match(r.name):
            for spec in r.specifier:
                if spec.operator in ("==", ">=", "~=", "===") and (m := _MAJOR_MINOR.match(spec.version)):
                    return f"{m.group(1)}.{m.group(2)}"
    return None


def _cuda_of(reqs: list[Requirement]) -> tuple[str | None, list[str]]:
    """('12.4', pins) from runtime pins; ('12', pins) when only -cuNN suffixes say the major."""
    pins = [str(r) for r in reqs if r.name.startswith(("nvidia-", "cuda-toolkit"))]
    for r in reqs:
        if _RUNTIME_PIN.match(r.name):
            for spec in r.specifier:
                if spec.operator in ("==", ">=", "~=", "==="):
                    m = _MAJOR_MINOR.match(spec.version)
                    if m:
                        return f"{m.group(1)}.{m.group(2)}", sorted(pins)
    majors = sorted({m.group(1) for r in reqs if (m := _SUFFIXED.match(r.name))})
    if majors:
        return majors[-1], sorted(pins)
    return None, sorted(pins)


def requires_dist(metadata: str) -> list[str]:
    out, lines = [], metadata.splitlines()
    for line in lines:
        if not line.strip():
            break  # headers end at the first blank line; the body is the description
        if line.startswith("Requires-Dist:"):
            out.append(line.split(":", 1)[1].strip())
    return out


def cuda_pins(metadata: str, machine: str, python: str) -> dict:
    """What the metadata pins for `machine`: {'cuda': .., 'pins': [..], 'extras': {extra: cuda}}."""
    env = {"platform_machine": machine, "sys_platform": "linux", "platform_system": "Linux",
           "os_name": "posix", "python_version": python, "python_full_version": f"{python}.0",
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    base: list[Requirement] = []
    extras: dict[str, list[Requirement]] = {}
    for text in requires_dist(metadata):
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        marker = req.marker
        try:
            if marker is None or marker.evaluate({**env, "extra": ""}):
                base.append(req)
                continue
            for extra in re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", str(marker)):
                if marker.evaluate({**env, "extra": extra}):
                    extras.setdefault(extra, []).append(req)
        except InvalidMarker:
            continue
    cuda, pins = _cuda_of(base)
    extra_cuda, extra_cudnn = {}, {}
    for extra, reqs in sorted(extras.items()):
        c, _ = _cuda_of(reqs)
        if c is not None:
            extra_cuda[extra] = c
        if (d := _cudnn_of(reqs)) is not None:
            extra_cudnn[extra] = d
    out: dict[str, Any] = {"cuda": cuda, "pins": pins}
    if (d := _cudnn_of(base)) is not None:
        out["cudnn"] = d
    if extra_cuda:
        out["extras_cuda"] = extra_cuda
    if extra_cudnn:
        out["extras_cudnn"] = extra_cudnn
    return out


def metadata_text(fetcher: Fetcher, wheel: WheelFile) -> tuple[str, str]:
    """(metadata, the URL it came from): PEP 658 file when served, else the wheel's METADATA by ranges."""
    url = wheel.url + ".metadata"
    # PyPI serves PEP 658 files for (nearly) every wheel, even where a mirror's page omits the key.
    try:
        return fetcher.get(url).decode("utf-8", "replace"), url
    except InfraUnavailable:
        if wheel.has_metadata:
            raise
    from launchbuild.refresh import wheelzip
    from launchbuild.refresh.http import UrlRange

    src = UrlRange(fetcher, wheel.url)
    budget = wheelzip.Budget(16 * 1024 * 1024)
    members = wheelzip.central_directory(src, budget)
    meta = next((m for m in members if m.name.endswith(".dist-info/METADATA")), None)
    if meta is None:
        raise ValueError(f"{wheel.filename}: no .dist-info/METADATA")
    return wheelzip.read_member(src, budget, meta, 4 * 1024 * 1024).decode("utf-8", "replace"), f"{wheel.url}#METADATA"


def package_rows(fetcher: Fetcher, name: str, checked: str, max_minors: int = 24) -> list[dict]:
    """One row per (version, machine) with wheels: the facts above, with source and date."""
    page = SIMPLE.format(name=name)
    wheels = parse_simple_page(fetcher.get(page, accept=ACCEPT_JSON))
    rows = []
    for version in newest_per_minor(wheels, max_minors, per_micro=name in PER_MICRO):
        for machine in MACHINES:
            mine = [w for w in wheels if w.version == version and machine in w.machines]
            if not mine:
                continue
            pythons = sorted({p for w in mine for p in w.pythons}, key=lambda v: tuple(map(int, v.split("."))))
            # The metadata of the wheel for the newest Python: the one most jobs install.
            pick = max(mine, key=lambda w: (tuple(map(int, w.pythons[-1].split("."))) if w.pythons else (0,), w.filename))
            text, meta_url = metadata_text(fetcher, pick)
            pins = cuda_pins(text, machine, pick.pythons[-1] if pick.pythons else "3.12")
            rows.append({
                "package": name, "version": str(version), "machine": machine,
                "pythons": pythons, "abi3": any(w.abi3 for w in mine),
                "requires_python": pick.requires_python, **pins,
                "wheel": pick.filename, "sha256": pick.sha256, "url": pick.url,
                "source": meta_url, "checked": checked,
            })
    return rows
