"""`resolve()`: pick the input, pick the target, clean, lock (cached), gather index facts."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from launchbuild.core.findings import Finding, Severity
from launchbuild.core.records import dataclass
from launchbuild.resolver.rules import finding as resolver_finding
from launchbuild.core.platform import parse_platform
from launchbuild.errors import BadInput, InfraUnavailable, LaunchbuildError
from launchbuild.jobs.model import Job
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.core import cache as core_cache
from launchbuild.resolver import cache
from launchbuild.resolver.backends import CompileRequest, make_backend
from launchbuild.resolver.boundary import (confine_local_paths, merge_credentials, refuse_variables, take_credentials,
                                           take_input_credentials)
from launchbuild.resolver.cleaning import DEFAULT_TORCH_INDEX_URL, OwnSource, clean_run_list
from launchbuild.resolver.explain import unresolvable_finding
from launchbuild.resolver.lockfile import lock_header, parse_lock
from launchbuild.resolver.metadata import read_run_metadata
from launchbuild.resolver.model import CleaningAction, Lock, LockedPackage, PackageFacts, ResolveResult, Target
from launchbuild.resolver.platforms import (
    uv_python_platform, validate_glibc,
)
from launchbuild.resolver.python_version import outside_requires_python, pin_as_range, select_python
from launchbuild.resolver.requirements import IndexOptions, RequirementLine
from launchbuild.resolver.sandbox import SandboxOptions
from launchbuild.resolver.sources import InputSource, LoadedInput, display_path, read_pyproject
from launchbuild.resolver.discovery import discover

PYPI_SIMPLE = "https://pypi.org/simple"


@dataclass(frozen=True)
class ResolveOptions:
    """What `resolve()` is told besides the job: explicit input files, extras and groups, the
    target, the locker, the indexes and the cache."""

    requirements: Path | None = None
    pyproject: Path | None = None
    environment: Path | None = None
    frozen: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # dependency groups (PEP 735, Poetry, PDM, Pipfile's dev)
    python: Sourced[str] | None = None
    platform: str = "linux/amd64"
    glibc: str | None = None  # None: manylinux_2_28 (platforms.DEFAULT_GLIBC)
    backend: str = "uv"  # "uv" | "pip-tools"
    offline: bool = False
    torch_index_url: str = DEFAULT_TORCH_INDEX_URL  # + "/cu121" etc.
    cache_dir: Path | None = None  # None: $LAUNCHBUILD_CACHE_DIR or ~/.cache/launchbuild
    fetch_package_facts: bool = True
    image_pythons: tuple[str, ...] = ()  # the base image's own Pythons, a late fallback
    allowed_index_hosts: frozenset[str] | None = None  # the operator's allow-index-host; None: any host
    # Where build backends (job code) run: a throwaway container (resolver/sandbox.py).
    sandbox: SandboxOptions = SandboxOptions()


def _pick_input(candidates) -> tuple[LoadedInput | None, list[tuple[str, str]]]:
    skipped: list[tuple[str, str]] = []
    chosen: LoadedInput | None = None
    for source, how in candidates:
        shown = display_path(source.path, source.source_dir)
        if chosen is not None:
            skipped.append((shown, f"lower precedence than {chosen.path} ({chosen.kind})"))
            continue
        if hasattr(source, "unusable_reason") and how != "option":
            reason = source.unusable_reason()
            if reason:
                skipped.append((shown, reason))
                continue
        loaded = source.load()
        if loaded.empty_reason and how != "option":
            skipped.append((loaded.path, loaded.empty_reason))
            continue
        chosen = loaded
    return chosen, skipped


def _own_source(source_dir: Path | None) -> tuple[OwnSource, Sourced[str] | None]:
    if source_dir is None:
        return OwnSource(), None
    pyproject = source_dir / "pyproject.toml"
    name = requires = None
    if pyproject.is_file():
        project = read_pyproject(pyproject).get("project")
        if isinstance(project, dict):
            if isinstance(project.get("name"), str):
                name = canonicalize_name(project["name"])
            if "requires-python" in project:
                if not isinstance(project["requires-python"], str):
                    raise BadInput(f"requires-python in {pyproject} is not a string", hint="write e.g. '>=3.10'")
                requires = Sourced(project["requires-python"], Origin.SOURCE_FILE,
                                   "pyproject.toml requires-python")
        if requires is None:
            requires = _poetry_python(read_pyproject(pyproject))
    if requires is None and (source_dir / "setup.cfg").is_file():
        from launchbuild.resolver.detectors.setuptools_inputs import setup_cfg_python_requires

        spec = setup_cfg_python_requires(source_dir / "setup.cfg")
        if spec:
            requires = Sourced(spec, Origin.SOURCE_FILE, "setup.cfg python_requires")
    return OwnSource(directory=source_dir, project_name=name), requires


def _poetry_python(data: dict) -> Sourced[str] | None:
    """Poetry's `python = "^3.10"` is the project's requires-python (poetry-core writes it as
    Requires-Python), so the target Python must satisfy it as it would a PEP 621 one."""
    from launchbuild.resolver.detectors.constraints import poetry_to_pep440

    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
    python = deps.get("python") if isinstance(deps, dict) else None
    if not isinstance(python, str):
        return None
    where = "pyproject.toml [tool.poetry.dependencies] python"
    spec, _ = poetry_to_pep440(python, where)
    return Sourced(spec, Origin.SOURCE_FILE, where) if spec else None


def _requirement_text(line: RequirementLine) -> str:
    return f"-e {line.text}" if line.editable else line.text


def _job_requires_python(source_dir: Path | None, options: ResolveOptions,
                         loaded: LoadedInput | None) -> Sourced[str] | None:
    """The Pythons the job declares it runs on: its own project's, else the --pyproject file's,
    else the winning lock file's (pylock.toml, uv.lock)."""
    _, requires = _own_source(source_dir)
    if options.pyproject is not None and requires is None:
        project = read_pyproject(options.pyproject).get("project")
        if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
            requires = Sourced(project["requires-python"], Origin.SOURCE_FILE, f"{options.pyproject} requires-python")
    return requires or (loaded.requires_python if loaded is not None else None)


