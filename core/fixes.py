"""Typed fixes: what a finding proposes, as values a later stage can act on.

A finding's human `fix` text is rendered from these (`render_fix`), so the text and the value
cannot drift: the builder reads `AptPackages` from the findings instead of parsing evidence
text. Alternatives are a tuple, the first preferred; their texts are joined with ", or ".
Pure values; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields


class Fix:
    """Base of every typed fix; `text()` is the one-line advice shown to people."""

    def text(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class AptPackages(Fix):
    """System packages the image needs. With `apt` False the image has no apt: the names are
    the Debian ones, and the user installs their equivalents."""

    packages: tuple[str, ...]
    apt: bool = True

    def text(self) -> str:
        names = " ".join(self.packages)
        if not self.apt:
            return f"install the equivalents of {names} with the image's package manager"
        return f"add apt packages {names} to the image (apt-get install -y {names})"


@dataclass(frozen=True)
class ReplacePackage(Fix):
    """Depend on another distribution instead (opencv-python -> opencv-python-headless)."""

    package: str
    replacement: str

    def text(self) -> str:
        return f"use {self.replacement}"


@dataclass(frozen=True)
class PinPackage(Fix):
    """Pin `package` to a version matching `spec` (a PEP 440 specifier, or "" for any release
    that satisfies `why`)."""

    package: str
    spec: str = ""
    why: str = ""

    def text(self) -> str:
        what = f"{self.package}{self.spec}" if self.spec else f"a {self.package} release"
        return f"pin {what}" + (f" {self.why}" if self.why else "")


@dataclass(frozen=True)
class ChangeBaseImage(Fix):
    """Use another base image. `phrase` places the image in the sentence (it must name
    `{image}`), so each rule keeps its own wording."""

    image: str
    phrase: str = "use {image}"

    def text(self) -> str:
        return self.phrase.format(image=self.image)


@dataclass(frozen=True)
class UpgradeDriver(Fix):
    """The node's NVIDIA driver must be at least `minimum` (an operator's fix, not the build's)."""

    minimum: str

    def text(self) -> str:
        return f"upgrade the node driver to >= {self.minimum}"


@dataclass(frozen=True)
class IgnorePath(Fix):
    """Keep `path` (relative to the source root) out of the build context with .dockerignore."""

    path: str

    def text(self) -> str:
        return f"add {self.path} to .dockerignore"


# How SetOption reads for the options rules propose; any other is "set --OPTION VALUE".
_OPTION_PHRASES = {
    "python": "target Python {value}",
    "platform": "target --platform {value}",
}


@dataclass(frozen=True)
class SetOption(Fix):
    """Change one of the job's options (the name as in launchbuild.toml)."""

    option: str
    value: str

    def text(self) -> str:
        return _OPTION_PHRASES.get(self.option, "set --{option} {value}").format(option=self.option, value=self.value)


def as_data(fix: Fix) -> dict[str, object]:
    """The fix as plain data for machine-readable outputs: {"kind": "AptPackages", "packages": [...]}."""
    out: dict[str, object] = {"kind": type(fix).__name__}
    for f in fields(fix):  # type: ignore[arg-type]
        value = getattr(fix, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def render_fix(fixes: Iterable[Fix]) -> str:
    return ", or ".join(f.text() for f in fixes)


def of_type(findings: Iterable[object], kind: type) -> tuple:
    """Every fix of `kind` the findings carry, in finding order."""
    return tuple(fx for f in findings for fx in getattr(f, "fixes", ()) if isinstance(fx, kind))
