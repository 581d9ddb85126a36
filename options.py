"""Layered options, cibuildwheel-style, split by who may set them (docs/SECURITY.md).

    defaults < operator config file < the job's config file (job options only) < LAUNCHBUILD_* env < flags

The operator (whoever runs launchbuild: a person, a CI runner, a queue agent) controls flags,
the environment and an operator config file (`--config FILE`, else
`$XDG_CONFIG_HOME/launchbuild/config.toml`). The job controls only what describes the job
(`JOB_OPTION_NAMES`), through `[tool.launchbuild]` in its pyproject.toml or a `launchbuild.toml`.
A job config naming an operator option (`OPERATOR_OPTION_NAMES`: host paths, push targets,
engines, uid, network policy) is refused with one line naming the key and the file; its value
is never applied. Every resolved value keeps where it came from, for `--verbose`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from launchbuild.errors import BadInput
from launchbuild.limits import clip, load_toml, read_bounded
from launchbuild.jobs.model import Origin, Sourced
from launchbuild.paths import display_path


@dataclass(frozen=True)
class OptionSpec:
    name: str
    kind: type  # str, bool, int or list (of str)
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return "LAUNCHBUILD_" + self.name.upper().replace("-", "_")


OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("python", str, None, "target Python X.Y"),
    OptionSpec("entrypoint", str, None, 'entrypoint command, e.g. "python train.py"'),
    OptionSpec("platform", str, "linux/amd64", "target platform (linux/amd64, linux/arm64)"),
    OptionSpec("base-image", str, None, "accelerator base image; Python is installed into it with apt"),
    OptionSpec("python-base-image", str, "python:{python}-slim", "base image when no accelerator image is given"),
    OptionSpec("gpu", list, [], "target GPU(s): name, sm_XY or X.Y"),
    OptionSpec("driver", str, None, "node NVIDIA driver version"),
    OptionSpec("ignore", list, [], "rule IDs to ignore"),
    OptionSpec("strict", bool, False, "treat warnings as failures"),
    OptionSpec("offline", bool, False, "use caches only; never reach the network"),
    OptionSpec("resolver", str, "uv", "lock backend: uv or pip-tools"),
    OptionSpec("torch-index-url", str, "https://download.pytorch.org/whl", "base URL of +cuXYZ wheel indexes"),
    OptionSpec("engine", str, "auto", "build engine: auto, buildkit, classic, kubernetes"),
    OptionSpec("uid", int, 1000, "uid of the non-root user in the image"),
    OptionSpec("push", str, None, "REGISTRY/REPO to push the built image to"),
    OptionSpec("kubernetes-namespace", str, "default", "namespace of the cluster build Job"),
    OptionSpec("kubernetes-context-store", str, "configmap", "where the build context goes: configmap, pvc:NAME, s3://B/P, gs://B/P"),
    OptionSpec("kubernetes-builder", str, "buildkit", "cluster builder: buildkit (rootless) or kaniko"),
    OptionSpec("extra", list, [], "optional-dependency extras of the job's project to lock; repeatable"),
    OptionSpec("group", list, [], "dependency groups (PEP 735, Poetry, PDM, Pipfile dev) to lock; repeatable"),
    OptionSpec("ca-bundle", str, None, "CA bundle mounted into install steps (default: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT)"),
    OptionSpec("allow-index-host", list, [], "package hosts (HOST[:PORT]) a job's dependency files may name; none: any host"),
)
SPECS_BY_NAME = {s.name: s for s in OPTION_SPECS}
_KIND_NAMES = {int: "a whole number (ASCII digits)", bool: "a boolean", str: "a string", list: "a list of strings"}
INT_RANGES = {"uid": (0, 2**31 - 1)}  # 0 passes here so the plan can say "would run as root"
CONFIG_FILE_NAME = "launchbuild.toml"

# What a job may set about itself: what its code needs and which node it targets. None of these
# names a host path, a credential, a registry or an engine; each reaches the Dockerfile only
# through validated, data-only rendering (exec-form ENTRYPOINT, X.Y Python, checked image refs).
JOB_OPTION_NAMES: frozenset[str] = frozenset({
    "python", "entrypoint", "platform", "base-image", "python-base-image",
    "gpu", "driver", "ignore", "strict", "extra", "group",
})
# Everything else is the operator's: host files (ca-bundle), push targets, engines and clusters,
# the image's uid, and network policy of the host (offline, resolver tool, torch index).
OPERATOR_OPTION_NAMES: frozenset[str] = frozenset(SPECS_BY_NAME) - JOB_OPTION_NAMES
OPERATOR_CONFIG_ENV = "LAUNCHBUILD_CONFIG"
# Options holding a host path: relative values in the operator config are relative to that file.
_PATH_OPTIONS = frozenset({"ca-bundle"})


def job_may_set(name: str) -> bool:
    """True for a setting a job's own files may carry (the allow-list, by name)."""
    return name in JOB_OPTION_NAMES


