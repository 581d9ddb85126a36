"""Existing locks used AS locks, not re-resolved: uv.lock (through `uv export`, offline and
`--frozen`) and pylock.toml (PEP 751, read here). Both become the internal format: one
`name==version ; marker` entry per distribution with every hash the lock records; entries
whose marker is false for the target are dropped in `for_target`.

A lock entry that is not a hashed index distribution (a VCS checkout, a local directory) cannot
be installed hash-checked; it is reported naming the package instead of being passed on.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from launchbuild.core.findings import Finding, Location
from launchbuild.core.records import dataclass
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.resolver.rules import finding as resolver_finding
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.resolver.detectors.base import read_toml
from launchbuild.resolver.model import Target
from launchbuild.resolver.platforms import marker_environment, supported_tags
from launchbuild.resolver.requirements import ParsedRequirements, RequirementLine, parse_requirement
from launchbuild.resolver.sources import LoadedInput, display_path

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_LINE_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def valid_name(name: object) -> bool:
    return isinstance(name, str) and bool(_NAME.fullmatch(name))


def entry_lines(name: str, pin: str, marker: str | None, hashes: list[str], shown: str,
                extras: tuple[str, ...] = ()) -> list[str]:
    """One hash-checked entry of the internal lock format, as every lock reader writes it:
    `name[extras]==version ; marker`, its sorted unique hashes, and where it came from. The
    marker and extras are the lock file's own strings: each must be what PEP 508 allows, or
    a line break in one would be a line of its own (`--index-url ...`) in the lock."""
    if not all(valid_name(e) for e in extras):
        raise BadInput(f"{name} in {shown}: extras {[e[:40] for e in extras]!r} are not extra names",
                       hint="regenerate the lock")
    if marker is not None:
        try:
            if _LINE_BREAK.search(marker):
                raise InvalidMarker("a line break or control character")
            Marker(marker)  # kept as the lock writes it
        except InvalidMarker as exc:
            raise BadInput(f"{name} in {shown}: marker {marker[:80]!r} is not a PEP 508 marker "
                           f"({str(exc).splitlines()[0][:120]})", hint="regenerate the lock") from None
    head = f"{name}{'[' + ','.join(extras) + ']' if extras else ''}{pin}{f' ; {marker}' if marker else ''}"
    lines = [f"{head} \\", *(f"    --hash={h} \\" for h in sorted(dict.fromkeys(hashes)))]
    lines[-1] = lines[-1].rstrip(" \\")
    return [*lines, f"    # via {shown}"]


def git_requirement(name: object, url: object, commit: object, shown: str, *, marker: object = None,
                    subdirectory: object = None) -> RequirementLine | None:
    """A lock's git entry at its exact commit as `name @ git+url@commit` (built into a wheel
    later), or None when it is not one: it then stays an LB305 finding."""
    if not (valid_name(name) and isinstance(url, str) and isinstance(commit, str) and _COMMIT.fullmatch(commit)):
        return None
    url = url if url.startswith("git+") else f"git+{url}"
    tail = f"#subdirectory={subdirectory}" if isinstance(subdirectory, str) and subdirectory else ""
    suffix = f" ; {marker}" if isinstance(marker, str) else ""
    try:
        return parse_requirement(f"{name} @ {url}@{commit}{tail}{suffix}", Location(shown))
    except BadInput:
        return None


def marker_applies(marker: str | None, target: Target, sets: dict[str, frozenset[str]] | None = None) -> bool:
    """Whether a lock entry's marker is true for the target. `sets`: a PEP 751 lock's `extras` and
    `dependency_groups`, the names its markers may test (`'dev' in dependency_groups`), which
    only a lock file's markers know; None for the other locks."""
    if not marker:
        return True
    env: dict = dict(marker_environment(target))
    try:
        parsed = Marker(marker)
        if sets is None:
            return parsed.evaluate(env)
        env.update(sets)
        try:
            return parsed.evaluate(env, "lock_file")
        except TypeError:  # a packaging before 25.0 has no evaluation contexts
            return parsed.evaluate(env)
    except InvalidMarker:
        return True  # the readers checked every marker (entry_lines): a later packaging's grammar
    except UndefinedEnvironmentName as exc:
        raise BadInput(f"lock marker {marker[:80]!r} names {exc}, which has no value for the target",
                       hint="regenerate the lock") from None


