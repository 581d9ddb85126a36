"""Typed fixes: what a finding proposes, as values a later stage can act on.

A finding's human `fix` text is rendered from these (`render_fix`), so the text and the value
cannot drift: the builder reads `AptPackages` from the findings instead of parsing evidence
text. Alternatives are a tuple, the first preferred; their texts are joined with ", or ".
Pure values; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields

from launchbuild.core.records import dataclass


class Fix:
    """Base of every typed fix; `text()` is the one-line advice shown to people.

    Many fixes take a `phrase`: the rule's own wording, with the fix's fields as `{name}`
    placeholders, so the rendered text stays each rule's sentence while the values stay data.
    `phrase` is wording, not data: `as_data` leaves it out."""

    def text(self) -> str:
        """The fix's `phrase` with its fields filled in; a fix without one renders its own text."""
        if "phrase" not in self.__dict__:
            raise NotImplementedError(f"{type(self).__name__} declares no phrase and no text()")
        return self._phrased()

    def _phrased(self) -> str:
        phrase: str = self.__dict__["phrase"]  # the subclasses that call this declare it
        return phrase.format(**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "phrase"})  # type: ignore[arg-type]


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
    phrase: str = "use {replacement}"


@dataclass(frozen=True)
class PinPackage(Fix):
    """Pin `package` to a version matching `spec` (a PEP 440 specifier, or "" for any release
    that satisfies `why`)."""

    package: str
    spec: str = ""
    why: str = ""
    phrase: str = ""  # the rule's wording ({package}, {spec}, {why}); "" for "pin ..."

    def text(self) -> str:
        if self.phrase:
            return self._phrased()
        what = f"{self.package}{self.spec}" if self.spec else f"a {self.package} release"
        return f"pin {what}" + (f" {self.why}" if self.why else "")


@dataclass(frozen=True)
class ChangeBaseImage(Fix):
    """Use another base image. `phrase` places the image in the sentence (it must name
    `{image}`), so each rule keeps its own wording."""

    image: str
    phrase: str = "use {image}"


@dataclass(frozen=True)
class UpgradeDriver(Fix):
    """The node's NVIDIA driver must be at least `minimum` (an operator's fix, not the build's).
    `cuda` names the CUDA the driver must support; with `native`, the fix is a branch that
    supports that CUDA without forward compatibility. No minimum known: "upgrade the node driver"."""

    minimum: str = ""
    cuda: str = ""
    native: bool = False

    def text(self) -> str:
        if self.native:
            return f"upgrade the node driver to a branch that supports CUDA {self.cuda or 'of the image'} natively"
        if not self.minimum:
            return "upgrade the node driver"
        return f"upgrade the node driver to >= {self.minimum}" + (f" (CUDA {self.cuda})" if self.cuda else "")


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
    """Change one of the job's options (the name as in launchbuild.toml) to `value`."""

    option: str
    value: str
    phrase: str = ""  # the rule's wording ({option}, {value}); "" for the option's usual one

    def text(self) -> str:
        if self.phrase:
            return self._phrased()
        return _OPTION_PHRASES.get(self.option, "set --{option} {value}").format(option=self.option, value=self.value)


@dataclass(frozen=True)
class ChangeImageCuda(Fix):
    """Use a base image with another CUDA (or cuDNN): CUDA at least `minimum` and/or at most
    `maximum` (major or major.minor), cuDNN at least `cudnn`; `example` is one the data knows
    that fits ("" when none)."""

    minimum: str = ""
    maximum: str = ""
    cudnn: str = ""
    example: str = ""
    phrase: str = "use an image with CUDA {minimum} or later"


@dataclass(frozen=True)
class InstallVariant(Fix):
    """Install another build of `package`: its `cuda` (major) build, a local-version `variant`
    (cu128) from `index`, or an `extra` ([and-cuda], [cuda12]), at `version` ("" for any)."""

    package: str
    cuda: str = ""
    variant: str = ""
    extra: str = ""
    version: str = ""
    index: str = ""
    phrase: str = "install the CUDA {cuda} variant of {package}"


@dataclass(frozen=True)
class AddPackage(Fix):
    """Add a requirement to the job's dependencies (nvidia-cuda-runtime-cu12)."""

    requirement: str
    phrase: str = "add {requirement} to the requirements"


@dataclass(frozen=True)
class UnifyCuda(Fix):
    """Move every GPU package to one CUDA major; `packages` are those on another major now."""

    major: int
    packages: tuple[str, ...] = ()
    phrase: str = "use the CUDA {major} builds of every GPU package (the -cu{major} / cuda{major} variants)"


@dataclass(frozen=True)
class SetImageEnv(Fix):
    """Set an environment variable in the built image (`ENV name=value`)."""

    name: str
    value: str
    phrase: str = "set ENV {name}={value} in the build"


@dataclass(frozen=True)
class RefreshData(Fix):
    """Run `launchbuild data refresh` with `args` (empty: the whole refresh)."""

    args: tuple[str, ...] = ()
    phrase: str = "run `{command}`"

    @property
    def command(self) -> str:
        return " ".join(("launchbuild data refresh", *self.args))

    def text(self) -> str:
        return self.phrase.format(command=self.command)


@dataclass(frozen=True)
class Advice(Fix):
    """A step only a person can take (read release notes, choose a GPU, fix the project's
    packaging). It sits among typed alternatives so their order and text stay whole; no stage
    acts on it. A finding whose every fix is advice passes its text instead (see docs/rules.md)."""

    advice: str

    def text(self) -> str:
        return self.advice


def as_data(fix: Fix) -> dict[str, object]:
    """The fix as plain data for machine-readable outputs: {"kind": "AptPackages", "packages": [...]}."""
    out: dict[str, object] = {"kind": type(fix).__name__}
    for f in fields(fix):  # type: ignore[arg-type]
        if f.name == "phrase":  # wording, not data: the text is in the finding's `fix`
            continue
        value = getattr(fix, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def render_fix(fixes: Iterable[Fix]) -> str:
    return ", or ".join(f.text() for f in fixes)


def actionable(fixes: Iterable[Fix]) -> tuple[Fix, ...]:
    """The fixes a program can act on: every one but `Advice`."""
    return tuple(fx for fx in fixes if not isinstance(fx, Advice))


def of_type(findings: Iterable[object], kind: type) -> tuple:
    """Every fix of `kind` the findings carry, in finding order."""
    return tuple(fx for f in findings for fx in getattr(f, "fixes", ()) if isinstance(fx, kind))
