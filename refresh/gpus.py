"""`gpus.json` from the PCI ID repository (pci.ids) and the chip -> compute capability mapping.

pci.ids names every NVIDIA device by PCI ID, as `<id>  <chip>[suffix] [<marketing name>]`
("13bd  GM107GL [Tesla M10]"). The chip says the compute capability: a GPU's SMs are its chip's.
So each marketing name gets the CC of its chip from `CHIP_CC` (one row per chip family, from the
CUDA Programming Guide's compute-capability tables and NVIDIA's architecture whitepapers), and
its forward-compatibility class from its name (`forward_compat_class`). Names on chips the
mapping does not know (pre-Kepler, chipsets, bridges, audio) are skipped; a name that two chips
of different CC share is dropped (it is ambiguous, so it stays unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NVIDIA_VENDOR = "10de"

# Chip (as pci.ids spells it, without the GL/M/BM/GLM suffixes) -> compute capability.
CHIP_CC: dict[str, str] = {
    **{c: "3.0" for c in ("GK104", "GK106", "GK107")}, "GK20A": "3.2",
    **{c: "3.5" for c in ("GK110", "GK110B", "GK180", "GK208", "GK208B")}, "GK210": "3.7",
    **{c: "5.0" for c in ("GM107", "GM108")}, **{c: "5.2" for c in ("GM200", "GM204", "GM206")}, "GM20B": "5.3",
    "GP100": "6.0", **{c: "6.1" for c in ("GP102", "GP104", "GP106", "GP107", "GP108")}, "GP10B": "6.2",
    "GV100": "7.0", "GV10B": "7.2",
    **{c: "7.5" for c in ("TU102", "TU104", "TU106", "TU116", "TU117")},
    "GA100": "8.0", **{c: "8.6" for c in ("GA102", "GA103", "GA104", "GA106", "GA107")}, "GA10B": "8.7",
    **{c: "8.9" for c in ("AD102", "AD103", "AD104", "AD106", "AD107")},
    "GH100": "9.0",
    "GB100": "10.0", "GB102": "10.0", "GB110": "10.3", "GB10B": "11.0",
    **{c: "12.0" for c in ("GB202", "GB203", "GB205", "GB206", "GB207")}, "GB20B": "12.1",
}
CHIP_CC_SOURCE = (
    "chip -> compute capability: docs.nvidia.com/cuda/cuda-c-programming-guide (compute capabilities: 3.x Kepler, "
    "5.x Maxwell, 6.x Pascal, 7.0 Volta, 7.5 Turing, 8.0/8.6/8.7 Ampere, 8.9 Ada, 9.0 Hopper, 10.x/11.0/12.x "
    "Blackwell) with NVIDIA's architecture whitepapers for the chip of each (GM107/GM108 first-generation Maxwell "
    "5.0; GM20x 5.2; GP100 6.0, GP10x 6.1; GA100 8.0, GA10x 8.6; GB100/GB102 10.0, GB110 10.3, GB10B Thor 11.0, "
    "GB20x 12.0, GB20B 12.1)"
)
CLASS_SOURCE = ("docs.nvidia.com/deploy/cuda-compatibility/forward-compatibility.html: forward compatibility is "
                "supported on NVIDIA Data Center GPUs (Tesla and the unbranded data-center letters A/B/H/L/T), "
                "select NGC Server Ready RTX SKUs (RTX PRO Server Edition) and Jetson boards")

_DEVICE = re.compile(r"^\t([0-9a-f]{4})\s+(\S+)\s+\[(.+)\]\s*$")
_NOT_A_GPU = re.compile(r"nvswitch|reserved|initial dev|\bint sku\b|audio|usb|bridge|controller|\bes\b|"
                        r"engineering|dev id|skinny joe|generic-gpu|desktop device|sku\d|\bpg\d{3}", re.I)
# Unbranded data-center names: A100, A10G, H800, L40S, GH200, GB300, B200, HGX B200, AX800, T4/T4G.
_INTERNAL = re.compile(r"^(?:(?:(?:GK|GM|GP|GV|TU|GA|AD)\d{3}|GH100|GB1\d\d)[A-Z]?(?:[\s-]|$)|[DNPQ]1\d[A-Z]|[DN]\d\d[A-Z]\d|NB1|EXK|GEN\d|PH\d|AC AD|\d+GB$)")
_DATACENTER_NAME = re.compile(r"^(?:(?:hgx|dgx) )?(?:[abhl]\d{1,3}[a-z]?|g[hb]\d{3}|ax\d{3}|t4g?|t10|t40)(?:[\s-]|$)", re.I)
# Unbranded workstation names: the Turing T400/T600/T1000 and the 'RTX 2000E Ada Generation' kind.
_WORKSTATION_NAME = re.compile(r"^t\d{3,4}\b|.*\bada generation\b", re.I)
_CONSUMER_BRAND = re.compile(r"\b(?:geforce|quadro|titan|rtx|cmp|nvs|drive|embedded|laptop|mobile|max-q)\b", re.I)


def nvidia_devices(text: str) -> Iterable[tuple[str, str, str]]:
    """(pci device id, chip token, marketing name) for each NVIDIA device line of pci.ids."""
    inside = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith("\t"):
            inside = line.startswith(NVIDIA_VENDOR + " ")
            continue
        if inside and (m := _DEVICE.match(line)) is not None:
            yield m.group(1), m.group(2), m.group(3)


def chip_cc(token: str) -> tuple[str, str] | None:
    """(chip, CC) for a pci.ids chip token such as 'TU117GLM' or 'GK208BM'; None if unknown."""
    for n in range(len(token), 3, -1):
        if token[:n] in CHIP_CC:
            return token[:n], CHIP_CC[token[:n]]
    return None


def split_names(bracket: str) -> list[str]:
    """'A2 / A16' -> ['A2', 'A16']; 'Quadro RTX 6000/8000' -> ['Quadro RTX 6000', 'Quadro RTX 8000'];
    'GH200 120GB / 480GB' -> ['GH200 120GB', 'GH200 480GB']. A later one-word part takes the first
    part's leading words; a later part without a digit ('Max-Q') names no model and is dropped, and so are
    internal board codes ('GK104-CS', 'D15M2-10', 'P1001')."""
    parts = [p.strip() for p in bracket.split("/") if p.strip()]
    if not parts:
        return []
    first = parts[0]
    stem = first.rsplit(" ", 1)[0] if " " in first else ""
    later = [f"{stem} {p}" if stem and " " not in p else p for p in parts[1:] if re.search(r"\d", p)]
    return [n for n in [first, *later] if len(n) <= 80 and not _INTERNAL.match(n)]


def forward_compat_class(name: str, chip: str) -> tuple[bool | None, bool]:
    """(datacenter, jetson) for a marketing name: Tesla, GRID, Server Edition and unbranded
    data-center letters are Data Center; Jetson (and Tegra chips) run forward-compatible images
    as well; GeForce/Quadro/TITAN/RTX workstation and laptop parts do not; anything else unknown."""
    if "jetson" in name.lower() or chip in ("GK20A", "GM20B", "GP10B", "GV10B", "GA10B", "GB10B"):
        return None, True
    if re.search(r"\btesla\b|\bgrid\b|server edition", name, re.I):
        return True, False
    if _CONSUMER_BRAND.search(name) or _WORKSTATION_NAME.match(name):
        return False, False
    if _DATACENTER_NAME.match(name):
        return True, False
    return None, False


def gpu_rows(text: str, citation: str, today: str) -> tuple[list[dict], list[str]]:
    """Rows of gpus.json, and one note per name dropped as ambiguous."""
    from launchbuild.core.gpu_names import normalize  # one row per spelling the lookup tells apart

    by_name: dict[str, dict] = {}
    clash: dict[str, set[str]] = {}
    for dev_id, token, bracket in nvidia_devices(text):
        got = chip_cc(token)
        if got is None or _NOT_A_GPU.search(bracket):
            continue
        chip, cc = got
        for name in split_names(bracket):
            key = normalize(name)
            row = by_name.get(key)
            if row is not None and len(name) < len(row["name"]):
                row["name"] = name  # 'GeForce GTX 980' over 'GeForce GTX 980 Mobile': one chip generation
            if row is None:
                datacenter, jetson = forward_compat_class(name, chip)
                row = by_name[key] = {"name": name, "cc": cc, "datacenter": datacenter, "aliases": [],
                                      "chips": [], "pci_ids": []}
                if jetson:
                    row["forward_compat"] = True
            if row["cc"] != cc:
                clash.setdefault(key, {row["cc"]}).add(cc)
            if chip not in row["chips"]:
                row["chips"].append(chip)
            row["pci_ids"].append(f"{NVIDIA_VENDOR}:{dev_id}")
    notes = [f"gpus: '{by_name[k]['name']}' dropped: pci.ids gives it chips of CC {', '.join(sorted(v))}" for k, v in clash.items()]
    rows = []
    for key, row in by_name.items():
        if key in clash:
            continue
        row["source"] = (f"{citation} (PCI {', '.join(row['pci_ids'])}: {'/'.join(row['chips'])}); the chip's CC and "
                         "the name's class: see the table's source")
        row["checked"] = today
        rows.append(row)
    rows.sort(key=lambda r: (tuple(int(p) for p in r["cc"].split(".")), r["name"].lower()))
    return rows, notes


def _resolves(name: str, keys: set[str]) -> bool:
    from launchbuild.core.gpu_names import normalize

    key = normalize(name)
    return key in keys or any(k.startswith(key + " ") or key.startswith(k + " ") for k in keys)


def carried_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Rows of the previous table that pci.ids cannot give (integrated Jetson GPUs are no PCI
    devices; a name pci.ids leaves ambiguous), none of whose spellings the new rows resolve: kept
    with their own citation and marked manual, so the refresh never silently forgets a model."""
    from launchbuild.core.gpu_names import normalize

    keys = {normalize(r["name"]) for r in new} | {normalize(a) for r in new for a in r["aliases"]}
    out = []
    for row in old:
        if row.get("chips"):  # produced by this source before: never carried
            continue
        if any(_resolves(n, keys) for n in (row["name"], *row.get("aliases", []))):
            continue
        out.append({**row, "manual": True})
    return out