def select_target(source_dir: Path | None, job: Job, options: ResolveOptions,
                  loaded: LoadedInput | None = None) -> tuple[Target, Sourced[str]]:
    target, python, _ = _select_target(source_dir, job, options, loaded)
    return target, python


def _select_target(source_dir: Path | None, job: Job, options: ResolveOptions,
                   loaded: LoadedInput | None) -> tuple[Target, Sourced[str], Sourced[str] | None]:
    """The target, its Python, and the job's own Python range that choice was held to."""
    run_python = None
    if job.run_metadata is not None:
        meta = read_run_metadata(job.run_metadata)
        if meta.python:
            run_python = Sourced(meta.python, Origin.RUN_METADATA, str(job.run_metadata))
    if loaded is None:
        loaded = _winner_with_python_pin(source_dir, job, options)
    requires = _job_requires_python(source_dir, options, loaded)
    python = select_python(
        options.python, job.python, source_dir, requires, options.image_pythons,
        environment_python=loaded.python_pin if loaded else None, run_metadata_python=run_python,
    )
    platform = parse_platform(options.platform)
    return Target(python=python.value, platform=platform, glibc=validate_glibc(options.glibc)), python, requires


def _check_extras_and_groups(loaded: LoadedInput, options: ResolveOptions) -> None:
    """An extra or group asked for that the winning input cannot honour is bad input, never ignored."""
    if options.groups and not loaded.groups:
        raise BadInput(f"--group {options.groups[0]}: {loaded.path} ({loaded.kind}) has no dependency groups",
                       hint="groups come from pyproject.toml, Pipfile, uv.lock, Pipfile.lock or pylock.toml; drop --group")
    if options.extras and not loaded.extras:
        raise BadInput(f"--extra {options.extras[0]}: {loaded.path} ({loaded.kind}) has no extras",
                       hint="extras come from pyproject.toml, setup.cfg, setup.py, uv.lock or pylock.toml; drop --extra")


