"""`JobRequest`: everything a caller says about one job, as one frozen value.

The CLI builds it from its flags, the service from a request body, a Python caller by hand;
all three hand the same value to the pipeline (`launchbuild.api`). Options are named by
their Python identifiers (`base_image`, `python_base_image`); the hyphenated names
(`base-image`) belong to the CLI and config-file edge, and `config_names()` turns a request
back into them for the options layer. Nothing here imports a stage: the value is cheap to
build on the warm `check` path.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any, Iterator, Mapping

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput


def _known_names() -> frozenset[str]:
    from launchbuild.options import SPECS_BY_NAME

    return frozenset(SPECS_BY_NAME)


class OptionValues(Mapping[str, Any]):
    """An immutable, hashable mapping of option identifier -> value (lists held as tuples)."""

    __slots__ = ("_items",)

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        items = {}
        for name, value in (values or {}).items():
            items[name] = tuple(value) if isinstance(value, list) else value
        self._items: tuple[tuple[str, Any], ...] = tuple(sorted(items.items()))

    def __getitem__(self, name: str) -> Any:
        for key, value in self._items:
            if key == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other.items())

    def __repr__(self) -> str:
        return f"OptionValues({dict(self._items)!r})"


def option_identifier(config_name: str) -> str:
    """`base-image` -> `base_image`: the config-file name of an option as Python spells it."""
    return config_name.replace("-", "_")


def from_config_names(values: Mapping[str, Any]) -> dict[str, Any]:
    """Options keyed by their config-file names (a request body, an operator's table) keyed
    by identifiers, for `JobRequest(options=...)`."""
    return {option_identifier(name): value for name, value in values.items()}


@dataclass(frozen=True)
class JobRequest:
    """One job and what the caller says about it.

    `job` is the JOB argument of the CLI (a directory, an archive, a git URL, `image:REF`, a
    job spec); None is the current directory. `options` are option overrides by identifier
    (`{"gpu": ["H100"], "base_image": "nvidia/cuda:12.1.1-runtime-ubuntu22.04"}`): they rank
    as flags, above the environment and every config file. `operator_config` is the
    operator's config file (`--config`; None: the default location, when it exists).
    """

    job: str | None = None
    ref: str | None = None
    subdir: str | None = None
    entrypoint: str | None = None
    requirements: Path | None = None
    frozen: Path | None = None
    run_metadata: Path | None = None
    queue_config: Path | None = None
    extras: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=OptionValues)
    operator_config: Path | None = None

    def __post_init__(self) -> None:
        known = _known_names()
        for name in self.options:
            if "-" in name and name in known:
                raise BadInput(f"JobRequest: option {name!r} is a config-file name",
                               hint=f"name it {option_identifier(name)!r} in Python")
            if name.replace("_", "-") not in known:
                raise BadInput(f"JobRequest: unknown option {str(name)[:60]!r}",
                               hint="known options: " + ", ".join(sorted(option_identifier(n) for n in known)))
        # Frozen all the way down: the options and extras cannot change under the pipeline.
        object.__setattr__(self, "options", OptionValues(self.options))
        object.__setattr__(self, "extras", tuple(self.extras))
        for name in ("requirements", "frozen", "run_metadata", "queue_config", "operator_config"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def config_names(self) -> dict[str, Any]:
        """The options as the options layer names them (`base-image`), set ones only."""
        return {name.replace("_", "-"): value for name, value in self.options.items() if value not in (None, (), [])}