def _coerce(spec: OptionSpec, value: Any, where: str) -> Any:
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
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
    elif spec.kind is int:
        # ASCII digits only ('²'.isdigit() is True) and a range, so a uid fits every tool's uid_t.
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = INT_RANGES.get(spec.name, (0, 2**31 - 1))
            if low <= value <= high:
                return value
            raise BadInput(f"{where}: option '{spec.name}' must be between {low} and {high}, got {clip(str(value), 40)}",
                           hint=f"fix the value of '{spec.name}'")
    elif isinstance(value, str):
        return value
    raise BadInput(
        f"{where}: option '{spec.name}' must be {_KIND_NAMES.get(spec.kind, 'a ' + spec.kind.__name__)}, got {clip(repr(value))}",
        hint=f"fix the value of '{spec.name}'",
    )


def _launchbuild_table(data: dict[str, Any], path: Path, *, whole_file: bool) -> Any:
    """`[tool.launchbuild]` of `data`; a `tool` that is not a table is one BadInput line."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise BadInput(f"{display_path(path)}: 'tool' must be a table, got {type(tool).__name__}", hint="write [tool.launchbuild]")
    if whole_file:
        return tool.get("launchbuild", data)
    return tool.get("launchbuild")


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
            _refuse_keys({k: v for k, v in data.items() if k in OPERATOR_OPTION_NAMES}, display_path(path))
        table = _launchbuild_table(data, path, whole_file=table_path is None)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise BadInput(f"{path}: [tool.launchbuild] must be a table")
        _refuse_keys(table, display_path(path))
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
        _refuse_keys({k: v for k, v in table.items() if k in OPERATOR_OPTION_NAMES}, display_path(pyproject))


def _refuse_keys(table: dict[str, Any], shown: str) -> None:
    """A job's config may hold job options only: one line per refused file, never applied."""
    operator = sorted(k for k in table if k in OPERATOR_OPTION_NAMES)
    if operator:
        raise BadInput(
            f"{shown}: '{_key(operator[0])}' is an operator option; a job's own config cannot set it "
            "(nothing from this file was applied)",
            hint=f"remove it from {shown}; the operator passes it as --{_key(operator[0])}, "
                 "LAUNCHBUILD_* or in the operator config",
        )
    unknown = sorted(set(table) - set(SPECS_BY_NAME), key=str)
    if unknown:
        raise BadInput(
            f"{shown}: unknown launchbuild option '{_key(unknown[0])}'",
            hint=f"a job may set: {', '.join(sorted(JOB_OPTION_NAMES))}",
        )


def _key(key: object) -> str:
    """A key from a file, safe to print on one line (repr escapes control characters)."""
    text = key if isinstance(key, str) else repr(key)
    return repr(text)[1:-1][:80]


def default_operator_config(env: Mapping[str, str] | None = None) -> Path | None:
    """`$LAUNCHBUILD_CONFIG`, else `$XDG_CONFIG_HOME/launchbuild/config.toml` (default
    `~/.config`); None when no such file exists (an unset default is not an error)."""
    env = os.environ if env is None else env
    if env.get(OPERATOR_CONFIG_ENV):
        return Path(env[OPERATOR_CONFIG_ENV])
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    path = Path(base) / "launchbuild" / "config.toml"
    return path if path.is_file() else None


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
    unknown = sorted((k for k in table if k not in SPECS_BY_NAME and k != "tool"), key=str)
    if unknown:
        raise BadInput(f"operator config {shown}: unknown launchbuild option '{_key(unknown[0])}'",
                       hint=f"known options: {', '.join(SPECS_BY_NAME)}")
    table = {k: v for k, v in table.items() if k in SPECS_BY_NAME}
    for name in _PATH_OPTIONS & set(table):
        value = table[name]
        if isinstance(value, str) and value and not expand_user(value).is_absolute():
            table[name] = str(path.parent / value)
    return table, shown



@dataclass(frozen=True)
class Options:
    values: Mapping[str, Sourced[Any]]

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value

    def sourced(self, name: str) -> Sourced[Any] | None:
        s = self.values[name]
        return None if s.value in (None, []) else s

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, origin) rows for `--verbose`. Credentials never appear in options."""
        return [(n, _show(s.value), s.describe()) for n, s in self.values.items()]


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value) if value else "-"
    return "-" if value is None else str(value)


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
    operator_table, operator_shown = read_operator_config(operator_path) if operator_path else ({}, "")
    table, config_path = read_config_file(source_dir)
    unknown = sorted(set(flags) - set(SPECS_BY_NAME))
    if unknown:
        raise ValueError(f"unknown option names from the CLI layer: {unknown}")  # programming error
    values: dict[str, Sourced[Any]] = {}
    for spec in OPTION_SPECS:
        chosen = Sourced(spec.default, Origin.DEFAULT)
        if spec.name in operator_table:
            chosen = Sourced(_coerce(spec, operator_table[spec.name], operator_shown), Origin.OPERATOR_CONFIG,
                             operator_shown)
        if spec.name in table and spec.name in JOB_OPTION_NAMES:
            chosen = Sourced(_coerce(spec, table[spec.name], config_path or ""), Origin.CONFIG_FILE, config_path or "")
        if env.get(spec.env_var) not in (None, ""):
            chosen = Sourced(_coerce(spec, env[spec.env_var], spec.env_var), Origin.ENV, spec.env_var)
        flag = flags.get(spec.name)
        if flag not in (None, [], ()):
            chosen = Sourced(_coerce(spec, list(flag) if isinstance(flag, tuple) else flag, f"--{spec.name}"), Origin.FLAG, f"--{spec.name}")
        values[spec.name] = chosen
    return Options(values)
