"""The input forms, as ordered detectors (repo2docker's buildpacks are the model).

`ORDER` is the precedence: a lock first (it states exactly what to install), then the files
people write by hand, then what a build backend computes, then conda's files, then a run's
package list. Each detector's declared fallback is the next one in the order. The first
detected input that is usable wins; every other one is reported as skipped, with why.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from launchbuild.core.records import dataclass
from launchbuild.resolver.detectors.conda import CONDA_NAMES, CondaInput, included_files, installs_own_project
from launchbuild.resolver.detectors.locks import PylockInput, UvLockInput
from launchbuild.resolver.detectors.pipfile import PipfileInput, PipfileLockInput
from launchbuild.resolver.detectors.pyproject import ProjectInput
from launchbuild.resolver.detectors.setuptools_inputs import SetupCfgInput, SetupPyInput
from launchbuild.resolver.sources import RequirementsFile


@dataclass(frozen=True)
class Detector:
    """One input form in the detection order: the files it looks for in the job's root, how to
    read one, and why it ranks where it does."""

    name: str  # the input form, as the report names it
    files: tuple[str, ...]  # names (or glob patterns) it reads, in the job's root
    make: Callable[..., object]  # (path, source_dir, extras, groups) -> InputSource
    why: str  # why it ranks where it does

    def detect(self, source_dir: Path, extras: tuple[str, ...], groups: tuple[str, ...]) -> list:
        found = []
        for pattern in self.files:
            paths = sorted(source_dir.glob(pattern)) if "*" in pattern else [source_dir / pattern]
            found += [self.make(p, source_dir, extras, groups) for p in paths if p.is_file()]
        return found


ORDER: tuple[Detector, ...] = (
    Detector("uv.lock", ("uv.lock",), lambda p, s, e, g: UvLockInput(p, s, e, g),
             "a lock states exactly what to install"),
    Detector("pylock.toml (PEP 751)", ("pylock.toml", "pylock.*.toml"), lambda p, s, e, g: PylockInput(p, s, e, g),
             "a lock states exactly what to install"),
    Detector("Pipfile.lock", ("Pipfile.lock",), lambda p, s, e, g: PipfileLockInput(p, s, g),
             "a lock states exactly what to install"),
    Detector("requirements.txt", ("requirements.txt",), lambda p, s, e, g: RequirementsFile(p, s),
             "what pip installs from"),
    Detector("requirements.in", ("requirements.in",), lambda p, s, e, g: RequirementsFile(p, s),
             "pip-tools' input, locked here"),
    Detector("pyproject.toml", ("pyproject.toml",), lambda p, s, e, g: ProjectInput(p, s, e, g),
             "the project's declared dependencies (PEP 621, PEP 735 groups, Poetry, PDM, uv)"),
    Detector("Pipfile", ("Pipfile",), lambda p, s, e, g: PipfileInput(p, s, g), "pipenv's input"),
    Detector("setup.cfg", ("setup.cfg",), lambda p, s, e, g: SetupCfgInput(p, s, e),
             "setuptools' static metadata"),
    Detector("setup.py", ("setup.py",), lambda p, s, e, g: SetupPyInput(p, s, e),
             "setuptools' metadata, from the build backend in isolation"),
    Detector("environment.yml / conda.yaml", CONDA_NAMES, lambda p, s, e, g: CondaInput(p, s),
             "conda's environment, mapped to PyPI"),
)

PRECEDENCE = " > ".join(d.name for d in ORDER) + " > a run's package list"
CONDA_FORM = ORDER[-1].name
PROJECT_FORMS = ("pyproject.toml", "setup.cfg", "setup.py")  # the project's own metadata

# Names that look like a dependency file. One no detector reads is reported (LB307) when no
# input won, so an environment is never empty without saying why.
_DEPENDENCY_LIKE = re.compile(
    r"(^|/)("
    r"[^/]*requirements[^/]*\.(txt|in|pip)|requirements/[^/]+\.(txt|in)|"
    r"(environment|conda|env)[^/]*\.ya?ml|conda-lock\.ya?ml|poetry\.lock|pdm\.lock|pixi\.(toml|lock)|"
    r"Pipfile[^/]*|pylock[^/]*\.toml|uv\.lock|setup\.(py|cfg)|pyproject\.toml|[^/]*\.frozen\.txt"
    r")$",
    re.IGNORECASE,
)


def detected(source_dir: Path, extras: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> list:
    """Every input the detectors find in `source_dir`, highest precedence first."""
    by_form = [(detector.name, detector.detect(source_dir, extras, groups)) for detector in ORDER]
    envs = [e for name, found in by_form if name == CONDA_FORM for e in found]
    # An environment file that installs another detected input states it and more, as the README's
    # `conda env create` does: `pip: [-e .]` covers the project's setup.py/pyproject (latent-
    # diffusion's setup.py alone lists torch, numpy, tqdm), `pip: [-r requirements.txt]` covers that
    # file (whose winning alone drops the conda pins and python=). It ranks right above what it covers.
    covered = {p for e in envs for p in included_files(e.path)}
    own = any(installs_own_project(e.path) for e in envs)
    first = next((i for i, (name, found) in enumerate(by_form) if name != CONDA_FORM and (
        (own and name in PROJECT_FORMS and found) or any(f.path.resolve() in covered for f in found))), None)
    if first is not None:
        by_form = [p for p in by_form if p[0] != CONDA_FORM]
        by_form.insert(first, (CONDA_FORM, envs))
    return [src for _, found in by_form for src in found]


def _covered_by(env: Path, source_dir: Path) -> list[str]:
    """What an environment file states besides itself: the project (`-e .`), included files."""
    out = []
    if installs_own_project(env):
        out += [f for f in PROJECT_FORMS if (source_dir / f).is_file()]
    out += sorted(p.relative_to(source_dir.resolve()).as_posix() for p in included_files(env)
                  if p.is_file() and p.parent == source_dir.resolve())
    return out


def reason_for(kind_path: str, source_dir: Path | None = None) -> str:
    name = Path(kind_path).name
    if source_dir is not None and any(Path(name).match(f) for f in CONDA_NAMES):
        covered = _covered_by(source_dir / kind_path, source_dir)
        if covered:
            return (f"conda's environment, which installs {', '.join(covered)} too, so it ranks above "
                    f"{'it' if len(covered) == 1 else 'them'} (--verbose shows the order)")
    for i, detector in enumerate(ORDER):
        if any(Path(name).match(f) for f in detector.files):
            return f"{detector.why}; the first usable input in precedence order (--verbose shows it)"
    return "the first usable input in precedence order (--verbose shows it)"


def dependency_like_files(source_dir: Path, max_depth: int = 2) -> list[str]:
    """Relative paths (to depth 2) that look like dependency files, sorted."""
    found: list[str] = []
    skip = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "site-packages"}

    def walk(directory: Path, depth: int) -> None:
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            return
        for entry in entries:
            rel = entry.relative_to(source_dir).as_posix()
            if entry.is_dir() and not entry.is_symlink():
                if depth < max_depth and entry.name not in skip:
                    walk(entry, depth + 1)
            elif entry.is_file() and _DEPENDENCY_LIKE.search(rel):
                found.append(rel)

    walk(source_dir, 1)
    return found


def fallback_for(path: str) -> str | None:
    """The declared fallback of the detector that reads `path`: the next form in the order."""
    name = Path(path).name
    for i, detector in enumerate(ORDER):
        if any(Path(name).match(f) for f in detector.files):
            return ORDER[i + 1].name if i + 1 < len(ORDER) else "a run's package list"
    return None
