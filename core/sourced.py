"""Provenance: a value and where it came from. Options, the job, the resolver and the
report all carry `Sourced` values, so the type lives in core and no stage owns it."""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

from launchbuild.core.records import dataclass

T = TypeVar("T", covariant=True)  # a read-only value: Sourced[str] is a Sourced[object]


class Origin(str, enum.Enum):
    """Where a setting came from, lowest precedence first."""

    DEFAULT = "default"
    INFERRED = "inferred"
    OPERATOR_CONFIG = "operator config"  # --config FILE / $XDG_CONFIG_HOME/launchbuild/config.toml
    RUN_METADATA = "run metadata"
    SOURCE_FILE = "source file"  # .python-version, runtime.txt, requires-python, ...
    QUEUE_CONFIG = "queue config"
    JOB_SPEC = "job spec"
    CONFIG_FILE = "config file"  # [tool.launchbuild] / launchbuild.toml
    ENV = "environment"
    FLAG = "flag"


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value and the place it came from (`detail` names the file or flag)."""

    value: T
    origin: Origin
    detail: str = ""

    def describe(self) -> str:
        return f"{self.origin.value} ({self.detail})" if self.detail else self.origin.value
