"""compat is split into facts (I/O, compat/facts/) and rules (pure, the rest of compat/): every
module is on the side its folder says, and nothing on the pure side imports code that does I/O,
directly or through the modules it imports. (pyproject.toml's import-linter contract says the
same for the module graph; this walks lazy imports and standard-library names too.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "compat"

# The I/O side, one folder: what gathers the facts before any rule runs.
FACTS = {"compat.facts"}
# The pure side: the registry, the rules and the helpers they call.
PURE = {
    "compat", "compat.catalog", "compat.context", "compat.cuda", "compat.data", "compat.image_facts",
    "compat.gpus", "compat.measured", "compat.registry",
    "compat.requirecuda", "compat.rules", "compat.source_facts", "compat.target",
}
# Shared values outside compat that the pure side may use (the kernel a-core gathers into core/):
# followed for their module-level imports only.
KERNEL = {"errors", "jobs", "jobs.model", "jobs.urls", "resolver", "resolver.model", "resolver.rules", "resolver.versions",
          "core", "core.findings", "core.fixes", "core.rule", "core.sourced", "core.platform", "core.imageref",
          "core.gpu_names", "core.records",  # core.records: the dataclass decorator, standard library only
          "core.tables"}  # core.tables: the tables shipped in the package, read once (as compat.data)

# Standard-library and third-party modules the pure side may import: no os, subprocess, socket,
# ssl, http, urllib, requests, docker, shutil, tempfile, time, pathlib, io, threading...
ALLOWED = {"__future__", "collections", "dataclasses", "enum", "functools", "re", "typing", "difflib",
           "ipaddress", "packaging", "datetime"}
# compat.data reads the tables shipped inside the package (importlib.resources), once, cached.
ALLOWED_FOR = {"compat.data": {"importlib", "json"}}
# Calls a rule never makes: file reads, the environment, the clock.
FORBIDDEN_CALLS = {"open", "read_text", "read_bytes", "getenv", "today", "now", "utcnow", "time", "urlopen", "run",
                   "Popen", "from_env", "DockerClient"}


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _file_of(module: str) -> Path | None:
    p = ROOT.joinpath(*module.split("."))
    if p.with_suffix(".py").is_file():
        return p.with_suffix(".py")
    return p / "__init__.py" if (p / "__init__.py").is_file() else None


def _side(module: str) -> str | None:
    for name in sorted(FACTS | PURE, key=len, reverse=True):
        if module == name or module.startswith(name + ".") and name != "compat":
            return "facts" if name in FACTS else "pure"
    return "pure" if module == "compat" else None


def _imports(module: str, *, lazy: bool = True) -> set[str]:
    """Every module `module` imports (launchbuild.x as "x"; others by their top-level name)."""
    path = _file_of(module)
    tree = ast.parse(path.read_text("utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = ast.walk(tree) if lazy else iter(tree.body)
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] + [f"{target}.{a.name}" for a in node.names]
                names = ["launchbuild." + n for n in names]
            else:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("launchbuild."):
                inner = name[len("launchbuild."):]
                if _file_of(inner) is not None:
                    out.add(inner)
            elif name and not name.startswith("launchbuild"):
                out.add(name.split(".")[0])
    return out


def _pure_closure() -> dict[str, str]:
    """Every launchbuild module reachable from the registry and the catalog, with who imports it."""
    seen: dict[str, str] = {}
    stack = [("compat.registry", "start"), ("compat.catalog", "start")]
    while stack:
        module, via = stack.pop()
        if module in seen:
            continue
        seen[module] = via
        in_compat = module == "compat" or module.startswith("compat.")
        for dep in _imports(module, lazy=in_compat):
            if _file_of(dep) is not None:
                stack.append((dep, module))
    return seen


def test_every_compat_module_is_on_one_side():
    modules = {_module_of(p) for p in COMPAT.rglob("*.py") if "__pycache__" not in p.parts}
    unplaced = sorted(m for m in modules if _side(m) is None)
    assert not unplaced, f"put these on the facts or the pure side in {__file__}: {unplaced}"
    assert not FACTS & PURE


def test_the_folder_is_the_side():
    """Everything under compat/facts/ is the I/O side and nothing else is."""
    for path in COMPAT.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        in_facts = path.relative_to(COMPAT).parts[0] == "facts"
        assert (_side(_module_of(path)) == "facts") == in_facts, path


def test_the_import_contract_names_the_pure_side_and_every_io_library():
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]["contracts"]
    (pure,) = [c for c in contracts if c["name"].startswith("compat's pure side")]
    assert "launchbuild.compat.facts" in pure["forbidden_modules"]
    assert {"launchbuild.compat.rules", "launchbuild.compat.registry", "launchbuild.compat.catalog"} <= set(pure["source_modules"])
    assert {"docker", "requests", "subprocess", "socket", "urllib"} <= set(pure["forbidden_modules"])
    listed = {m.removeprefix("launchbuild.") for m in pure["source_modules"]}
    assert listed == {m for m in PURE if m not in ("compat",)}, "the contract and PURE list the same modules"


def test_the_pure_side_never_reaches_the_io_side():
    closure = _pure_closure()
    for module, via in closure.items():
        if module.startswith("compat"):
            assert _side(module) == "pure", f"{module} (imported by {via}) does I/O: gather it as a fact instead"
        else:
            assert module in KERNEL, f"{module} (imported by {via}) is outside the pure side and the shared kernel"


@pytest.mark.parametrize("module", sorted(m for m in {_module_of(p) for p in COMPAT.rglob("*.py")} if _side(m) == "pure"))
def test_pure_modules_import_nothing_that_does_io(module):
    external = {m for m in _imports(module) if "." not in m and _file_of(m) is None} - {"launchbuild"}
    banned = external - ALLOWED - ALLOWED_FOR.get(module, set())
    assert not banned, f"{module} imports {sorted(banned)}: I/O belongs to fact gathering"


@pytest.mark.parametrize("path", sorted((COMPAT / "rules").glob("*.py")), ids=lambda p: p.name)
def test_rule_modules_make_no_io_calls(path):
    calls = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in FORBIDDEN_CALLS:
                calls.append(f"{path.name}:{node.lineno} {name}()")
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            calls.append(f"{path.name}:{node.lineno} environ")
    assert not calls, f"a rule reads the outside world: {calls}"


def test_the_checker_sees_a_violation():
    # The walk is real: the I/O side does import what the pure side may not.
    assert {"os"} <= _imports("compat.facts.source_scan") and "compat.facts.providers.docker" in _imports("compat.facts.inspect")
    assert _side("compat.facts.providers.docker") == "facts" and _side("compat.rules.driver_cuda") == "pure"
    assert _side("compat.rules.framework_kernels") == "pure"
