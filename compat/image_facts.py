"""The fact sheet of a base image, as read by one of the providers."""

from __future__ import annotations

from dataclasses import field

from launchbuild.core.records import dataclass


@dataclass(frozen=True)
class ImageFacts:
    """Typed facts about an image. `None` means "not known", never "absent"."""

    reference: str
    provider: str  # "docker" | "registry" | "inferred": which provider answered
    digest: str | None = None
    os_id: str | None = None  # os-release ID: debian, ubuntu, ...
    os_id_like: tuple[str, ...] = ()
    os_version: str | None = None  # VERSION_ID: "12", "22.04"
    os_codename: str | None = None
    debian_version: str | None = None  # /etc/debian_version
    has_apt: bool | None = None
    glibc: str | None = None  # "2.36"
    architecture: str | None = None  # docker platform arch: amd64, arm64
    variant: str | None = None
    pythons: tuple[str, ...] = ()  # X.Y versions present in the image
    apt_pythons: tuple[str, ...] | None = None  # X.Y installable with apt (probed or per-distro table)
    # X.Y with an interpreter at /usr/bin/python3.X, where the distribution's packages put it
    # (a PPA's too); a conda or /usr/local interpreter is not one: apt-get cannot install it.
    system_pythons: tuple[str, ...] = ()
    cuda_version: str | None = None  # "12.1.1": CUDA_VERSION when set (what the NVIDIA runtime reads), else the toolkit's
    # The installed toolkit's own version file (/usr/local/cuda/version.json or version.txt):
    # what nvcc and the image's CUDA libraries are, whatever the env says.
    cuda_toolkit_version: str | None = None
    cudnn_version: str | None = None  # "8.9.0.131"
    require_cuda: str | None = None  # NVIDIA_REQUIRE_CUDA, verbatim
    has_nvcc: bool | None = None
    end_of_life: bool = False
    env: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    user: str | None = None
    # Filesystem layers the image's history records after the LABEL step that wrote its
    # launchbuild lock label (core.labels.layers_after_build): 0 for the image launchbuild built,
    # more for an image derived from it (its lock label inherited, no longer what is installed),
    # None when not known or the image has no launchbuild lock label.
    layers_after_build: int | None = None
    # Where each fact came from, e.g. {"cuda_version": "env CUDA_VERSION"}
    fact_sources: tuple[tuple[str, str], ...] = field(default=())
    # Added for compat.facts.inspect: the config digest (`docker image inspect` Id), the
    # providers that did not answer and why, and whether the sheet came from the cache.
    image_id: str | None = None
    attempts: tuple[tuple[str, str], ...] = ()
    from_cache: bool = False

    @property
    def debian_compatible(self) -> bool | None:
        if self.has_apt is False:
            return False
        family = {self.os_id or "", *self.os_id_like}
        if family & {"debian", "ubuntu"} or self.debian_version:
            return True if self.has_apt is not False else False
        if self.os_id is None and self.debian_version is None:
            return None
        return False

    def source_of(self, fact: str) -> str:
        if self.provider == "inferred":
            return "inferred"
        return dict(self.fact_sources).get(fact, self.provider)
