"""Layered options, cibuildwheel-style: defaults < config file < LAUNCHBUILD_* env < flags.

The config file is `[tool.launchbuild]` in the job's pyproject.toml, or a `launchbuild.toml`
beside it (its top-level table, or its own `[tool.launchbuild]`). Every resolved value keeps
where it came from, so `--verbose` can print the options before any work starts.
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
    OptionSpec("ca-bundle", str, None, "CA bundle mounted into install steps (default: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT)"),
)
SPECS_BY_NAME = {s.name: s for s in OPTION_SPECS}
_KIND_NAMES = {int: "a whole number (ASCII digits)", bool: "a boolean", str: "a string", list: "a list of strings"}
INT_RANGES = {"uid": (0, 2**31 - 1)}  # 0 passes here so the plan can say "would run as root"
CONFIG_FILE_NAME = "launchbuild.toml"


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
        data = load_toml(read_bounded(path, "config file"), display_path(path))  # caps: limits.py
        table = _launchbuild_table(data, path, whole_file=table_path is None)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise BadInput(f"{path}: [tool.launchbuild] must be a table")
        unknown = sorted(set(table) - set(SPECS_BY_NAME))
        if unknown:
            raise BadInput(
                f"{path}: unknown launchbuild option(s) {', '.join(unknown)}",
                hint=f"known options: {', '.join(SPECS_BY_NAME)}",
            )
        return table, display_path(path)
    return {}, None



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
) -> Options:
    """Layer defaults < config file < env < flags. `flags` holds only what the user passed."""
    env = os.environ if env is None else env
    table, config_path = read_config_file(source_dir)
    unknown = sorted(set(flags) - set(SPECS_BY_NAME))
    if unknown:
        raise ValueError(f"unknown option names from the CLI layer: {unknown}")  # programming error
    values: dict[str, Sourced[Any]] = {}
    for spec in OPTION_SPECS:
        chosen = Sourced(spec.default, Origin.DEFAULT)
        if spec.name in table:
            chosen = Sourced(_coerce(spec, table[spec.name], config_path or ""), Origin.CONFIG_FILE, config_path or "")
        if env.get(spec.env_var) not in (None, ""):
            chosen = Sourced(_coerce(spec, env[spec.env_var], spec.env_var), Origin.ENV, spec.env_var)
        flag = flags.get(spec.name)
        if flag not in (None, [], ()):
            chosen = Sourced(_coerce(spec, list(flag) if isinstance(flag, tuple) else flag, f"--{spec.name}"), Origin.FLAG, f"--{spec.name}")
        values[spec.name] = chosen
    return Options(values)
