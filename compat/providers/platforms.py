"""Target platforms as Docker spells them: `os/arch[/variant]`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from launchbuild.errors import BadInput

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm"}
_PART = re.compile(r"[a-z0-9_.-]+\Z")


@dataclass(frozen=True)
class Platform:
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
