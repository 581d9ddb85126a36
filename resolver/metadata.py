"""The source run's metadata file (wandb-metadata.json style): python, cuda, gpu, gpu_count."""

from __future__ import annotations

import re
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.limits import clip, load_json, read_bounded
from launchbuild.paths import display_path
from launchbuild.resolver.python_version import normalize


@dataclass(frozen=True)
class RunMetadata:
    """The source run's metadata file (wandb-metadata.json), validated; its Python is a candidate
    for the target's."""

    path: str
    python: str | None = None  # "3.10", normalized from e.g. "3.10.12" / "CPython 3.10.12"
    python_full: str | None = None  # as recorded
    cuda: str | None = None  # "12.1"
    gpu: str | None = None  # "NVIDIA A100-SXM4-80GB"
    gpu_count: int | None = None


def read_run_metadata(path: Path) -> RunMetadata:
    """Read and validate a run metadata file; BadInput names the file and the bad field."""
    shown = clip(str(path))
    data = load_json(read_bounded(path, "cannot read run metadata"), f"run metadata {shown} is not valid JSON")  # caps: limits.py
    if not isinstance(data, dict):
        raise BadInput(f"run metadata {path} is not a JSON object", hint="pass the run's wandb-metadata.json")

    python_full = data.get("python")
    python = None
    if python_full is not None:
        if not isinstance(python_full, str):
            raise BadInput(f"field 'python' in {path} is not a string", hint="expected e.g. \"3.10.12\"")
        # wandb writes "3.10.12" or "CPython 3.10.12"
        m = re.search(r"(\d+\.\d+(?:\.\d+)?)", python_full)
        if not m:
            raise BadInput(f"field 'python' in {path} holds no version: {clip(repr(python_full))}",
                           hint="expected e.g. \"3.10.12\"")
        python = normalize(m.group(1), f"{path} field 'python'")

    cuda = data.get("cuda")
    if cuda is not None:
        if not isinstance(cuda, str) or not re.fullmatch(r"\d{1,2}\.\d{1,2}(?:\.\d+)?", cuda.strip()):
            raise BadInput(f"field 'cuda' in {path} is not a CUDA version: {cuda!r}", hint="expected e.g. \"12.1\"")
        cuda = cuda.strip()

    gpu = data.get("gpu")
    if gpu is not None and not isinstance(gpu, str):
        raise BadInput(f"field 'gpu' in {path} is not a string: {gpu!r}", hint="expected e.g. \"NVIDIA H100\"")

    gpu_count = data.get("gpu_count")
    if gpu_count is not None:
        if isinstance(gpu_count, bool) or not isinstance(gpu_count, int) or gpu_count < 0:
            raise BadInput(f"field 'gpu_count' in {path} is not a count: {gpu_count!r}",
                           hint="expected a non-negative integer")
    return RunMetadata(path=display_path(path), python=python, python_full=python_full, cuda=cuda,
                       gpu=gpu.strip() if gpu else None, gpu_count=gpu_count)
