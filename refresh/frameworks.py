"""`jax_cupy.json` derived from what the other sources measured: no fact in it is typed by hand.

- JAX's minimum compute capability per CUDA major: the lowest cubin SM in the newest measured
  jax-cudaNN-plugin wheel (wheel_archs.json).
- The cuDNN a jax-cudaNN-plugin release needs: the floor of its `[with-cuda]` nvidia-cudnn pin
  (pypi_wheels.json `extras_cudnn`); `*-local` installs need the same cuDNN from the system.
- The CUDA minor of `jaxlib X+cudaNN...` (a local tag that names only the major): jax X's
  `cudaNN_pip`/`cudaNN` extra pins nvidia-cuda-runtime-cuNN at that minor (pypi_wheels.json).
- CuPy: the packages of refresh.pypi.PACKAGES, the CUDA major their names carry, and the lowest
  SM that CUDA major's toolkits compile for (cuda_archs.json): CuPy compiles its kernels for the
  device at run time with that CUDA.
"""

from __future__ import annotations

import re

from launchbuild.refresh import schema

_PLUGIN = re.compile(r"^jax-cuda(\d+)-(?:plugin|pjrt)$")
_CUPY = re.compile(r"^cupy-cuda(?:(\d+)x|(\d+?)(\d))$")


def _cc(sm: int) -> str:
    return f"{sm // 10}.{sm % 10}"


def _newest(rows: list[dict], package: str, machine: str = "x86_64") -> dict | None:
    mine = [r for r in rows if r["package"] == package and r["machine"] == machine]
    return max(mine, key=lambda r: schema._vkey(r["version"]), default=None)


def jax_section(packages: tuple[str, ...], wheels: list[dict], archs: list[dict], today: str) -> dict:
    plugins = {p: m.group(1) for p in packages if (m := _PLUGIN.match(p))}
    measured = []
    for major in sorted(set(plugins.values()), key=int):
        row = _newest([a for a in archs if a.get("cubins")], f"jax-cuda{major}-plugin")
        if row is not None:
            measured.append({"cuda": major, "cc": _cc(min(row["cubins"])), "package": row["package"],
                             "version": row["version"], "sha256": row["sha256"], "source": row["source"], "checked": row["checked"]})
    by_cuda = {m["cuda"]: m["cc"] for m in measured}
    cudnn: dict[str, dict[str, str]] = {}
    for r in wheels:
        if r["package"] in plugins and r["machine"] == "x86_64" and (floor := (r.get("extras_cudnn") or {}).get("with-cuda")):
            cudnn.setdefault(r["package"], {})[r["version"]] = floor
    jaxlib_cuda: dict[str, dict[str, str]] = {}
    for r in wheels:
        if r["package"] != "jax" or r["machine"] != "x86_64":
            continue
        for extra, cuda in sorted((r.get("extras_cuda") or {}).items()):
            m = re.fullmatch(r"cuda(\d+)(?:[-_]pip)?", extra)
            if m and "." in cuda and cuda.split(".")[0] == m.group(1):
                jaxlib_cuda.setdefault(r["version"], {})[m.group(1)] = cuda
    newest_jax = _newest(wheels, "jax")
    newest_cu12 = _newest([r for r in wheels if (r.get("extras_cudnn") or {}).get("with-cuda")], "jax-cuda12-plugin")
    local_floor = (newest_cu12 or {}).get("extras_cudnn", {}).get("with-cuda")
    out = {
        "min_cc": min(by_cuda.values(), key=lambda c: tuple(map(int, c.split(".")))) if by_cuda else None,
        "min_cc_by_cuda": by_cuda,
        "min_cc_measured": measured,
        "plugins": plugins,
        "cudnn_min_by_plugin": {p: dict(sorted(v.items(), key=lambda kv: schema._vkey(kv[0]))) for p, v in sorted(cudnn.items())},
        "jaxlib_cuda_by_jax": dict(sorted(jaxlib_cuda.items(), key=lambda kv: schema._vkey(kv[0]))),
        "python_min": re.sub(r"^>=\s*", "", newest_jax["requires_python"]) if newest_jax and newest_jax.get("requires_python") else None,
        "source": ["wheel_archs.json (jax-cudaNN-plugin cubins)", "pypi_wheels.json (jax extras_cuda; jax-cudaNN-plugin extras_cudnn; jax requires_python)"],
        "checked": today,
    }
    if local_floor is not None and newest_cu12 is not None:
        out["cuda_local"] = {"cudnn_min": local_floor, "cudnn_below": str(int(local_floor.split(".")[0]) + 1),
                             "source": f"the [with-cuda] nvidia-cudnn-cu12 floor of jax-cuda12-plugin {newest_cu12['version']} ({newest_cu12['source']})",
                             "checked": newest_cu12.get("checked") or today}
    return out


