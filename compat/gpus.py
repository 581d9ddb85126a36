"""GPU name -> compute capability, forgiving about how people and nvidia-smi spell names."""

from __future__ import annotations

import difflib
import functools
import re

from launchbuild.compat import data
from launchbuild.compat.data import GpuRow

# Vendor/brand words nvidia-smi and people add or drop freely ("NVIDIA", "Tesla T4").
_DROP_WORDS = ("nvidia", "tesla", "geforce")
# Form-factor suffixes nvidia-smi prints for notebook parts ("RTX 3050 Laptop GPU", "RTX 2070
# with Max-Q Design"): the same chip generation, so the same compute capability.
_FORM_FACTOR = re.compile(r"\s+(?:laptop(?: gpu)?|mobile|(?:with )?max q(?: design)?|max p)$")
# GeForce model numbers: the first digits name the generation ("rtx 3050" -> "rtx 30"), and one
# generation shares one compute capability (Turing 20, Ampere 30, Ada 40, Blackwell 50).
# Only consumer numbering (x050..x090, optional Ti/Super): "RTX 2000 Ada" or "RTX 4000" are
# workstation parts of another generation.
_GEFORCE_NUMBER = re.compile(r"^(rtx|gtx) (\d{2})([5-9]0)(?: ti)?(?: super)?$")


def normalize(name: str) -> str:
    text = re.sub(r"[\s_\-]+", " ", name.strip().lower())
    words = [w for w in text.split(" ") if w]
    while words and words[0] in _DROP_WORDS:
        words = words[1:]
    text = " ".join(words)
    while True:
        stripped = _FORM_FACTOR.sub("", text)
        if stripped == text:
            return text
        text = stripped


@functools.cache
def _index() -> dict[str, GpuRow]:
    index: dict[str, GpuRow] = {}
    for row in data.gpu_rows():
        for spelling in (row.name, *row.aliases):
            index.setdefault(normalize(spelling), row)
    return index


def lookup(name: str) -> GpuRow | None:
    """Exact spelling first, then the longest known model name the input starts with
    ('a100 sxm4 40gb' -> 'a100', 'h100 80gb hbm3' -> 'h100')."""
    key = normalize(name)
    if not key:
        return None
    index = _index()
    if key in index:
        return index[key]
    candidates = [k for k in index if key.startswith(k + " ")]
    if not candidates:
        return _same_generation(key, name)
    return index[max(candidates, key=len)]


def _same_generation(key: str, name: str) -> GpuRow | None:
    """A GeForce model the table does not list ('RTX 3050', 'RTX 4050'): when every listed model
    of its generation has one compute capability, that is its capability too. A generation the
    table does not know, or one that mixes capabilities, stays unknown."""
    m = _GEFORCE_NUMBER.match(key)
    if m is None:
        return None
    prefix = f"{m.group(1)} {m.group(2)}"
    peers = {row for k, row in _index().items() if (p := _GEFORCE_NUMBER.match(k)) and f"{p.group(1)} {p.group(2)}" == prefix}
    ccs = {row.cc for row in peers}
    if len(ccs) != 1 or any(row.datacenter for row in peers):
        return None
    return GpuRow(name.strip(), ccs.pop(), False, ())


def close_matches(name: str, n: int = 4) -> list[str]:
    key = normalize(name)
    names = {normalize(r.name): r.name for r in data.gpu_rows()}
    hits = difflib.get_close_matches(key, list(names), n=n, cutoff=0.5)
    if not hits:
        hits = [k for k in names if key and (key in k or k in key)][:n]
    return [names[h] for h in hits]


def by_cc(cc: tuple[int, int]) -> tuple[GpuRow, ...]:
    return tuple(r for r in data.gpu_rows() if r.cc == cc)
