"""Which inputs a job offers, highest precedence first: explicit files, then the ordered
detectors' finds, then the job's run package list.

Apart from resolver/sources.py because the detectors build on sources' input types:
sources <- detectors <- discovery, with no import back.
"""

from __future__ import annotations

from pathlib import Path

from launchbuild.errors import BadInput
from launchbuild.paths import not_a_file
from launchbuild.resolver import detectors
from launchbuild.resolver.detectors.conda import CondaInput
from launchbuild.resolver.detectors.pyproject import ProjectInput
from launchbuild.resolver.sources import FROZEN_NAMES, InputSource, RequirementsFile, RunPackageList


def discover(
    source_dir: Path | None,
    *,
    requirements: Path | None = None,
    pyproject: Path | None = None,
    environment: Path | None = None,
    frozen: Path | None = None,
    job_frozen: Path | None = None,
    spec_dir: Path | None = None,
    extras: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> list[tuple[InputSource, str]]:
    """Every candidate input, highest precedence first, each with how it was found.

    Explicit files (options, an explicit --frozen) first, then what the ordered detectors
    (resolver/detectors/) find in the source, then the job's run package list."""
    found: list[tuple[InputSource, str]] = []

    def check_explicit(path: Path, what: str) -> Path:
        problem = not_a_file(path)
        if problem is not None:
            raise BadInput(f"{what} {path} {problem[0]}", hint=problem[1])
        return path

    if requirements is not None:
        found.append((RequirementsFile(check_explicit(requirements, "requirements file"), source_dir), "option"))
    if pyproject is not None:
        found.append((ProjectInput(check_explicit(pyproject, "pyproject file"), source_dir, extras, groups), "option"))
    if environment is not None:
        found.append((CondaInput(check_explicit(environment, "environment file"), source_dir), "option"))
    if frozen is not None:
        found.append((RunPackageList(check_explicit(frozen, "package list"), source_dir), "option"))
    if source_dir is not None:
        found += [(src, "source") for src in detectors.detected(source_dir, extras, groups)]
    if job_frozen is not None:
        if not job_frozen.is_file():
            raise BadInput(f"the job's package list {job_frozen} does not exist", hint="check the job spec")
        found.append((RunPackageList(job_frozen, source_dir), "job"))
    for directory in (source_dir, spec_dir):
        if directory is not None:
            for name in FROZEN_NAMES:
                if (directory / name).is_file():
                    found.append((RunPackageList(directory / name, source_dir), "source"))
    # The same file found twice (explicit and detected) counts once, at its higher rank.
    seen: set[Path] = set()
    unique = []
    for src, how in found:
        key = src.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((src, how))
    return unique
