"""A parser for pip's requirements-file syntax that keeps every line's file and number.

Pure except for reading the files it is pointed at. pip itself has no public parser, and
uv's is in Rust; we need our own to clean a run's package list, to point annotations at the
user's lines, and to flatten `-r`/`-c` includes (relative to the including file) into one
input for either backend.
"""

from __future__ import annotations

import os
import re
from dataclasses import field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from launchbuild.core.findings import Location
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.jobs import confine
from launchbuild.jobs.urls import redact_text, redact_url, url_problem
from launchbuild.resolver.requirement_options import (
    checked_url,
    option_and_value,
    parse_hashes,
    plain_value,
    split_options,
    tokenize,
)
from launchbuild.paths import expand_user
from launchbuild.limits import clip

VCS_SCHEMES = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")
# pip strips a comment only when `#` starts the line or follows whitespace (URLs keep fragments).
_COMMENT = re.compile(r"(^|\s+)#.*$")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAX_INCLUDE_DEPTH = 20
# What str.splitlines() (and so a backend reading the lines back) takes for a line break, and
# the other control characters; a tab is whitespace.
_LINE_BREAK_OR_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


@dataclass(frozen=True)
class RequirementLine:
    """One requirement as the user wrote it, minus options we regenerate (hashes)."""

    text: str  # what is handed to the backend, e.g. "requests[socks]>=2; python_version>'3'"
    location: Location
    kind: str  # "named" (PEP 508 name/specifier) | "url" (name @ url) | "vcs" | "path"
    name: str | None = None  # canonical name when known
    specifier: str = ""  # "==1.2.3", "" when absent
    marker: str | None = None
    extras: tuple[str, ...] = ()
    url: str | None = None
    editable: bool = False
    hashes: tuple[str, ...] = ()

    @property
    def pinned_version(self) -> str | None:
        """The version of an exact `==X` pin (no wildcard), else None."""
        m = re.fullmatch(r"===?\s*([^,*\s]+)", self.specifier)
        return m.group(1) if m else None


@dataclass(frozen=True)
class IndexOptions:
    """The index options of requirements files (`--index-url`, `--find-links`, `--pre`, ...),
    merged across files and written back as lines."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    trusted_hosts: tuple[str, ...] = ()
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()

    def merged(self, other: IndexOptions) -> IndexOptions:
        def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(a + b))

        return IndexOptions(
            index_url=other.index_url or self.index_url,
            extra_index_urls=union(self.extra_index_urls, other.extra_index_urls),
            find_links=union(self.find_links, other.find_links),
            no_index=self.no_index or other.no_index,
            pre=self.pre or other.pre,
            trusted_hosts=union(self.trusted_hosts, other.trusted_hosts),
            only_binary=union(self.only_binary, other.only_binary),
            no_binary=union(self.no_binary, other.no_binary),
        )

    def as_lines(self) -> list[str]:
        lines = []
        if self.index_url:
            lines.append(f"--index-url {self.index_url}")
        lines += [f"--extra-index-url {u}" for u in self.extra_index_urls]
        lines += [f"--find-links {u}" for u in self.find_links]
        if self.no_index:
            lines.append("--no-index")
        if self.pre:
            lines.append("--pre")
        lines += [f"--trusted-host {h}" for h in self.trusted_hosts]
        lines += [f"--only-binary {v}" for v in self.only_binary]
        lines += [f"--no-binary {v}" for v in self.no_binary]
        return lines


@dataclass(frozen=True)
class ParsedRequirements:
    """A requirements file and its `-r`/`-c` includes, parsed: requirement and constraint lines
    at their file:line, and the index options."""

    requirements: tuple[RequirementLine, ...] = ()
    constraints: tuple[RequirementLine, ...] = ()
    options: IndexOptions = field(default_factory=IndexOptions)
    files: tuple[str, ...] = ()  # every file read, the top one first
    comments: tuple[tuple[Location, str], ...] = ()  # kept for the frozen-list cleaner


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join `\\` continuations and strip comments; yields (first physical line no., text)."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buf:
            start = number
        if raw.endswith("\\") and not _COMMENT.search(raw[:-1]):
            buf.append(raw[:-1])
            continue
        buf.append(raw)
        joined = "".join(buf)
        buf = []
        out.append((start, joined))
    if buf:
        out.append((start, "".join(buf)))
    return out


def _strip_comment(line: str) -> tuple[str, str]:
    m = _COMMENT.search(line)
    if not m:
        return line.strip(), ""
    return line[: m.start()].strip(), line[m.start() :].strip()


def _is_url(text: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text))


def _looks_like_path(text: str) -> bool:
    if text.startswith((".", "/", "~")) or text.startswith("file:"):
        return True
    if "/" in text or "\\" in text:
        return True
    return text.endswith(_ARCHIVE_SUFFIXES)


def _name_from_filename(url: str) -> str | None:
    """`.../numpy-1.26.4-cp311-...whl` -> numpy; `pkg-1.0.tar.gz` -> pkg."""
    base = unquote(urlsplit(url).path).rstrip("/").rsplit("/", 1)[-1]
    if base.endswith(".whl"):
        return canonicalize_name(base.split("-", 1)[0])
    for suffix in _ARCHIVE_SUFFIXES:
        if base.endswith(suffix):
            stem = base[: -len(suffix)]
            m = re.match(r"^(.+?)-\d", stem)
            return canonicalize_name(m.group(1)) if m else None
    return None


def _split_marker(text: str) -> tuple[str, str | None]:
    """For URL/path lines pip accepts `url ; marker` (space before `;`)."""
    m = re.search(r"\s+;\s*", text)
    if m:
        return text[: m.start()].strip(), text[m.end() :].strip()
    return text, None


def _redacted_errors(func):
    """A message quoting a job's line must not carry the credentials in its URLs (API callers
    get the message as is, not only the CLI, which redacts again)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BadInput as exc:
            clean = redact_text(exc.message)
            if clean == exc.message:
                raise
            raise BadInput(clean, hint=exc.hint) from None

    return wrapper


