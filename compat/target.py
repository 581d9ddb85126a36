"""What the job will run on: `--gpu` and `--driver`, parsed into values (`--platform`: core/platform.py).

Bad values raise `BadInput` with one line: what was wrong, where, what to do.
"""

from __future__ import annotations

import re
from dataclasses import field

from launchbuild.compat import cuda, data, gpus
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

@dataclass(frozen=True)
class Gpu:
    """One GPU the job targets, a model or a bare capability (`H100`, `sm_90`): its compute
    capability and forward-compatibility class."""

    name: str  # the model ("H100") or, for a bare capability, "sm_90"
    cc: tuple[int, int]
    datacenter: bool | None = None  # None: not known (a bare capability, SKU-dependent)
    inferred_from: str = ""  # a model data/gpus.json lacks: the listed models its facts come from

    @property
    def sm(self) -> str:
        return cuda.sm_text(self.cc)

    def describe(self) -> str:
        return self.name if self.name == self.sm else f"{self.name} ({self.sm})"


@dataclass(frozen=True, order=True)
class DriverVersion:
    """The target's NVIDIA driver version (the `driver` option): ordered by its numeric parts,
    shown as written."""

    parts: tuple[int, ...]
    text: str = field(compare=False)

    @property
    def major(self) -> int:
        return self.parts[0]

    @property
    def cuda(self) -> tuple[int, int] | None:
        """The newest CUDA this driver supports (nvidia-smi's 'CUDA Version')."""
        return cuda.driver_cuda(self.parts)

    def at_least(self, other: tuple[int, ...]) -> bool:
        return data.version_cmp_key(self.parts) >= data.version_cmp_key(other)

    def __str__(self) -> str:
        return self.text


_CC_RE = re.compile(r"^(?:sm_?|compute_?)?(\d{1,2})\.?(\d)$", re.IGNORECASE)


def _known_ccs() -> set[tuple[int, int]]:
    out = set()
    for _, sms in data.cuda_arch_rows():
        out |= {(s // 10, s % 10) for s in sms}
    out |= {r.cc for r in data.gpu_rows()}
    return out


def parse_gpu(text: str, where: str = "--gpu") -> Gpu:
    """'H100', 'NVIDIA A100-SXM4-40GB', 'Tesla T4', 'sm_90', '9.0' (case-insensitive); `where`
    names where the value came from in messages (the flag, a variable, a file and its key)."""
    raw = (text or "").strip()
    if not raw:
        raise BadInput(f"{where} is empty: give a GPU model (H100, A100, T4) or a compute capability (sm_90, 9.0)")
    m = _CC_RE.match(raw)
    if m and (raw.lower().startswith(("sm", "compute")) or "." in raw):
        cc = (int(m.group(1)), int(m.group(2)))
        if cc not in _known_ccs():
            known = ", ".join(f"sm_{a}{b}" for a, b in sorted(_known_ccs()))
            raise BadInput(f"{where} {raw}: no NVIDIA GPU has compute capability {cc[0]}.{cc[1]}; known: {known}")
        same = gpus.by_cc(cc)
        datacenter = None
        if same and all(r.datacenter is True for r in same):
            datacenter = True
        return Gpu(cuda.sm_text(cc), cc, datacenter)
    row = gpus.lookup(raw)
    if row is None:
        close = gpus.close_matches(raw)
        hint = f"did you mean {', '.join(close)}?" if close else "known models are in data/gpus.json;"
        raise BadInput(
            f"{where} {raw!r}: unknown GPU model; {hint} Or pass its compute capability (e.g. sm_90 or 9.0)"
        )
    return Gpu(row.name, row.cc, row.datacenter, row.inferred_from)


_DRIVER_RE = re.compile(r"^(\d{3})(?:\.(\d{1,3}))(?:\.(\d{1,3}))?$")


def parse_driver(text: str, where: str = "--driver") -> DriverVersion:
    """'535.104.05', '570.26' -> DriverVersion. A CUDA version given by mistake is named as such;
    `where` names where the value came from in messages."""
    raw = (text or "").strip()
    m = _DRIVER_RE.match(raw)
    if not m:
        if re.match(r"^\d{1,2}(\.\d+){0,2}$", raw):
            raise BadInput(
                f"{where} {raw}: looks like a CUDA version, not a driver version; pass the "
                "'Driver Version' nvidia-smi prints, e.g. 535.104.05"
            )
        raise BadInput(f"{where} {raw!r}: not a driver version; use the form nvidia-smi prints, e.g. 535.104.05")
    parts = tuple(int(g) for g in m.groups() if g is not None)
    return DriverVersion(parts, raw)
