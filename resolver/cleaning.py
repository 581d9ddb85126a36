"""Cleaning a source run's package list so it locks and installs on the target.

A run's list (`pip freeze`, `pip list --format=freeze`, wandb's requirements.frozen.txt)
records what was installed on the run's machine, not what can be installed elsewhere. Every
change made here becomes a `CleaningAction` with its reason, so the report can say it.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import canonicalize_name

from launchbuild.core.findings import Evidence, Finding, Severity
from launchbuild.core.records import dataclass
from launchbuild.resolver.rules import finding as resolver_finding
from launchbuild.resolver.model import CleaningAction, Target
from launchbuild.resolver.platforms import marker_environment, os_only
from launchbuild.resolver.requirements import RequirementLine

BUILD_TOOLS = frozenset({"pip", "setuptools", "wheel", "distribute"})
DEFAULT_TORCH_INDEX_URL = "https://download.pytorch.org/whl"
# Local version labels of accelerator builds (`2.4.0+cu121`, `+cpu`, `+rocm6.1`) that live on
# per-variant wheel indexes, not on PyPI.
_VARIANT = re.compile(r"^(cu\d{2,3}|cpu|rocm\d+(?:\.\d+)*|xpu)$")
# Path fragments of conda build trees: `pip freeze` in a conda env writes
# `name @ file:///croot/name_1700501669400/work` for conda-installed packages.
_CONDA_PATH_HINTS = ("/croot/", "/conda-bld/", "/feedstock_root/", "/build_artifacts/",
                     "/tmp/build/", "/pkgs/", "/opt/conda/", "/miniconda", "/anaconda", "/mambaforge",
                     "/miniforge")
_VERSION = r"(\d+(?:\.\d+)*(?:(?:a|b|rc|\.post|\.dev)\d+)*)"


@dataclass(frozen=True)
class OwnSource:
    """What identifies the job's own code, so its editable install can be dropped."""

    directory: Path | None = None
    project_name: str | None = None  # canonical


@dataclass(frozen=True)
class CleanedList:
    """A source run's package list after cleaning: the lines kept, every change with its reason,
    and the indexes and CUDA variants rerouting added."""

    requirements: tuple[RequirementLine, ...]
    actions: tuple[CleaningAction, ...]
    findings: tuple[Finding, ...]
    extra_index_urls: tuple[str, ...]
    cuda_variants: tuple[tuple[str, str], ...]


def version_from_path(name: str, url: str) -> str | None:
    """The version a conda/wheel/sdist path records for `name`, if any."""
    path = unquote(urlsplit(url).path) if "://" in url else url
    escaped = re.escape(name).replace(r"\-", "[-_.]")
    for segment in reversed([s for s in path.split("/") if s]):
        m = re.match(rf"^{escaped}-{_VERSION}(?:-|\.tar|\.zip|\.whl|$)", segment, re.IGNORECASE)
        if m:
            return m.group(1)
    return None


def _is_conda_build_path(url: str) -> bool:
    path = unquote(urlsplit(url).path) if "://" in url else url
    return any(hint in path for hint in _CONDA_PATH_HINTS)


def _local_path(url: str) -> Path | None:
    if url.startswith("file:"):
        return Path(unquote(urlsplit(url).path))
    if "://" in url:
        return None
    return Path(url)


