"""setup.cfg and setup.py.

setup.cfg's `[options] install_requires` is read statically (configparser; what setuptools
itself reads). setup.py is a program: its metadata comes from the build backend, run by the
resolver in an isolated build environment on a copy of the project (`uv pip compile setup.py`
prepares the metadata through PEP 517 and locks the result), so nothing is written into the
job's own tree.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.resolver.detectors.base import line_of
from launchbuild.resolver.requirements import ParsedRequirements, parse_requirement
from launchbuild.core.findings import Location
from launchbuild.resolver.sources import LoadedInput, display_path


def _read_cfg(path: Path, shown: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8-sig"), source=shown)
    except OSError as exc:
        raise BadInput(f"cannot read {shown}: {exc.strerror}", hint="check the path") from None
    except UnicodeDecodeError:
        raise BadInput(f"{shown} is not UTF-8 text", hint="save it as UTF-8") from None
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise BadInput(f"{shown} is not a valid setup.cfg: {first}", hint="fix the syntax") from None
    return parser


def setup_cfg_python_requires(path: Path) -> str | None:
    """setup.cfg's `[options] python_requires` (MONAI: `>= 3.9`), or None. A setup.cfg that
    configparser cannot read is no Python constraint here (it may be tool settings only)."""
    try:
        cfg = _read_cfg(path, path.name)
    except BadInput:
        return None
    value = cfg.get("options", "python_requires", fallback="").strip()
    return value or None


def _cfg_lines(value: str) -> list[str]:
    out = []
    for raw in value.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


@dataclass(frozen=True)
class SetupCfgInput:
    """A setup.cfg read statically: `[options] install_requires` and the extras asked for."""

    path: Path
    source_dir: Path | None = None
    extras: tuple[str, ...] = ()
    kind: str = "setup"

    def unusable_reason(self) -> str | None:
        cfg = _read_cfg(self.path, display_path(self.path, self.source_dir))
        if not cfg.has_option("options", "install_requires"):
            return "no [options] install_requires"
        return None

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        text = self.path.read_text(encoding="utf-8-sig")
        cfg = _read_cfg(self.path, shown)
        raw = cfg.get("options", "install_requires", fallback="")
        extras_section = dict(cfg.items("options.extras_require")) if cfg.has_section("options.extras_require") else {}
        if raw.strip().startswith("file:") or any(v.strip().startswith("file:") for v in extras_section.values()):
            return LoadedInput(self.kind, shown, ParsedRequirements(files=(shown,)), extras=self.extras,
                               read=("install_requires = file: ...: the build backend reads it, in isolation",),
                               project_file=self.path.name, project_root=self.path.parent, project_copy="tree")
        lines = [parse_requirement(d, Location(shown, line_of(text, d))) for d in _cfg_lines(raw)]
        read = [f"[options] install_requires: {len(lines)}"]
        for extra in self.extras:
            if extra not in extras_section:
                known = ", ".join(sorted(extras_section)) or "none"
                raise BadInput(f"extra {extra!r} is not in [options.extras_require] of {shown}",
                               hint=f"known extras: {known}")
            got = [parse_requirement(d, Location(shown, line_of(text, d))) for d in _cfg_lines(extras_section[extra])]
            lines += got
            read.append(f"extra {extra}: {len(got)}")
        unasked = sorted(set(extras_section) - set(self.extras))
        not_used = (f"extras not asked for: {', '.join(unasked)} (add --extra NAME)",) if unasked else ()
        parsed = ParsedRequirements(requirements=tuple(lines), files=(shown,))
        return LoadedInput(self.kind, shown, parsed, extras=self.extras, read=tuple(read), not_used=not_used,
                           empty_reason=None if lines else "install_requires is empty")


@dataclass(frozen=True)
class SetupPyInput:
    """A setup.py as an input: its metadata comes from the build backend, run in isolation on a
    copy of the project."""

    path: Path
    source_dir: Path | None = None
    extras: tuple[str, ...] = ()
    kind: str = "setup"

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        return LoadedInput(
            self.kind, shown, ParsedRequirements(files=(shown,)), extras=self.extras,
            read=("setup.py: metadata from the build backend, prepared in an isolated build environment",),
            project_file=self.path.name, project_root=self.path.parent, project_copy="tree",
            own_project="." if self.path.parent == (self.source_dir or self.path.parent) else None,
        )
