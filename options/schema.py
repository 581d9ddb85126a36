"""The JSON Schema of launchbuild's config files, and docs/options.md, generated from
`options/table.py`.

`options/config.schema.json` is the operator config (`--config`, every option) and
`options/job-config.schema.json` a job's own `launchbuild.toml` / `[tool.launchbuild]` (job
options only). Both are checked in for editors (taplo, VS Code's Even Better TOML) and a test
keeps them equal to what this module generates. Regenerate with
`python -m launchbuild.options.schema` (which also rewrites docs/options.md when it runs
from a checkout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from launchbuild.options.table import LAYERED, Option

HERE = Path(__file__).resolve().parent
SCHEMA_FILES = {"operator": HERE / "config.schema.json", "job": HERE / "job-config.schema.json"}
_TYPES = {str: "string", bool: "boolean", int: "integer"}


def _property(option: Option) -> dict[str, Any]:
    prop: dict[str, Any] = {"description": option.help}
    if option.kind is list:
        # A list, or one comma-separated string (as in LAUNCHBUILD_* variables).
        prop["oneOf"] = [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
    else:
        prop["type"] = _TYPES[option.kind]
    if option.kind is int:
        prop["minimum"], prop["maximum"] = option.int_range
    if option.choices:
        prop["enum"] = list(option.choices)
    elif option.kind is str:
        prop["pattern"] = "[^ \\t\\r\\n]"  # not blank: options.files.coerce refuses "" and "  "
    if option.default not in (None, [], ()):
        prop["default"] = option.default
    return prop


def _table(options: tuple[Option, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {o.name: _property(o) for o in options},
        "additionalProperties": False,
    }


def generate(who: str) -> dict[str, Any]:
    """The schema for the `operator` config or a `job`'s own config."""
    options = LAYERED if who == "operator" else tuple(o for o in LAYERED if o.job_may_set)
    table = _table(options)
    title = "launchbuild operator config" if who == "operator" else "launchbuild job config (launchbuild.toml)"
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://launchbuild.invalid/schemas/{SCHEMA_FILES[who].name}",
        "title": title,
        "description": "Generated from launchbuild/options/table.py; do not edit.",
        "definitions": {"options": table},
        # The options at the top level, or under [tool.launchbuild] (as in pyproject.toml), not
        # both: a key beside the table would go unread, so the parser refuses it.
        "anyOf": [
            {"$ref": "#/definitions/options"},
            {"type": "object", "required": ["tool"], "additionalProperties": False, "properties": {"tool": {
                "type": "object", "required": ["launchbuild"],
                "properties": {"launchbuild": {"$ref": "#/definitions/options"}}}}},
        ],
    }


def render(who: str) -> str:
    return json.dumps(generate(who), indent=2, sort_keys=False) + "\n"


OPTIONS_DOC = HERE.parent / "docs" / "options.md"


def _cell(value: Any) -> str:
    if value in (None, [], ()):
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


def _enum_values(enum_from: str | None) -> tuple[str, ...]:
    if not enum_from:
        return ()
    import importlib

    module, name = enum_from.split(":")
    return tuple(m.value for m in getattr(importlib.import_module(module), name))


def render_markdown() -> str:
    """docs/options.md: every option, who may set it, and how (a table per setter)."""
    from launchbuild.options.table import OPTIONS, Setter

    kinds = {str: "string", bool: "boolean", int: "integer", list: "list", Path: "path"}
    out = ["# Options", "",
           "Generated from `launchbuild/options/table.py` by `python -m launchbuild.options.schema`; do not edit.",
           "Precedence (lowest first): default < operator config < the job's `launchbuild.toml` / "
           "`[tool.launchbuild]` (job options only) < `LAUNCHBUILD_*` < flag (docs/SECURITY.md).", ""]
    titles = {Setter.JOB: "Job options (a job's own config may set them; so may the operator)",
              Setter.OPERATOR: "Operator options (flags, environment, operator config; never a job)",
              Setter.CLI: "Command inputs (flags only)"}
    for setter, title in titles.items():
        out += [f"## {title}", "", "| option | type | default | choices | environment | commands | help |",
                "|---|---|---|---|---|---|---|"]
        for o in (o for o in OPTIONS if o.setter is setter):
            env = f"`{o.env_var}`" if o.env_var else "—"
            commands = ", ".join(sorted(o.commands)) or "(config and environment only)"
            name = f"`{o.flag}`" if setter is Setter.CLI else f"`{o.name}`"
            help_text = o.help.replace("|", "\\|")
            choices = o.choices or _enum_values(o.enum_from)
            out.append(f"| {name} | {kinds.get(o.kind, o.kind.__name__)} | {_cell(o.default)} | "
                       f"{', '.join(choices) or '—'} | {env} | {commands} | {help_text} |")
        out.append("")
    return "\n".join(out + _serve_markdown(kinds))


def _serve_markdown(kinds: dict[type, str]) -> list[str]:
    """The server's settings: their own section, since no job and no config file sets them."""
    from launchbuild.options.table import SERVE_OPTIONS

    kinds = {**kinds, float: "number", list: "list (repeatable)"}
    out = ["## Server settings (`launchbuild serve` flags only; never a job's, never in a config file)", "",
           "The `service.ServeConfig` field each sets is in the last column; the server reads no environment "
           "variable for them.", "",
           "| flag | type | default | help | ServeConfig |", "|---|---|---|---|---|"]
    for o in SERVE_OPTIONS:
        out.append(f"| `{o.flag}` | {kinds[o.kind]} | {_cell(o.default)} | {o.help.replace('|', chr(92) + '|')} | "
                   f"`{o.field}` |")
    out.append("")
    return out


def write_all() -> None:
    for who, path in SCHEMA_FILES.items():
        path.write_text(render(who), encoding="utf-8")
    if OPTIONS_DOC.parent.is_dir():
        OPTIONS_DOC.write_text(render_markdown(), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    write_all()
