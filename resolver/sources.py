"""Input sources: one small class per kind of file, all behind `InputSource`.

Each source reads its file into requirement lines that keep the user's file:line. Reading a
malformed file raises BadInput naming it; a file that is present but unusable (no
[project] table, no packages) is skipped with a reason, which the report shows.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from launchbuild.core.findings import Location
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.resolver.model import Target
from launchbuild.limits import clip, decode_text, load_toml, load_yaml, read_bounded
from launchbuild.resolver.requirements import (
    IndexOptions, ParsedRequirements, RequirementLine, parse_file, parse_requirement, parse_text,
)


FROZEN_NAMES = ("requirements.frozen.txt",)
ENVIRONMENT_NAMES = ("environment.yml", "environment.yaml")
# Conda dependencies that are the interpreter and installer themselves, not packages to lock.
_CONDA_SELF = {"python", "pip"}


class LockSelection(Protocol):
    """What a lock's own selection answers for a target (detectors/locks.PylockSelection)."""

    def for_target(self, target: Target) -> tuple[str, tuple]: ...  # (entries, findings)

    def applies(self, marker: str | None, target: Target) -> bool: ...


@dataclass(frozen=True)
class LoadedInput:
    """What an input source read from its file: the requirement lines, the Pythons it names, and
    what the resolver uses next (a lock body, a project file)."""

    kind: str  # "requirements" | "pyproject" | "environment" | "frozen"
    path: str
    parsed: ParsedRequirements
    conda_only: tuple[str, ...] = ()
    python_pin: Sourced[str] | None = None  # environment.yml's python
    requires_python: Sourced[str] | None = None  # the Pythons a lock file (or environment.yml) declares
    extras: tuple[str, ...] = ()
    empty_reason: str | None = None  # set when the file is usable but lists no packages
    # Set by the detectors (resolver/detectors/): what the file was read as, what was not used.
    groups: tuple[str, ...] = ()
    read: tuple[str, ...] = ()  # "[project].dependencies (3)", "[tool.poetry.group.dev] (2)"
    not_used: tuple[str, ...] = ()  # parts of the file that do not reach the lock, and why
    lock_body: str | None = None  # an existing lock, converted: entries used as they are
    project_file: str | None = None  # compile this project file (relative to project_root) itself
    project_root: Path | None = None
    project_copy: str = "file"  # "file": only project_file is needed; "tree": the build reads more
    extra_index_urls: tuple[str, ...] = ()  # indexes a lock or [[tool.uv.index]] names
    findings: tuple = ()  # Finding values the reading produced (unmapped conda names, ...)
    own_project: str | None = None  # "." when the input is the job's own buildable project
    # A lock that selects its entries for the target itself (PEP 751: environments, each entry's
    # marker with the extras and groups asked for, requires-python, a wheel the target installs);
    # None: the lock body's markers alone decide.
    lock_selection: LockSelection | None = None
    # environment.yml's PyTorch selector (pytorch-cuda=11.8, cudatoolkit=11.3 beside pytorch,
    # cpuonly): the wheel index's build label, "cu118" / "cpu"; the torch family comes from there.
    torch_build: str | None = None


class InputSource(Protocol):
    # Read-only (properties): every input is a frozen dataclass.
    @property
    def kind(self) -> str: ...

    @property
    def path(self) -> Path: ...

    @property
    def source_dir(self) -> Path | None: ...

    def load(self) -> LoadedInput: ...


def display_path(path: Path, source_dir: Path | None) -> str:
    if source_dir is not None:
        try:
            return str(path.resolve().relative_to(source_dir.resolve()))
        except ValueError:
            pass
    return str(path)


def _relocate(parsed: ParsedRequirements, source_dir: Path | None) -> ParsedRequirements:
    """Included files are read by absolute path; show them relative to the source."""

    def shown(path: str) -> str:
        return display_path(Path(path), source_dir) if Path(path).is_absolute() else path

    def fix(line: RequirementLine) -> RequirementLine:
        if line.location is None or not Path(line.location.path).is_absolute():
            return line
        return replace(line, location=Location(shown(line.location.path), line.location.line))

    # The file list and the comments' locations too: an included file's host path must not
    # reach the report or a finding (vLLM's requirements/cuda.txt includes common.txt).
    return replace(parsed, requirements=tuple(fix(r) for r in parsed.requirements),
                   constraints=tuple(fix(r) for r in parsed.constraints),
                   files=tuple(shown(f) for f in parsed.files),
                   comments=tuple((Location(shown(loc.path), loc.line), text) for loc, text in parsed.comments))


