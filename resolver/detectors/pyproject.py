"""pyproject.toml in every common dialect: PEP 621 `[project]`, PEP 735 `[dependency-groups]`,
Poetry's `[tool.poetry]`, PDM's `[tool.pdm.dev-dependencies]`, uv's `[tool.uv.sources]` and
`[[tool.uv.index]]`.

Static metadata is read here into requirement lines (each at its line in the file). Two cases
hand the file itself to the backend instead, which reads it the way the build would:
dynamic dependencies (the build backend computes them, in isolation), and uv sources/indexes
(which only a project-mode `uv pip compile pyproject.toml` honours).
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import canonicalize_name

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.resolver.detectors.base import key_line, read_toml, requirement, string_list
from launchbuild.resolver.detectors.constraints import poetry_to_pep440, python_marker
from launchbuild.jobs.urls import redact_url, url_problem
from launchbuild.resolver.requirements import IndexOptions, ParsedRequirements, RequirementLine, parse_requirement
from launchbuild.core.findings import Location
from launchbuild.resolver.sources import LoadedInput, display_path


def _table(value: object, what: str, shown: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"{what} in {shown} is not a table", hint="see the pyproject.toml specification")
    return value


def dialect(data: dict) -> str | None:
    """Which metadata the file carries: "pep621", "poetry", or None (tool config only)."""
    project = data.get("project")
    dynamic = project.get("dynamic") if isinstance(project, dict) else None
    dynamic = dynamic if isinstance(dynamic, list) else []
    if isinstance(project, dict) and ("dependencies" in project or "dependencies" in dynamic
                                      or project.get("optional-dependencies")):
        return "pep621"
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict) and (poetry.get("dependencies") or poetry.get("group")
                                     or poetry.get("dev-dependencies")):
        return "poetry"
    if isinstance(project, dict) or data.get("dependency-groups"):
        return "pep621"
    return None


@dataclass(frozen=True)
class ProjectInput:
    """A pyproject.toml as an input, in whichever dialect it uses (PEP 621, PEP 735 groups,
    Poetry, PDM, uv)."""

    path: Path
    source_dir: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    kind: str = "pyproject"

    def unusable_reason(self) -> str | None:
        shown = display_path(self.path, self.source_dir)
        data, _ = read_toml(self.path, shown)
        if "project" in data:
            # A wrongly typed [project] (dynamic = 5) is bad input even when it names no
            # dependencies: skipping it would hide the mistake behind "nothing to install".
            tool = _table(data.get("tool"), "[tool]", shown)
            _validate_pep621(_table(data.get("project"), "[project]", shown), _table(tool.get("uv"), "[tool.uv]", shown), shown)
        if dialect(data) is None:
            return "no [project], [dependency-groups] or [tool.poetry] dependencies (tool settings only)"
        return None

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        data, text = read_toml(self.path, shown)
        kind = dialect(data)
        if kind == "poetry":
            return _poetry(self, data, text, shown)
        return _pep621(self, data, text, shown)


def _groups_table(data: dict, shown: str) -> dict[str, list]:
    """PEP 735 groups, plus PDM's and uv's older dev-dependency tables, by normalized name."""
    tool = _table(data.get("tool"), "[tool]", shown)
    out: dict[str, list] = {}
    for what, table in (("[dependency-groups]", data.get("dependency-groups")),
                        ("[tool.pdm.dev-dependencies]", _table(tool.get("pdm"), "[tool.pdm]", shown).get("dev-dependencies"))):
        for name, items in _table(table, what, shown).items():
            if not isinstance(items, list):
                raise BadInput(f"group {name!r} in {what} of {shown} is not a list", hint='write dev = ["pytest"]')
            out.setdefault(canonicalize_name(name), []).extend(items)
    uv_dev = _table(tool.get("uv"), "[tool.uv]", shown).get("dev-dependencies")
    if uv_dev:
        out.setdefault("dev", []).extend(string_list(uv_dev, "[tool.uv].dev-dependencies", shown))
    return out


def _expand_group(name: str, groups: dict[str, list], shown: str, seen: tuple[str, ...] = ()) -> list[str]:
    key = canonicalize_name(name)
    if key in seen:
        raise BadInput(f"dependency group {name!r} in {shown} includes itself", hint="remove the include-group cycle")
    if key not in groups:
        known = ", ".join(sorted(groups)) or "none"
        raise BadInput(f"dependency group {name!r} is not in {shown}", hint=f"known groups: {known}")
    out: list[str] = []
    for item in groups[key]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            out += _expand_group(item["include-group"], groups, shown, seen + (key,))
        else:
            raise BadInput(f"entry {item!r} of group {name!r} in {shown} is not a requirement",
                           hint='use strings or {include-group = "name"}')
    return out


def _expand_extras(project: dict, wanted: tuple[str, ...], shown: str) -> list[str]:
    """The requirements of the extras asked for, following self-references (`pkg[a,b]`)."""
    optional = _table(project.get("optional-dependencies"), "[project.optional-dependencies]", shown)
    by_name = {canonicalize_name(k): (k, v) for k, v in optional.items()}
    own = canonicalize_name(project["name"]) if isinstance(project.get("name"), str) else None
    out: list[str] = []
    todo, done = [canonicalize_name(e) for e in wanted], set()
    for extra, raw in zip(todo, wanted):
        if extra not in by_name:
            known = ", ".join(sorted(optional)) or "none"
            raise BadInput(f"extra {raw!r} is not in [project.optional-dependencies] of {shown}",
                           hint=f"known extras: {known}")
    while todo:
        extra = todo.pop(0)
        if extra in done:
            continue
        done.add(extra)
        for dep in string_list(by_name[extra][1], f"extra {by_name[extra][0]!r}", shown):
            m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\[([^\]]*)\]\s*(;.*)?$", dep)
            if own and m and canonicalize_name(m.group(1)) == own and not m.group(3):
                todo += [canonicalize_name(e) for e in m.group(2).split(",") if e.strip()]
            else:
                out.append(dep)
    return out


def _validate_pep621(project: dict, uv: dict, shown: str) -> None:
    """Shapes the readers below rely on; anything else is bad input naming the key."""
    string_list(project.get("dynamic"), "[project].dynamic", shown)
    if "name" in project and not isinstance(project["name"], str):
        raise BadInput(f"[project].name in {shown} is not a string", hint='write name = "mypkg"')
    for extra, deps in _table(project.get("optional-dependencies"), "[project.optional-dependencies]", shown).items():
        string_list(deps, f"extra {extra!r}", shown)
    _table(uv.get("sources"), "[tool.uv.sources]", shown)
    index = uv.get("index")
    if index is not None and (not isinstance(index, list) or not all(isinstance(i, dict) for i in index)):
        raise BadInput(f"[[tool.uv.index]] in {shown} is not an array of tables", hint="see uv's index settings")


def _poetry_enrichment(tool: dict, project: dict, shown: str) -> tuple[tuple[str, ...], list[str], list[str]]:
    """Poetry 2 keeps `[project]` dependencies and enriches them in [tool.poetry.dependencies]
    (`torch = {source = "pytorch-cpu"}`): the sources those entries name are indexes of the lock
    here, as in the Poetry dialect. They were dropped, and torch came from PyPI's CUDA build.
    (indexes, read, not_used)."""
    poetry = _table(tool.get("poetry"), "[tool.poetry]", shown)
    if not poetry.get("source"):
        return (), [], []
    deps = _table(poetry.get("dependencies"), "[tool.poetry.dependencies]", shown)
    named = {canonicalize_name(re.split(r"[\s\[<>=!~;@(]", d.strip(), maxsplit=1)[0])
             for d in string_list(project.get("dependencies"), "[project].dependencies", shown) if d.strip()}
    for deps_of_extra in _table(project.get("optional-dependencies"), "[project.optional-dependencies]", shown).values():
        named |= {canonicalize_name(re.split(r"[\s\[<>=!~;@(]", d.strip(), maxsplit=1)[0])
                  for d in string_list(deps_of_extra, "an extra", shown) if d.strip()}
    enriching = [spec for name, spec in deps.items() if canonicalize_name(name) in named]
    indexes, notes = _poetry_sources(poetry, enriching, shown)
    read = [f"[[tool.poetry.source]] as extra indexes: {', '.join(indexes)}"] if indexes else []
    for name, spec in deps.items():
        if canonicalize_name(name) in named and isinstance(spec, dict) and spec.get("source"):
            notes.append(f"{name}: from Poetry source {spec['source']!r}, an extra index of the whole lock here "
                         "(pip has no per-package index)")
    return indexes, read, notes


def _pep621(source: ProjectInput, data: dict, text: str, shown: str) -> LoadedInput:
    project = _table(data.get("project"), "[project]", shown)
    tool = _table(data.get("tool"), "[tool]", shown)
    uv = _table(tool.get("uv"), "[tool.uv]", shown)
    _validate_pep621(project, uv, shown)
    groups = _groups_table(data, shown)
    poetry_indexes, read, not_used = _poetry_enrichment(tool, project, shown)
    dynamic = "dependencies" in project.get("dynamic", []) or (
        source.extras and "optional-dependencies" in project.get("dynamic", []))
    uv_routing = bool(uv.get("sources") or uv.get("index"))
    # A project with a build system is installed into the image: its metadata comes from its
    # build backend (what the install will run), so a project that cannot build fails here.
    buildable = isinstance(data.get("build-system"), dict) and isinstance(project.get("name"), str)
    own = "." if buildable and source.path.parent == (source.source_dir or source.path.parent) else None
    indexes = tuple(i["url"] for i in uv.get("index", []) if isinstance(i, dict) and isinstance(i.get("url"), str))
    if source.extras:
        optional = project.get("optional-dependencies") or {}
        for extra in source.extras:
            if "optional-dependencies" not in project.get("dynamic", []) and \
                    canonicalize_name(extra) not in {canonicalize_name(k) for k in optional}:
                known = ", ".join(sorted(optional)) or "none"
                raise BadInput(f"extra {extra!r} is not in [project.optional-dependencies] of {shown}",
                               hint=f"known extras: {known}")
    for group in source.groups:
        _expand_group(group, groups, shown)  # unknown group: bad input before any work
    unasked = sorted(set(project.get("optional-dependencies") or {}) - set(source.extras))
    if unasked:
        not_used.append(f"extras not asked for: {', '.join(unasked)} (add --extra NAME)")
    unasked_groups = sorted(set(groups) - {canonicalize_name(g) for g in source.groups})
    if unasked_groups:
        not_used.append(f"dependency groups not asked for: {', '.join(unasked_groups)} (add --group NAME)")
    if dynamic or uv_routing or buildable:
        if not isinstance(project.get("name"), str):
            raise BadInput(f"{shown} has dynamic dependencies or uv sources but no [project].name",
                           hint="add name = ... to [project]")
        why = ("[project].dependencies is dynamic: the build backend computes them, in isolation" if dynamic
               else "[build-system]: the project's metadata from its build backend, in isolation" if buildable
               else "[tool.uv.sources]/[[tool.uv.index]]: uv resolves the project with them")
        read.append(why)
        if uv_routing:
            read.append(f"uv indexes: {', '.join(indexes) or 'none'}; sources for "
                        f"{', '.join(sorted(uv.get('sources') or {})) or 'none'}")
        return LoadedInput(
            source.kind, shown, ParsedRequirements(files=(shown,), options=IndexOptions(extra_index_urls=poetry_indexes)),
            extras=source.extras, groups=source.groups,
            read=tuple(read), not_used=tuple(not_used), project_file=source.path.name,
            project_root=source.path.parent,
            # A `path` source is read from the copy: the backend needs the tree, not the file alone.
            project_copy="tree" if dynamic or buildable or any("path" in e for _, e in _uv_source_entries(uv)) else "file",
            extra_index_urls=indexes, own_project=own,
        )
    lines: list[RequirementLine] = []
    deps = string_list(project.get("dependencies"), "[project].dependencies", shown)
    lines += [requirement(d, shown, text, base_dir=source.path.parent) for d in deps]
    read.append(f"[project].dependencies: {len(deps)}")
    if source.extras:
        extra_deps = _expand_extras(project, source.extras, shown)
        lines += [requirement(d, shown, text, base_dir=source.path.parent) for d in extra_deps]
        read.append(f"extras {', '.join(source.extras)}: {len(extra_deps)}")
    for group in source.groups:
        group_deps = _expand_group(group, groups, shown)
        lines += [requirement(d, shown, text, base_dir=source.path.parent) for d in group_deps]
        read.append(f"group {group}: {len(group_deps)}")
    parsed = ParsedRequirements(requirements=tuple(lines), files=(shown,),
                                options=IndexOptions(extra_index_urls=poetry_indexes))
    empty = None if lines else "[project].dependencies is empty"
    return LoadedInput(source.kind, shown, parsed, extras=source.extras, groups=source.groups,
                       read=tuple(read), not_used=tuple(not_used), empty_reason=empty)


# --- Poetry -----------------------------------------------------------------------------------


def _platform_marker(platform: str, where: str) -> str:
    names = [p.strip() for p in platform.split("||")]
    if not all(re.fullmatch(r"[A-Za-z0-9_.-]+", p) for p in names):
        raise BadInput(f"platform {platform!r} of dependency {where} is not a sys.platform name",
                       hint='write platform = "linux" (or "darwin", "win32")')
    text = " or ".join(f"sys_platform == '{p}'" for p in names)
    return f"({text})" if len(names) > 1 else text


def _poetry_dependency_table(table: tuple[str, ...]) -> bool:
    return table[:2] == ("tool", "poetry") and (table[2:] in (("dependencies",), ("dev-dependencies",))
                                                 or (len(table) == 5 and table[2] == "group" and table[4] == "dependencies"))


def _poetry_line(name: str, spec: object, shown: str, text: str, base_dir: Path) -> tuple[list[RequirementLine], list[str]]:
    """One `[tool.poetry.dependencies]` entry -> PEP 508 lines (a list form gives several)."""
    where = f"{name} in {shown}"
    loc = Location(shown, key_line(text, name, _poetry_dependency_table))
    notes: list[str] = []
    if isinstance(spec, list):
        out: list[RequirementLine] = []
        for item in spec:
            got, n = _poetry_line(name, item, shown, text, base_dir)
            out += got
            notes += n
        return out, notes
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise BadInput(f"dependency {where} is neither a version string nor a table",
                       hint='write name = "^1.2" or name = {version = "^1.2"}')
    for key in ("version", "git", "url", "path", "markers", "python", "platform", "rev", "tag", "branch",
                "subdirectory"):
        if key in spec and not isinstance(spec[key], str):
            raise BadInput(f"{key} of dependency {where} is not a string", hint=f'write {key} = "..."')
    extras = string_list(spec.get("extras"), f"extras of {where}", shown)
    extra_text = f"[{','.join(extras)}]" if extras else ""
    markers = []
    if isinstance(spec.get("python"), str):
        m = python_marker(spec["python"], where)
        if m:
            markers.append(m)
    if isinstance(spec.get("platform"), str):
        # Poetry's `platform = "linux"` is sys_platform: the list form (a linux and a darwin torch
        # wheel) is two conflicting requirements without it.
        markers.append(_platform_marker(spec["platform"], where))
    if isinstance(spec.get("markers"), str):
        markers.append(f"({spec['markers']})" if markers else spec["markers"])
    marker = f" ; {' and '.join(markers)}" if markers else ""
    if "git" in spec:
        ref = spec.get("rev") or spec.get("tag") or spec.get("branch")
        url = f"git+{spec['git']}" + (f"@{ref}" if ref else "")
        if spec.get("subdirectory"):
            url += f"#subdirectory={spec['subdirectory']}"
        body = f"{name}{extra_text} @ {url}"
    elif "url" in spec:
        body = f"{name}{extra_text} @ {spec['url']}"
    elif "path" in spec:
        path = (base_dir / str(spec["path"])).resolve()
        return [parse_requirement(f"{name}{extra_text} @ {path.as_uri()}{marker}", loc,
                                  editable=bool(spec.get("develop")))], notes
    else:
        version, note = poetry_to_pep440(spec.get("version", "*"), where)
        if note:
            notes.append(f"{name}: {note}")
        body = f"{name}{extra_text}{version}"
    if spec.get("allow-prereleases") is True:
        notes.append(f"{name}: allow-prereleases has no per-package form here: write a pre-release in its "
                     "constraint (>=2.0.0rc1), which allows them for it")
    if spec.get("source"):
        notes.append(f"{name}: from Poetry source {spec['source']!r}, an extra index of the whole lock here "
                     "(pip has no per-package index)")
    return [parse_requirement(body + marker, loc)], notes


def _poetry_sources(poetry: dict, included: list, shown: str) -> tuple[tuple[str, ...], list[str]]:
    """[[tool.poetry.source]] URLs as extra indexes (they were dropped: a `torch = {source =
    "pytorch"}` then locked PyPI's default CUDA build). An explicit source serves only the
    dependencies that name it, so one no asked-for dependency names is left out, and said."""
    sources = poetry.get("source") or []
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise BadInput(f"[[tool.poetry.source]] in {shown} is not an array of tables",
                       hint='write [[tool.poetry.source]] name = "x" url = "https://..."')
    named = {spec.get("source") for spec in included if isinstance(spec, dict)}
    named |= {item.get("source") for spec in included if isinstance(spec, list) for item in spec if isinstance(item, dict)}
    indexes: list[str] = []
    notes: list[str] = []
    for src in sources:
        name, url = src.get("name"), src.get("url")
        if not isinstance(url, str):
            continue  # `name = "PyPI"` with a priority and no url: the default index
        where = f"[[tool.poetry.source]] {name!r} in {shown}"
        problem = url_problem(url)
        if problem:
            raise BadInput(f"{where}: URL {redact_url(url)[:200]!r} {problem}", hint="write a plain http(s) URL")
        if str(src.get("priority", "primary")).lower() == "explicit" and name not in named:
            notes.append(f"{where}: explicit, and no asked-for dependency names it")
        elif url not in indexes:
            indexes.append(url)
    return tuple(indexes), notes


def _poetry(source: ProjectInput, data: dict, text: str, shown: str) -> LoadedInput:
    poetry = data["tool"]["poetry"]
    if not isinstance(poetry.get("name", ""), str):
        raise BadInput(f"[tool.poetry].name in {shown} is not a string", hint='write name = "mypkg"')
    base_dir = source.path.parent
    deps = _table(poetry.get("dependencies"), "[tool.poetry.dependencies]", shown)
    poetry_extras = _table(poetry.get("extras"), "[tool.poetry.extras]", shown)
    group_tables: dict[str, dict] = {canonicalize_name(k): _table(_table(v, f"[tool.poetry.group.{k}]", shown).get("dependencies"),
                                                 f"[tool.poetry.group.{k}.dependencies]", shown)
                    for k, v in _table(poetry.get("group"), "[tool.poetry.group]", shown).items()}
    if poetry.get("dev-dependencies"):
        group_tables.setdefault("dev", {}).update(_table(poetry["dev-dependencies"], "[tool.poetry.dev-dependencies]", shown))
    wanted_optional: set[str] = set()
    for extra in source.extras:
        if extra not in poetry_extras:
            known = ", ".join(sorted(poetry_extras)) or "none"
            raise BadInput(f"extra {extra!r} is not in [tool.poetry.extras] of {shown}", hint=f"known extras: {known}")
        wanted_optional |= {canonicalize_name(n) for n in string_list(poetry_extras[extra], f"extra {extra!r}", shown)}
    for group in source.groups:
        if canonicalize_name(group) not in group_tables:
            known = ", ".join(sorted(group_tables)) or "none"
            raise BadInput(f"dependency group {group!r} is not in {shown}", hint=f"known groups: {known}")
    lines: list[RequirementLine] = []
    notes: list[str] = []
    optional_skipped: list[str] = []
    included: list = []
    count = 0
    for name, spec in deps.items():
        if canonicalize_name(name) == "python":
            continue
        if isinstance(spec, dict) and spec.get("optional") and canonicalize_name(name) not in wanted_optional:
            optional_skipped.append(name)
            continue
        got, n = _poetry_line(name, spec, shown, text, base_dir)
        lines += got
        notes += n
        count += 1
        included.append(spec)
    read = [f"[tool.poetry.dependencies]: {count} (constraints translated to PEP 440)"]
    for group in source.groups:
        table = group_tables[canonicalize_name(group)]
        for name, spec in table.items():
            got, n = _poetry_line(name, spec, shown, text, base_dir)
            lines += got
            notes += n
            included.append(spec)
        read.append(f"[tool.poetry.group.{group}]: {len(table)}")
    not_used = list(notes)
    indexes, source_notes = _poetry_sources(poetry, included, shown)
    if indexes:
        read.append(f"[[tool.poetry.source]] as extra indexes: {', '.join(indexes)}")
    not_used += source_notes
    if optional_skipped:
        not_used.append(f"optional dependencies not in an asked-for extra: {', '.join(optional_skipped)} (add --extra NAME)")
    unasked = sorted(set(group_tables) - {canonicalize_name(g) for g in source.groups})
    if unasked:
        not_used.append(f"Poetry groups not asked for: {', '.join(unasked)} (add --group NAME)")
    if isinstance(deps.get("python"), str):
        not_used.append(f"python = {deps['python']!r} is a range, not a dependency: it is the project's "
                        "requires-python (the target Python satisfies it unless --python or .python-version names one)")
    parsed = ParsedRequirements(requirements=tuple(lines), files=(shown,),
                                options=IndexOptions(extra_index_urls=indexes))
    own = "." if isinstance(data.get("build-system"), dict) and poetry.get("package-mode", True) is not False \
        and source.path.parent == (source.source_dir or source.path.parent) else None
    empty = None if lines or own else "[tool.poetry.dependencies] lists only python"
    return LoadedInput(source.kind, shown, parsed, extras=source.extras, groups=source.groups,
                       read=tuple(read), not_used=tuple(not_used), empty_reason=empty, own_project=own)


# --- project mode: what the backend reads of the file itself ----------------------------------


def _uv_source_entries(uv: dict) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for name, entries in _table(uv.get("sources"), "[tool.uv.sources]", "pyproject.toml").items():
        for entry in (entries if isinstance(entries, list) else [entries]):
            if isinstance(entry, dict):
                out.append((str(name), entry))
    return out


def project_file_lines(pyproject: Path, shown: str) -> tuple[RequirementLine, ...]:
    """A pyproject.toml the backend reads itself (a build system, dynamic dependencies, uv
    sources): its static requirement strings as requirement lines, for the checks every other
    input's lines get (local paths confined to the job's tree, no `${VAR}`): uv would read a
    `file://` dependency outside the tree and expand `${HOME}` in one, on the host. Its
    [tool.uv.sources] `path` entries are confined here too; a path source makes the backend
    copy the whole project (`needs_tree`)."""
    if pyproject.name != "pyproject.toml" or not pyproject.is_file():
        return ()
    from launchbuild.jobs import confine

    data, text = read_toml(pyproject, shown)
    project = _table(data.get("project"), "[project]", shown)
    tool = _table(data.get("tool"), "[tool]", shown)
    uv = _table(tool.get("uv"), "[tool.uv]", shown)
    base = pyproject.parent
    specs = list(string_list(project.get("dependencies"), "[project].dependencies", shown))
    for extra, deps in _table(project.get("optional-dependencies"), "[project.optional-dependencies]", shown).items():
        specs += string_list(deps, f"extra {extra!r}", shown)
    for items in _table(data.get("dependency-groups"), "[dependency-groups]", shown).values():
        specs += [i for i in (items if isinstance(items, list) else []) if isinstance(i, str)]
    specs += [i for i in (uv.get("dev-dependencies") or []) if isinstance(i, str)]
    lines = [requirement(spec, shown, text, base_dir=base) for spec in specs]
    for name, entry in _uv_source_entries(uv):
        where = f"{shown}: [tool.uv.sources] {name}"
        for key, value in entry.items():
            if isinstance(value, str) and "${" in value:
                raise BadInput(f"{where}: a variable reference '${{...}}' in {key!r}",
                               hint="write the value itself: a job cannot expand the operator's environment")
        if "path" in entry:
            if not isinstance(entry["path"], str):
                raise BadInput(f"{where}: path is not a string", hint='write path = "libs/name"')
            confine.confine(base, entry["path"], where=where, what="path source", kind="any", max_bytes=None)
    return tuple(lines)

