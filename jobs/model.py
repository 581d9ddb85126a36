"""The job as understood: frozen values passed from stage to stage."""

from __future__ import annotations

import enum
from dataclasses import field
from pathlib import Path
from typing import Union

from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Sourced


class SourceKind(str, enum.Enum):
    GIT = "git"
    CODE = "code"
    IMAGE = "image"


@dataclass(frozen=True, repr=False)
class GitSource:
    """A job whose code is a git remote, at a ref and subdirectory; its repr never shows the
    remote's credentials."""

    remote: str  # may hold credentials: print it only through redact_url()
    ref: str | None = None  # commit sha, branch or tag; None = remote HEAD
    subdir: str | None = None
    kind: SourceKind = field(default=SourceKind.GIT, init=False)

    def __repr__(self) -> str:
        # reprs end up in logs and tracebacks: never with the remote's credentials
        from launchbuild.jobs.urls import redact_url

        return f"GitSource(remote={redact_url(self.remote)!r}, ref={self.ref!r}, subdir={self.subdir!r})"


@dataclass(frozen=True)
class CodeSource:
    """A job whose code is on this machine: a directory or an archive, or a subdirectory of one."""

    path: Path  # a directory, or a .tar/.tar.gz/.tgz/.zip archive
    kind: SourceKind = field(default=SourceKind.CODE, init=False)
    subdir: str | None = None  # relative to the directory / archive root


@dataclass(frozen=True)
class ImageSource:
    """A job that is an existing image: it is checked and run as it is, nothing is built."""

    image: str
    kind: SourceKind = field(default=SourceKind.IMAGE, init=False)


Source = Union[GitSource, CodeSource, ImageSource]


@dataclass(frozen=True)
class Job:
    """A source plus what is needed to build and run it.

    Every optional setting is `Sourced` so `show --verbose` and the report can say where
    it came from. Files (`frozen_requirements`, `run_metadata`) are paths on this machine.
    """

    source: Source
    entrypoint: Sourced[tuple[str, ...]] | None = None
    python: Sourced[str] | None = None  # "3.11"; validated X.Y
    accelerator_base_image: Sourced[str] | None = None
    python_base_image: Sourced[str] | None = None  # used when no accelerator image
    frozen_requirements: Path | None = None  # the source run's package list
    run_metadata: Path | None = None  # wandb-metadata.json-style
    spec_path: Path | None = None  # the job spec file, when JOB was one
    name: str | None = None
    # Where the source's ref and subdir came from; the values themselves live on the source
    # (GitSource.ref/subdir, CodeSource.subdir), which is what fetching uses.
    ref: Sourced[str] | None = None
    subdir: Sourced[str] | None = None

    @property
    def kind(self) -> SourceKind:
        return self.source.kind

    @property
    def builds_image(self) -> bool:
        return self.source.kind is not SourceKind.IMAGE
