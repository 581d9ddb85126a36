"""The repo root is the `launchbuild` package: every subpackage must be listed in
pyproject.toml, or a wheel would silently ship without it."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = {"tests", "bench", "scripts", "examples", "docs", "build", "dist", ".venv"}


def test_every_subpackage_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"launchbuild"}
    for init in ROOT.rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts and (rel.parts[0] in NOT_SHIPPED or rel.parts[0].startswith(".")):
            continue
        found.add(".".join(("launchbuild", *rel.parts)) if rel.parts else "launchbuild")
    assert found == listed


def test_data_tables_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "*.json" in config["package-data"]["launchbuild.data"]
    assert any((ROOT / "data").glob("*.json"))