@_redacted_errors
def parse_requirement(
    text: str, location: Location, *, base_dir: Path | None = None, editable: bool = False,
    hashes: tuple[str, ...] = (),
) -> RequirementLine:
    """One requirement specification (no options) -> RequirementLine, or BadInput."""
    where = location.where
    spec = text.strip()
    if not spec:
        raise BadInput(f"empty requirement at {where}: remove the line or name a package")
    if _LINE_BREAK_OR_CONTROL.search(spec):
        # One requirement is one line of the backend's input and of the lock: a line break in a
        # TOML/YAML string ("six ; m\n-r /etc/x") would become an option line of its own there.
        raise BadInput(f"requirement {clip(spec)!r} at {where} holds a line break or a control character",
                       hint="write one requirement per string, on one line")
    if spec.startswith(VCS_SCHEMES):
        url, marker = _split_marker(spec)
        marker = _checked_marker(marker, spec, where)
        m = _EGG.search(url)
        name: str | None = canonicalize_name(m.group(1)) if m else None
        return RequirementLine(
            text=(f"{name} @ {url}" if name and not editable else url)
            + (f" ; {marker}" if marker else ""),
            location=location, kind="vcs", name=name, url=url, marker=marker,
            editable=editable, hashes=hashes,
        )
    if _is_url(spec) or (_looks_like_path(spec) and not _looks_like_pep508(spec)):
        url, marker = _split_marker(spec)
        marker = _checked_marker(marker, spec, where)
        kind = "url" if _is_url(url) and not url.startswith("file:") else "path"
        if kind == "path":
            url = _absolutize(url, base_dir, where)
        m = _EGG.search(url)
        name = canonicalize_name(m.group(1)) if m else _name_from_filename(url)
        return RequirementLine(
            text=url + (f" ; {marker}" if marker else ""), location=location, kind=kind,
            name=name, url=url, marker=marker, editable=editable, hashes=hashes,
        )
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        detail = str(exc).splitlines()[0]
        raise BadInput(
            f"invalid requirement {spec!r} at {where}: {detail}",
            hint="use pip's syntax, e.g. 'name>=1.0' or 'name @ https://...'",
        ) from None
    name = canonicalize_name(req.name)
    marker = str(req.marker) if req.marker else None
    if req.url:
        url = req.url
        kind = "vcs" if url.startswith(VCS_SCHEMES) else ("path" if url.startswith("file:") else "url")
        if kind == "path" and not url.startswith("file://") and base_dir is not None:
            # A relative file URL (`lib @ file:./libs/lib`) is the file's folder's, as a bare
            # relative path is: never the working directory's, which differs per run.
            url = _absolutize(unquote(url[len("file:"):]), base_dir, where)
            url = Path(url).as_uri()
            req.url = url
            spec = str(req)
        return RequirementLine(
            text=spec, location=location, kind=kind, name=name, url=url, marker=marker,
            extras=tuple(sorted(req.extras)), editable=editable, hashes=hashes,
        )
    return RequirementLine(
        text=spec, location=location, kind="named", name=name, specifier=str(req.specifier),
        marker=marker, extras=tuple(sorted(req.extras)), editable=editable, hashes=hashes,
    )


