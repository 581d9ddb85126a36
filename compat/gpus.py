"""GPU name -> compute capability, forgiving about how people and nvidia-smi spell names."""

from __future__ import annotations

import difflib
import functools
import re

from launchbuild.compat import data
from launchbuild.compat.data import GpuRow

# Vendor/brand words nvidia-smi and people add or drop freely ("NVIDIA", "Tesla T4").
_DROP_WORDS = ("nvidia", "tesla", "geforce")


def normalize(name: str) -> str:
    text = re.sub(r"[\s_\-]+", " ", name.strip().lower())
    words = [w for w in text.split(" ") if w]
    while words and words[0] in _DROP_WORDS:
        words = words[1:]
    return " ".join(words)


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
        return None
    return index[max(candidates, key=len)]


def close_matches(name: str, n: int = 4) -> list[str]:
    key = normalize(name)
    names = {normalize(r.name): r.name for r in data.gpu_rows()}
    hits = difflib.get_close_matches(key, list(names), n=n, cutoff=0.5)
    if not hits:
        hits = [k for k in names if key and (key in k or k in key)][:n]
    return [names[h] for h in hits]


def by_cc(cc: tuple[int, int]) -> tuple[GpuRow, ...]:
    return tuple(r for r in data.gpu_rows() if r.cc == cc)
