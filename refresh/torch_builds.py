"""torch.json `builds` (the arch list of each release's +cuXYZ wheels) from the build script that
made them: `manywheel/build_cuda.sh` (1.10: `manywheel/build.sh`) of pytorch/builder's release/X.Y branch (torch 1.10 to 2.5;
later releases build from pytorch/pytorch's .ci/, not reachable here).

The script sets TORCH_CUDA_ARCH_LIST (a base value, then per CUDA version in a `case` statement,
appending with "${TORCH_CUDA_ARCH_LIST};..." or replacing it; "+PTX" marks the PTX arch). This
module evaluates that part of the script for one CUDA version on x86_64, and refuses (ValueError)
what it does not understand, such as an assignment under a condition it cannot decide.
"""

from __future__ import annotations

import fnmatch
import re

from launchbuild.refresh.upstream import Upstream

PATH = "manywheel/build_cuda.sh"
# release/X.Y of pytorch/builder, pinned: (torch minor, commit, commit date).
RELEASES = (
    ("1.10", "f0f41b25781aeb12a59937da169d87aece5a90c5", "2021-12-09"),
    ("1.11", "e77e5d077c1870283a7b391bf58e4857c58fb7f4", "2022-03-09"),
    ("1.12", "049415d44cf345cc531962e15160d910b2f9d620", "2022-07-22"),
    ("1.13", "d08f22640ad6f332026f26242d458b8d157187be", "2022-12-07"),
    ("2.0", "9f0fad92f342b146272d0f99d3969c2c148e80ba", "2023-03-16"),
    ("2.1", "55d40b1b06379fddd0ba14744dc3fdd768530da6", "2023-12-12"),
    ("2.2", "af60d11447443059c6c6c7590241a446a33db0f9", "2024-03-19"),
    ("2.3", "ba10bae9fe9b93365412297d40bc9a3a3eae6155", "2024-05-08"),
    ("2.4", "4ce1afeb2262808c1e9707b93682ac66acf2db2a", "2024-08-22"),
    ("2.5", "aec5fb5de2380a9084f4bb430eec4e576066a17c", "2024-10-15"),
)
# torch 1.10's branch had the CUDA part in manywheel/build.sh; it moved to build_cuda.sh in 1.11.
UPSTREAMS = {minor: Upstream(f"torch-builder-{minor}", "pytorch/builder", "manywheel/build.sh" if minor == "1.10" else PATH,
                             commit, date, at_commit_only=True)
             for minor, commit, date in RELEASES}

_ASSIGN = re.compile(r'^\s*TORCH_CUDA_ARCH_LIST="([^"]*)"\s*$')
_ARM = re.compile(r"^\s*([^()\s][^()]*)\)\s*$")


def _value(text: str, current: str | None) -> str:
    if "${TORCH_CUDA_ARCH_LIST}" in text:
        if current is None:
            raise ValueError("TORCH_CUDA_ARCH_LIST appended to before it is set")
        text = text.replace("${TORCH_CUDA_ARCH_LIST}", current)
    if "$" in text:
        raise ValueError(f"TORCH_CUDA_ARCH_LIST={text!r} uses a variable this reader does not know")
    return text


def _condition(line: str, machine: str) -> bool | None:
    """True/False for the conditions the script branches on per machine; None for others."""
    if "GPU_ARCH_TYPE" in line and "cuda-aarch64" in line:
        is_aarch64 = "!=" not in line
        return (machine == "aarch64") == is_aarch64
    return None


def arch_list(script: str, cuda: str, machine: str = "x86_64") -> str | None:
    """TORCH_CUDA_ARCH_LIST for one CUDA version ('12.4'), or None when no case arm matches it."""
    lines = script.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if re.match(r"^\s*case \$\{?CUDA_VERSION\}? in", line))
        end = next(i for i in range(start, len(lines)) if lines[i].strip() == "esac")
    except StopIteration:
        raise ValueError("no `case ${CUDA_VERSION} in ... esac` block") from None
    value: str | None = None
    for line in lines[:start]:  # the base value, set before the case statement
        if (m := _ASSIGN.match(line)) is not None:
            value = _value(m.group(1), value)
    matched = False
    stack: list[bool | None] = []
    for line in lines[start + 1:end]:
        text = line.strip()
        if not matched:
            if (m := _ARM.match(line)) is not None and any(fnmatch.fnmatchcase(cuda, p.strip()) for p in m.group(1).split("|")):
                if m.group(1).strip() == "*":
                    return None  # only the catch-all: this CUDA is not built
                matched = True
            continue
        if text == ";;":
            break
        if text.startswith("if "):
            stack.append(_condition(text, machine))
        elif text in ("else", "fi") and not stack:
            raise ValueError(f"`{text}` without `if` in the case arm")
        elif text == "else":
            stack[-1] = None if stack[-1] is None else not stack[-1]
        elif text == "fi":
            stack.pop()
        elif (m := _ASSIGN.match(line)) is not None:
            if any(c is None for c in stack):
                raise ValueError(f"TORCH_CUDA_ARCH_LIST set under a condition this reader cannot decide: {text}")
            if all(stack):
                value = _value(m.group(1), value)
    return value if matched else None


def build_rows(script: str, torch_minor: str, variants: list[str], citation: str, today: str) -> list[dict]:
    """One row per +cuXYZ variant of the release whose CUDA the script builds."""
    rows = []
    for variant in variants:
        m = re.fullmatch(r"cu(\d+)(\d)", variant)
        if m is None:
            continue
        listed = arch_list(script, f"{m.group(1)}.{m.group(2)}")
        if not listed:
            continue
        archs, ptx = [], None
        for item in (a.strip() for a in listed.split(";") if a.strip()):
            cc = item.removesuffix("+PTX")
            if not re.fullmatch(r"\d+\.\d+", cc):
                raise ValueError(f"TORCH_CUDA_ARCH_LIST item {item!r} is not X.Y[+PTX]")
            archs.append(cc)
            if item.endswith("+PTX"):
                ptx = cc
        row = {"torch": torch_minor, "variant": variant,
               "archs": sorted(set(archs), key=lambda c: tuple(map(int, c.split(".")))),
               "source": f"{citation} (TORCH_CUDA_ARCH_LIST for CUDA {m.group(1)}.{m.group(2)} on x86_64: {listed})",
               "checked": today}
        if ptx:
            row["ptx"] = ptx
        rows.append(row)
    return rows