def _checked_marker(marker: str | None, spec: str, where: str) -> str | None:
    """The marker of a URL, path or VCS line (`url ; marker`), as PEP 508 writes it."""
    if marker is None:
        return None
    try:
        return str(Marker(marker))
    except InvalidMarker as exc:
        detail = str(exc).splitlines()[0]
        raise BadInput(f"invalid marker in requirement {clip(spec)!r} at {where}: {detail}",
                       hint="write e.g. 'url ; python_version >= \"3.10\"'") from None


def _looks_like_pep508(spec: str) -> bool:
    try:
        Requirement(spec)
    except InvalidRequirement:
        return False
    return True


def _absolutize(url: str, base_dir: Path | None, where: str = "requirements") -> str:
    if base_dir is None or url.startswith("file://"):
        return url
    if url.startswith("file:"):  # a relative file URL: its path, against the file's folder
        url = unquote(url[len("file:"):])
    path = expand_user(url)
    if not path.is_absolute():
        try:
            path = (base_dir / path).resolve()
        except (ValueError, OSError, RuntimeError):  # a NUL byte, a symlink loop
            raise BadInput(f"{where}: local requirement '{clip(url)}' is not a usable path (a NUL byte or a symlink loop)",
                           hint="name a wheel or project folder inside the job's source tree") from None
    return str(path)


