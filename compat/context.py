"""Everything a rule may look at, gathered before any rule runs. Rules never do I/O."""

from __future__ import annotations

import datetime
from dataclasses import field

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.findings import Finding
from launchbuild.compat.source_facts import SourceFacts
from launchbuild.compat.target import DriverVersion, Gpu
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Sourced
from launchbuild.resolver.model import Lock, PackageFacts


@dataclass(frozen=True)
class CheckContext:
    """Everything the rules may look at for one job, gathered before any rule runs (rules do no
    I/O): the image's facts, the target, the lock and the source scan."""

    image: ImageFacts | None = None  # the base image's facts; None when unknown or not read
    image_error: str | None = None  # why the image could not be read (LB104)
    accelerator_image: bool = False  # the image is the accelerator base: Python goes in with apt
    python: Sourced[str] | None = None  # target Python X.Y
    platform: str = "linux/amd64"
    platform_origin: str = "default"  # "flag", "run metadata", ... for evidence
    gpus: tuple[Gpu, ...] = ()
    gpus_origin: str = "flag"
    driver: DriverVersion | None = None
    driver_origin: str = "flag"
    lock: Lock | None = None
    packages: tuple[PackageFacts, ...] = ()  # index facts per locked package (LB302, LB306)
    resolver_findings: tuple[Finding, ...] = ()  # LB301/LB305..., passed through unchanged
    source: SourceFacts | None = None
    entrypoint: tuple[str, ...] | None = None
    is_build: bool = False
    # Kernels measured for this check in locked wheels no table has (compat/facts/ondemand.py).
    measurements: tuple = ()
    # An image job: the image runs as is, so it must bring its own Python (LB102).
    image_job: bool = False
    # The date the check runs on (ISO), for the end-of-life and data-age rules (LB213, LB214):
    # read from the clock when the context is assembled, so the rules themselves read nothing.
    today: str = field(default_factory=lambda: datetime.date.today().isoformat())

    @property
    def targets_gpu(self) -> bool:
        return bool(self.gpus) or self.accelerator_image

    def locked(self, name: str) -> str | None:
        """The pinned version of `name` in the lock (local version included), or None."""
        return self.lock.version_of(name) if self.lock is not None else None

    @property
    def locked_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.lock.packages) if self.lock is not None else ()