def _winner_with_python_pin(source_dir: Path | None, job: Job, options: ResolveOptions) -> LoadedInput | None:
    """The winning input, when it is one that can name the Python (environment.yml's python=,
    Pipfile's python_version, pylock.toml's requires-python): the target must follow it before
    anything is locked."""
    candidates = discover(
        source_dir, requirements=options.requirements, pyproject=options.pyproject,
        environment=options.environment, frozen=options.frozen, job_frozen=job.frozen_requirements,
        spec_dir=job.spec_path.parent if job.spec_path else None, extras=tuple(options.extras),
        groups=tuple(options.groups),
    )
    for source, how in candidates:
        if hasattr(source, "unusable_reason") and how != "option" and source.unusable_reason():
            continue
        # pylock.toml names its Pythons (requires-python) and loading it is one TOML read.
        if source.kind in ("environment", "pipfile") or type(source).__name__ in ("PipfileLockInput", "PylockInput"):
            return source.load()
        return None
    return None


def resolve(source_dir: Path | None, job: Job, options: ResolveOptions = ResolveOptions()) -> ResolveResult:
    if source_dir is not None and not source_dir.is_dir():
        raise BadInput(f"source directory {source_dir} does not exist", hint="check the job's source")
    if options.backend not in ("uv", "pip-tools"):
        raise BadInput(f"unknown resolver backend {options.backend!r}", hint="use uv or pip-tools")
    candidates = discover(
        source_dir, requirements=options.requirements, pyproject=options.pyproject,
        environment=options.environment, frozen=options.frozen, job_frozen=job.frozen_requirements,
        spec_dir=job.spec_path.parent if job.spec_path else None, extras=tuple(options.extras),
        groups=tuple(options.groups),
    )
    loaded, skipped = _pick_input(candidates)
    target, python, requires = _select_target(source_dir, job, options, loaded)
    outside = outside_requires_python(python, requires or pin_as_range(loaded.python_pin if loaded else None))
    result = _resolve_input(source_dir, job, options, candidates, loaded, skipped, target)
    return _replace(result, findings=(outside, *result.findings)) if outside else result


