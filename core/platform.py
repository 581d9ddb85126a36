"""Platforms: the one place that knows how Docker, wheel tags and this host spell them.

`Platform` reads any `os/arch[/variant]` (an image index lists many). `parse_platform` is
what launchbuild targets: it builds and locks for linux/amd64 and linux/arm64 only, and every
stage (options, the resolver's lock, the plan, the cluster build) checks with it, so the
accepted spellings and the hint are the same everywhere.
"""

from __future__ import annotations

import re

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm"}
# Docker architecture -> the CPU name in wheel tags, `platform_machine` and `uname -m`.
_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}
SUPPORTED_PLATFORMS = ("linux/amd64", "linux/arm64")
_PART = re.compile(r"[a-z0-9_.-]+\Z")


@dataclass(frozen=True)
class Platform:
    """Any `os/arch[/variant]`, normalised (an image index lists many); `parse_platform` narrows
    it to the platforms launchbuild targets."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @staticmethod
    def normalise_arch(arch: str) -> str:
        arch = arch.strip().lower()
        return _ARCH_ALIASES.get(arch, arch)

    @classmethod
    def parse(cls, text: object) -> "Platform":
        if not isinstance(text, str) or not text.strip():
            raise BadInput(f"invalid platform {text!r}: write it as os/arch[/variant], e.g. linux/amd64")
        parts = text.strip().lower().split("/")
        if len(parts) not in (2, 3) or not all(_PART.match(p) for p in parts):
            raise BadInput(f"invalid platform {text!r}: write it as os/arch[/variant], e.g. linux/amd64")
        variant = parts[2] if len(parts) == 3 else None
        arch = cls.normalise_arch(parts[1])
        if arch == "arm64" and variant == "v8":
            variant = None  # arm64 means v8 unless said otherwise
        return cls(os=parts[0], architecture=arch, variant=variant)

    def matches(self, os: str | None, architecture: str | None, variant: str | None) -> bool:
        if (os or "") != self.os or self.normalise_arch(architecture or "") != self.architecture:
            return False
        if self.variant is None:
            return True
        want = self.variant
        have = variant or ("v8" if self.architecture == "arm64" else None)
        return have == want


def parse_platform(text: object, where: str = "--platform") -> str:
    """A supported target platform, canonical ('linux/amd64', 'linux/arm64'); the x86_64,
    x86-64, aarch64 and arm64/v8 spellings are accepted, any case. Else one BadInput line."""
    unsupported = BadInput(f"{where} {text!r}: unsupported; use {' or '.join(SUPPORTED_PLATFORMS)}")
    try:
        platform = Platform.parse(text)
    except BadInput:
        raise unsupported from None
    canonical = str(platform)
    if canonical not in SUPPORTED_PLATFORMS:
        raise unsupported
    return canonical


def docker_arch(platform: str) -> str:
    """'linux/amd64' -> 'amd64': the architecture name in image configs and indexes."""
    return parse_platform(platform).split("/")[1]


def wheel_machine(platform: str) -> str:
    """'linux/amd64' -> 'x86_64': the CPU name in wheel tags and `platform_machine`."""
    return _MACHINE[docker_arch(platform)]


def host_arch() -> str:
    """This machine's architecture as Docker names it ('amd64', 'arm64'; others as uname says)."""
    import platform as _platform

    return Platform.normalise_arch(_platform.machine())


def host_machine() -> str:
    """This machine's CPU as wheel tags name it ('x86_64', 'aarch64'; others as uname says)."""
    arch = host_arch()
    return _MACHINE.get(arch, arch)

