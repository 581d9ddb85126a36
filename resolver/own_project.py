"""The job's own project: `-e .`, `.`, `-e ./libs/x` in a requirements file (a directory inside
the job's code with a setup.py / pyproject.toml / setup.cfg), or the project whose pyproject
or setup file is the input.

Its dependencies go into the lock; the project itself does not (a host path there would change
with every checkout directory, so no tag would be reproducible). The image installs it from
the copied code, without dependencies, after the locked ones (builder/project_install.py).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from launchbuild.resolver.requirements import RequirementLine

PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
TEMP_PREFIX = "projects"  # where the backend's copy of each project sits in its temp dir
_EXTRAS = re.compile(r"^(.*?)(\[[^\]]*\])?$")


def is_project_dir(path: Path) -> bool:
    return path.is_dir() and any((path / f).is_file() for f in PROJECT_FILES)


def split_local_projects(lines: tuple[RequirementLine, ...], source_dir: Path | None
                         ) -> tuple[tuple[RequirementLine, ...], tuple[tuple[str, Path, str, RequirementLine], ...]]:
    """(the other lines, (name in the temp dir, project dir, relative path in the job, line) per project)."""
    if source_dir is None:
        return lines, ()
    root = source_dir.resolve()
    keep: list[RequirementLine] = []
    projects: list[tuple[str, Path, str, RequirementLine]] = []
    for line in lines:
        if line.kind != "path" or not line.url:
            keep.append(line)
            continue
        if line.url.startswith("file:"):
            # `mylib @ file:///job/libs/mylib`: how Poetry's and Pipfile's path dependencies (and
            # PEP 508 direct references) name a project in the job; it was LB305 "not a project".
            path = Path(unquote(urlsplit(line.url).path)).resolve()
            extras = "[" + ",".join(line.extras) + "]" if line.extras else None
        else:
            m = _EXTRAS.match(line.url)
            assert m is not None  # the pattern matches any one-line text
            path, extras = Path(m.group(1)).resolve(), m.group(2)
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            keep.append(line)  # outside the job: LB305 says why it cannot be built
            continue
        if not is_project_dir(path):
            keep.append(line)
            continue
        name = f"p{len(projects)}"
        projects.append((name, path, rel or ".", replace(line, extras=tuple(
            e.strip() for e in (extras or "[]")[1:-1].split(",") if e.strip()))))
    return tuple(keep), tuple(projects)


def project_input_line(name: str, line: RequirementLine) -> str:
    extras = f"[{','.join(line.extras)}]" if line.extras else ""
    marker = f" ; {line.marker}" if line.marker else ""
    return f"./{TEMP_PREFIX}/{name}{extras}{marker}"


def strip_project_entries(body: str) -> str:
    """Drop the backend's entries for the projects themselves (`-e ./projects/p0`, `./projects/p0`)."""
    out: list[str] = []
    skipping = False
    for raw in body.splitlines():
        if raw and not raw[0].isspace() and not raw.startswith("#"):
            head = raw.removeprefix("-e ").strip()
            skipping = head.startswith(f"./{TEMP_PREFIX}/") or "@ file://" in head and f"/{TEMP_PREFIX}/p" in head
        if not skipping:
            out.append(raw)
    text = "\n".join(out).rstrip()
    return text + "\n" if text else ""


def header_lines(projects: tuple[str, ...]) -> str:
    if not projects:
        return ""
    return f"# the job's own project, installed from the copied code after this lock: {', '.join(projects)}\n"


def tree_digest(path: Path) -> str:
    """What the backend reads of a project: its top-level files (setup.py, pyproject, version files)."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(x for x in path.iterdir() if x.is_file()):
        try:
            if p.stat().st_size <= 1 << 20:
                h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        except OSError:
            continue
    return h.hexdigest()


def buildable(project_dir: Path, root: Path, *, offline: bool, python: str | None = None, sandbox=None):
    """(True, None) when the project builds into a wheel (cached per content of its top-level
    files), else (False, the build's last exception). Offline with nothing cached: (True, None),
    and the image build says the rest. The build runs its build backend, job code: in a
    throwaway container of the target `python`'s image (resolver/sandbox.py), never on the host."""
    import json
    import sys
    import tempfile

    key = tree_digest(project_dir)
    record = root / "projects-built" / f"{key}.json"
    try:
        data = json.loads(record.read_text())
        return data["ok"], data.get("cause")
    except (OSError, ValueError, KeyError):
        pass
    if offline:
        return True, None
    from launchbuild.resolver.backends import _COPY_IGNORE, build_wheel
    from launchbuild.resolver.build_errors import last_exception, scrub

    python = python or f"{sys.version_info[0]}.{sys.version_info[1]}"
    with tempfile.TemporaryDirectory(prefix="launchbuild-own-") as tmp:
        import shutil

        copy = Path(tmp) / "project"
        shutil.copytree(project_dir, copy, symlinks=True, ignore=_COPY_IGNORE)
        proc = build_wheel(copy, Path(tmp) / "dist", python=python, what="the job's own project", options=sandbox)
        ok = proc.returncode == 0
        cause = None
        if not ok:
            lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.lower().startswith("error:")
                      and not re.search(r"failed to build|build backend", ln, re.IGNORECASE)]
            cause = last_exception(proc.stderr) or scrub(errors[-1] if errors else (lines[-1] if lines else "no output"))
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"ok": ok, "cause": cause}))
    except OSError:
        pass
    return ok, cause


def unbuildable_finding(rel: str, cause: str | None):
    from launchbuild.core.findings import Location
    from launchbuild.resolver.rules import finding as resolver_finding

    return resolver_finding(
        "LB311",
        message=f"the project at {rel} does not build into a wheel ({cause or 'no cause given'}): the image gets "
                "its dependencies from the lock, and its code runs from the workdir, not installed",
        fix="fix its packaging (e.g. [tool.setuptools] packages = [...] for a flat layout), or drop [build-system]",
        location=Location("pyproject.toml" if rel == "." else f"{rel}/pyproject.toml"),
    )