def _inside(path: Path | None, directory: Path | None) -> bool:
    if path is None or directory is None:
        return False
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def clean_run_list(
    lines: tuple[RequirementLine, ...],
    target: Target,
    own: OwnSource = OwnSource(),
    torch_index_url: str = DEFAULT_TORCH_INDEX_URL,
) -> CleanedList:
    kept: list[RequirementLine] = []
    actions: list[CleaningAction] = []
    findings: list[Finding] = []
    extra: list[str] = []
    variants: list[tuple[str, str]] = []
    env = marker_environment(target)

    def act(line: RequirementLine, action: str, reason: str) -> None:
        actions.append(CleaningAction(line=line.text, action=action, reason=reason, location=line.location))

    for line in lines:
        name = line.name
        if name in BUILD_TOOLS:
            act(line, "dropped", f"{name} is a build tool; the image's installer provides it")
            continue
        if name == "pkg-resources" and line.pinned_version == "0.0.0":
            act(line, "dropped", "pkg-resources==0.0.0 is an artifact of Debian/Ubuntu's venv, not a real release")
            continue
        other_os = os_only(name) if name else None
        if other_os:
            act(line, "dropped", f"{name} only installs on {other_os[0]} ({other_os[1]})")
            continue
        if line.marker:
            try:
                applies = Marker(line.marker).evaluate(env)
            except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
                applies = True
            if not applies:
                act(line, "dropped", f"its marker `{line.marker}` is false for the target "
                    f"(Python {target.python}, {target.platform})")
                continue
        if name and own.project_name and name == own.project_name:
            act(line, "dropped", f"{name} is the job's own source (project name in pyproject.toml); "
                "the build copies the code instead")
            continue
        if line.kind == "path":
            path = _local_path(line.url or line.text)
            if _inside(path, own.directory):
                act(line, "dropped", "a local install of the job's own source directory; "
                    "the build copies the code instead")
                continue
            if not line.editable and _is_conda_build_path(line.url or ""):
                version = version_from_path(name, line.url or "") if name else None
                if name and version:
                    pinned = replace(line, text=f"{name}=={version}", kind="named", specifier=f"=={version}",
                                     url=None)
                    act(line, "repinned", f"conda build path; pinned the recorded version {version}")
                    kept.append(pinned)
                elif name:
                    unpinned = replace(line, text=name, kind="named", specifier="", url=None)
                    act(line, "flagged", "conda build path records no version; locked to the newest "
                        "compatible release: pin it, or use `pip list --format=freeze`")
                    kept.append(unpinned)
                else:
                    act(line, "flagged", "conda build path with no package name; it was left out")
                continue
            what = "editable install" if line.editable else "local-path install"
            act(line, "flagged", f"{what} of code outside the job's source; it cannot be installed in the image")
            findings.append(resolver_finding(
                "LB305", severity=Severity.WARNING,
                message=f"{name or line.url} is a {what} from {line.url} "
                        f"({line.location.where}), which the image cannot install",
                fix="publish it to an index, reference it as a VCS URL, or move it into the source tree",
                evidence=(Evidence("requirement", line.text, "run package list"),),
                location=line.location,
            ))
            continue
        if line.kind == "vcs" and line.editable:
            if name:
                regular = replace(line, text=f"{name} @ {line.url}", editable=False)
                act(line, "repinned", "editable VCS checkout becomes a regular install of the recorded revision")
                kept.append(regular)
            else:
                act(line, "flagged", "editable VCS URL without #egg=<name>; it was left out")
                findings.append(resolver_finding(
                    "LB305", severity=Severity.WARNING,
                    message=f"{line.url} ({line.location.where}) has no #egg= name and cannot be locked",
                    fix="add #egg=<name> to the URL or list the package by name",
                    location=line.location,
                ))
            continue
        version = line.pinned_version
        if name and version and "+" in version:
            label = version.split("+", 1)[1]
            if _VARIANT.match(label):
                index = variant_index(torch_index_url, label)
                if index not in extra:
                    extra.append(index)
                variants.append((name, label))
                act(line, "rerouted", f"local version +{label} is published on {index}, not on PyPI")
        kept.append(line)

    deduped, dup_actions = _dedupe(kept)
    return CleanedList(
        requirements=tuple(deduped), actions=tuple(actions + dup_actions), findings=tuple(findings),
        extra_index_urls=tuple(extra), cuda_variants=tuple(dict.fromkeys(variants)),
    )


def _dedupe(lines: list[RequirementLine]) -> tuple[list[RequirementLine], list[CleaningAction]]:
    """Keep one line per canonical name (and marker); prefer a pinned one; report conflicts."""
    by_key: dict[tuple[str, str | None], int] = {}
    out: list[RequirementLine | None] = []
    actions: list[CleaningAction] = []
    for line in lines:
        if line.name is None:
            out.append(line)
            continue
        key = (line.name, line.marker)
        if key not in by_key:
            by_key[key] = len(out)
            out.append(line)
            continue
        first = out[by_key[key]]
        assert first is not None
        where = first.location.where
        same = canonicalize_name(first.name or "") == canonicalize_name(line.name) and \
            first.specifier == line.specifier and first.url == line.url
        if same:
            actions.append(CleaningAction(line.text, "merged",
                                          f"duplicate of {first.text} ({where})", line.location))
        elif not first.specifier and line.specifier and first.url is None:
            out[by_key[key]] = line
            actions.append(CleaningAction(first.text, "merged",
                                          f"unpinned duplicate; kept the pin {line.text} "
                                          f"({line.location.where})", first.location))
        else:
            actions.append(CleaningAction(line.text, "merged",
                                          f"conflicts with {first.text} ({where}); kept the first",
                                          line.location))
    return [x for x in out if x is not None], actions


def variant_index(torch_index_url: str, label: str) -> str:
    """The torch wheel index's folder for one build label (cu121, cpu): where its wheels are."""
    return f"{torch_index_url.rstrip('/')}/{label}"


def torch_build_route(build: str, requirements, torch_index_url: str, where: str,
                      family: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], list[CleaningAction]]:
    """(extra index, cuda variants, actions) for an environment's PyTorch selector (`build`:
    cu118, cpu; resolver/detectors/conda.torch_build_label): the torch family it lists comes from
    the wheel index's folder for that build, as `+cuXYZ` pins in a run list do (clean_run_list)."""
    if not _VARIANT.match(build):
        return (), (), []
    index = variant_index(torch_index_url, build)
    routed = [line for line in requirements if line.name and canonicalize_name(line.name) in family]
    actions = [CleaningAction(line.text, "rerouted", f"{where} selects PyTorch's {build} build: {line.name} "
                              f"comes from {index}", line.location) for line in routed]
    variants = tuple((canonicalize_name(line.name), build) for line in routed)
    return ((index,) if routed else ()), variants, actions
