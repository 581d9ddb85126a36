"""Layered options, declared once in `options/table.py`, split by who may set them (docs/SECURITY.md).

    defaults < operator config file < the job's config file (job options only) < LAUNCHBUILD_* env < flags

The operator (whoever runs launchbuild: a person, a CI runner, a queue agent) controls flags,
the environment and an operator config file (`--config FILE`, else
`$XDG_CONFIG_HOME/launchbuild/config.toml`). The job controls only what describes the job
(`JOB_OPTION_NAMES`), through `[tool.launchbuild]` in its pyproject.toml or a `launchbuild.toml`.
A job config naming an operator option (`OPERATOR_OPTION_NAMES`: host paths, push targets,
engines, uid, network policy) is refused with one line naming the key and the file; its value
is never applied. Every resolved value keeps where it came from (`Sourced`), for `--verbose`;
the layers are ranked by `Origin` through the one precedence rule of `jobs/precedence.py`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.precedence import strongest
from launchbuild.options.files import (
    CONFIG_FILE_NAME,
    JOB_OPTION_NAMES,
    OPERATOR_OPTION_NAMES,
    SPECS_BY_NAME,
    coerce,
    did_you_mean,
    read_config_file,
    read_operator_config,
    refuse_keys,
)
from launchbuild.options.table import LAYERED, OPTIONS, Option, Setter

__all__ = [
    "CONFIG_FILE_NAME", "INT_RANGES", "JOB_OPTION_NAMES", "OPERATOR_CONFIG_ENV", "OPERATOR_OPTION_NAMES",
    "OPTIONS", "OPTION_SPECS", "Option", "OptionSpec", "Options", "SPECS_BY_NAME", "Setter",
    "default_operator_config", "did_you_mean", "job_may_set", "read_config_file", "read_operator_config",
    "refuse_keys", "resolve_options",
]

OptionSpec = Option  # the name before the table (service/request.py reads `.kind`)
OPTION_SPECS: tuple[Option, ...] = LAYERED
INT_RANGES = {o.name: o.int_range for o in LAYERED if o.kind is int}
OPERATOR_CONFIG_ENV = "LAUNCHBUILD_CONFIG"


def job_may_set(name: str) -> bool:
    """True for a setting a job's own files may carry (the allow-list, by name)."""
    return name in JOB_OPTION_NAMES


def default_operator_config(env: Mapping[str, str] | None = None) -> Path | None:
    """`$LAUNCHBUILD_CONFIG`, else `$XDG_CONFIG_HOME/launchbuild/config.toml` (default
    `~/.config`); None when no such file exists (an unset default is not an error)."""
    env = os.environ if env is None else env
    if env.get(OPERATOR_CONFIG_ENV):
        return Path(env[OPERATOR_CONFIG_ENV])
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    path = Path(base) / "launchbuild" / "config.toml"
    return path if path.is_file() else None


@dataclass(frozen=True)
class Options:
    """The layered options: every option's value with where it came from (`Sourced`), as
    `resolve_options` chose it."""

    values: Mapping[str, Sourced[Any]]

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value

    def sourced(self, name: str) -> Sourced[Any] | None:
        s = self.values[name]
        return None if s.value in (None, []) else s

    def where(self, name: str) -> str:
        """Where `name`'s value came from, as an error message names it: the flag, the
        variable, or the file and its key (`launchbuild.toml: gpu`)."""
        return where_of(self.values[name], SPECS_BY_NAME[name])

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, origin) rows for `--verbose`. Credentials never appear in options."""
        return [(n, _show(s.value), s.describe()) for n, s in self.values.items()]


def where_of(value: Sourced[Any], spec: Option) -> str:
    """How a message names the place `value` of option `spec` came from: a file and its key
    for a config file, the variable for the environment, else the flag."""
    if value.origin in (Origin.CONFIG_FILE, Origin.OPERATOR_CONFIG) and value.detail:
        return f"{value.detail}: {spec.name}"
    if value.origin is Origin.ENV and value.detail:
        return value.detail
    return spec.flag


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value) if value else "-"
    return "-" if value is None else str(value)


def layer_candidates(
    spec: Option,
    *,
    operator: tuple[Mapping[str, Any], str],
    job: tuple[Mapping[str, Any], str],
    env: Mapping[str, str],
    flags: Mapping[str, Any],
) -> list[Sourced[Any]]:
    """Every value one option has, each with its Origin, lowest layer first. A job's config
    takes part for job options only (the file was already refused if it named another)."""
    found = [Sourced(spec.default, Origin.DEFAULT)]
    table, shown = operator
    if spec.name in table:
        found.append(Sourced(coerce(spec, table[spec.name], shown), Origin.OPERATOR_CONFIG, shown))
    table, shown = job
    if spec.name in table and spec.job_may_set:
        found.append(Sourced(coerce(spec, table[spec.name], shown), Origin.CONFIG_FILE, shown))
    var = spec.env_var
    if var and env.get(var) not in (None, ""):
        found.append(Sourced(coerce(spec, env[var], var), Origin.ENV, var))
    flag = flags.get(spec.name)
    if flag not in (None, [], ()):
        flag = list(flag) if isinstance(flag, tuple) else flag
        found.append(Sourced(coerce(spec, flag, spec.flag), Origin.FLAG, spec.flag))
    return found


def resolve_options(
    flags: Mapping[str, Any],
    *,
    source_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    operator_config: Path | None = None,
) -> Options:
    """Layer defaults < operator config < the job's config (job options only) < env < flags.
    `flags` holds only what the user passed; `operator_config` is `--config FILE` (else the
    default location, when that file exists)."""
    env = os.environ if env is None else env
    operator_path = operator_config if operator_config is not None else default_operator_config(env)
    operator = read_operator_config(operator_path) if operator_path else ({}, "")
    job_table, job_path = read_config_file(source_dir)
    unknown = sorted(set(flags) - set(SPECS_BY_NAME))
    if unknown:
        raise ValueError(f"unknown option names from the CLI layer: {unknown}")  # programming error
    values: dict[str, Sourced[Any]] = {}
    for spec in LAYERED:
        found = layer_candidates(spec, operator=operator, job=(job_table, job_path or ""), env=env, flags=flags)
        chosen = strongest(*found)
        assert chosen is not None  # the default is always a candidate
        values[spec.name] = chosen
    return Options(values)
