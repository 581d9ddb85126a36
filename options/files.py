"""Reading option values: config files (the operator's and the job's own), coercion of one
value to its row's type, and "did you mean" for unknown keys. Every failure is one BadInput
line naming the file (or variable, or flag) and the key."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Iterable

from launchbuild.errors import BadInput
from launchbuild.limits import clip, load_toml, read_bounded
from launchbuild.options.table import LAYERED, Option
from launchbuild.paths import display_path

CONFIG_FILE_NAME = "launchbuild.toml"
SPECS_BY_NAME: dict[str, Option] = {o.name: o for o in LAYERED}
JOB_OPTION_NAMES: frozenset[str] = frozenset(o.name for o in LAYERED if o.job_may_set)
OPERATOR_OPTION_NAMES: frozenset[str] = frozenset(SPECS_BY_NAME) - JOB_OPTION_NAMES
_KIND_NAMES = {int: "a whole number (ASCII digits)", bool: "a boolean", str: "a string", list: "a list of strings"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def did_you_mean(key: object, known: Iterable[str]) -> str:
    """" (did you mean 'gpu'?)" for the closest known name, or "" (difflib, as cibuildwheel)."""
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# What a blank text value may hold; the generated schemas say the same (options/schema.py).
BLANK = " \t\r\n"


def coerce(spec: Option, value: Any, where: str) -> Any:
    """`value` as the row's type (str, bool, int or list of str), else one BadInput line."""
    if value is None:
        return None
    if spec.kind is list:
        if isinstance(value, str):
            return [v for v in (p.strip() for p in value.split(",")) if v]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    elif spec.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
    elif spec.kind is int:
        # ASCII digits only ('²'.isdigit() is True) and a range, so a uid fits every tool's uid_t.
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = spec.int_range
            if low <= value <= high:
                return value
            raise BadInput(f"{where}: option '{spec.name}' must be between {low} and {high}, got {clip(str(value), 40)}",
                           hint=f"fix the value of '{spec.name}'")
    elif isinstance(value, str):
        if not value.strip(BLANK):
            # `--push "$REPO"` with REPO unset: an empty value would read as "not set" further
            # down (no push, the CA bundle found elsewhere) and the run pass without doing it.
            raise BadInput(f"{where}: option '{spec.name}' is empty",
                           hint=f"{spec.help.split('; ')[0].rstrip('.')}: give a value, or leave '{spec.name}' out")
        if spec.choices and value not in spec.choices:
            raise BadInput(f"{where}: option '{spec.name}' must be one of {', '.join(spec.choices)}, got "
                           f"{clip(repr(value))}{did_you_mean(value, spec.choices)}",
                           hint=f"fix the value of '{spec.name}'")
        return value
    raise BadInput(
        f"{where}: option '{spec.name}' must be {_KIND_NAMES.get(spec.kind, 'a ' + spec.kind.__name__)}, got {clip(repr(value))}",
        hint=f"fix the value of '{spec.name}'",
    )


def _key(key: object) -> str:
    """A key from a file, safe to print on one line (repr escapes control characters)."""
    text = key if isinstance(key, str) else repr(key)
    return repr(text)[1:-1][:80]


