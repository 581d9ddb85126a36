"""The shape of every data/*.json table as JSON Schema, and the offline `--check`:
schema, provenance (a `source` and a `checked` date on every row) and row order."""

from __future__ import annotations

import re
from typing import Any

DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
VERSION = {"type": "string", "pattern": r"^\d+(\.\d+)*$"}
TEXT = {"type": "string", "minLength": 1}
CC = {"type": "string", "pattern": r"^\d+\.\d+$"}


def _row(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {"source": {"anyOf": [TEXT, {"type": "array", "items": TEXT, "minItems": 1}]}, "checked": DATE,
             "manual": {"type": "boolean"}, **required, **(optional or {})}
    return {"type": "object", "required": ["source", "checked", *required], "properties": props}


def _table(rows: dict[str, dict[str, Any]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {"table": TEXT, "description": TEXT, "source": {}, "retrieved": DATE, "refresh": TEXT,
             **{k: {"type": "array", "items": v} for k, v in rows.items()}, **(extra or {})}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "required": ["table", "description", "source", "retrieved", "refresh", *rows], "properties": props}


_NULLABLE_TEXT = {"type": ["string", "null"]}
_INTS = {"type": "array", "items": {"type": "integer"}}

SCHEMAS: dict[str, dict[str, Any]] = {
    "cuda_drivers": _table({
        "toolkits": _row({"cuda": VERSION, "driver": VERSION}),
        "minor_compat": _row({"major": {"type": "integer"}, "driver": VERSION}),
    }, {"driver_branches": {"type": "array", "items": _row({"branch": {"type": "integer"}, "cuda": VERSION})},
        "gpu_minimum_driver": {"type": "array", "items": _row({"arch": TEXT, "min_cc": CC, "driver": VERSION})}}),
    "cuda_archs": _table({"rows": _row({"from": VERSION, "sm": _INTS})}),
    "gpus": _table({"gpus": _row({"name": TEXT, "cc": CC, "datacenter": {"type": ["boolean", "null"]},
                                  "aliases": {"type": "array", "items": TEXT}})}),
    "torch": _table({
        "releases": _row({"torch": VERSION, "python": {"type": "array", "items": VERSION, "minItems": 2, "maxItems": 2},
                          "variants": {"type": "array", "items": TEXT}}),
        "builds": _row({"torch": VERSION, "variant": TEXT, "archs": {"type": "array", "items": CC}}),
    }),
    "tensorflow": _table({
        "releases": _row({"tensorflow": VERSION, "cuda": VERSION, "cudnn": VERSION}),
        "arch_lists": _row({"from": VERSION, "archs": {"type": "array", "items": CC}}),
    }),
    # Sections, each cited and dated, and their rows, each cited and dated on its own.
    "jax_cupy": _table({}, {
        "jax": {"type": "object", "required": ["source", "checked"], "properties": {
            "min_cc_measured": {"type": "array", "items": _row({"cuda": TEXT, "cc": CC, "package": TEXT})},
            "cuda_local": _row({"cudnn_min": VERSION})}},
        "cupy": {"type": "object", "required": ["source", "checked", "packages"], "properties": {
            "packages": {"type": "array", "items": _row({"name": TEXT, "cuda_major": TEXT})}}}}),
    "distro_pythons": _table({"distros": _row({"id": TEXT, "version": VERSION, "default": VERSION,
                                               "extra": {"type": "array", "items": {"type": "object", "required": ["python"]}}})}),
    "distro_glibc": _table({"releases": _row({"id": TEXT, "version": VERSION, "glibc": VERSION})}),
    "nvidia_cuda_images": _table({"images": _row({"cuda": VERSION, "os": TEXT, "arch": {"enum": ["amd64", "arm64"]},
                                                  "cudnn": _NULLABLE_TEXT})}),
    "packages": _table({"packages": _row({"name": TEXT, "apt": {"type": "array", "items": TEXT}}),
                        "needs_nvcc": _row({"name": TEXT, "why": TEXT}),
                        "needs_compiler": _row({"name": TEXT, "why": TEXT})}),
    "pypi_wheels": _table({"wheels": _row({
        "package": TEXT, "version": TEXT, "machine": {"enum": ["x86_64", "aarch64"]},
        "pythons": {"type": "array", "items": VERSION}, "cuda": _NULLABLE_TEXT,
        "requires_python": _NULLABLE_TEXT, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "wheel": TEXT})}),
    "cpython": _table({"releases": _row({"python": VERSION, "end_of_life": {"type": ["string", "null"]}})}),
    "wheel_archs": _table({"wheels": _row({
        "package": TEXT, "version": TEXT, "machine": {"enum": ["x86_64", "aarch64"]},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "member": _NULLABLE_TEXT,
        "cubins": _INTS, "ptx": _INTS, "cubins_a": _INTS, "ptx_a": _INTS})}),
    "wheel_libs": _table({
        "apt_libraries": _row({"apt": TEXT, "library": {"type": "string", "pattern": "^lib[a-z0-9+]+$"}}),
        "wheels": _row({
            "package": TEXT, "version": TEXT, "machine": {"enum": ["x86_64", "aarch64"]}, "glibc": VERSION,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "wheel": TEXT,
            "shared_objects": {"type": "array", "items": TEXT},
            "libraries": {"type": "array", "items": {"type": "string", "pattern": "^lib[a-z0-9+]+$"}}})}),
    # A mapping, not rows: conda name -> PyPI name, and conda names that install nothing, with why.
    "conda_pypi": _table({}, {
        "map": {"type": "object", "minProperties": 1, "additionalProperties": TEXT},
        "not_pypi": {"type": "object", "additionalProperties": TEXT},
        "not_pypi_prefixes": {"type": "object", "additionalProperties": TEXT},
    }),
}


def _vkey(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.+]", str(text)))


def _wheel_libs_key(r: dict) -> tuple:
    from launchbuild.refresh.wheel_libs import row_key

    return row_key(r)


# (row list, sort key) per table: --check fails a table whose rows are out of this order.
ORDER = {
    "cuda_drivers": [("toolkits", lambda r: _vkey(r["cuda"]))],
    "cuda_archs": [("rows", lambda r: _vkey(r["from"]))],
    "torch": [("releases", lambda r: _vkey(r["torch"]))],
    "tensorflow": [("releases", lambda r: _vkey(r["tensorflow"])), ("arch_lists", lambda r: _vkey(r["from"]))],
    "nvidia_cuda_images": [("images", lambda r: (_vkey(r["cuda"]), r["os"], r["arch"]))],
    "distro_pythons": [("distros", lambda r: (r["id"], _vkey(r["version"])))],
    "distro_glibc": [("releases", lambda r: (r["id"], _vkey(r["version"])))],
    "cpython": [("releases", lambda r: _vkey(r["python"]))],
    "pypi_wheels": [("wheels", lambda r: (r["package"], _vkey(r["version"]), r["machine"]))],
    "wheel_archs": [("wheels", lambda r: (r["package"], _vkey(r["version"]), r["machine"], r["sha256"]))],
    "wheel_libs": [("apt_libraries", lambda r: r["apt"]), ("wheels", lambda r: _wheel_libs_key(r))],
}


def check_table(name: str, doc: Any) -> list[str]:
    """Problems with one table, each one line naming the table and row; [] when it is fine."""
    try:
        import jsonschema
    except ImportError:
        return [f"{name}.json: cannot validate: the jsonschema package is not installed (pip install 'launchbuild[test]')"]
    schema = SCHEMAS.get(name)
    if schema is None:
        return [f"{name}.json: no schema in launchbuild/refresh/schema.py; add one"]
    problems = []
    for err in sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        problems.append(f"{name}.json {where}: {err.message}")
        if len(problems) >= 20:
            break
    if problems:
        return problems
    for key, sort_key in ORDER.get(name, []):
        rows = doc[key]
        keys = [sort_key(r) for r in rows]
        for i, (a, b) in enumerate(zip(keys, keys[1:])):
            if a > b:
                problems.append(f"{name}.json {key}/{i + 1}: out of order ({a} before {b}); run `launchbuild data refresh`")
                break
        if len(set(keys)) != len(keys) and name != "tensorflow":
            problems.append(f"{name}.json {key}: duplicate rows")
    return problems
