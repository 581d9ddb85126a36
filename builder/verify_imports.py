"""Judging the import checks (builder/imports_probe.py ran them in the image). Pure.

"imports": every locked distribution's top-level modules import (one that needs a GPU or a
driver to import is classified as such, and passes). "entrypoint imports": every module the
entrypoint script imports resolves in the image (an undeclared `import yaml` fails the build).
"""

from __future__ import annotations

from pathlib import Path

from launchbuild.builder.model import VerificationResult


def judge_imports(probe: dict) -> tuple[VerificationResult, ...]:
    out: list[VerificationResult] = []
    imports = probe.get("imports")
    if isinstance(imports, list):
        unchecked = [i for i in imports if i.get("ok") is None]
        imports = [i for i in imports if i.get("ok") is not None]
        failed = [i for i in imports if not i.get("ok") and not i.get("gpu")]
        gpu = [i for i in imports if not i.get("ok") and i.get("gpu")]
        if failed:
            detail = "; ".join(f"import {i['module']} ({i['dist']}) failed: {i.get('error') or 'no output'}"
                               for i in failed[:5])
        else:
            ok = sum(1 for i in imports if i.get("ok"))
            detail = f"{ok} top-level modules of the locked distributions import"
        if gpu:
            detail += "; needs a GPU to import (not a failure here): " + ", ".join(
                f"{i['module']} ({i.get('error', '')[:80]})" for i in gpu[:5])
        if unchecked:
            detail += f"; {len(unchecked)} not checked within the time budget: " + ", ".join(
                i["module"] for i in unchecked[:10])
        if probe.get("imports_carried"):
            detail += f" ({probe['imports_carried']} carried over from the unchanged heavy layer)"
        elif probe.get("imports_reuse_refused"):
            detail += f" (none carried over from the heavy layer: {str(probe['imports_reuse_refused'])[:120]})"
        out.append(VerificationResult("imports", not failed, detail))
    script = probe.get("script_imports")
    if isinstance(script, dict):
        out.append(entrypoint_imports_result(script))
    return tuple(out)


def entrypoint_imports_result(script: dict) -> VerificationResult:
    if script.get("error"):
        return VerificationResult("entrypoint imports", False, f"{script['script']} {script['error']}")
    missing = [i for i in script.get("imports", []) if not i.get("found")]
    if missing:
        return VerificationResult("entrypoint imports", False, "; ".join(
            f"import {i['module']} ({i.get('file') or script['script']}:{i['line']}) is not installed in the image"
            for i in missing))
    return VerificationResult("entrypoint imports", True,
                              f"{len(script.get('imports', []))} imports of {script['script']} resolve in the image")


def reused_import_checks(extra: dict, script_path, script: str, copied: frozenset[str]) -> tuple[VerificationResult, ...]:
    """A code-only change reuses the environment's import facts: the new script's imports are
    resolved on this host against what the image said it can import, plus the copied code."""
    from launchbuild.builder import entrypoint_imports

    out = []
    if extra.get("imports"):
        out.append(VerificationResult("imports", True, f"{extra['imports']} (reused)"))
    importable = set(extra.get("importable") or ())
    folder = script.rsplit("/", 1)[0] + "/" if "/" in script else ""
    host_folder = str(Path(script_path).parent)
    try:
        names = entrypoint_imports.script_imports(str(script_path))
        # The job's own modules the script imports run at its start too: their imports count.
        outside, errors = entrypoint_imports.local_closure([(str(script_path), "")], [host_folder], [host_folder])
    except (OSError, SyntaxError, ValueError) as exc:
        return (*out, VerificationResult("entrypoint imports", False, f"{script} cannot be parsed: {exc}"))
    if errors:
        return (*out, VerificationResult("entrypoint imports", False, f"{script}: {errors[0]}"))
    rows = []
    for name, line in names:
        local = f"{folder}{name}.py" in copied or any(p.startswith(f"{folder}{name}/") for p in copied)
        rows.append({"module": name, "line": line, "found": name in importable or local})
    listed = {name for name, _ in names}
    for item in outside:
        if item["module"] in listed or item["file"] == str(script_path):
            continue
        listed.add(item["module"])
        rel = folder + str(Path(item["file"]).relative_to(host_folder)) if item["file"].startswith(host_folder) else item["file"]
        rows.append({"module": item["module"], "line": item["line"], "file": rel,
                     "found": item["module"] in importable})
    out.append(entrypoint_imports_result({"script": script, "error": None, "imports": rows}))
    return tuple(out)
