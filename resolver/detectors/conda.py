"""environment.yml / conda.yaml: the pip section as requirement lines, `python=` as the target
Python, and the conda dependencies mapped to PyPI through the sourced table in
data/conda_pypi.json (pytorch -> torch, py-opencv -> opencv-python, ...), with their pins.

A conda name the table marks as not a Python distribution (cudatoolkit, mkl, ffmpeg) is listed
as not used, with why. A name the table does not know is an LB309 finding naming it: it is
not guessed, and not silently left out.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from launchbuild.core.findings import Finding, Location
from launchbuild.core.records import dataclass
from launchbuild.resolver.rules import finding as resolver_finding
from launchbuild.errors import BadInput
from launchbuild.resolver.detectors.base import line_of
from launchbuild.resolver.requirements import RequirementLine, parse_requirement
from launchbuild.resolver.sources import EnvironmentFile, LoadedInput, display_path

CONDA_NAMES = ("environment.yml", "environment.yaml", "conda.yaml", "conda.yml")
# A pip-section entry that installs the environment file's own directory: `- -e .`, `- .`, `- -e ./`.
_OWN_PROJECT_LINE = re.compile(r"^\s*-\s+(?:(?:-e|--editable)\s+)?\.(?:/)?\s*(?:#.*)?$", re.MULTILINE)
_BRACKET_FIELD = re.compile(r"(\w+)\s*=\s*(?:'([^']*)'|\"([^\"]*)\"|([^,]*))")
_SPEC = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")


_INCLUDE_LINE = re.compile(r"^\s*-\s+(?:-r|--requirement)[\s=]+[\"']?([^\s#\"']+)", re.MULTILINE)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def installs_own_project(path: Path) -> bool:
    """Whether the environment file's pip section installs the job's own project (`-e .`): it
    then states the whole environment, the project's own metadata (setup.py, pyproject) included.
    A text scan, so detection stays cheap (no YAML import on the check path)."""
    return bool(_OWN_PROJECT_LINE.search(_text(path)))


def included_files(path: Path) -> set[Path]:
    """The files its pip section includes (`- -r requirements.txt`), resolved beside it: the
    environment then states those files and more (conda pins, python=)."""
    return {(path.parent / name.removeprefix("file:")).resolve() for name in _INCLUDE_LINE.findall(_text(path))}


@lru_cache(maxsize=1)
def mapping_table() -> dict:
    from launchbuild.core.tables import load

    return load("conda_pypi")


def conda_to_pep508(spec: str, where: str) -> tuple[str, str, str | None]:
    """(conda name, PEP 440 specifier, note) for one conda match spec. Pure."""
    text = spec.strip().split("::")[-1].strip()
    m = _SPEC.match(text)
    if not m:
        raise BadInput(f"conda dependency {spec!r} in {where} is not a conda match spec",
                       hint="write name, name=1.2 or name>=1.2")
    name, rest = m.group(1).lower(), m.group(2).strip()
    note = None
    if rest.startswith("["):
        # MatchSpec brackets, `pytorch[version='>=1.12',build=*cuda*]`: the version field is the
        # constraint; a build selector has no PyPI meaning.
        if not rest.endswith("]"):
            raise BadInput(f"conda dependency {spec!r} in {where} has an unclosed '['",
                           hint="write name[version='>=1.2'] or name>=1.2")
        fields = {k.lower(): "".join(v) for k, *v in _BRACKET_FIELD.findall(rest[1:-1])}
        rest = fields.get("version", "").strip()
    rest = re.sub(r"\s*,\s*", ",", rest)  # `>=1.2 ,<2`
    if "|" in rest:
        note = f"{spec!r}: PEP 440 has no 'or'; kept {rest.split('|')[-1].strip()!r}"
        rest = rest.split("|")[-1].strip()
    if not rest or rest == "*":
        return name, "", note
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=")[0].strip()
    elif rest[0].isdigit():
        version = rest.split()[0]  # `name 1.2.* build`
    else:
        constraint = rest.split()[0]  # already a comparison: `>=1.2,<2`, `==1.2.3`
        if constraint.startswith("==") and "=" in constraint[2:]:
            constraint = "==" + constraint[2:].split("=")[0]  # `==2.1.0=py3.10_cuda12.1_0`: a build string
        return name, constraint, note
    version = version.rstrip("*").rstrip(".") if version.endswith("*") else version
    if version.count(".") >= 2 or not version:
        return name, f"=={version}" if version else "", note
    return name, f"=={version}.*", note


# The packages PyTorch's wheel index publishes per build label (cu118/, cpu/), as its conda
# channel does per pytorch-cuda selector.
TORCH_FAMILY = ("torch", "torchvision", "torchaudio")
_SELECTOR_VERSION = re.compile(r"^==(\d+)\.(\d+)(?:\.\*|\.\d+)?$")


def torch_build_label(specs: tuple[str, ...] | list[str], where: str) -> tuple[str | None, str | None]:
    """(the wheel index's build label, the spec that chose it) from an environment's conda
    selectors: `pytorch-cuda=11.8` -> cu118; `cudatoolkit=11.3` beside `pytorch` (PyTorch's
    selector before 1.13) -> cu113; `cpuonly` -> cpu. ("", spec): a selector that names no one
    CUDA X.Y (`pytorch-cuda`, `cudatoolkit>=11`). (None, None): no selector. Pure."""
    parsed = [(conda_to_pep508(spec, where), spec) for spec in specs]
    names = {name for (name, _, _), _ in parsed}
    for wanted in ("pytorch-cuda", "cpuonly", "cudatoolkit"):
        for (name, specifier, _), spec in parsed:
            if name != wanted or (name == "cudatoolkit" and not names & {"pytorch", "pytorch-gpu"}):
                continue
            if name == "cpuonly":
                return "cpu", spec
            m = _SELECTOR_VERSION.match(specifier)
            if m is None:  # `pytorch-cuda`, `cudatoolkit>=11`: no one build it names
                return "", spec
            return f"cu{m.group(1)}{m.group(2)}", spec
    return None, None


def _pep440(specifier: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(specifier)
    except InvalidSpecifier:
        return False
    return True


def _unmapped(name: str, spec: str, loc: Location) -> Finding:
    return resolver_finding(
        "LB309",
        message=f"conda dependency {spec!r} in {loc.path} has no known PyPI name: it is not in the image",
        fix=f"add its PyPI name to the pip section (e.g. - pip: [{name}]), or remove it",
        location=loc,
    )


@dataclass(frozen=True)
class CondaInput:
    """An environment.yml / conda.yaml as an input: its pip section, and its conda dependencies
    mapped to PyPI (data/conda_pypi.json)."""

    path: Path
    source_dir: Path | None = None
    kind: str = "environment"

    def load(self) -> LoadedInput:
        base = EnvironmentFile(self.path, self.source_dir).load()
        shown = display_path(self.path, self.source_dir)
        text = self.path.read_text(encoding="utf-8")
        table = mapping_table()
        mapped: list[RequirementLine] = []
        not_used: list[str] = []
        findings: list[Finding] = []
        not_installed: list[str] = []  # what stays conda-only (the report lists them)
        pip_names = {r.name for r in base.parsed.requirements if r.name}
        torch_build, selector = torch_build_label(base.conda_only, shown)
        for spec in base.conda_only:
            if spec == selector and torch_build:
                not_used.append(f"conda {spec!r}: selects PyTorch's {torch_build} build: "
                                f"{', '.join(TORCH_FAMILY)} come from the torch wheel index's {torch_build}/")
                continue
            if spec == selector:
                not_used.append(f"conda {spec!r}: names no one CUDA X.Y, so PyPI's default torch build (with "
                                "its own CUDA wheels) is used; write e.g. pytorch-cuda=12.1 to choose one")
                not_installed.append(spec)
                continue
            loc = Location(shown, line_of(text, spec))
            name, specifier, note = conda_to_pep508(spec, shown)
            if note:
                not_used.append(note)
            if name in table["not_pypi"]:
                not_used.append(f"conda {spec!r}: {table['not_pypi'][name]}")
                not_installed.append(spec)
                continue
            pypi = table["map"].get(name)
            family = next((why for prefix, why in table.get("not_pypi_prefixes", {}).items()
                           if name.startswith(prefix)), None) if pypi is None else None
            if family is not None:  # cuda-cudart, libcublas, ...: an exported env lists dozens
                not_used.append(f"conda {spec!r}: {family}")
                not_installed.append(spec)
                continue
            if pypi is None:
                findings.append(_unmapped(name, spec, loc))
                not_installed.append(spec)
                continue
            if pypi.lower() in pip_names:
                not_used.append(f"conda {spec!r}: the pip section names {pypi} too; the pip line is used")
                continue
            if specifier and not _pep440(specifier):
                # python-tzdata=2023c, a conda version PEP 440 cannot read: the package, unpinned, and said
                not_used.append(f"conda {spec!r}: version {specifier!r} is not a PEP 440 version; {pypi} is unpinned")
                specifier = ""
            mapped.append(parse_requirement(f"{pypi}{specifier}", loc))
        read = [f"pip section: {len(base.parsed.requirements)}",
                f"conda dependencies mapped to PyPI: {len(mapped)} of {len(base.conda_only)}"]
        if base.python_pin:
            read.append(f"python={base.python_pin.value}")
        if base.requires_python:
            # stylegan3's `python >= 3.8`: the Pythons the job declares, held like requires-python
            # (the target comes from it unless a source that takes precedence names one: LB312).
            read.append(f"python{base.requires_python.value} (the Pythons it declares)")
        parsed = replace(base.parsed, requirements=tuple(mapped) + base.parsed.requirements)
        unmapped = [spec for spec in not_installed if any(f.message.startswith(f"conda dependency {spec!r}") for f in findings)]
        # An empty environment is skipped, and its LB309 findings with it: the reason names them.
        empty = None if parsed.requirements else (
            "neither its conda dependencies nor its pip section map to PyPI packages"
            + (f" (no known PyPI name: {', '.join(unmapped)[:300]})" if unmapped else ""))
        return replace(base, path=shown, parsed=parsed, conda_only=tuple(not_installed), read=tuple(read), not_used=tuple(not_used),
                       findings=tuple(findings), empty_reason=empty, torch_build=torch_build or None)
