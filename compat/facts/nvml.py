"""`--gpu auto`: the GPUs and driver of this machine, read through NVML (nvidia-ml-py).

pynvml is imported only here and only when asked, so hosts without a GPU never need it.
"""

from __future__ import annotations

import importlib
from typing import Any

from launchbuild.errors import BadInput

_HOW = "--gpu auto needs an NVIDIA GPU host with its driver and `pip install launchbuild[gpu]`; otherwise pass --gpu NAME and --driver VERSION"


class NoLocalGpu(BadInput):
    """`--gpu auto` was asked on a host where NVML cannot list any GPU."""


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def local_gpus() -> tuple[tuple[str, ...], str]:
    """(GPU names, driver version) of this host, e.g. (("NVIDIA H100 80GB HBM3",), "550.54.15")."""
    try:
        pynvml = importlib.import_module("pynvml")
    except ImportError:
        raise NoLocalGpu(f"nvidia-ml-py is not installed: {_HOW}") from None
    error = getattr(pynvml, "NVMLError", Exception)
    try:
        pynvml.nvmlInit()
    except error as exc:
        raise NoLocalGpu(f"NVML could not start ({_text(exc) or 'no NVIDIA driver'}): {_HOW}") from None
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion()).strip()
        count = int(pynvml.nvmlDeviceGetCount())
        names = tuple(_text(pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))).strip() for i in range(count))
    except error as exc:
        raise NoLocalGpu(f"NVML could not list the GPUs ({_text(exc)}): {_HOW}") from None
    finally:
        try:
            pynvml.nvmlShutdown()
        except error:
            pass
    if not names:
        raise NoLocalGpu(f"NVML found no GPU on this host: {_HOW}")
    return names, driver
