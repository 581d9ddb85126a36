"""The queue config (W&B Launch's queue `builder` table) and the `builder` table a job
spec may carry in the same shape: the accelerator base image, with where it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launchbuild.core.imageref import validate_image_ref
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.json_object import get_field, read_json_object
from launchbuild.paths import display_path


@dataclass(frozen=True)
class BuilderSettings:
    """What a `builder` table (a queue config's, or a job spec's) says: the accelerator base
    image, with where it came from."""

    accelerator_base_image: Sourced[str] | None = None


def parse_builder_table(table: dict[str, Any], where: str, origin: Origin) -> BuilderSettings:
    """`{"accelerator": {"base_image": ...}}`, or the legacy `{"cuda": {"base_image": ...}}`.
    Other builder keys (type, destination, ...) belong to other tools and are ignored."""
    for key in ("accelerator", "cuda"):
        sub = get_field(table, key, dict, f"{where}: builder")
        if sub is None:
            continue
        image = get_field(sub, "base_image", str, f"{where}: builder.{key}")
        if image is not None:
            field_where = f"{where}: builder.{key}.base_image"
            validate_image_ref(image, field_where)
            return BuilderSettings(Sourced(image, origin, field_where))
    return BuilderSettings()


def load_queue_config(path: Path, *, where_prefix: str = "queue config") -> BuilderSettings:
    data = read_json_object(path, where_prefix)
    builder = get_field(data, "builder", dict, f"{where_prefix} {path}")
    if builder is None:
        return BuilderSettings()
    return parse_builder_table(builder, display_path(path), Origin.QUEUE_CONFIG)