def _resolve_input(source_dir: Path | None, job: Job, options: ResolveOptions, candidates: list[tuple[InputSource, str]],
                   loaded: LoadedInput | None,
                   skipped: list[tuple[str, str]], target: Target) -> ResolveResult:
    """Lock the winning input for `target` (resolve's work once the input and the target are chosen)."""
    if loaded is not None:
        from launchbuild.resolver.special import unread_beside

        skipped = skipped + unread_beside(source_dir, candidates)
    if loaded is None:
        return ResolveResult(input_kind="none", input_path=None, skipped_inputs=tuple(skipped),
                             findings=no_input_findings(source_dir, skipped))
    _check_extras_and_groups(loaded, options)
    from launchbuild.resolver.index_hosts import check_job_hosts

    check_job_hosts(loaded, options.allowed_index_hosts)  # every host the job's files name, before any connection
    # Indexes named outside requirement lines (locks, [[tool.uv.index]]) lose their userinfo too.
    loaded, input_credentials = take_input_credentials(loaded)
    how = next((h for src, h in candidates if display_path(src.path, src.source_dir) == loaded.path), "source")
    input_reason: str = ("named explicitly (" + how + ")" if how in ("option", "flag")
                         else reason_for(loaded.path, source_dir) if how == "source" else "the job's run package list")
    described = dict(input_reason=input_reason, input_read=loaded.read, input_not_used=loaded.not_used)
    if loaded.project_file is not None and loaded.project_root is not None:
        # The backend reads this file itself: its requirement strings get the checks below all
        # the same (a `file:` dependency outside the tree, a `${VAR}` uv would expand on the host).
        from launchbuild.resolver.detectors.pyproject import project_file_lines

        lines = project_file_lines(Path(loaded.project_root) / loaded.project_file, loaded.path)
        confine_local_paths(lines, _allowed_roots(source_dir, job, options))
        refuse_variables(lines, IndexOptions())
    if loaded.lock_body is not None or loaded.project_file is not None:
        return _replace(resolve_special(loaded, target, options, skipped, job=job,
                                        credentials=input_credentials), **described)

    # Credentials leave every URL here, before cleaning, hashing, messages or the lock see them.
    index, requirements, constraints, credentials = take_credentials(
        loaded.parsed.options, loaded.parsed.requirements, loaded.parsed.constraints)
    credentials = merge_credentials(input_credentials, credentials)
    cleaning: list[CleaningAction] = []
    findings: list[Finding] = []
    variants: tuple[tuple[str, str], ...] = ()
    if loaded.kind == "frozen":
        own, _ = _own_source(source_dir)
        cleaned = clean_run_list(requirements, target, own, options.torch_index_url)
        requirements = cleaned.requirements
        cleaning += cleaned.actions
        findings += cleaned.findings
        variants = cleaned.cuda_variants
        index = index.merged(IndexOptions(extra_index_urls=cleaned.extra_index_urls))
    if loaded.torch_build:
        from launchbuild.resolver.cleaning import torch_build_route
        from launchbuild.resolver.detectors.conda import TORCH_FAMILY

        extra, variants, routed = torch_build_route(loaded.torch_build, requirements, options.torch_index_url,
                                                    loaded.path, TORCH_FAMILY)
        cleaning += routed
        index = index.merged(IndexOptions(extra_index_urls=extra))
    for spec in loaded.conda_only:
        cleaning.append(CleaningAction(spec, "flagged", f"conda-only dependency in {loaded.path}: "
                                       "pip cannot install it; add a PyPI equivalent to the pip section"))

    confine_local_paths((*requirements, *constraints), _allowed_roots(source_dir, job, options))
    refuse_variables((*requirements, *constraints), index)
    from launchbuild.resolver import own_project

    requirements, projects = own_project.split_local_projects(tuple(requirements), source_dir)
    from launchbuild.resolver import artifacts

    user_lines = tuple(requirements)
    built = artifacts.prepare(tuple(requirements), index, source_dir, core_cache.cache_root(options.cache_dir),
                              offline=options.offline, target=target, sandbox=options.sandbox)
    requirements, index = built.requirements, built.index
    findings += built.findings
    input_text = "".join(f"{line}\n" for line in index.as_lines())
    input_text += "".join(f"{_requirement_text(r)}\n" for r in requirements)
    input_text += "".join(f"{own_project.project_input_line(name, line)}\n" for name, _, _, line in projects)
    own_rel = tuple(dict.fromkeys(([loaded.own_project] if loaded.own_project else [])
                                  + [rel for _, _, rel, _ in projects]))
    if loaded.own_project and loaded.kind == "pyproject" and loaded.project_file is None and source_dir is not None:
        # Static metadata was read without its build backend: check here that the project
        # builds, or the image build would fail on it.
        ok, cause = own_project.buildable(source_dir, core_cache.cache_root(options.cache_dir), offline=options.offline,
                                          python=target.python, sandbox=options.sandbox)
        if not ok:
            own_rel = tuple(r for r in own_rel if r != loaded.own_project)
            findings.append(own_project.unbuildable_finding(loaded.own_project, cause))
    constraints_text = "".join(f"{_requirement_text(c)}\n" for c in constraints)
    base = ResolveResult(
        input_kind=loaded.kind, input_path=loaded.path, skipped_inputs=tuple(skipped),
        cleaning=tuple(cleaning), requirements_text=input_text, conda_only=loaded.conda_only,
        extras=loaded.extras, groups=loaded.groups, findings=tuple(loaded.findings),
        input_reason=input_reason, input_read=tuple(loaded.read) + built.notes, input_not_used=loaded.not_used,
    )
    findings += loaded.findings
    if built.findings:  # a requirement that cannot be built: never lock the rest as if it were whole
        return _replace(base, findings=tuple(findings))
    if not requirements and not projects and not own_rel:
        # A file that was asked for explicitly but lists nothing (or only what cleaning dropped).
        return _replace(base, findings=tuple(findings))

    input_name = Path(loaded.path).name if loaded.kind in ("requirements", "frozen") else "requirements.in"
    root = core_cache.cache_root(options.cache_dir)
    backend = make_backend(options.backend, target, options.sandbox)
    key = cache.input_hash({
        "input": input_text, "constraints": constraints_text, "input_name": input_name,
        "python": target.python, "platform": uv_python_platform(target), "glibc": target.glibc,
        "backend": backend.name, "backend_version": backend.version(),
        "torch_index_url": options.torch_index_url,
        "projects": [(rel, own_project.tree_digest(path)) for _, path, rel, _ in projects],
        "wheels": [w.name + ":" + w.parent.name for w in built.wheels],
    })
    index_urls = (index.index_url or PYPI_SIMPLE, *index.extra_index_urls)
    header = lock_header(target, backend.name, loaded.path, loaded.kind, index) + own_project.header_lines(own_rel)
    previous_key = _previous_lock_key(job, source_dir, input_name, target, backend.name)
    entry = core_cache.read_json(cache.lock_path(root, key))
    if not _usable_lock_entry(entry, header, requirements):
        entry = None  # a damaged entry is a miss: resolved again and rewritten atomically
    cache_hit = entry is not None
    # The index's JSON API is opened while a new lock is made: its facts follow the lock.
    warm = None
    if entry is None and not options.offline and options.fetch_package_facts:
        from launchbuild.resolver.index import json_api_base_of, prefetch_urls
        from launchbuild.resolver.index_prewarm import IndexPrewarm

        json_base = json_api_base_of(index_urls)
        # The direct requirements no cached facts know (on a dependency change: the new one).
        direct = {r.name: r.pinned_version for r in requirements if r.kind == "named" and r.name}
        warm = IndexPrewarm.start(json_base, prefetch_urls(json_base, direct, root) if json_base else ())
    try:
        if entry is None:
            if options.offline:
                raise InfraUnavailable(f"--offline: no cached lock for {loaded.path} "
                                       f"(Python {target.python}, {target.platform}, {backend.name})",
                                       hint="run once without --offline to fill the cache")
            outcome = backend.compile(CompileRequest(input_text, input_name, constraints_text, target,
                                                     netrc=credentials.netrc_text(),
                                                     local_projects=tuple((n, p) for n, p, _, _ in projects),
                                                     find_links_dirs=built.find_links_dirs,
                                                     preferred_lock=_previous_lock(root, previous_key)))
            if not outcome.ok:
                from launchbuild.resolver.build_errors import build_failure_finding, is_build_failure

                if is_build_failure(outcome.explanation):
                    findings.append(build_failure_finding(outcome.explanation, loaded.path, target, backend.name,
                                                          requirements[0].location if requirements else None))
                else:
                    from dataclasses import replace as _with
                    from launchbuild.resolver.build_errors import scrub

                    unresolved = unresolvable_finding(outcome.explanation, requirements, target, backend.name)
                    findings.append(_with(unresolved, message=scrub(unresolved.message)))
                return _replace(base, findings=tuple(findings))
            if not outcome.body.strip() and not projects:
                findings.append(resolver_finding(
                    "LB301",
                    message=f"no requirement in {loaded.path} applies to Python {target.python} on {target.platform}",
                    fix="check the markers of your requirement lines", location=requirements[0].location,
                ))
                return _replace(base, findings=tuple(findings))
            entry = {"text": header + own_project.strip_project_entries(outcome.body)}
            core_cache.write_json(cache.lock_path(root, key), entry)
        _remember_lock(root, previous_key, entry["text"])
        text, hash_findings = artifacts.enforce_user_hashes(entry["text"], user_lines)
        findings += hash_findings
        packages = parse_lock(text, requirements)
        lock = Lock(packages=packages, text=text, target=target, backend=backend.name, input_hash=key,
                    index_urls=index_urls + tuple(u for u in loaded.extra_index_urls if u not in index_urls),
                    find_links=index.find_links, cuda_variants=variants, own_projects=own_rel,
                    wheels=tuple(str(w) for w in built.wheels), credentials=credentials or None)
        facts: tuple[PackageFacts, ...] = ()
        if options.fetch_package_facts:
            from launchbuild.resolver.index import package_facts

            facts = package_facts(lock, root, offline=options.offline, warm=warm)
        return _replace(base, lock=lock, findings=tuple(findings), cache_hit=cache_hit, packages=facts)
    finally:
        if warm is not None:
            warm.close()