def cupy_section(packages: tuple[str, ...], wheels: list[dict], arch_rows: list[dict], today: str) -> dict:
    rows = []
    for name in packages:
        m = _CUPY.match(name)
        if m is None:
            continue
        major = int(m.group(1) or m.group(2))
        toolkits = [r for r in arch_rows if int(r["from"].split(".")[0]) == major]
        entry: dict = {"name": name, "cuda_major": str(major)}
        if m.group(3) is not None:
            entry["cuda"] = f"{m.group(2)}.{m.group(3)}"
        # Each row carries its own citation and date: the name (and the CUDA it says) is
        # refresh.pypi.PACKAGES'; the floor is the toolkit row's, dated as that row was checked.
        source = [f"refresh.pypi.PACKAGES ({name}: CUDA {entry.get('cuda', major)} by its name)"]
        checked = today
        if toolkits:
            first = min(toolkits, key=lambda r: schema._vkey(r["from"]))
            entry["min_cc"] = _cc(min(first["sm"]))
            entry["min_cc_source"] = f"cuda_archs.json CUDA {first['from']} ({first['source']})"
            source.append(entry["min_cc_source"])
            checked = first.get("checked") or today
        entry["source"], entry["checked"] = source, checked
        rows.append(entry)
    pins = [r for r in wheels if _CUPY.match(r["package"])]
    ccs = [e["min_cc"] for e in rows if "min_cc" in e]
    return {
        "min_cc": min(ccs, key=lambda c: tuple(map(int, c.split(".")))) if ccs else None,
        "packages": rows,
        "bundles_runtime": any(p.startswith("nvidia-") for r in pins for p in r.get("pins", [])) if pins else None,
        "source": ["refresh.pypi.PACKAGES (cupy-cudaNNx names)", "cuda_archs.json (the CUDA major's lowest SM)",
                   "pypi_wheels.json (cupy wheels' Requires-Dist: nvidia-* runtime pins or none)"],
        "checked": today,
    }


def _mm(version: str) -> str:
    return ".".join(version.split(".")[:2])


def tensorflow_tables(wheels: list[dict], archs: list[dict], today: str) -> tuple[list[dict], list[dict]]:
    """(releases, arch_lists) of tensorflow.json from the x86_64 wheels: the CUDA and cuDNN their
    build_info.py names (the cuDNN minor from the [and-cuda] nvidia-cudnn pin where there is one:
    build_info.py gives only the major), the CPython tags of the wheels, and the cubins/PTX; one
    arch_lists row where the list changes."""
    pypi = {(r["version"], r["machine"]): r for r in wheels if r["package"] == "tensorflow"}
    measured = sorted((a for a in archs if a["package"] == "tensorflow" and a["machine"] == "x86_64" and a.get("build_versions")),
                      key=lambda a: schema._vkey(a["version"]))
    releases, lists, last = [], [], None
    for a in measured:
        built = a["build_versions"]
        row = pypi.get((a["version"], "x86_64"), {})
        cudnn_pin = (row.get("extras_cudnn") or {}).get("and-cuda")
        if "cuda_version" not in built or not (cudnn_pin or built.get("cudnn_version")) or not row.get("pythons"):
            continue
        source = [a["source"]] + ([row["source"]] if row.get("source") else [])
        releases.append({"tensorflow": _mm(a["version"]), "cuda": _mm(built["cuda_version"]),
                         "cudnn": cudnn_pin or built["cudnn_version"], "python": [row["pythons"][0], row["pythons"][-1]],
                         "measured_version": a["version"], "source": source, "checked": today})
        key = (tuple(a["cubins"]), tuple(a["ptx"]))
        if key != last:
            lists.append({"from": _mm(a["version"]), "archs": [_cc(s) for s in a["cubins"]],
                          "ptx": _cc(max(a["ptx"])) if a["ptx"] else None, "measured_version": a["version"],
                          "source": a["source"], "checked": today})
            last = key
    return releases, lists


def torch_releases(old: list[dict], wheels: list[dict], today: str) -> list[dict]:
    """torch.json releases with the Python range and PyPI default variant measured from the PyPI
    x86_64 wheels (CPython tags; the CUDA its Requires-Dist pins). The list of +cuXYZ variants is
    the PyTorch index's, not reachable from here: it stays as cited and the row stays manual; a
    release only PyPI knows gets its PyPI variant alone."""
    pypi = {_mm(r["version"]): r for r in wheels if r["package"] == "torch" and r["machine"] == "x86_64" and r.get("pythons")}
    rows = {r["torch"]: dict(r) for r in old}
    for minor, w in pypi.items():
        default = f"cu{w['cuda'].replace('.', '')}" if w.get("cuda") and "." in w["cuda"] else None
        row = rows.get(minor)
        measured = f"{w['source']} (CPython tags {w['pythons'][0]}-{w['pythons'][-1]}; CUDA {w.get('cuda')})"
        if row is None:
            if default is None:
                continue
            rows[minor] = {"torch": minor, "python": [w["pythons"][0], w["pythons"][-1]], "variants": [default],
                           "pypi_default": default, "source": [measured], "checked": today}
            continue
        cited = row["source"] if isinstance(row["source"], list) else [row["source"]]
        # torch <= 1.12 bundles its CUDA and pins none: the cited default stays
        row.update({"python": [w["pythons"][0], w["pythons"][-1]], "pypi_default": default or row.get("pypi_default"),
                    "source": [measured, *[c for c in cited if not c.startswith("https://files.pythonhosted.org/")]],
                    "checked": today})
        if default is not None and default not in row["variants"]:
            row["variants"] = sorted({*row["variants"], default})
    return sorted(rows.values(), key=lambda r: schema._vkey(r["torch"]))