@_redacted_errors
def parse_text(
    text: str, path: str, *, base_dir: Path | None = None, line_offset: int = 0,
    _depth: int = 0, _seen: tuple[str, ...] = (), _constraint: bool = False,
    root: Path | None = None,
) -> ParsedRequirements:
    """Parse requirements-file text. `-r`/`-c` are read relative to `base_dir`.

    Every file or folder the text names (includes, `--find-links` folders) must be inside
    `root`, the job's source tree (default `base_dir`), symlinks resolved (jobs/confine.py).
    `line_offset` maps line numbers into a host file (an environment.yml pip section)."""
    root = root if root is not None else (base_dir if base_dir is not None else Path.cwd())
    if _depth > _MAX_INCLUDE_DEPTH:
        raise BadInput(f"requirements includes nest deeper than {_MAX_INCLUDE_DEPTH} at {path}",
                       hint="remove the include cycle")
    reqs: list[RequirementLine] = []
    cons: list[RequirementLine] = []
    opts = IndexOptions()
    files: list[str] = []
    comments: list[tuple[Location, str]] = []
    for number, raw in logical_lines(text):
        loc = Location(path, number + line_offset)
        where = f"{path}:{number + line_offset}"
        body, comment = _strip_comment(raw)
        if comment:
            comments.append((loc, comment))
        if not body:
            continue
        if "${" in body:
            raise BadInput(f"{where}: a variable reference '${{...}}' in a requirements line",
                           hint="write the value itself: a job cannot expand the operator's environment")
        if not body.startswith("-"):
            # A requirement, possibly followed by per-requirement options (--hash=...).
            spec, _, tail = split_options(body)
            hashes = parse_hashes(tail, where)
            req = parse_requirement(spec, loc, base_dir=base_dir, hashes=hashes)
            _check_requirement_url(req, where)
            (cons if _constraint else reqs).append(req)
            continue
        tokens = tokenize(body, where)
        option, value = option_and_value(tokens, where)
        if option in ("--requirement", "--constraint"):
            target = _resolve_include(value, base_dir, where, root, option)
            if str(target) in _seen:
                raise BadInput(f"requirements include cycle: {target} is included again at {where}",
                               hint="remove the circular -r/-c line")
            included_text = confine.read_text(target, where=where, what=f"{option} include", written=value)
            sub = parse_text(
                included_text, str(target), base_dir=target.parent, _depth=_depth + 1,
                _seen=_seen + (str(target),), _constraint=_constraint or option == "--constraint",
                root=root,
            )
            reqs += sub.requirements
            cons += sub.constraints
            opts = opts.merged(sub.options)
            files += sub.files
            comments += sub.comments
        elif option == "--editable":
            req = parse_requirement(value, loc, base_dir=base_dir, editable=True)
            _check_requirement_url(req, where)
            (cons if _constraint else reqs).append(req)
        elif option == "--index-url":
            opts = replace(opts, index_url=checked_url(value, where, option))
        elif option == "--extra-index-url":
            opts = opts.merged(IndexOptions(extra_index_urls=(checked_url(value, where, option),)))
        elif option == "--find-links":
            if _is_url(value) and not value.startswith("file:"):
                link = checked_url(value, where, option)
            else:
                local = unquote(urlsplit(value).path) if value.startswith("file:") else value
                link = str(confine.confine(root, local, base=base_dir, where=where, what="--find-links folder",
                                           kind="dir", max_bytes=None, missing_ok=True))
            opts = opts.merged(IndexOptions(find_links=(link,)))
        elif option == "--no-index":
            opts = replace(opts, no_index=True)
        elif option == "--pre":
            opts = replace(opts, pre=True)
        elif option == "--trusted-host":
            opts = opts.merged(IndexOptions(trusted_hosts=(plain_value(value, where, option),)))
        elif option == "--only-binary":
            opts = opts.merged(IndexOptions(only_binary=(plain_value(value, where, option),)))
        elif option == "--no-binary":
            opts = opts.merged(IndexOptions(no_binary=(plain_value(value, where, option),)))
        # --prefer-binary, --require-hashes, --use-feature, --config-settings: accepted;
        # the lock is always hashed and the build decides how it installs.
    return ParsedRequirements(
        requirements=tuple(reqs), constraints=tuple(cons), options=opts,
        files=(path, *files),
        comments=tuple(comments),
    )


def _resolve_include(value: str, base_dir: Path | None, where: str, root: Path, option: str) -> Path:
    if _is_url(value):
        raise BadInput(f"remote include {redact_url(value)[:200]!r} at {where} is not supported",
                       hint="download the file into the source tree and include it by path")
    if value.startswith("file:"):
        # `-r file:requirements.txt`, as conda's environment.yml docs write it: pip reads a file
        # URL; a relative one is relative to the including file like a plain path.
        value = unquote(urlsplit(value).path)
    return confine.confine(root, value, base=base_dir, where=where, what=f"{option} include")


def _check_requirement_url(req: RequirementLine, where: str) -> None:
    if req.kind == "url" and req.url:
        problem = url_problem(req.url)
        if problem:
            raise BadInput(f"{where}: requirement URL {redact_url(req.url)[:200]!r} {problem}",
                           hint="write a plain http(s) URL")


def parse_file(path: Path, *, display: str | None = None, root: Path | None = None) -> ParsedRequirements:
    """A requirements file. With `root` (the job's tree) and the file inside it, everything
    it names is confined to `root`; a file outside it (one the operator named) to its folder."""
    shown = display or str(path)
    # The file itself must not lead out of the tree (or, for a file outside it, out of its own
    # folder) through a link: a run list beside a job spec linked to ~/.netrc is refused.
    real_parent = os.path.realpath(path.parent)
    if root is not None and confine.inside(real_parent, os.path.realpath(root)):
        limit = Path(os.path.realpath(root))
    else:
        limit = Path(real_parent)
    written = os.path.relpath(os.path.join(real_parent, path.name), limit)
    real = confine.confine(limit, written, where=shown, what="requirements file")
    root = limit
    text = confine.read_text(real, where=shown, what="requirements file", written=shown)
    return parse_text(text, shown, base_dir=Path(real_parent), _seen=(str(real),), root=root)
