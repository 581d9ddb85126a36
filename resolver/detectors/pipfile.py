"""Pipfile (pipenv's input) and Pipfile.lock (its lock, used as a lock).

Pipfile: `[packages]` (and `[dev-packages]` with `--group dev`), `[[source]]` indexes,
`[requires] python_version`. Pipfile.lock: `default` (and `develop` with `--group dev`),
each entry's `version`, `markers` and `hashes`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from launchbuild.core.findings import Finding, Location
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.urls import redact_url, url_problem
from launchbuild.resolver.detectors.base import key_line, read_toml
from launchbuild.resolver.detectors.locks import _lock_problem, entry_lines, git_requirement, valid_name
from launchbuild.resolver.requirements import IndexOptions, ParsedRequirements, RequirementLine, parse_requirement
from launchbuild.resolver.sources import LoadedInput, display_path

_PY = re.compile(r"3\.\d{1,2}")
_MARKER_KEYS = ("os_name", "sys_platform", "platform_machine", "platform_python_implementation", "platform_release",
                "platform_system", "platform_version", "python_version", "python_full_version",
                "implementation_name", "implementation_version")
_MARKER_VALUE = re.compile(r"(===|==|!=|<=|>=|~=|<|>|not in|in)\s*(['\"])[^'\"]*\2")


def _python_pin(value: object, shown: str) -> Sourced[str] | None:
    if value is None:
        return None
    text = str(value).strip()
    m = re.fullmatch(r"(3\.\d{1,2})(?:\.\d+)?", text)
    if not m:
        raise BadInput(f"[requires] python_version {text!r} in {shown} is not X.Y", hint='write python_version = "3.11"')
    return Sourced(m.group(1), Origin.SOURCE_FILE, f"{shown} [requires]")


def _source_urls(sources: object, what: str, shown: str) -> list[str]:
    """The index URLs of a Pipfile's `[[source]]` (or Pipfile.lock's `_meta.sources`): strict
    URLs (jobs/urls.url_problem), as a requirements file's `--index-url`. They become option
    lines of the backend's input and of the lock, so a line break in one (`...\n--find-links
    /etc`) would be an option of its own."""
    if sources is None:
        return []
    if not isinstance(sources, list):
        raise BadInput(f"{what} in {shown} is not an array of tables", hint='write [[source]] url = "https://..."')
    urls: list[str] = []
    for source in sources:
        url = source.get("url") if isinstance(source, dict) else None
        if not isinstance(url, str):
            continue
        problem = url_problem(url)
        if problem:
            raise BadInput(f"{what} in {shown}: URL {redact_url(url)[:200]!r} {problem}",
                           hint="write a plain http(s) URL; put credentials in the URL's user:password")
        urls.append(url)
    return urls


def _index_notes(packages: dict, sources: object, shown: str) -> tuple[str, ...]:
    """A package's `index = "pytorch"` names one of the [[source]]s: every source is an index of
    the whole lock here (pip has no per-package index), which is said, not left silent; a name
    no [[source]] carries is bad input, as pipenv refuses it."""
    names = [s.get("name") for s in sources if isinstance(s, dict)] if isinstance(sources, list) else []
    notes: list[str] = []
    for name, spec in packages.items():
        index = spec.get("index") if isinstance(spec, dict) else None
        if not isinstance(index, str):
            continue
        if index not in names:
            known = ", ".join(str(n) for n in names if isinstance(n, str)) or "none"
            raise BadInput(f"package {name!r} in {shown} names index {index[:80]!r}, which no [[source]] defines",
                           hint=f"add a [[source]] with name = {index[:80]!r}, or use one of: {known}")
        notes.append(f"{name}: from [[source]] {index!r}, an index of the whole lock here (pip has no per-package index)")
    return tuple(notes)


def _entry(name: str, spec: object, shown: str, text: str, base_dir: Path) -> RequirementLine:
    # A category table: [packages], [dev-packages] or a custom one, never [[source]] or [requires].
    loc = Location(shown, key_line(text, name, lambda t: len(t) == 1 and t[0] not in ("source", "requires", "pipenv", "scripts")))
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise BadInput(f"package {name!r} in {shown} is neither a version string nor a table",
                       hint='write name = "*" or name = {version = ">=1.0"}')
    for key in ("version", "git", "ref", "path", "file", "markers", "index"):
        if key in spec and not isinstance(spec[key], str):
            raise BadInput(f"{key} of package {name!r} in {shown} is not a string", hint=f'write {key} = "..."')
    extras = spec.get("extras") or []
    if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
        raise BadInput(f"extras of package {name!r} in {shown} is not a list of strings", hint='write extras = ["x"]')
    extra_text = f"[{','.join(extras)}]" if extras else ""
    # pipenv's marker keys: `pywin32 = {version = "*", sys_platform = "== 'win32'"}` (dropped,
    # it locked pywin32 for linux); joined with `markers` as pipenv does.
    clauses = [f"({spec['markers']})"] if isinstance(spec.get("markers"), str) else []
    for key in _MARKER_KEYS:
        if key in spec:
            if not isinstance(spec[key], str) or not _MARKER_VALUE.fullmatch(spec[key].strip()):
                raise BadInput(f"{key} of package {name!r} in {shown} is not a marker comparison",
                               hint=f"write {key} = \"== 'value'\"")
            clauses.append(f"{key} {spec[key].strip()}")
    marker = f" ; {' and '.join(clauses)}" if clauses else ""
    if "git" in spec:
        ref = spec.get("ref")
        return parse_requirement(f"{name}{extra_text} @ git+{spec['git']}" + (f"@{ref}" if ref else "") + marker, loc)
    if "path" in spec or "file" in spec:
        target = spec.get("path") or spec.get("file")
        path = (base_dir / str(target)).resolve()
        return parse_requirement(f"{name}{extra_text} @ {path.as_uri()}{marker}", loc,
                                 editable=bool(spec.get("editable")))
    version = spec.get("version", "*")
    if not isinstance(version, str):
        raise BadInput(f"version of {name!r} in {shown} is not a string", hint='write version = ">=1.0"')
    version = "" if version.strip() == "*" else version.strip()
    return parse_requirement(f"{name}{extra_text}{version}{marker}", loc)


@dataclass(frozen=True)
class PipfileInput:
    """A Pipfile as an input: `[packages]` (and `[dev-packages]` with `--group dev`), its indexes
    and its Python."""

    path: Path
    source_dir: Path | None = None
    groups: tuple[str, ...] = ()
    kind: str = "pipfile"

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        data, text = read_toml(self.path, shown)
        packages = data.get("packages") or {}
        dev = data.get("dev-packages") or {}
        if not isinstance(packages, dict) or not isinstance(dev, dict):
            raise BadInput(f"[packages] in {shown} is not a table", hint="see pipenv's Pipfile format")
        for group in self.groups:
            if group != "dev":
                raise BadInput(f"dependency group {group!r} is not in {shown}", hint="Pipfile knows one group: dev")
        lines = [_entry(n, s, shown, text, self.path.parent) for n, s in packages.items()]
        read = [f"[packages]: {len(lines)}"]
        if "dev" in self.groups:
            lines += [_entry(n, s, shown, text, self.path.parent) for n, s in dev.items()]
            read.append(f"[dev-packages]: {len(dev)}")
        not_used: tuple[str, ...] = (f"[dev-packages] ({len(dev)}) not asked for (add --group dev)",) \
            if dev and "dev" not in self.groups else ()
        sources = _source_urls(data.get("source"), "[[source]]", shown)
        not_used += _index_notes({**packages, **(dev if "dev" in self.groups else {})}, data.get("source"), shown)
        raw_settings = data.get("pipenv")
        settings = raw_settings if isinstance(raw_settings, dict) else {}
        pre = settings.get("allow_prereleases") is True  # pipenv's --pre, for every package
        if pre:
            read.append("[pipenv] allow_prereleases: pre-releases allowed")
        options = IndexOptions(index_url=sources[0] if sources else None, extra_index_urls=tuple(sources[1:]), pre=pre)
        raw_requires = data.get("requires")
        requires = raw_requires if isinstance(raw_requires, dict) else {}
        # `pipenv --python 3.10.4` writes python_full_version; either names the Python.
        python = _python_pin(requires.get("python_version", requires.get("python_full_version")), shown)
        parsed = ParsedRequirements(requirements=tuple(lines), options=options, files=(shown,))
        return LoadedInput(self.kind, shown, parsed, python_pin=python, groups=self.groups, read=tuple(read),
                           not_used=not_used, empty_reason=None if lines else "[packages] is empty")


def pipfile_lock_body(data: dict, shown: str, groups: tuple[str, ...]) -> tuple[str, tuple[Finding, ...]]:
    """Entries in the internal lock format from a parsed Pipfile.lock. Pure."""
    if not isinstance(data, dict) or not isinstance(data.get("default", {}), dict):
        raise BadInput(f"{shown} has no 'default' section", hint="regenerate it with `pipenv lock`")
    sections = [data.get("default") or {}]
    if "dev" in groups:
        sections.append(data.get("develop") or {})
    if not all(isinstance(sec, dict) for sec in sections):
        raise BadInput(f"{shown}: 'default' and 'develop' must be tables of packages",
                       hint="regenerate it with `pipenv lock`")
    lines: list[str] = []
    findings: list[Finding] = []
    seen: set[str] = set()
    for section in sections:
        for name, entry in section.items():
            if name in seen or not isinstance(entry, dict):
                continue
            seen.add(name)
            version = entry.get("version")
            listed = entry.get("hashes")
            raw_hashes = listed if isinstance(listed, list) else []
            hashes = [h for h in raw_hashes if isinstance(h, str) and re.fullmatch(r"sha256:[0-9a-fA-F]+", h)]
            if "git" in entry or "path" in entry or "file" in entry:
                findings.append(_lock_problem(shown, name, "a VCS or path dependency in the lock"))
                continue
            if not isinstance(version, str) or not version.startswith("==") or not hashes:
                findings.append(_lock_problem(shown, name, "locked without an exact version or sha256 hashes"))
                continue
            extras = [e for e in entry.get("extras") or [] if isinstance(e, str)] \
                if isinstance(entry.get("extras"), list) else []
            if not valid_name(str(name)) or not re.fullmatch(r"==[^\s;\\]+", version):
                findings.append(_lock_problem(shown, str(name), "not a valid name==version entry"))
                continue
            lines += entry_lines(str(name), version, entry["markers"] if isinstance(entry.get("markers"), str) else None,
                                 hashes, shown, tuple(extras))
    return ("\n".join(lines) + "\n") if lines else "", tuple(findings)


def _lock_git_lines(data: dict, shown: str, groups: tuple[str, ...]) -> tuple[RequirementLine, ...]:
    """Pipfile.lock git entries locked to a full commit, as `name @ git+url@commit` (built later)."""
    sections = [data.get("default")] + ([data.get("develop")] if "dev" in groups else [])
    out = []
    for section in sections:
        if not isinstance(section, dict):
            continue
        for name, entry in section.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("git"), str):
                continue
            line = git_requirement(name, entry["git"], entry.get("ref"), shown, marker=entry.get("markers"))
            if line is not None:
                out.append(line)
    return tuple(out)


@dataclass(frozen=True)
class PipfileLockInput:
    """A Pipfile.lock used as a lock: `default` (and `develop` with `--group dev`), as locked."""

    path: Path
    source_dir: Path | None = None
    groups: tuple[str, ...] = ()
    kind: str = "lock"

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise BadInput(f"cannot read {shown}: {exc.strerror}", hint="check the path") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadInput(f"{shown} is not valid JSON: {str(exc)[:120]}", hint="regenerate it with `pipenv lock`") from None
        body, findings = pipfile_lock_body(data, shown, self.groups)
        vcs = _lock_git_lines(data, shown, self.groups)
        names = {r.name for r in vcs}
        findings = tuple(f for f in findings if not any(f.message.startswith(f"{n} in ") for n in names))
        meta = data.get("_meta") or {}
        requires = meta.get("requires") or {} if isinstance(meta, dict) else None
        if not isinstance(requires, dict):
            raise BadInput(f"{shown}: _meta and _meta.requires must be tables", hint="regenerate it with `pipenv lock`")
        sources = _source_urls(meta.get("sources"), "_meta.sources", shown)
        python = _python_pin(requires.get("python_version"), shown)
        return LoadedInput(self.kind, shown, ParsedRequirements(requirements=vcs, files=(shown,)), lock_body=body,
                           python_pin=python,
                           groups=self.groups, findings=findings,
                           read=(f"Pipfile.lock: {body.count('# via')} distributions, used as locked",),
                           extra_index_urls=tuple(s for s in sources if "pypi.org" not in s),
                           empty_reason=None if body or findings or vcs else "locks no packages")
