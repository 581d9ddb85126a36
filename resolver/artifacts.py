"""Requirements the image cannot install hash-checked from an index, made into wheels on this
host: VCS lines (`pkg @ git+https://…@tag`: resolved to the exact commit, built once per
commit), local wheel files, and the wheels of a `--find-links ./wheels` folder inside the job.

Each becomes a `name==version` line resolved against a find-links folder of wheels under the
cache (the host path never enters the lock or the Dockerfile: the lock carries each wheel's
sha256, the build copies the wheels into its context at .launchbuild/wheels and installs
with `--find-links /opt/launchbuild/wheels --require-hashes`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.resolver.requirements import IndexOptions, RequirementLine, parse_requirement

IMAGE_WHEELS = "/opt/launchbuild/wheels"
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


@dataclass(frozen=True)
class Prepared:
    """The requirement lines, those pip cannot fetch by name turned into `name==version` lines
    for wheels built or copied on this host; those wheels, and what was noted or found."""

    requirements: tuple[RequirementLine, ...]
    index: IndexOptions
    wheels: tuple[Path, ...] = ()  # host paths of every wheel the image installs from the context
    notes: tuple[str, ...] = ()  # "mylib @ git+…@v1.0 -> commit 3f2a… (wheel mylib-1.0-py3-none-any.whl)"
    findings: tuple = ()  # LB301 for a requirement whose wheel could not be built (its cause first)

    @property
    def find_links_dirs(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(w.parent for w in self.wheels))


def wheel_name_version(path: Path) -> tuple[str, str]:
    m = _WHEEL.match(path.name)
    if not m:
        raise BadInput(f"{path.name} is not a wheel file name (name-version-tags.whl)", hint="rename or rebuild the wheel")
    return m.group("name").replace("_", "-").lower(), m.group("version")


def _store(wheel: Path, root: Path) -> Path:
    """A content-addressed copy under the cache: one folder per wheel, so find-links sees only it."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    dest = root / "artifacts" / digest[:16] / wheel.name
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".tmp")
        shutil.copy2(wheel, tmp)
        tmp.replace(dest)
    return dest


def _pinned(line: RequirementLine, wheel: Path) -> RequirementLine:
    name, version = wheel_name_version(wheel)
    extras = f"[{','.join(line.extras)}]" if line.extras else ""
    marker = f" ; {line.marker}" if line.marker else ""
    return replace(parse_requirement(f"{line.name or name}{extras}=={version}{marker}", line.location),
                   hashes=line.hashes)


def _vcs_parts(url: str) -> tuple[str, str | None, str | None]:
    """git+https://host/repo.git@ref#subdirectory=x -> (https://host/repo.git, ref, x)."""
    if not url.startswith("git+"):
        raise BadInput(f"only git VCS requirements can be built ({url.split('+', 1)[0]} is not supported)",
                       hint="publish the package, or vendor a wheel into the job")
    body = url[4:]
    fragment = ""
    if "#" in body:
        body, fragment = body.split("#", 1)
    sub = re.search(r"(?:^|&)subdirectory=([^&]+)", fragment)
    split = urlsplit(body)
    path = split.path
    ref = None
    if "@" in path:
        path, ref = path.rsplit("@", 1)
    remote = split._replace(path=path).geturl()
    subdir = sub.group(1) if sub else None
    _refuse_host_reaching_vcs(url, split.scheme, unquote(subdir) if subdir is not None else None)
    return remote, ref, subdir


# Where a job's VCS requirement may clone from: the network. `git+file:///srv/private.git` (or
# a bare host path) would have the operator's machine clone one of its own repositories into
# the job's image, and `#subdirectory=../../etc` would build a host folder next to the checkout.
_VCS_NETWORK_SCHEMES = ("https", "http", "ssh", "git")


