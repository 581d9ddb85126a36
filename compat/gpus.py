"""GPU name -> compute capability, forgiving about how people and nvidia-smi spell names."""

from __future__ import annotations

import difflib
import functools
import re

from launchbuild.compat import data
from launchbuild.compat.data import GpuRow
from launchbuild.core.gpu_names import normalize

# GeForce model numbers: the first digits name the generation ("rtx 3050" -> "rtx 30"), and one
# generation shares one compute capability (Turing 20, Ampere 30, Ada 40, Blackwell 50).
# Only consumer numbering (x050..x090, optional Ti/Super): "RTX 2000 Ada" or "RTX 4000" are
# workstation parts of another generation.
_GEFORCE_NUMBER = re.compile(r"^(rtx|gtx) (\d{2})([5-9]0)(?: ti)?(?: super)?$")


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
    found = _variants_of(key, name)  # 'rtx pro 4500 server' -> its '... server edition', not the workstation card
    if found is not None:
        return found
    candidates = [k for k in index if key.startswith(k + " ")]
    if candidates:
        return index[max(candidates, key=len)]
    # 'a100 80gb pcie' (nvidia-smi's spelling; pci.ids says 'A100 PCIe 80GB'): the model word's variants
    words = key.split(" ")
    for n in range(len(words) - 1, 0, -1):
        if not re.search(r"\d", words[n - 1]):
            continue  # only a model number names a model ('dgx spark' is not a 'dgx' part)
        found = _variants_of(" ".join(words[:n]), name)
        if found is not None:
            return found
    return _same_generation(key, name)


def _variants_of(key: str, name: str) -> GpuRow | None:
    """A name that only its variants are listed under ('A100' -> 'A100 SXM4 40GB', 'A100 PCIe
    80GB', ...; 'K40' -> 'K40c', 'K40m'; 'RTX PRO 6000' -> its Workstation and Server Editions):
    theirs when they agree on the capability; the class is theirs when they agree on it, else
    unknown (None)."""
    peers = {row for k, row in _index().items()
             if k.startswith(key + " ") or (k.startswith(key) and " " not in k[len(key):] and k[len(key):].isalpha()
                                            and key[-1:].isdigit())}
    ccs = {row.cc for row in peers}
    if len(ccs) != 1:
        return None
    classes = {row.datacenter for row in peers}
    datacenter = classes.pop() if len(classes) == 1 else None
    return GpuRow(name.strip(), ccs.pop(), datacenter, ())


# Families whose name says the architecture, each as (pattern, the fewest listed models that must
# agree): GeForce generations above; workstation "RTX A4000" (Ampere) and "RTX 4000 Ada"; data-
# center letters, whose letter names the architecture (H800 -> Hopper, L20 -> Ada Lovelace). A
# letter's architecture can still mix capabilities (A100 8.0 vs A10 8.6, P100 6.0 vs P40 6.1):
# then the table's models disagree and the name stays unknown, so two must agree for a letter.
_FAMILIES = (
    (_GEFORCE_NUMBER, lambda m: f"{m.group(1)} {m.group(2)}", 1),
    (re.compile(r"^rtx a(\d{4})$"), lambda m: "rtx a", 1),
    (re.compile(r"^rtx (\d{4}) ada(?: generation)?$"), lambda m: "rtx ada", 1),
    (re.compile(r"^([a-z])(\d{1,3})[a-z]?(?: .*)?$"), lambda m: m.group(1), 2),  # "h800 80gb hbm3"
)


def _family(key: str) -> tuple[int, str] | None:
    for i, (pattern, family, _need) in enumerate(_FAMILIES):
        if (m := pattern.match(key)) is not None:
            return i, family(m)
    return None


def _same_generation(key: str, name: str) -> GpuRow | None:
    """A model the table does not list ('RTX 3050', 'RTX A4000', 'H800'): when the listed models of
    its family (see _FAMILIES) all have one compute capability and one forward-compatibility
    class, those are its own. A family the table does not know, or one that mixes them, stays
    unknown."""
    family = _family(key)
    if family is None:
        return None
    peers = {row for k, row in _index().items() if _family(k) == family}
    ccs = {row.cc for row in peers}
    classes = {row.datacenter for row in peers}
    if len(peers) < _FAMILIES[family[0]][2] or len(ccs) != 1 or len(classes) != 1:
        return None
    listed = ", ".join(sorted(row.name for row in peers))
    return GpuRow(name.strip(), ccs.pop(), classes.pop(), (), inferred_from=listed)


def close_matches(name: str, n: int = 4) -> list[str]:
    key = normalize(name)
    names = {normalize(r.name): r.name for r in data.gpu_rows()}
    hits = difflib.get_close_matches(key, list(names), n=n, cutoff=0.5)
    if not hits:
        hits = [k for k in names if key and (key in k or k in key)][:n]
    return [names[h] for h in hits]


def by_cc(cc: tuple[int, int]) -> tuple[GpuRow, ...]:
    return tuple(r for r in data.gpu_rows() if r.cc == cc)
