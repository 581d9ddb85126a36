"""The job as understood, as plain JSON-able data (`launchbuild show JOB --format json`).

Every setting is `{"value": ..., "origin": ..., "detail": ...}` or null. Credentials never
appear: git remotes go through `redact_url`, and every other string through `redact_text`
(a detail or a path can quote a URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, Job
from launchbuild.core.sourced import Sourced
from launchbuild.jobs.urls import redact_text, redact_url


def _setting(value: Sourced[Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    shown = list(value.value) if isinstance(value.value, tuple) else value.value
    if isinstance(shown, Path):
        shown = str(shown)
    return {"value": _clean(shown), "origin": value.origin.value, "detail": redact_text(value.detail)}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _path(path: Path | None) -> str | None:
    return None if path is None else redact_text(str(path))


def source_to_dict(source: GitSource | CodeSource | ImageSource) -> dict[str, Any]:
    if isinstance(source, GitSource):
        return {"kind": source.kind.value, "remote": redact_url(source.remote), "ref": source.ref,
                "subdir": source.subdir}
    if isinstance(source, CodeSource):
        archive = not source.path.is_dir()
        return {"kind": source.kind.value, "path": _path(source.path),
                "form": "archive" if archive else "directory", "subdir": source.subdir}
    return {"kind": source.kind.value, "image": source.image}


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "name": job.name,
        "kind": job.kind.value,
        "builds_image": job.builds_image,
        "source": source_to_dict(job.source),
        "ref": _setting(job.ref),
        "subdir": _setting(job.subdir),
        "entrypoint": _setting(job.entrypoint),
        "python": _setting(job.python),
        "accelerator_base_image": _setting(job.accelerator_base_image),
        "python_base_image": _setting(job.python_base_image),
        "frozen_requirements": _path(job.frozen_requirements),
        "run_metadata": _path(job.run_metadata),
        "spec_path": _path(job.spec_path),
    }