@dataclass(frozen=True)
class RequirementsFile:
    """A requirements file as an input (requirements.txt, requirements.in, `--requirements`)."""

    path: Path
    source_dir: Path | None = None
    kind: str = "requirements"

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        parsed = _relocate(parse_file(self.path, display=shown, root=self.source_dir), self.source_dir)
        empty = None if parsed.requirements else "lists no packages"
        return LoadedInput(self.kind, shown, parsed, empty_reason=empty)


@dataclass(frozen=True)
class RunPackageList(RequirementsFile):
    """`pip freeze`, `pip list --format=freeze` or wandb's requirements.frozen.txt."""

    kind: str = "frozen"


def read_pyproject(path: Path) -> dict:
    data = load_toml(read_bounded(path, "pyproject file"), display_path(path, None))  # caps: limits.py
    project = data.get("project")
    if project is not None and not isinstance(project, dict):
        raise BadInput(f"{display_path(path, None)}: [project] must be a table, got {type(project).__name__}",
                       hint="write a [project] table")
    return data


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


@dataclass(frozen=True)
class PyprojectFile:
    """A pyproject.toml's PEP 621 `[project]` dependencies and the extras asked for; detection
    reads pyproject.toml through ProjectInput instead."""

    path: Path
    source_dir: Path | None = None
    extras: tuple[str, ...] = ()
    kind: str = "pyproject"

    def unusable_reason(self) -> str | None:
        project = read_pyproject(self.path).get("project")
        if not isinstance(project, dict):
            return "no [project] table (Poetry/PDM-only metadata is not read)"
        dynamic = project.get("dynamic", [])
        if not isinstance(dynamic, list):
            raise BadInput(f"{display_path(self.path, self.source_dir)}: [project].dynamic must be a list, got {type(dynamic).__name__}",
                           hint='write dynamic = ["version"]')
        if "dependencies" in dynamic:
            return "[project].dependencies is dynamic; list them in requirements.txt"
        return None

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        project = read_pyproject(self.path).get("project")
        text = self.path.read_text(encoding="utf-8")  # read_pyproject checked type and size
        if not isinstance(project, dict):
            raise BadInput(f"{shown} has no [project] table", hint="add [project].dependencies or use requirements.txt")
        deps = project.get("dependencies", [])
        optional = project.get("optional-dependencies", {}) or {}
        if not isinstance(optional, dict) or not all(isinstance(v, list) for v in optional.values()):
            raise BadInput(f"[project.optional-dependencies] in {shown} is not a table of lists",
                           hint='write extra = ["name>=1.0", ...]')
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise BadInput(f"[project].dependencies in {shown} is not a list of strings",
                           hint='write dependencies = ["name>=1.0", ...]')
        lines: list[RequirementLine] = []
        for dep in deps:
            lines.append(parse_requirement(dep, Location(shown, _line_of(text, dep))))
        for extra in self.extras:
            if extra not in optional:
                known = ", ".join(sorted(optional)) or "none"
                raise BadInput(f"extra {extra!r} is not in [project.optional-dependencies] of {shown}",
                               hint=f"known extras: {known}")
            for dep in optional[extra]:
                if not isinstance(dep, str):
                    raise BadInput(f"optional dependency {dep!r} of extra {extra!r} in {shown} is not a string")
                lines.append(parse_requirement(dep, Location(shown, _line_of(text, dep))))
        parsed = ParsedRequirements(requirements=tuple(lines), files=(shown,))
        empty = None if lines else "[project].dependencies is empty"
        return LoadedInput(self.kind, shown, parsed, extras=self.extras, empty_reason=empty)


_CONDA_PY = re.compile(r"^python\s*(?:=|==|\s)\s*(3\.\d{1,2})(?:\.\*|\.\d+)?(?:\s*=.*)?$")


