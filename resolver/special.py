"""The two input modes that do not go through requirement lines: an existing lock (used as
locked) and a project file the backend compiles itself (its build backend in isolation).
Plus what is said when no input won: never an empty environment without a finding."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

from launchbuild.core.findings import Finding, Location
from launchbuild.resolver.rules import finding as resolver_finding
from launchbuild.errors import InfraUnavailable
from launchbuild.core import cache as core_cache
from launchbuild.resolver import cache
from launchbuild.resolver.model import Lock, PackageFacts, ResolveResult, Target
from launchbuild.resolver.sources import LoadedInput

PYPI_SIMPLE = "https://pypi.org/simple"
_MAX_HASHED = 1 << 20


def reason_for(path: str, source_dir: Path | None = None) -> str:
    from launchbuild.resolver import detectors

    return detectors.reason_for(path, source_dir)


def no_input_findings(source_dir: Path | None, skipped: list[tuple[str, str]]) -> tuple[Finding, ...]:
    """LB307 for each dependency-like file nothing read; else LB308: the image has no packages."""
    from launchbuild.resolver import detectors

    if source_dir is None:
        return ()
    known = {p for p, _ in skipped}
    found = [p for p in detectors.dependency_like_files(source_dir) if p not in known]
    # At the job's root (or in a requirements/ folder) such a file is meant for this job: an
    # error. Deeper (docs/requirements.txt, tools/setup.py) it may belong to something else.
    unread = [p for p in found if "/" not in p or p.split("/", 1)[0].lower() in ("requirements", "reqs")]
    elsewhere = [p for p in found if p not in unread]
    if unread:
        return tuple(resolver_finding(
            "LB307",
            message=(f"{p} looks like a dependency file, but no input form reads it, so the image would have "
                     "no third-party packages"),
            fix=("pass it explicitly (--requirements FILE for a requirements file), or write requirements.txt, "
                 f"pyproject.toml or environment.yml (read in this order: {detectors.PRECEDENCE})"),
            location=Location(p),
        ) for p in unread)
    why = "; ".join(f"{p}: {w}" for p, w in skipped)
    if elsewhere:
        why = (why + "; " if why else "") + ("also found, not read: " + ", ".join(elsewhere)
                                             + " (pass --requirements FILE if the job needs one)")
    return (resolver_finding(
        "LB308",
        message="the image will have no third-party packages: " + (why if why else "the job has no dependency file"),
        fix="add requirements.txt, pyproject.toml or environment.yml if the job imports anything beyond the stdlib",
    ),)


def _tree_digest(root: Path, copy: str, name: str) -> str:
    """What a project compile reads: the file, or (tree mode) the project's top-level files."""
    h = hashlib.sha256()
    paths = [root / name] if copy == "file" else sorted(p for p in root.iterdir() if p.is_file())
    for p in paths:
        try:
            if p.stat().st_size <= _MAX_HASHED:
                h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        except OSError:
            continue
    return h.hexdigest()


def _empty(loaded: LoadedInput, target: Target, what: str) -> Finding:
    # A project with no dependencies still installs itself (segment-anything's setup.py has
    # install_requires=[] and imports torch): the environment around it is empty all the same.
    only = f" besides the job's own project ({loaded.own_project})" if loaded.own_project else ""
    return resolver_finding(
        "LB308",
        message=f"{loaded.path} {what} for Python {target.python} on {target.platform}: "
                f"the image will have no third-party packages{only}",
        fix="add the job's dependencies to it if the job imports anything beyond the stdlib",
        location=Location(loaded.path),
    )