def _previous_lock_key(job: Job, source_dir: Path | None, input_name: str, target, backend: str) -> str:
    """Which earlier lock is this job's: the same source (remote or path) and input, one target."""
    src = job.source
    where = getattr(src, "remote", None) or str(getattr(src, "path", "") or source_dir or "")
    return cache.input_hash({"previous-lock-of": where, "subdir": getattr(src, "subdir", None),
                             "name": job.name, "input_name": input_name, "python": target.python,
                             "platform": uv_python_platform(target), "glibc": target.glibc, "backend": backend})


def _previous_lock(root: Path, key: str) -> str:
    """The job's previous lock text, or "" (none yet, or a damaged entry)."""
    entry = core_cache.read_json(cache.previous_lock_path(root, key))
    text = entry.get("text") if entry else None
    return text if isinstance(text, str) else ""


def _remember_lock(root: Path, key: str, text: str) -> None:
    if _previous_lock(root, key) != text:  # the warm path reads; it writes only on a change
        core_cache.write_json(cache.previous_lock_path(root, key), {"text": text})


def _allowed_roots(source_dir: Path | None, job: Job, options: ResolveOptions) -> list[Path]:
    """Where local requirements may live: the job's tree, and the folders of the files the
    operator named by option (their own paths are the operator's to choose)."""
    roots = [source_dir] if source_dir is not None else []
    for given in (options.requirements, options.pyproject, options.environment, options.frozen):
        if given is not None:
            roots.append(Path(given).resolve().parent)
    if job.spec_path is not None:
        roots.append(job.spec_path.resolve().parent)
    return roots


def _usable_lock_entry(entry: object, header: str, requirements) -> bool:
    """A cached lock as `resolve` writes it: {"text": header + pins} that parses as a lock."""
    if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"].startswith(header):
        return False
    try:
        parse_lock(entry["text"], requirements)
    except (LaunchbuildError, ValueError, TypeError, IndexError):
        return False
    return True


from launchbuild.resolver.special import no_input_findings, reason_for, resolve_special  # noqa: E402


def _replace(result: ResolveResult, **changes) -> ResolveResult:
    from dataclasses import replace

    return replace(result, **changes)


def render_lock(result: ResolveResult) -> str:
    """The lock file text for `launchbuild resolve -o`; an error when nothing was locked."""
    if result.lock is None:
        reasons = "; ".join(f"{f.rule}: {f.message}" for f in result.findings if f.severity is Severity.ERROR)
        raise LaunchbuildError(f"no lock was produced for {result.input_path or 'this job'}"
                               + (f": {reasons}" if reasons else ": no requirements input found"),
                               hint="fix the findings above")
    return result.lock.text


__all__ = ["ResolveOptions", "resolve", "render_lock", "select_target", "LockedPackage"]
