"""No module of the package is over 500 lines (issue 14): a module that grows past it is split
by responsibility into new modules. Every .py under the repository root counts, bench/ and
scripts/ included; tests/ and what is not ours (the venv, build output, the bench's scratch
directory) do not. A failure names each module and its line count."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500
# Not the package's own modules: the tests (and their fixture repositories), the venv,
# build output and the bench's scratch directory (job code it generates).
NOT_MODULES = {"tests", ".venv", "venv", "build", "dist", ".work", "node_modules", ".git"}


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py")
                  if not NOT_MODULES & set(p.relative_to(root).parts[:-1]))


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def oversized(root: Path) -> list[str]:
    """'path (N lines)' for each module under `root` over MAX_LINES."""
    return [f"{p.relative_to(root)} ({n} lines)" for p in _modules(root) if (n := _lines(p)) > MAX_LINES]


def test_no_module_over_500_lines() -> None:
    names = {str(p.relative_to(ROOT)) for p in _modules(ROOT)}
    # The walk is real: it sees the package, the bench and the scripts, and skips the tests.
    assert {"api.py", "jobs/fetch.py", "bench/run_bench.py", "scripts/gen_rules_doc.py"} <= names
    assert not any(name.startswith("tests/") for name in names)
    too_long = oversized(ROOT)
    assert not too_long, f"modules over {MAX_LINES} lines (split them by responsibility): " + ", ".join(too_long)


def test_an_oversized_module_is_named(tmp_path: Path) -> None:
    # The check itself: a module one line over is named with its count, one at the limit
    # passes, and a long file under tests/ is not a module.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "pkg" / "exact.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "tests" / "test_long.py").write_text("x = 1\n" * (MAX_LINES * 2))
    assert oversized(tmp_path) == [f"pkg/long.py ({MAX_LINES + 1} lines)"]