def resolve_special(loaded: LoadedInput, target: Target, options, skipped, *, job,
                    credentials=None) -> ResolveResult:
    from launchbuild.resolver.backends import CompileRequest, make_backend
    from launchbuild.resolver.build_errors import build_failure_finding, is_build_failure
    from launchbuild.resolver.detectors.locks import for_target
    from launchbuild.resolver.explain import unresolvable_finding
    from launchbuild.resolver.lockfile import lock_header, parse_lock

    base = ResolveResult(input_kind=loaded.kind, input_path=loaded.path, skipped_inputs=tuple(skipped),
                         extras=loaded.extras, groups=loaded.groups, findings=tuple(loaded.findings))
    root = core_cache.cache_root(options.cache_dir)
    index = loaded.parsed.options
    index_urls = (PYPI_SIMPLE, *loaded.extra_index_urls)
    findings = list(loaded.findings)
    cache_hit = False
    wheels: tuple = ()
    path_projects: tuple[str, ...] = ()
    if loaded.lock_body is not None:
        if loaded.lock_selection is not None:
            body, unfit = loaded.lock_selection.for_target(target)
            findings += unfit
            if unfit and not body.strip():  # locked for other targets only: nothing of it is installed
                return replace(base, findings=tuple(findings))
        else:
            body = for_target(loaded.lock_body, target) if loaded.lock_body.strip() else ""
        backend_name = Path(loaded.path).name  # the lock itself, not a resolver
        if loaded.parsed.requirements:  # git dependencies of the lock, at its exact commits
            extra, wheels, problems = _lock_vcs_entries(loaded, target, root, options.offline, options.sandbox)
            if problems:
                return replace(base, findings=tuple(findings) + problems)
            body = (body.rstrip() + "\n" if body.strip() else "") + extra
        if not body.strip() and not findings:
            findings.append(_empty(loaded, target, "locks nothing"))
        if not body.strip() and not loaded.own_project:
            return replace(base, findings=tuple(findings))
    else:
        backend = make_backend(options.backend, target, options.sandbox)
        backend_name = backend.name
        assert loaded.project_root is not None and loaded.project_file is not None
        key = cache.input_hash({
            "project": _tree_digest(loaded.project_root, loaded.project_copy, loaded.project_file),
            "file": loaded.project_file, "copy": loaded.project_copy, "extras": list(loaded.extras),
            "groups": list(loaded.groups), "python": target.python, "platform": target.platform,
            "glibc": target.glibc, "backend": backend.name, "backend_version": backend.version(),
            # Only when there are some: the keys of every other project lock stay what they were.
            **({"indexes": list(index.extra_index_urls)} if index.extra_index_urls else {}),
        })
        entry = core_cache.read_json(cache.lock_path(root, key))
        cache_hit = entry is not None
        if entry is None:
            if options.offline:
                raise InfraUnavailable(f"--offline: no cached lock for {loaded.path} "
                                       f"(Python {target.python}, {target.platform}, {backend.name})",
                                       hint="run once without --offline to fill the cache")
            outcome = backend.compile(CompileRequest(
                "", loaded.project_file, "", target, project_dir=loaded.project_root,
                project_file=loaded.project_file, project_copy=loaded.project_copy,
                extras=loaded.extras, groups=loaded.groups, extra_index_urls=index.extra_index_urls))
            if not outcome.ok:
                where = Location(loaded.path)
                if is_build_failure(outcome.explanation):
                    findings.append(build_failure_finding(outcome.explanation, loaded.path, target, backend.name, where))
                else:
                    f = unresolvable_finding(outcome.explanation, (), target, backend.name)
                    findings.append(replace(f, location=where))
                return replace(base, findings=tuple(findings))
            entry = {"body": outcome.body}
            core_cache.write_json(cache.lock_path(root, key), entry)
        body = entry.get("body", "")
        body, path_projects, path_findings = _path_source_entries(body, loaded)
        if path_findings:
            return replace(base, findings=tuple(findings) + path_findings)
        if not body.strip() and not path_projects:
            findings.append(_empty(loaded, target, "declares no dependencies"))
    from launchbuild.resolver.own_project import header_lines

    own = ((loaded.own_project,) if loaded.own_project else ()) + path_projects
    if loaded.own_project and loaded.kind in ("pyproject", "lock") and loaded.project_root is not None:
        # uv read static metadata (or a lock) without running the build backend: check that the
        # project builds, or the image build would fail on it.
        from launchbuild.resolver import own_project

        ok, cause = own_project.buildable(loaded.project_root, root, offline=options.offline, python=target.python,
                                          sandbox=options.sandbox)
        if not ok:
            own = ()
            findings.append(own_project.unbuildable_finding(loaded.own_project, cause))
    text = lock_header(target, backend_name, loaded.path, loaded.kind, index) + header_lines(own) + body
    packages = parse_lock(text, ())
    lock = Lock(packages=packages, text=text, target=target, backend=backend_name,
                input_hash=hashlib.sha256(text.encode()).hexdigest(), index_urls=index_urls, own_projects=own,
                wheels=tuple(str(w) for w in wheels), credentials=credentials or None)
    facts: tuple[PackageFacts, ...] = ()
    if options.fetch_package_facts and packages:
        from launchbuild.resolver.index import package_facts

        facts = package_facts(lock, root, offline=options.offline)
    return replace(base, lock=lock, findings=tuple(findings), cache_hit=cache_hit, packages=facts)