def for_target(body: str, target: Target, sets: dict[str, frozenset[str]] | None = None) -> str:
    """Drop the entries (an entry line and its indented lines) whose marker is false for the target."""
    out: list[str] = []
    keep = True
    for raw in body.splitlines():
        if raw and not raw[0].isspace() and not raw.startswith("#"):
            head = raw.rstrip("\\").strip()
            keep = marker_applies(head.split(";", 1)[1].strip() if ";" in head else None, target, sets)
        if keep:
            out.append(raw)
    return "\n".join(out).rstrip() + "\n"


def _lock_problem(shown: str, name: str, why: str) -> Finding:
    return resolver_finding(
        "LB305",
        message=f"{name} in {shown} is {why}: it cannot be installed hash-checked from the lock",
        fix="lock it from an index (a published release), or vendor a wheel into the job",
        location=Location(shown),
    )


# --- pylock.toml (PEP 751) --------------------------------------------------------------------


@dataclass(frozen=True)
class PylockEntry:
    """One hash-checked `[[packages]]` entry of a pylock.toml, with what selects it for a target."""

    name: str
    lines: tuple[str, ...]  # the internal lock format (entry_lines), its marker kept
    # The same without the marker, as the lock for one target writes it: the marker was true for
    # that target, and `'dev' in dependency_groups` means nothing to the installer in the image.
    selected: tuple[str, ...]
    marker: str | None
    requires_python: str | None  # the package's own `requires-python`
    wheels: tuple[str, ...]  # the file names of its listed wheels
    any_target: bool  # an sdist or archive is listed too: it installs (built) on any target


@dataclass(frozen=True)
class PylockSelection:
    """PEP 751's installer steps for one target: the lock's `environments`, each entry's marker
    (with the extras and dependency groups asked for) and `requires-python`, and a wheel or an
    sdist the target can install. A lock that cannot be installed there says so as findings."""

    shown: str
    entries: tuple[PylockEntry, ...]
    environments: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # the groups asked for, else the lock's default-groups

    def for_target(self, target: Target) -> tuple[str, tuple[Finding, ...]]:
        sets = {"extras": frozenset(self.extras), "dependency_groups": frozenset(self.groups)}
        where = f"Python {target.python} on {target.platform}"
        if self.environments and not any(marker_applies(e, target, sets) for e in self.environments):
            return "", (_unfit(self.shown, f"{self.shown} was locked for the environments "
                               f"{', '.join(self.environments)[:200]}, and {where} is none of them",
                               "lock it again for the target (add its environment), or target one it names"),)
        lines: list[str] = []
        findings: list[Finding] = []
        tags = supported_tags(target)
        for entry in self.entries:
            if not marker_applies(entry.marker, target, sets):
                continue
            if entry.requires_python and not _allows_python(entry.requires_python, target.python):
                findings.append(_unfit(self.shown, f"{entry.name} in {self.shown} requires Python "
                                       f"{entry.requires_python}; the target is {where}",
                                       "target a Python the entry supports, or lock it again for the target"))
                continue
            if entry.wheels and not entry.any_target and not any(_fits(w, tags) for w in entry.wheels):
                findings.append(_unfit(self.shown, f"{entry.name} in {self.shown} lists only wheels {where} cannot "
                                       f"install ({', '.join(entry.wheels)[:200]}) and no sdist",
                                       "lock it again for the target, so its wheel is in the lock"))
                continue
            lines += entry.selected
        return "\n".join(lines) + ("\n" if lines else ""), tuple(findings)

    def applies(self, marker: str | None, target: Target) -> bool:
        return marker_applies(marker, target, {"extras": frozenset(self.extras),
                                               "dependency_groups": frozenset(self.groups)})


def _allows_python(spec: str, python: str) -> bool:
    # As python_version._allows: a release line is allowed if its first or a late patch is.
    specifier = SpecifierSet(spec)
    return any(specifier.contains(f"{python}.{patch}", prereleases=True) for patch in (0, 99))


