"""`cuda_archs.json` from CMake's Modules/Internal/CMakeCUDAArchitecturesAll.cmake.

That file is the list `CUDA_ARCHITECTURES=all` compiles for, per toolkit version: a base `set()`
and `list(APPEND|REMOVE_ITEM ...)` under `if(<toolkit> VERSION_GREATER_EQUAL X [AND ...])`. This
module evaluates it as CMake would for nvcc (compiler id "NVIDIA") at every toolkit version the
file compares against, and writes one row per version where the list changes. Only the commands
and conditions that file uses are understood; anything else is a ValueError (the refresh stops
rather than guess), so an upstream rewrite is noticed.
"""

from __future__ import annotations

import re

VAR = "CMAKE_CUDA_ARCHITECTURES_ALL"
_COMMAND = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_VERSION_TEST = re.compile(r"[\w${}]*TOOLKIT_VERSION\s+(VERSION_(?:GREATER_EQUAL|GREATER|LESS_EQUAL|LESS|EQUAL))\s+([\d.]+)")
_COMPILER_ID = re.compile(r"[\w${}]*COMPILER_ID\s+STREQUAL\s+\"(\w+)\"")
_COMPILER_VERSION = re.compile(r"[\w${}]*COMPILER_VERSION\s+VERSION_\w+\s+[\d.]+")


def _vt(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def commands(text: str) -> list[tuple[str, str]]:
    """(command, argument text) in order; comments dropped, nested parentheses kept."""
    text = re.sub(r"#[^\n]*", "", text)
    out, pos = [], 0
    while (m := _COMMAND.search(text, pos)) is not None:
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        if depth:
            raise ValueError(f"unbalanced parentheses after {m.group(1)}(")
        out.append((m.group(1).lower(), " ".join(text[m.end():i - 1].split())))
        pos = i
    return out


def _condition(args: str, version: tuple[int, ...]) -> bool:
    ops = {"VERSION_GREATER_EQUAL": lambda a, b: a >= b, "VERSION_GREATER": lambda a, b: a > b,
           "VERSION_LESS_EQUAL": lambda a, b: a <= b, "VERSION_LESS": lambda a, b: a < b,
           "VERSION_EQUAL": lambda a, b: a == b}
    width = max(len(version), 3)

    def pad(v: tuple[int, ...]) -> tuple[int, ...]:
        return v + (0,) * (width - len(v))

    expr = _VERSION_TEST.sub(lambda m: f" {ops[m.group(1)](pad(version), pad(_vt(m.group(2))))} ", args)
    expr = _COMPILER_ID.sub(lambda m: f" {m.group(1) == 'NVIDIA'} ", expr)
    expr = _COMPILER_VERSION.sub(" False ", expr)  # only ever asked of Clang
    tokens = re.findall(r"\(|\)|[^\s()]+", expr)
    words = {"True": "True", "False": "False", "AND": "and", "OR": "or", "NOT": "not", "(": "(", ")": ")"}
    if not tokens or any(t not in words for t in tokens):
        raise ValueError(f"condition not understood: if({args})")
    try:
        return bool(eval(" ".join(words[t] for t in tokens), {"__builtins__": {}}, {}))  # noqa: S307 (whitelisted tokens)
    except SyntaxError:
        raise ValueError(f"condition not understood: if({args})") from None


def archs_for(cmds: list[tuple[str, str]], version: tuple[int, ...]) -> list[int]:
    """The list CMake sets for `all` at one toolkit version."""
    archs: list[int] = []
    stack: list[tuple[bool, bool]] = []  # (this branch active, some branch of this if taken)

    def active() -> bool:
        return all(a for a, _ in stack)

    for cmd, args in cmds:
        if cmd == "if":
            took = active() and _condition(args, version)
            stack.append((took, took))
        elif cmd == "elseif":
            if not stack:
                raise ValueError("elseif() outside if()")
            _, taken = stack.pop()
            outer = all(a for a, _ in stack)
            took = not taken and outer and _condition(args, version)
            stack.append((took, taken or took))
        elif cmd == "else":
            if not stack:
                raise ValueError("else() outside if()")
            _, taken = stack.pop()
            stack.append((not taken, True))
        elif cmd == "endif":
            if not stack:
                raise ValueError("endif() outside if()")
            stack.pop()
        elif not active():
            continue
        elif cmd == "set" and args.split(" ", 1)[0] == VAR:
            archs = [int(a) for a in args.split()[1:]]
        elif cmd == "list":
            parts = args.split()
            if len(parts) >= 2 and parts[1] == VAR:
                items = [int(a) for a in parts[2:] if a.isdigit()]
                if parts[0] == "APPEND":
                    archs += [a for a in items if a not in archs]
                elif parts[0] == "REMOVE_ITEM":
                    archs = [a for a in archs if a not in items]
    if stack:
        raise ValueError("if() without endif()")
    return sorted(archs)


def arch_rows(text: str, citation: str, today: str) -> list[dict]:
    cmds = commands(text)
    if not any(cmd == "set" and args.startswith(VAR) for cmd, args in cmds):
        raise ValueError(f"no set({VAR} ...): not CMakeCUDAArchitecturesAll.cmake")
    versions = sorted({_vt(v) for _, v in _VERSION_TEST.findall(text)})
    rows, last = [], None
    for v in versions:
        sms = archs_for(cmds, v)
        if sms != last:
            rows.append({"from": ".".join(map(str, v)), "sm": sms, "source": citation, "checked": today})
            last = sms
    return rows