_PINNED_ENTRY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*(==|@)")


def _path_source_entries(body: str, loaded: LoadedInput) -> tuple[str, tuple[str, ...], tuple[Finding, ...]]:
    """A project compile's entries for local paths (`[tool.uv.sources] x = { path = "libs/x" }`
    gives `libs/x`, unhashed): the lock keeps the other entries, and each such project is
    installed from the copied code after the lock, as a requirements file's `-e ./libs/x` is.
    A path that is not a project folder inside the job (a wheel, a folder without packaging)
    is LB305, and nothing is locked."""
    from urllib.parse import unquote, urlsplit

    from launchbuild.resolver.own_project import is_project_dir

    root = Path(loaded.project_root or ".").resolve()
    out: list[str] = []
    projects: list[str] = []
    findings: list[Finding] = []
    skipping = False
    for raw in body.splitlines():
        if raw and not raw[0].isspace() and not raw.startswith("#"):
            head = raw.rstrip("\\").strip().removeprefix("-e ").strip()
            skipping = not raw.startswith("--") and not _PINNED_ENTRY.match(head)
            if skipping:
                written = unquote(urlsplit(head).path) if head.startswith("file:") else head
                rel = written.split(" ;", 1)[0].strip()
                path = Path(rel) if Path(rel).is_absolute() else root / rel
                try:
                    shown = path.resolve().relative_to(root).as_posix() or "."
                except ValueError:
                    shown = None
                if shown is not None and is_project_dir(root / shown):
                    if shown != "." and shown not in projects:
                        projects.append(shown)
                else:
                    findings.append(resolver_finding(
                        "LB305",
                        message=f"{loaded.path} names the local path {rel[:120]!r} (a [tool.uv.sources] path), "
                                "which is not a project folder in the job: it cannot be installed hash-checked",
                        fix="point the source at a folder with a pyproject.toml or setup.py inside the job, "
                            "or publish the package to an index",
                        location=Location(loaded.path),
                    ))
        if not skipping:
            out.append(raw)
    text = "\n".join(out).rstrip()
    return (text + "\n" if text else ""), tuple(projects), tuple(findings)


def unread_beside(source_dir: Path | None, candidates) -> list[tuple[str, str]]:
    """Dependency-like files at the job's root that no input form reads, for the skipped list."""
    from launchbuild.resolver import detectors
    from launchbuild.resolver.sources import display_path

    if source_dir is None:
        return []
    seen = {display_path(src.path, src.source_dir) for src, _ in candidates}
    return [(p, "not read: no input form reads this name (pass --requirements FILE to use it)")
            for p in detectors.dependency_like_files(source_dir, max_depth=1) if p not in seen]


def _lock_vcs_entries(loaded: LoadedInput, target: Target, root: Path, offline: bool, sandbox=None):
    """(entries, wheels, findings) for a lock's git dependencies: each built into a wheel at the
    commit the lock names, pinned by the wheel's sha256 like every other entry."""
    from launchbuild.resolver import artifacts
    from launchbuild.resolver.detectors.locks import marker_applies

    applies = loaded.lock_selection.applies if loaded.lock_selection is not None else marker_applies
    wanted = tuple(r for r in loaded.parsed.requirements if applies(r.marker, target))
    # Built in the target Python's sandbox image on the engine's CPU: a compiled wheel the target
    # cannot install is LB305 here, as a requirements file's VCS line is, not a failing install later.
    built = artifacts.prepare(wanted, loaded.parsed.options, None, root, offline=offline, target=target,
                              sandbox=sandbox)
    if built.findings:
        return "", (), built.findings
    lines = []
    for line, wheel in zip(built.requirements, built.wheels):
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines += [f"{line.text} \\", f"    --hash=sha256:{digest}", f"    # via {loaded.path} (git, built on this host)"]
    return "\n".join(lines) + ("\n" if lines else ""), built.wheels, ()