def _specifier(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        return False
    return True


def _fits(wheel: str, tags: frozenset) -> bool:
    try:
        return bool(parse_wheel_filename(wheel)[3] & tags)
    except InvalidWheelFilename:
        return True  # a name that is no wheel file name says nothing against the target


def _unfit(shown: str, message: str, fix: str) -> Finding:
    return resolver_finding("LB301", message=message, fix=fix, location=Location(shown))


def _wheel_name(dist: dict) -> str | None:
    """A PEP 751 wheel's file name: `name`, else the last part of its `url` or `path`."""
    for key in ("name", "url", "path"):
        value = dist.get(key)
        if isinstance(value, str) and value:
            return value.rstrip("/").rsplit("/", 1)[-1]
    return None


def pylock_entries(data: dict, shown: str) -> tuple[tuple[PylockEntry, ...], tuple[Finding, ...], tuple[str, ...]]:
    """(entries, findings, index URLs) from a parsed pylock.toml. Pure."""
    packages = data.get("packages")
    if not isinstance(packages, list):
        raise BadInput(f"{shown} has no [[packages]] array", hint="see PEP 751 (pylock.toml)")
    version = str(data.get("lock-version", ""))
    if not version.startswith("1."):
        raise BadInput(f"{shown} has lock-version {version or 'missing'}; only 1.x is understood",
                       hint="regenerate it with a PEP 751 tool")
    entries: list[PylockEntry] = []
    findings: list[Finding] = []
    indexes: list[str] = []
    for pkg in packages:
        if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
            raise BadInput(f"a [[packages]] entry of {shown} has no name", hint="see PEP 751 (pylock.toml)")
        name = pkg["name"]
        if "vcs" in pkg or "directory" in pkg:
            findings.append(_lock_problem(shown, name, "a VCS checkout" if "vcs" in pkg else "a local directory"))
            continue
        hashes: list[str] = []
        listed = pkg.get("wheels")
        wheels = [w for w in listed if isinstance(w, dict)] if isinstance(listed, list) else []
        others = [d for d in (pkg.get("sdist"), pkg.get("archive")) if isinstance(d, dict)]
        for dist in [*wheels, *others]:
            found = dist.get("hashes")
            digest = found.get("sha256") if isinstance(found, dict) else None
            if isinstance(digest, str) and re.fullmatch(r"[0-9a-fA-F]{64}", digest):
                hashes.append(f"sha256:{digest}")
        valid = isinstance(pkg.get("version"), str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+!-]*", pkg["version"]) \
            and valid_name(name)
        if not valid or not hashes:
            findings.append(_lock_problem(shown, name, "locked without a version or a sha256 hash"))
            continue
        if isinstance(pkg.get("index"), str) and pkg["index"] not in indexes:
            indexes.append(pkg["index"])
        marker = pkg.get("marker") if isinstance(pkg.get("marker"), str) else None
        requires = pkg.get("requires-python")
        if requires is not None and not _specifier(requires):
            raise BadInput(f"{name} in {shown}: requires-python {str(requires)[:80]!r} is not a version specifier",
                           hint="regenerate the lock")
        lines = entry_lines(name, f"=={pkg['version']}", marker, hashes, shown)
        selected = entry_lines(name, f"=={pkg['version']}", None, hashes, shown)
        entries.append(PylockEntry(name, tuple(lines), tuple(selected), marker, requires,
                                   tuple(n for n in (_wheel_name(w) for w in wheels) if n), bool(others)))
    return tuple(entries), tuple(findings), tuple(indexes)


def pylock_body(data: dict, shown: str) -> tuple[str, tuple[Finding, ...], tuple[str, ...]]:
    """(entries, findings, index URLs) from a parsed pylock.toml, every entry whatever the target. Pure."""
    entries, findings, indexes = pylock_entries(data, shown)
    lines = [line for e in entries for line in e.lines]
    return "\n".join(lines) + ("\n" if lines else ""), findings, indexes


def _names(data: dict, key: str, shown: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{key} in {shown} is not a list of strings", hint="regenerate the lock")
    return tuple(value)


def pylock_selection(data: dict, shown: str, extras: tuple[str, ...] = (),
                     groups: tuple[str, ...] = ()) -> tuple[PylockSelection, tuple[Finding, ...], tuple[str, ...]]:
    """The lock's entries and what selects them: the extras and groups asked for must be ones
    it names (`extras`, `dependency-groups`); with no group asked, its `default-groups`."""
    entries, findings, indexes = pylock_entries(data, shown)
    for asked, key, flag in ((extras, "extras", "--extra"), (groups, "dependency-groups", "--group")):
        known = _names(data, key, shown)
        for name in asked:
            if name not in known:
                raise BadInput(f"{flag} {name}: {shown} locks no {key[:-1] if key == 'extras' else 'dependency group'} "
                               f"{name!r}", hint=f"it names: {', '.join(known) or 'none'}")
    environments = _names(data, "environments", shown)
    for env in environments:
        try:
            Marker(env)
        except InvalidMarker as exc:
            raise BadInput(f"{shown}: environment {env[:80]!r} is not a PEP 508 marker "
                           f"({str(exc).splitlines()[0][:120]})", hint="regenerate the lock") from None
    chosen = groups or _names(data, "default-groups", shown)
    return PylockSelection(shown, entries, environments, extras, chosen), findings, indexes


def vcs_lines(data: dict, shown: str) -> tuple:
    """PEP 751 git entries with their exact commit, as `name @ git+url@commit` lines (built later)."""
    out = []
    for pkg in data.get("packages") or []:
        vcs = pkg.get("vcs") if isinstance(pkg, dict) else None
        if not isinstance(vcs, dict) or vcs.get("type") != "git":
            continue
        line = git_requirement(pkg.get("name"), vcs.get("url"), vcs.get("commit-id"), shown,
                               marker=pkg.get("marker"), subdirectory=vcs.get("subdirectory"))
        if line is not None:
            out.append(line)
    return tuple(out)


def lock_requires_python(data: dict, shown: str) -> Sourced[str] | None:
    """A lock's top-level `requires-python` (PEP 751, uv.lock): the Pythons it was made for."""
    value = data.get("requires-python")
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"requires-python in {shown} is not a string", hint="regenerate the lock")
    return Sourced(value, Origin.SOURCE_FILE, f"{shown} requires-python")


@dataclass(frozen=True)
class PylockInput:
    """A pylock.toml (PEP 751) used as a lock: its entries installed as locked, not re-resolved."""

    path: Path
    source_dir: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    kind: str = "lock"

    def load(self) -> LoadedInput:
        shown = display_path(self.path, self.source_dir)
        data, _ = read_toml(self.path, shown)
        selection, findings, indexes = pylock_selection(data, shown, self.extras, self.groups)
        body = "".join(line + "\n" for entry in selection.entries for line in entry.lines)
        vcs = vcs_lines(data, shown)
        names = {r.name for r in vcs}
        findings = tuple(f for f in findings if not any(f"{n} in {shown} is a VCS checkout" in f.message for n in names))
        n = body.count("# via")
        return LoadedInput(self.kind, shown, ParsedRequirements(requirements=vcs, files=(shown,)), lock_body=body,
                           requires_python=lock_requires_python(data, shown), lock_selection=selection,
                           extras=self.extras, groups=self.groups,
                           read=(f"PEP 751 lock: {n} distributions, used as locked (not re-resolved)",),
                           findings=findings, extra_index_urls=tuple(i for i in indexes if "pypi.org" not in i),
                           empty_reason=None if body or findings or vcs else "its [[packages]] is empty")


# --- uv.lock ----------------------------------------------------------------------------------


def _hashed_entries(lines: list[str]) -> tuple[list[str], list[str]]:
    """(the entries that carry a `--hash`, the names of those that do not). `uv export` writes
    an entry without one when the lock records none (a hand-edited lock, a registry that gives
    no hashes): installed as is it would not be hash-checked, so it is reported, as pylock.toml
    and Pipfile.lock entries without hashes are."""
    entries: list[list[str]] = []
    for raw in lines:
        if raw and not raw[0].isspace() and not raw.startswith("#"):
            entries.append([raw])
        elif entries:
            entries[-1].append(raw)
        else:
            entries.append([raw])  # a leading comment
    kept: list[str] = []
    unhashed: list[str] = []
    for entry in entries:
        head = entry[0]
        is_entry = head and not head[0].isspace() and not head.startswith(("#", "-"))
        if is_entry and not any("--hash=" in line for line in entry):
            unhashed.append(re.split(r"[\s\[=<>!~;@]", head.strip(), maxsplit=1)[0])
            continue
        kept += entry
    return kept, unhashed


@dataclass(frozen=True)
class UvLockInput:
    """A uv.lock used as a lock, through `uv export` (offline, `--frozen`) with the extras and
    groups asked for."""

    path: Path
    source_dir: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    kind: str = "lock"

    def load(self) -> LoadedInput:
        import uv

        shown = display_path(self.path, self.source_dir)
        project = self.path.parent
        if not (project / "pyproject.toml").is_file():
            raise BadInput(f"{shown} has no pyproject.toml beside it", hint="commit the pyproject.toml it locks")
        data, _ = read_toml(self.path, shown)
        cmd = [uv.find_uv_bin(), "export", "--frozen", "--offline", "--no-build", "--no-config", "--format", "requirements-txt",
               "--no-header", "--no-emit-project", "--no-emit-workspace", "--no-default-groups", "--project", "."]
        for extra in self.extras:
            cmd += ["--extra", extra]
        for group in self.groups:
            cmd += ["--group", group]
        from launchbuild.resolver.backends import backend_env

        try:
            # `--project .` with cwd=project: a relative source dir (`check ./job`) would otherwise be
            # taken relative to itself, and uv finds no project.
            proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=120, env=backend_env())
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InfraUnavailable(f"uv export could not run for {shown}: {exc}", hint="reinstall launchbuild") from None
        if proc.returncode != 0:
            last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
            raise BadInput(f"{shown} cannot be exported: {last[0].strip()[:300]}",
                           hint="run `uv lock` in the project and commit the result, or check --extra/--group")
        findings: list[Finding] = []
        kept: list[str] = []
        vcs: list = []  # git dependencies at the lock's exact commit: built into wheels (artifacts.py)
        skip = False
        for raw in proc.stdout.splitlines():
            if raw and not raw[0].isspace() and not raw.startswith("#"):
                head = raw.rstrip("\\").strip()
                skip = head.startswith("-e ") or " @ " in head.split(";")[0] or head.startswith(("./", "/", "file:"))
                if skip and " @ git+" in head and not head.startswith("-e "):
                    vcs.append(parse_requirement(head, Location(shown)))
                elif skip:
                    findings.append(_lock_problem(shown, head.split(" @ ")[0].removeprefix("-e ").strip(),
                                                  "a URL or path dependency in the lock"))
            if not skip:
                kept.append(raw)
        kept, unhashed = _hashed_entries(kept)
        findings += [_lock_problem(shown, name, "locked without a sha256 hash") for name in unhashed]
        body = "\n".join(kept).strip() + "\n" if any(k.strip() for k in kept) else ""
        indexes = []
        for pkg in data.get("package", []):
            url = (pkg.get("source") or {}).get("registry") if isinstance(pkg, dict) else None
            if isinstance(url, str) and url not in indexes and "pypi.org" not in url:
                indexes.append(url)
        pyproject, _ = read_toml(project / "pyproject.toml", "pyproject.toml")
        buildable = isinstance(pyproject.get("build-system"), dict) and \
            ((pyproject.get("tool") or {}).get("uv") or {}).get("package", True) is not False
        return LoadedInput(self.kind, shown, ParsedRequirements(requirements=tuple(vcs), files=(shown,)), lock_body=body,
                           extras=self.extras, groups=self.groups, own_project="." if buildable else None,
                           project_root=project, requires_python=lock_requires_python(data, shown),
                           read=(f"uv.lock: {len(data.get('package', []))} packages, exported for the target "
                                 "(not re-resolved)",), findings=tuple(findings), extra_index_urls=tuple(indexes),
                           empty_reason=None if body or findings or vcs else "locks no third-party packages")
