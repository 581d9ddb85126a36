"""Runs INSIDE the built image beside probe.py (stdlib only, Python 3.8+): imports the top-level
modules of the installed distributions, each in its own interpreter under a time limit; the
entrypoint's own imports come from entrypoint_imports.py, shipped beside it.

Never part of an image: mounted (a local engine) or copied into the verification container only.
"""

import json
import os
import re
import subprocess
import sys

try:
    from importlib import metadata
except ImportError:  # pragma: no cover
    metadata = None  # type: ignore[assignment]  # the probe reports 'no importlib.metadata' instead

IMPORT_TIMEOUT_S = 60
# An import that fails only because the container has no GPU or driver (torch with a CUDA
# build on a CPU-only verification run, cupy, nvidia-ml-py): not the image's fault.
GPU_ERRORS = re.compile(
    r"libcuda\.so|libnvidia-ml|CUDA driver|no CUDA-capable device|cudaGetDeviceCount|CUDA_ERROR_|"
    r"NVIDIA driver|NVML|nvidia-smi|libcudart\.so|CUDA initialization|Found no NVIDIA driver",
    re.IGNORECASE,
)
_SKIP_TOP = {"__pycache__", "bin", "include", "share", "etc", "lib", "..", ""}


def header_fields(dist):
    """(Name, Version) of an installed distribution, read from its metadata file's header only.

    `dist.metadata` and `dist.version` parse the whole file with the email package, long
    description and licence included: about a millisecond each per distribution (0.1 s of a
    0.2 s probe on the numpy/pandas job, when the probe read each one three times). The
    header ends at the first empty line; a folded line starts with whitespace; the first
    occurrence of a field wins, as with `email.message.Message.__getitem__`."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            break
        if line[0] in " \t":
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key == "name" and name is None:
            name = value.strip()
        elif sep and key == "version" and version is None:
            version = value.strip()
    return name or "", version or ""


def top_level_modules(dist):
    """The importable top-level names of one installed distribution: top_level.txt, else RECORD."""
    text = dist.read_text("top_level.txt")
    names = []
    if text:
        names = [n.strip() for n in text.splitlines() if n.strip()]
    else:
        for path in dist.files or ():
            parts = str(path).split("/")
            first = parts[0]
            if first.endswith((".dist-info", ".egg-info", ".data")) or first in _SKIP_TOP:
                continue
            if len(parts) == 1:
                if first.endswith(".py"):
                    names.append(first[:-3])
                elif first.endswith(".so") or first.endswith(".pyd"):
                    names.append(first.split(".")[0])
            else:
                names.append(first)
    out = []
    for n in names:
        n = n.replace("/", ".")
        if n and n.isidentifier() and not n.startswith("_") and n not in out:
            out.append(n)
    return out


TOTAL_BUDGET_S = 120  # all imports together; what is left after it is reported as not checked
WORKERS = max(1, min(4, os.cpu_count() or 1))


def _import_one(dist, module, deadline):
    import time

    left = deadline - time.monotonic()
    if left <= 1:
        return {"dist": dist, "module": module, "ok": None, "gpu": False, "error": "not checked: time budget spent"}
    limit = min(IMPORT_TIMEOUT_S, left)
    try:
        proc = subprocess.run([sys.executable, "-c", "import " + module], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=limit, cwd="/")
        err = proc.stderr.decode("utf-8", "replace").strip()
        ok = proc.returncode == 0
    except subprocess.TimeoutExpired:
        ok, err = False, "did not finish within %ds" % limit
    last = err.splitlines()[-1] if err else ""
    return {"dist": dist, "module": module, "ok": ok, "gpu": (not ok) and bool(GPU_ERRORS.search(err)),
            "error": last[-300:]}


_ALL_IN_ONE = (
    "import importlib, json, sys\n"
    "res = {}\n"
    "for m in json.loads(sys.argv[1]):\n"
    "    try:\n"
    "        importlib.import_module(m)\n"
    "        res[m] = True\n"
    "    except BaseException:\n"
    "        res[m] = False\n"
    "sys.stdout.write('\\nLAUNCHBUILD-IMPORTS ' + json.dumps(res) + '\\n')\n"
)


def _import_all_in_one(modules, deadline):
    """{module: imported?} from ONE interpreter importing every module in turn (a shared stack,
    torch's numpy, sympy and CUDA libraries, is loaded once instead of once per module); None
    when that interpreter itself did not finish (a crash, the budget), so nothing is assumed."""
    import time

    left = deadline - time.monotonic()
    if left <= 1 or not modules:
        return None
    try:
        proc = subprocess.run([sys.executable, "-c", _ALL_IN_ONE, json.dumps(modules)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=min(left / 2, IMPORT_TIMEOUT_S * 2), cwd="/")
    except subprocess.TimeoutExpired:
        return None
    for line in reversed(proc.stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith("LAUNCHBUILD-IMPORTS "):
            try:
                found = json.loads(line[len("LAUNCHBUILD-IMPORTS "):])
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def installed_distributions():
    """[(canonical name, Name, Version, dist)] of the environment, read once per probe: the
    listing, the installed-versions report and the reuse check all walk the same list."""
    if metadata is None:
        return []
    found = []
    for dist in metadata.distributions():
        name, version = header_fields(dist)
        found.append((_canonical(name), name, version, dist))
    return found


def import_distributions(only, installed=None):
    """[{dist, module, ok, gpu, error}] for the distributions named in `only` (canonical names),
    within one overall budget. First every module in one interpreter; each module that did not
    import there (or all of them, if that interpreter crashed) is imported again in its own
    interpreter, which decides: an order effect never fails a module, and a real failure is
    classified (GPU or not) from its own error output."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    if metadata is None:
        return []
    todo = []
    for canonical, _, _, dist in installed_distributions() if installed is None else installed:
        if canonical in only:
            todo += [(canonical, module) for module in top_level_modules(dist)]
    todo = sorted(set(todo))
    deadline = time.monotonic() + TOTAL_BUDGET_S
    together = _import_all_in_one(sorted({module for _, module in todo}), deadline) or {}
    done = {item: {"dist": item[0], "module": item[1], "ok": True, "gpu": False, "error": ""}
            for item in todo if together.get(item[1]) is True}
    again = [item for item in todo if item not in done]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for item, result in zip(again, pool.map(lambda i: _import_one(i[0], i[1], deadline), again)):
            done[item] = result
    return [done[item] for item in todo]


def importable_names():
    """Every top-level name the environment can import (for checking a later script on the host)."""
    import pkgutil

    names = set(sys.builtin_module_names)
    names |= set(getattr(sys, "stdlib_module_names", ()))
    for info in pkgutil.iter_modules([p for p in sys.path if p and os.path.isdir(p) and p != os.getcwd()]):
        names.add(info.name)
    return sorted(names)


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name or "").lower()


