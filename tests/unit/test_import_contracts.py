"""The layering holds: no import cycle between launchbuild's modules or packages (imports
inside functions count), and the import-linter contracts in pyproject.toml are kept.

A failure names the cycle or the broken contract, with the import lines that make it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("launchbuild", include_external_packages=False)


def _cycles(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe(graph: grimp.ImportGraph, component: list[str], owner) -> str:
    members = set(component)
    lines = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if owner(importer) in members and owner(imported) in members and owner(importer) != owner(imported):
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    lines.append(f"  {importer} -> {imported} (line {detail['line_number']}: {detail['line_contents']})")
    return " <-> ".join(component) + "\n" + "\n".join(lines)


def test_no_module_cycles(graph: grimp.ImportGraph) -> None:
    modules = sorted(graph.modules)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in modules}
    cycles = _cycles(modules, edges)
    assert not cycles, "import cycles between modules:\n" + "\n".join(_describe(graph, c, lambda m: m) for c in cycles)


def _package(module: str) -> str:
    """`launchbuild.compat.rules.driver_cuda` -> `launchbuild.compat`; top-level modules are their own."""
    return ".".join(module.split(".")[:2])


def test_no_package_cycles(graph: grimp.ImportGraph) -> None:
    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if _package(importer) != _package(imported):
                edges.setdefault(_package(importer), set()).add(_package(imported))
    packages = sorted({_package(m) for m in graph.modules})
    cycles = _cycles(packages, edges)
    assert not cycles, "import cycles between packages:\n" + "\n".join(_describe(graph, c, _package) for c in cycles)


def test_cycle_finder_names_a_cycle() -> None:
    assert _cycles(["a", "b", "c"], {"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles(["a", "b"], {"a": {"b"}}) == []


def test_import_linter_contracts_are_kept() -> None:
    # The same contracts `make lint` checks (pyproject.toml [tool.importlinter]).
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "broken" in run.stdout and " 0 broken" in run.stdout