def _launchbuild_table(data: dict[str, Any], path: Path, *, whole_file: bool) -> Any:
    """`[tool.launchbuild]` of `data`; a `tool` that is not a table is one BadInput line."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise BadInput(f"{display_path(path)}: 'tool' must be a table, got {type(tool).__name__}", hint="write [tool.launchbuild]")
    if whole_file:
        if "launchbuild" in tool:
            refuse_beside_table(data, display_path(path))
        return tool.get("launchbuild", data)
    return tool.get("launchbuild")


def refuse_beside_table(data: dict[str, Any], shown: str) -> None:
    """A launchbuild file is read either whole or as its [tool.launchbuild] table, never both:
    a key beside the table would be silently unread, so it is one BadInput line instead."""
    beside = sorted((k for k in data if k != "tool"), key=str)
    if beside:
        raise BadInput(
            f"{shown}: '{_key(beside[0])}' is outside [tool.launchbuild], which this file also has; "
            "only the table is read (nothing from this file was applied)",
            hint=f"move '{_key(beside[0])}' into [tool.launchbuild], or drop the table header and keep every option at the top level",
        )


def read_config_file(source_dir: Path | None) -> tuple[dict[str, Any], str | None]:
    """The `[tool.launchbuild]` table of the job, and the file it came from."""
    if source_dir is None:
        return {}, None
    for path, table_path in (
        (source_dir / CONFIG_FILE_NAME, None),
        (source_dir / "pyproject.toml", ("tool", "launchbuild")),
    ):
        if not path.is_file():
            continue
        from launchbuild.jobs import confine

        # The job's own file: inside its tree (links resolved), capped, never a FIFO or device;
        # then parsed with the depth and size bounds of limits.py.
        real = confine.confine(source_dir, path.name, where=display_path(path), what="config file")
        data = load_toml(read_bounded(real, "config file"), display_path(path))
        if table_path is None:
            # Top-level keys beside a [tool.launchbuild] table are not read; an operator option
            # among them is still refused, so a job cannot hide one there.
            refuse_keys({k: v for k, v in data.items() if k in OPERATOR_OPTION_NAMES}, display_path(path))
        table = _launchbuild_table(data, path, whole_file=table_path is None)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise BadInput(f"{path}: [tool.launchbuild] must be a table")
        refuse_keys(table, display_path(path))
        if table_path is None:
            _refuse_shadowed(source_dir / "pyproject.toml")
        return table, display_path(path)
    return {}, None


def _refuse_shadowed(pyproject: Path) -> None:
    """launchbuild.toml wins over pyproject's [tool.launchbuild], which is then not read; an
    operator option there is still refused, so a job cannot park one where it looks unused."""
    from launchbuild.jobs import confine

    if not pyproject.is_file():
        return
    try:
        real = confine.confine(pyproject.parent, pyproject.name, where=pyproject.name, what="config file")
        data = load_toml(read_bounded(real, "config file"), display_path(pyproject))
    except BadInput:
        return  # the resolver reports an unreadable pyproject when it needs it
    tool = data.get("tool")
    table = tool.get("launchbuild") if isinstance(tool, dict) else None
    if isinstance(table, dict):
        refuse_keys({k: v for k, v in table.items() if k in OPERATOR_OPTION_NAMES}, display_path(pyproject))


def refuse_keys(table: dict[str, Any], shown: str) -> None:
    """A job's config may hold job options only: one line per refused file, never applied."""
    operator = sorted(k for k in table if k in OPERATOR_OPTION_NAMES)
    if operator:
        spec = SPECS_BY_NAME[operator[0]]
        ways = ([spec.flag] if spec.commands else []) + [spec.env_var or "LAUNCHBUILD_*", "the operator config"]
        raise BadInput(
            f"{shown}: '{_key(operator[0])}' is an operator option; a job's own config cannot set it "
            "(nothing from this file was applied)",
            hint=f"remove it from {shown}; the operator passes it as {', '.join(ways)}",
        )
    unknown = sorted(set(table) - set(SPECS_BY_NAME), key=str)
    if unknown:
        raise BadInput(
            f"{shown}: unknown launchbuild option '{_key(unknown[0])}'{did_you_mean(unknown[0], JOB_OPTION_NAMES)}",
            hint=f"a job may set: {', '.join(sorted(JOB_OPTION_NAMES))}",
        )


def read_operator_config(path: Path) -> tuple[dict[str, Any], str]:
    """The operator's config file: any option, the top-level table or `[tool.launchbuild]`."""
    from launchbuild.paths import expand_user

    shown = display_path(path)
    path = expand_user(path)
    if not path.is_file():
        raise BadInput(f"operator config {shown}: not a file", hint="fix --config / LAUNCHBUILD_CONFIG")
    data = load_toml(read_bounded(path, "operator config", cap=1024 * 1024), f"operator config {shown}")
    tool = data.get("tool")
    table = tool.get("launchbuild", data) if isinstance(tool, dict) else data
    if not isinstance(table, dict):
        raise BadInput(f"operator config {shown}: [tool.launchbuild] must be a table")
    if table is not data:
        refuse_beside_table(data, f"operator config {shown}")
    unknown = sorted((k for k in table if k not in SPECS_BY_NAME and k != "tool"), key=str)
    if unknown:
        raise BadInput(f"operator config {shown}: unknown launchbuild option "
                       f"'{_key(unknown[0])}'{did_you_mean(unknown[0], SPECS_BY_NAME)}",
                       hint="see the option names in 'launchbuild build --help' (the flag without its --)")
    table = {k: v for k, v in table.items() if k in SPECS_BY_NAME}
    for name in {o.name for o in LAYERED if o.host_path} & set(table):
        value = table[name]
        if isinstance(value, str) and value.strip(BLANK) and not expand_user(value).is_absolute():
            table[name] = str(path.parent / value)
    return table, shown