def conda_python_pin(spec: str, where: str) -> Sourced[str] | None:
    spec = spec.strip()
    if spec == "python":
        return None
    if re.match(r"^python\s*(>=|>|<|<=|!=|~=)", spec):
        return None  # a range (python>=3.9): the target Python comes from --python or the image
    m = _CONDA_PY.match(spec)
    if not m:
        raise BadInput(f"python pin {spec!r} in {where} is not an exact X.Y",
                       hint="write python=3.11 in environment.yml, or pass --python")
    return Sourced(m.group(1), Origin.SOURCE_FILE, where)


def conda_python_range(spec: str, where: str) -> Sourced[str] | None:
    """environment.yml's `python>=3.9,<3.12` as the Pythons the job declares (a requires-python
    of its own); None for a pin or a bare `python`. Conda's `|` has no PEP 440 form: bad input."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    m = re.match(r"^python\s*((?:>=|>|<=|<|!=|~=).*)$", spec.strip())
    if not m:
        return None
    text = re.sub(r"\s+", "", m.group(1))
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise BadInput(f"python range {spec.strip()!r} in {where} is not a version range pip understands",
                       hint="write python>=3.10,<3.13 (no |), or pin python=3.11") from None
    return Sourced(text, Origin.SOURCE_FILE, f"{where} python")


@dataclass(frozen=True)
class EnvironmentFile:
    """A conda environment file read for its pip section and its `python` pin; the conda
    dependencies are kept aside (CondaInput maps them)."""

    path: Path
    source_dir: Path | None = None
    kind: str = "environment"

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        # No aliases (the "billion laughs" bomb), a size and a depth cap: limits.load_yaml.
        text = decode_text(read_bounded(self.path, "environment file"), shown)
        data = load_yaml(text, shown)
        if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
            raise BadInput(f"{shown} has no 'dependencies' list", hint="see conda's environment.yml format")
        conda_only: list[str] = []
        pip_lines: list[str] = []
        python_pin: Sourced[str] | None = None
        python_range: Sourced[str] | None = None
        for item in data.get("dependencies") or []:
            if isinstance(item, str):
                name = re.split(r"[\s=<>!~]", item.strip(), maxsplit=1)[0].split("::")[-1]
                if name == "python":
                    unchanneled = item.strip().split("::")[-1]  # conda-forge::python>=3.9
                    python_pin = conda_python_pin(unchanneled, shown)
                    python_range = conda_python_range(unchanneled, shown)
                elif name not in _CONDA_SELF:
                    conda_only.append(item.strip())
            elif isinstance(item, dict) and "pip" in item:
                if not isinstance(item["pip"], list) or not all(isinstance(x, str) for x in item["pip"]):
                    raise BadInput(f"the pip section of {shown} is not a list of strings")
                pip_lines += item["pip"]
            else:
                raise BadInput(f"unexpected dependency entry {clip(repr(item))} in {shown}",
                               hint="use strings, or a {pip: [...]} mapping")
        parsed = ParsedRequirements(files=(shown,))
        if pip_lines:
            # Each pip entry is one requirements-file line; map it back to its line in the YAML.
            parts = []
            for entry in pip_lines:
                parts.append(parse_text(entry, shown, base_dir=self.path.parent.resolve(), root=self.source_dir,
                                        line_offset=(_line_of(text, entry) or 1) - 1))
            parsed = ParsedRequirements(
                requirements=tuple(r for p in parts for r in p.requirements),
                constraints=tuple(c for p in parts for c in p.constraints),
                options=_merge_options(p.options for p in parts),
                files=(shown, *[f for p in parts for f in p.files if f != shown]),
            )
            parsed = _relocate(parsed, self.source_dir)
        empty = None if parsed.requirements else "its pip section lists no packages"
        return LoadedInput(self.kind, shown, parsed, conda_only=tuple(conda_only),
                           python_pin=python_pin, requires_python=python_range, empty_reason=empty)


def _merge_options(options) -> IndexOptions:
    merged = IndexOptions()
    for o in options:
        merged = merged.merged(o)
    return merged