def _refuse_host_reaching_vcs(url: str, scheme: str, subdir: str | None) -> None:
    from launchbuild.jobs.urls import redact_url

    shown = redact_url(url)[:200]
    if scheme.lower() not in _VCS_NETWORK_SCHEMES:
        raise BadInput(f"VCS requirement {shown!r} clones from {scheme or 'a path'}: on this host, not from the network",
                       hint="use a git+https:// or git+ssh:// URL, or vendor a wheel into the job")
    if subdir is not None and (subdir.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", subdir)
                               or any(ord(c) < 32 for c in subdir)):
        raise BadInput(f"VCS requirement {shown!r}: subdirectory {subdir[:80]!r} leaves the checkout",
                       hint="name a folder inside the repository, without '..'")


def build_vcs_wheel(line: RequirementLine, root: Path, *, offline: bool, python: str | None = None,
                    sandbox=None) -> tuple[Path, str]:
    """(the wheel in the cache, the exact commit). A network failure is exit 3, as for git jobs."""
    from launchbuild.jobs.git_clone import clone_git
    from launchbuild.jobs.urls import redact_text, redact_url

    try:
        remote, ref, sub = _vcs_parts(line.url or "")
    except BadInput as exc:  # name the line that asked for it
        loc = line.location
        where = (loc.where if loc is not None else "")
        raise BadInput(f"{where}: {exc.message}" if where else exc.message, hint=exc.hint) from None
    key = hashlib.sha256(f"{remote}\0{ref}\0{sub}".encode()).hexdigest()[:16]
    ref_cache = root / "artifacts" / "vcs" / key
    if offline:
        done = sorted(ref_cache.glob("*.whl")) if ref_cache.is_dir() else []
        if not done:
            raise InfraUnavailable(f"--offline: {redact_url(remote)} has not been built yet", hint="run once online")
        return done[0], (ref_cache / "commit").read_text().strip()
    if ref and re.fullmatch(r"[0-9a-f]{40}", ref):
        # An exact commit never changes: a wheel built for it before is the answer, no fetch.
        known = root / "artifacts" / "vcs-commit" / hashlib.sha256(f"{remote}\0{ref}\0{sub}".encode()).hexdigest()[:16]
        done = sorted(known.glob("*.whl")) if known.is_dir() else []
        if done:
            return _store(done[0], root), ref
    with tempfile.TemporaryDirectory(prefix="launchbuild-vcs-") as tmp:
        checkout = Path(tmp) / "src"
        commit = clone_git(remote, ref, checkout)
        by_commit = root / "artifacts" / "vcs-commit" / hashlib.sha256(f"{remote}\0{commit}\0{sub}".encode()).hexdigest()[:16]
        built = sorted(by_commit.glob("*.whl")) if by_commit.is_dir() else []
        if not built:
            wheel = _build_wheel(checkout / sub if sub else checkout, Path(tmp) / "dist",
                                 f"{redact_text(line.text)} at {commit[:12]}", python, sandbox)
            by_commit.mkdir(parents=True, exist_ok=True)
            shutil.copy2(wheel, by_commit / wheel.name)
            built = [by_commit / wheel.name]
        ref_cache.mkdir(parents=True, exist_ok=True)
        for old in ref_cache.glob("*.whl"):
            old.unlink()
        shutil.copy2(built[0], ref_cache / built[0].name)
        (ref_cache / "commit").write_text(commit)
        return _store(built[0], root), commit


class WheelBuildFailed(Exception):
    """A wheel could not be built; `args[0]` is the backend's stderr (scrubbed later)."""


