"""nvidia/cuda image facts from NVIDIA's image Dockerfiles (gitlab.com/nvidia/container-images/cuda,
`dist/<version>/<os>/{base,runtime/cudnn*}/Dockerfile`), read from a local checkout or bare git dir.

Per (CUDA version, OS flavour, architecture stage): NVIDIA_REQUIRE_CUDA (as forward-compat
branches + brand order, which reproduce it exactly; checked here), CUDA_VERSION, LD_LIBRARY_PATH
and the cuDNN of the -cudnn- variant. The source of each row is the file path at the commit.
"""

from __future__ import annotations

from typing import Any

import re
import shlex
import subprocess
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

_OS_DIR = re.compile(r"^(ubuntu|debian)(\d+)$")
_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+$")
_STAGE = re.compile(r"^FROM\s+\S+\s+(?:AS|as)\s+base-(amd64|arm64)\s*$")
_BRANCH = re.compile(r"^brand=([a-z]+),driver>=(\d+),driver<(\d+)$")


@dataclass(frozen=True)
class Checkout:
    """A checkout of the container-images repository: a work tree, or a bare git directory."""

    path: Path
    origin: str

    def _git(self, *args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise BadInput(f"--nvidia-dockerfiles {self.path}: git {' '.join(args[:2])} failed ({exc}); pass a checkout of NVIDIA's container-images repository") from None

    @property
    def bare(self) -> bool:
        return not (self.path / "dist").is_dir()

    def commit(self) -> str:
        return self._git("rev-parse", "HEAD").strip()

    def files(self) -> list[str]:
        if self.bare:
            return self._git("ls-tree", "-r", "--name-only", "HEAD", "dist").split()
        return [str(p.relative_to(self.path)) for p in (self.path / "dist").rglob("Dockerfile")]

    def read(self, rel: str) -> str:
        return self._git("show", f"HEAD:{rel}") if self.bare else (self.path / rel).read_text("utf-8")


def _env_assignments(line: str) -> dict[str, str]:
    body = line[3:].strip()
    if "=" in body.split(None, 1)[0]:
        out = {}
        for token in shlex.split(body):
            key, _, value = token.partition("=")
            out[key] = value
        return out
    key, _, value = body.partition(" ")
    return {key: " ".join(shlex.split(value))}


def dockerfile_env(text: str) -> dict[str, dict[str, str]]:
    """ENV values per stage: 'amd64', 'arm64' (their `base-<arch>` stage) and 'common' (the rest)."""
    stages: dict[str, dict[str, str]] = {"common": {}, "amd64": {}, "arm64": {}}
    current = "common"
    for raw in text.splitlines():
        line = raw.strip()
        if line.upper().startswith("FROM "):
            m = _STAGE.match(line)
            current = m.group(1) if m else "common"
            continue
        if line.upper().startswith("ENV "):
            stages[current].update(_env_assignments(line))
    return stages


def branches_of(require: str) -> tuple[tuple[int, ...], tuple[str, ...]] | None:
    """(driver branches, brand order) when the requirement is `cuda>=X.Y` plus one clause per
    brand per branch, in NVIDIA's order; None when it has another shape."""
    terms = require.split()
    if not terms or not terms[0].startswith("cuda>="):
        return None
    branches: list[int] = []
    brands: list[str] = []
    for term in terms[1:]:
        m = _BRANCH.match(term)
        if not m or int(m.group(3)) != int(m.group(2)) + 1:
            return None
        br = int(m.group(2))
        if not branches or branches[-1] != br:
            branches.append(br)
        if len(branches) == 1:
            brands.append(m.group(1))
    return tuple(branches), tuple(brands)


def render_require(cuda_mm: str, branches: tuple[int, ...], brands: tuple[str, ...]) -> str:
    clauses = [f"brand={b},driver>={br},driver<{br + 1}" for br in branches for b in brands]
    return " ".join([f"cuda>={cuda_mm}", *clauses])


def image_rows(checkout: Checkout, checked: str) -> list[dict]:
    """Every (version, OS flavour, arch) row of the checkout's dist/ tree, oldest version first."""
    return _rows(checkout, set(checkout.files()), checkout.commit(), checked)


def _env_of(checkout: Checkout, rel: str) -> dict[str, dict[str, str]]:
    try:
        return dockerfile_env(checkout.read(rel))
    except ValueError as exc:  # an ENV line shlex cannot split (unclosed quote)
        raise BadInput(f"{checkout.path}/{rel}: cannot parse its ENV lines ({exc}); is this NVIDIA's container-images repository?") from None


def _os_label(os_dir: str) -> str | None:
    m = _OS_DIR.match(os_dir)
    if not m:
        return None
    name, digits = m.groups()
    return f"ubuntu{digits[:2]}.{digits[2:]}" if name == "ubuntu" else f"debian{digits}"


def _rows(checkout: Checkout, files: set[str], commit: str, checked: str) -> list[dict]:
    rows = []
    for rel in sorted(files, key=_sort_key):
        parts = rel.split("/")
        # dist/<version>/<os>/base/Dockerfile
        if len(parts) != 5 or parts[3] != "base" or parts[4] != "Dockerfile" or not _VERSION_DIR.match(parts[1]):
            continue
        version, os_dir = parts[1], parts[2]
        label = _os_label(os_dir)
        if label is None:
            continue
        base = _env_of(checkout, rel)
        cudnn_rel = next((f for f in sorted(files) if re.fullmatch(rf"dist/{re.escape(version)}/{os_dir}/runtime/cudnn\d*/Dockerfile", f)), None)
        cudnn_env = _env_of(checkout, cudnn_rel) if cudnn_rel else None
        for arch in ("amd64", "arm64"):
            env = {**base["common"], **base[arch]}
            require = env.get("NVIDIA_REQUIRE_CUDA")
            cuda_version = base["common"].get("CUDA_VERSION") or env.get("CUDA_VERSION")
            if not require or not cuda_version:
                continue
            row: dict[str, Any] = {"cuda": cuda_version, "os": label, "arch": arch}
            shape = branches_of(require)
            if shape is not None and render_require(require.split()[0][len("cuda>="):], *shape) == require:
                row["require_cuda_min"] = require.split()[0][len("cuda>="):]
                row["forward_compat_branches"] = list(shape[0])
                row["brands"] = list(shape[1])
            else:
                row["require_cuda"] = require  # another shape: kept verbatim
            if "LD_LIBRARY_PATH" in env:
                row["ld_library_path"] = env["LD_LIBRARY_PATH"]
            cudnn = None
            if cudnn_env is not None:
                cenv = {**cudnn_env["common"], **cudnn_env[arch]}
                cudnn = cenv.get("NV_CUDNN_VERSION")
            row["cudnn"] = re.sub(r"-\d+$", "", cudnn) if cudnn else None
            sources = [rel] + ([cudnn_rel] if cudnn_rel else [])
            row["source"] = f"{checkout.origin} {' '.join(sources)} @ {commit[:12]}"
            row["checked"] = checked
            rows.append(row)
    return rows


def _sort_key(rel: str):
    parts = rel.split("/")
    try:
        return (tuple(int(p) for p in parts[1].split(".")), rel)
    except ValueError:
        return ((9999,), rel)
