"""Which Python the image gets, and where that choice came from.

Order (first present wins): explicit --python > the job's runtime > .python-version >
runtime.txt > environment.yml's python pin > requires-python > the run's metadata > the base
image's own Python > DEFAULT_PYTHON. Every source is validated; a malformed value is
BadInput naming the file, never a bogus image tag (peers turn `python-3.10.4` into
`FROM python:python-3.10`).
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from launchbuild.errors import BadInput
from launchbuild.core.sourced import Origin, Sourced

# The CPython versions we build images for, oldest first; requires-python picks the highest
# one it allows. 3.9 is the oldest with upstream security support; 3.13 the newest with
# wheels for most of the scientific stack.
SUPPORTED_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
DEFAULT_PYTHON = "3.11"

_XYZ = re.compile(r"^(\d)\.(\d{1,2})(?:\.\d+)?(?:(?:a|b|rc)\d+)?$")


def normalize(value: str, where: str, *, today: str | None = None) -> str:
    """'3.10', '3.10.4', 'python-3.10.4', 'python3.10', 'cpython-3.12' -> 'X.Y'; else BadInput.
    `today` (ISO date; default the clock's) decides which releases are out (`accepted_pythons`)."""
    raw = value.strip()
    text = re.sub(r"^(c?python)[-]?", "", raw, flags=re.IGNORECASE)
    m = _XYZ.match(text)
    if not m:
        raise BadInput(f"malformed Python version {raw!r} in {where}",
                       hint="write X.Y, e.g. 3.11")
    xy = f"{m.group(1)}.{int(m.group(2))}"
    accepted = accepted_pythons(today)
    if xy not in accepted:
        raise BadInput(f"unsupported Python {xy} in {where}",
                       hint=f"use one of {', '.join(accepted)}")
    return xy


def accepted_pythons(today: str | None = None) -> tuple[str, ...]:
    """Every CPython 3 release the data knows (data/cpython.json) from 3.8 on
    that is out on `today` (ISO date; default the clock's), plus the ones we build images for: an
    end-of-life Python is a warning (LB213), not bad input, but one whose first release is still
    ahead (3.16 before 2027-10-06) has no interpreter or wheels to build with, so it is.
    3.8 is the floor because uv, the default resolver, cannot lock for anything older."""
    from launchbuild.core.tables import released_cpythons

    released = released_cpythons(today or _today())
    known = {xy for xy in released if xy.startswith("3.") and int(xy.split(".")[1]) >= 8} | set(SUPPORTED_PYTHONS)
    return tuple(sorted(known, key=lambda v: tuple(int(p) for p in v.split("."))))


def _today() -> str:
    """The clock's date (ISO), read when a Python is validated; tests pass `today` instead."""
    return datetime.date.today().isoformat()


def _read_first_line(path: Path) -> str | None:
    from launchbuild.jobs import confine

    # The job's own file, inside its tree: read without following a link or blocking, capped.
    real = confine.confine(path.parent, path.name, where=path.name, what="file", max_bytes=64 * 1024)
    text = confine.read_text(real, where=path.name, what="file", written=path.name, max_bytes=64 * 1024)
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return line
    return None


def from_python_version_file(path: Path) -> str | None:
    """pyenv's `.python-version`: first non-comment line; `3.10`, `3.10.4` (not `system`)."""
    line = _read_first_line(path)
    if line is None:
        return None
    return normalize(line, str(path))


def from_runtime_txt(path: Path) -> str | None:
    """Heroku/Binder `runtime.txt`: `python-3.10.4` or `3.10`."""
    line = _read_first_line(path)
    if line is None:
        return None
    return normalize(line, str(path))


def _range(spec: str, where: str) -> SpecifierSet:
    try:
        return SpecifierSet(spec)
    except InvalidSpecifier:
        raise BadInput(f"malformed requires-python {spec!r} in {where}",
                       hint="write a PEP 440 specifier, e.g. '>=3.10'") from None


def from_requires_python(spec: str, where: str, *, today: str | None = None) -> str:
    """The highest of SUPPORTED_PYTHONS the specifier allows; for a range above or below them
    (">=3.14"), the oldest released Python it allows (`accepted_pythons`): `--python 3.14` is
    accepted, so a job that declares it runs only there gets it too, with the most wheels."""
    specifier = _range(spec, where)
    for xy in reversed(SUPPORTED_PYTHONS):
        if _allows(specifier, xy):
            return xy
    accepted = accepted_pythons(today)
    beyond = [xy for xy in accepted if _allows(specifier, xy)]
    if beyond:
        return beyond[0]
    raise BadInput(f"requires-python {spec!r} in {where} allows none of the released Pythons {', '.join(accepted)}",
                   hint="widen requires-python or pass --python")


def outside_requires_python(python: Sourced[str], requires: Sourced[str] | None):
    """LB312 when the target Python, chosen by a source that takes precedence over the job's
    requires-python, is outside it; None when it is inside (or the job declares no range).

    `requires.detail` names where the range was read, its file first ("pyproject.toml
    requires-python", "sub dir/pylock.toml requires-python"): that file is the finding's location."""
    from launchbuild.core.findings import Evidence, Location
    from launchbuild.core.fixes import Advice, SetOption
    from launchbuild.resolver.rules import finding

    if requires is None:
        return None
    spec, where = requires.value, requires.detail or "requires-python"
    specifier = _range(spec, where)
    if _allows(specifier, python.value):
        return None
    allowed = [xy for xy in accepted_pythons() if _allows(specifier, xy)]
    pin = re.fullmatch(r"==\s*3\.\d+\.\*", spec.strip()) is not None  # one release line
    widen = Advice(f"change {where} to {python.value}" if pin else f"widen {where} to include {python.value}")
    return finding(
        "LB312",
        message=f"the target Python {python.value}, from {python.describe()}, is outside {where} {spec!r}: "
                "the job declares it runs only there",
        fix=(SetOption("python", _nearest(allowed, python.value)), widen) if allowed else (widen,),
        evidence=(Evidence("target python", python.value, python.describe()),
                  Evidence("requires-python", spec, where)),
        location=Location(_file_of(where)),
    )


def pin_as_range(pin: Sourced[str] | None) -> Sourced[str] | None:
    """An input's own Python pin (environment.yml's `python=3.12`, Pipfile's `[requires]
    python_version`) as the one release line it declares, for LB312: a pin the target follows
    is inside it; one that --python, the job or .python-version overrides is outside."""
    if pin is None:
        return None
    label = " python_version" if pin.detail and pin.detail.endswith("[requires]") else " python"
    return Sourced(f"=={pin.value}.*", pin.origin, f"{pin.detail or 'the environment file'}{label}")


# How the readers name a range: "<file> requires-python", "<file> [tool.poetry.dependencies] python",
# and a pin as one: "<file> [requires] python_version" (Pipfile), "<file> python" (environment.yml).
_RANGE_LABELS = (" requires-python", " [tool.poetry.dependencies] python", " python_requires",
                 " [requires] python_version", " python")


def _file_of(where: str) -> str:
    return next((where[: -len(label)] for label in _RANGE_LABELS if where.endswith(label)), where)


def _nearest(allowed: list[str], xy: str) -> str:
    """The allowed X.Y closest to the one asked for (the smallest change to the job), newer on a tie."""
    minor = int(xy.split(".")[1])
    return min(reversed(allowed), key=lambda v: abs(int(v.split(".")[1]) - minor))


def _allows(specifier: SpecifierSet, xy: str) -> bool:
    # A release line is allowed if its first or a late patch release is (">=3.10.2" allows 3.10.x later).
    return any(specifier.contains(f"{xy}.{patch}", prereleases=False) for patch in (0, 99))


def _image_xy(image_pythons: tuple[str, ...]) -> list[str]:
    """The image's Pythons as accepted X.Y (`normalize`), oldest first; others (2.7) are skipped."""
    found = []
    for value in image_pythons:
        try:
            xy = normalize(value, "the base image")
        except BadInput:
            continue
        if xy not in found:
            found.append(xy)
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def select_python(
    explicit: Sourced[str] | str | None,
    job_runtime: Sourced[str] | str | None,
    source_dir: Path | None,
    requires_python: Sourced[str] | str | None,
    image_pythons: tuple[str, ...] = (),
    default: str = DEFAULT_PYTHON,
    *,
    environment_python: Sourced[str] | None = None,
    run_metadata_python: Sourced[str] | str | None = None,
) -> Sourced[str]:
    """Pick the target Python. See the module docstring for the order."""

    def sourced(value: Sourced[str] | str, origin: Origin, detail: str) -> Sourced[str]:
        if isinstance(value, Sourced):
            return Sourced(normalize(value.value, value.describe()), value.origin, value.detail)
        return Sourced(normalize(value, detail), origin, detail)

    if explicit is not None:
        return sourced(explicit, Origin.FLAG, "--python")
    if job_runtime is not None:
        return sourced(job_runtime, Origin.JOB_SPEC, "job runtime")
    if source_dir is not None:
        pv = source_dir / ".python-version"
        if pv.is_file():
            value = from_python_version_file(pv)
            if value:
                return Sourced(value, Origin.SOURCE_FILE, ".python-version")
        rt = source_dir / "runtime.txt"
        if rt.is_file():
            value = from_runtime_txt(rt)
            if value:
                return Sourced(value, Origin.SOURCE_FILE, "runtime.txt")
    if environment_python is not None:
        return sourced(environment_python, Origin.SOURCE_FILE, environment_python.detail)
    if requires_python is not None:
        if isinstance(requires_python, Sourced):
            spec, detail = requires_python.value, requires_python.detail or "requires-python"
        else:
            spec, detail = requires_python, "pyproject.toml requires-python"
        chosen = from_requires_python(spec, detail)  # validates the range first
        specifier = SpecifierSet(spec)
        # A range, not a pin: when the base image is fixed and its own Python is in range, that
        # is the target (the image cannot get another Python), not the newest the range allows.
        in_image = [xy for xy in _image_xy(image_pythons) if _allows(specifier, xy)]
        if in_image:
            return Sourced(in_image[-1], Origin.SOURCE_FILE, f"{detail}, met by the base image's Python")
        return Sourced(chosen, Origin.SOURCE_FILE, detail)
    if run_metadata_python is not None:
        return sourced(run_metadata_python, Origin.RUN_METADATA, "run metadata")
    for xy in image_pythons:
        try:
            return Sourced(normalize(xy, "the base image"), Origin.INFERRED, "base image's Python")
        except BadInput:
            continue  # an image may carry a Python we do not target (2.7); try its next one
    return Sourced(normalize(default, "the default"), Origin.DEFAULT, f"default {default}")