def record_paths(dist):
    """The paths a distribution's RECORD lists, as text: what `dist.files` names, read without
    making a PackagePath per file (the torch stack's ~40,000 files took most of the probe's time
    that way). A distribution without a RECORD (installed-files.txt, an egg) goes by dist.files."""
    import csv

    try:
        text = dist.read_text("RECORD")
    except Exception:  # noqa: BLE001 - unreadable metadata: the slower, general reader decides
        text = None
    if text is None:
        return [str(path) for path in dist.files or ()]
    return [_as_package_path(row[0]) for row in csv.reader(text.splitlines()) if row]


def _as_package_path(name):
    """`name` as str(PackagePath(name)) writes it: only an unusual one needs pathlib."""
    if name and "//" not in name and "/./" not in name and not name.startswith("./") and not name.endswith(("/", "/.")):
        return name
    from pathlib import PurePosixPath

    return str(PurePosixPath(name))


def reuse_refused(reused, installed=None):
    """Why the import results of the `reused` distributions (an unchanged heavy layer) cannot be
    carried over, or None. A later layer could change what they import only through their own
    files or the interpreter's start-up: a file another distribution also owns, a .pth file or a
    sitecustomize/usercustomize module installed by a distribution not in `reused`."""
    if metadata is None:
        return "no importlib.metadata"
    owner = {}
    for name, _, _, dist in installed_distributions() if installed is None else installed:
        for text in record_paths(dist):
            if text.endswith(".pyc") or ".dist-info/" in text or text.startswith(".."):
                continue
            if name not in reused:
                base = text.rsplit("/", 1)[-1]
                if base.endswith(".pth") or base.split(".")[0] in ("sitecustomize", "usercustomize"):
                    return "%s installs %s" % (name, text)
            other = owner.setdefault(text, name)
            if other != name and (other in reused) != (name in reused):
                return "%s and %s both install %s" % (other, name, text)
    return None


def _entrypoint_imports():
    """entrypoint_imports.py: the package's on the host, the file beside this one in the image
    (where this module is imported by its file name, with no package)."""
    if __package__:
        from launchbuild.builder import entrypoint_imports
        return entrypoint_imports
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)  # only while it is imported: the image's own modules never shadow it
    try:
        import entrypoint_imports  # type: ignore[import-not-found, no-redef]  # beside this file in the image
    finally:
        sys.path.remove(here)
    return entrypoint_imports


def probe(argv_entrypoint, locked_names, reused_names=(), installed=None):
    """The import results: `installed` is installed_distributions(), when the caller has it."""
    installed = installed_distributions() if installed is None else installed
    from_script = _entrypoint_imports().resolve_entrypoint_imports(argv_entrypoint)
    reused = set(reused_names)
    refused = reuse_refused(reused, installed) if reused else None
    only = set(locked_names) - (set() if refused else reused)
    return {"imports": import_distributions(only, installed), "script_imports": from_script,
            "importable": importable_names(), "imports_reused": sorted(reused) if reused and not refused else [],
            "imports_reuse_refused": refused}


if __name__ == "__main__":
    print(json.dumps(probe(json.loads(sys.argv[1]), json.loads(sys.argv[2]))))