def _build_wheel(source: Path, out: Path, what: str, python: str | None = None, sandbox=None) -> Path:
    """`uv build --wheel` of a throwaway source tree or an sdist archive. Its build backend is job
    code: it runs in a throwaway container of the target Python (resolver/sandbox.py)."""
    import sys

    from launchbuild.resolver.backends import build_wheel

    proc = build_wheel(source, out, python=python or f"{sys.version_info[0]}.{sys.version_info[1]}",
                           what=what, options=sandbox)
    wheels = sorted(out.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise WheelBuildFailed(proc.stderr or f"uv build exited {proc.returncode}", what)
    return wheels[0]


def _build_sdist(path: Path, root: Path, python: str | None = None, sandbox=None) -> Path:
    """A local sdist (`./vendor/pkg-1.0.tar.gz`) built into a wheel once per content."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    done = root / "artifacts" / "sdist" / digest
    found = sorted(done.glob("*.whl")) if done.is_dir() else []
    if not found:
        with tempfile.TemporaryDirectory(prefix="launchbuild-sdist-") as tmp:
            wheel = _build_wheel(path, Path(tmp) / "dist", path.name, python, sandbox)
            done.mkdir(parents=True, exist_ok=True)
            shutil.copy2(wheel, done / wheel.name)
            found = [done / wheel.name]
    return _store(found[0], root)


_SDIST = (".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz")


def _local_path(line: RequirementLine) -> Path | None:
    url = line.url or ""
    if url.startswith("file:"):
        return Path(unquote(urlsplit(url).path))
    return Path(url) if url else None


def _unavailable(line: RequirementLine, why: str):
    from launchbuild.resolver.rules import finding as resolver_finding

    where = line.location.where
    return resolver_finding(
        "LB305",
        message=f"{Path(line.url or line.text).name} ({where}) is {why}: the image build cannot install it",
        fix="vendor a wheel or sdist into the job, or depend on a published release", location=line.location)


def _unavailable_link(link: str):
    from launchbuild.resolver.rules import finding as resolver_finding

    return resolver_finding(
        "LB305",
        message=f"--find-links {Path(link).name} is a folder outside the job (or missing): the image build "
                "cannot see it", fix="move the wheels into the job and use --find-links ./wheels")


def _target_mismatch(line: RequirementLine, wheel: Path, target):
    """A wheel built or copied on this host that the TARGET Python/platform cannot install
    (a compiled cp311-linux_x86_64 wheel for a 3.10 or arm64 image): an error now, not a
    hash-checked install failing in the build."""
    if target is None:
        return None
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    from launchbuild.resolver.rules import finding as resolver_finding
    from launchbuild.resolver.platforms import supported_tags

    try:
        tags = parse_wheel_filename(wheel.name)[3]
    except InvalidWheelFilename:
        return None
    if tags & supported_tags(target):
        return None
    where = line.location.where
    return resolver_finding(
        "LB305",
        message=f"{wheel.name} ({where}) does not install on the target Python {target.python} on "
                f"{target.platform}: its tags are {', '.join(sorted(str(t) for t in tags))}",
        fix="publish wheels for the target, vendor a wheel built for it into the job, "
            "or run launchbuild on a host of the target's Python and architecture",
        location=line.location)


def prepare(requirements: tuple[RequirementLine, ...], index: IndexOptions, source_dir: Path | None,
            root: Path, *, offline: bool = False, target=None, sandbox=None) -> Prepared:
    from launchbuild.jobs.urls import redact_text

    """Wheels for the lines pip cannot fetch by name (VCS, local wheels and sdists, a job's own
    --find-links folder), built or copied on this host and hash-pinned. With `target`, a wheel
    the target cannot install is an LB305 error naming its line."""
    python = target.python if target is not None else None
    lines: list[RequirementLine] = []
    wheels: list[Path] = []
    notes: list[str] = []
    findings: list = []
    for line in requirements:
        try:
            if line.kind == "vcs":  # editable or not: the image gets a normal install of the wheel
                wheel, commit = build_vcs_wheel(line, root, offline=offline, python=python, sandbox=sandbox)
                wheels.append(wheel)
                findings += [f for f in (_target_mismatch(line, wheel, target),) if f is not None]
                lines.append(_pinned(line, wheel))
                # The line may carry a token for git (pkg @ git+https://TOKEN@host/...): notes reach reports.
                notes.append(f"{redact_text(line.text)} -> commit {commit} (wheel {wheel.name}, built in a throwaway container)")
                continue
            path = _local_path(line) if line.kind == "path" else None
            if path is not None and path.name.endswith(_SDIST) and path.is_file() and not offline:
                wheel = _build_sdist(path, root, python, sandbox)
                wheels.append(wheel)
                findings += [f for f in (_target_mismatch(line, wheel, target),) if f is not None]
                lines.append(_pinned(line, wheel))
                notes.append(f"{path.name}: built into {wheel.name} in a throwaway container, hash-checked")
                continue
        except WheelBuildFailed as exc:
            from launchbuild.resolver.rules import finding as resolver_finding
            from launchbuild.resolver.build_errors import last_exception, scrub

            stderr, what = exc.args
            cause = last_exception(stderr) or scrub((stderr.strip().splitlines() or ["no output"])[-1])[:300]
            where = line.location.where
            findings.append(resolver_finding(
                "LB301",
                message=f"{cause}: building {what} ({where}) into a wheel failed",
                fix="fix the package's build (a missing build dependency goes in its [build-system] requires), "
                    "or pin a published release with a wheel", location=line.location))
            continue
        path = _local_path(line) if line.kind == "path" else None
        if path is not None and path.suffix == ".whl":
            if not path.is_file():
                raise BadInput(f"wheel {path.name} at {line.location.where} does not exist",
                               hint="fix the path (relative to the requirements file)")
            stored = _store(path, root)
            wheels.append(stored)
            findings += [f for f in (_target_mismatch(line, stored, target),) if f is not None]
            lines.append(_pinned(line, stored))
            notes.append(f"{path.name}: copied into the build context, hash-checked")
            continue
        if line.kind == "path":
            # Not a wheel, an sdist or a project inside the job: a host path the build cannot see.
            findings.append(_unavailable(line, "a local path that is not a wheel, an sdist or a project in the job"))
            continue
        lines.append(line)
    keep_links: list[str] = []
    for link in index.find_links:
        folder = Path(unquote(urlsplit(link).path)) if link.startswith("file:") else Path(link)
        local = not re.match(r"^[a-z][a-z0-9+.-]*://", link) or link.startswith("file:")
        if local and source_dir is not None and folder.is_dir():
            try:
                folder.resolve().relative_to(source_dir.resolve())
            except ValueError:
                findings.append(_unavailable_link(link))  # outside the job: the build cannot see it
                continue
            found = sorted(folder.glob("*.whl"))
            wheels += [_store(w, root) for w in found]
            notes.append(f"--find-links {folder.name}: {len(found)} wheels copied into the build context")
        elif local:
            findings.append(_unavailable_link(link))
        else:
            keep_links.append(link)
    return Prepared(tuple(lines), replace(index, find_links=tuple(keep_links)), tuple(dict.fromkeys(wheels)),
                    tuple(notes), tuple(findings))


def enforce_user_hashes(lock_text: str, requirements: tuple[RequirementLine, ...]):
    """The user's `--hash` pins win: each such entry keeps only the hashes the user gave that the
    locked release has; none in common is an error naming the line. Returns (text, findings)."""
    from packaging.utils import canonicalize_name

    from launchbuild.resolver.rules import finding as resolver_finding

    wanted = {r.name: r for r in requirements if r.hashes and r.name}
    if not wanted:
        return lock_text, ()
    out: list[str] = []
    findings = []
    entry_name = None
    block: list[str] = []

    def flush():
        if entry_name in wanted and block:
            user = wanted[entry_name]
            have = [ln.strip().rstrip("\\").strip().split("=", 1)[1] for ln in block if ln.strip().startswith("--hash=")]
            keep = [h for h in have if h in user.hashes]
            if not keep:
                where = user.location.where
                findings.append(resolver_finding(
                    "LB310",
                    message=f"none of the --hash values of {user.text} ({where}) matches the locked release "
                            f"{block[0].split()[0].rstrip(chr(92))}",
                    fix="update the --hash values, or pin the version they were computed for",
                    location=user.location))
                out.extend(block)
                return
            head = block[0].rstrip(" \\")
            rest = [ln for ln in block[1:] if not ln.strip().startswith("--hash=")]
            hash_lines = [f"    --hash={h}" for h in keep]
            out.append(head + " \\")
            out.extend(h + " \\" for h in hash_lines[:-1])
            out.append(hash_lines[-1])
            out.extend(rest)
        else:
            out.extend(block)

    for raw in lock_text.splitlines():
        if raw and not raw[0].isspace() and not raw.startswith("#") and not raw.startswith("-"):
            flush()
            block = [raw]
            m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", raw)
            entry_name = canonicalize_name(m.group(1)) if m else None
        elif block:
            block.append(raw)
        else:
            out.append(raw)
    flush()
    return "\n".join(out) + "\n", tuple(findings)
