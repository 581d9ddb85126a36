"""A JSON object from a job's file (a job spec, a queue config) and typed access to its
fields, each failure one BadInput line naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launchbuild.errors import BadInput
from launchbuild.limits import clip, load_json, read_bounded


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from `path`; every failure is one BadInput line naming the file."""
    data = read_bounded(path, what)  # a regular file under the size cap; a FIFO never blocks
    return parse_json_object(data, f"{what} {clip(str(path))}")


def parse_json_object(data: bytes, where: str) -> dict[str, Any]:
    value = load_json(data, where)  # size, depth, huge integers, lone surrogates: limits.py
    if not isinstance(value, dict):
        raise BadInput(f"{where}: expected a JSON object at the top, got {json_type(value)}",
                       hint='the file must look like {"source_type": ..., "source": {...}}')
    return value


def json_type(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def get_field(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, *, required: bool = False) -> Any:
    """`obj[key]` if it has the type `kind`; None when absent (BadInput when `required`)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise BadInput(f"{where}: missing required field '{key}'", hint=f"add '{key}'")
        return None
    if not isinstance(value, kind):
        expected = {dict: "an object", str: "a string", list: "an array", bool: "a boolean"}.get(
            kind if isinstance(kind, type) else kind[0], "another type")
        raise BadInput(f"{where}: field '{key}' must be {expected}, got {json_type(value)}",
                       hint=f"fix the type of '{key}'")
    return value
