"""Bring a job's code onto this machine: a git clone, an extracted archive, or a local dir.

`materialize(job)` is a context manager yielding a `Workspace` (or None for image jobs).
Clones and extractions live in a temp dir that is removed on every exit path, errors and
KeyboardInterrupt included. Local directories are used in place, never copied.

Archives are extracted by our own loop, not `tarfile.extractall`: the `data` filter exists
only from Python 3.12 (and late 3.10/3.11 patch releases), and even it cannot bound the
bytes a zip member really inflates to. Each member is checked before anything is written,
written without following links, and counted while it is written.
"""

from __future__ import annotations

import contextlib
import errno
import lzma
import os
import posixpath
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.limits import MAX_TREE_DEPTH, walk_tree
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, Job
from launchbuild.jobs.spec import validate_ref, validate_subdir
from launchbuild.jobs.urls import redact_text, redact_url

DEFAULT_GIT_TIMEOUT = 120.0
DEFAULT_MAX_ARCHIVE_BYTES = 2 * 1024**3
DEFAULT_MAX_MEMBERS = 100_000
_CHUNK = 1024 * 1024
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".tox"})
TEMP_PREFIX = "launchbuild-src-"


@dataclass(frozen=True)
class Workspace:
    """The job's code on this machine.

    `path` is the code root (subdirectory applied); `commit` the full sha checked out for git
    sources (None otherwise); `source_description` a printable, credential-free account of
    where it came from. `os.fspath(workspace)` is `path`, so it can stand in for a Path."""

    path: Path
    commit: str | None
    source_description: str

    def __fspath__(self) -> str:
        return str(self.path)


@contextlib.contextmanager
def materialize(
    job: Job,
    *,
    git_timeout: float = DEFAULT_GIT_TIMEOUT,
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
    temp_parent: Path | None = None,
) -> Iterator[Workspace | None]:
    """The job's code root for the duration of the `with` block; None for image jobs."""
    source = job.source
    if isinstance(source, ImageSource):
        yield None
        return
    if isinstance(source, CodeSource) and _is_directory(source.path):
        root = check_local_directory(source.path)
        yield Workspace(_apply_subdir(root, source.subdir, str(root)), None, str(root))
        return
    temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=str(temp_parent) if temp_parent else None))
    try:
        if isinstance(source, GitSource):
            checkout = temp / "checkout"
            commit = clone_git(source.remote, source.ref, checkout, timeout=git_timeout)
            description = f"{redact_url(source.remote)}@{commit}"
            # A commit may hold symlinks: the same outside-link check as a local directory.
            check_local_directory(checkout, label=f"git checkout {description}")
            yield Workspace(_apply_subdir(checkout, source.subdir, description), commit, description)
        else:
            extracted = temp / "code"
            extract_archive(source.path, extracted, max_bytes=max_archive_bytes, max_members=max_members)
            check_local_directory(extracted, label=f"archive {source.path}")
            extracted = unwrap_single_folder(extracted)
            yield Workspace(_apply_subdir(extracted, source.subdir, str(source.path)), None, str(source.path))
    finally:
        _remove_tree(temp)


# Archivers' own entries, never the job's files (macOS zip resource forks).
_ARCHIVER_NOISE = frozenset({"__MACOSX"})


def unwrap_single_folder(root: Path) -> Path:
    """`git archive --prefix=proj/`, GitHub's zip download and `tar czf proj.tgz proj` put every
    file in one top-level folder: that folder is the job's root, or its requirements file and
    entrypoint would not be found."""
    entries = [e for e in root.iterdir() if e.name not in _ARCHIVER_NOISE]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return root


def _is_directory(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _remove_tree(path: Path) -> None:
    def make_writable_and_retry(func, target, _exc_info):  # type: ignore[no-untyped-def]
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable_and_retry)
    else:  # pragma: no cover - 3.10/3.11
        shutil.rmtree(path, onerror=make_writable_and_retry)


def _apply_subdir(root: Path, subdir: str | None, where: str) -> Path:
    if not subdir:
        return root
    relative = validate_subdir(subdir, f"{where}: subdirectory")
    candidate = root / relative
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if not _inside(real, real_root):
        raise BadInput(f"{where}: subdirectory {subdir!r} leads outside the source through a link",
                       hint="pass a subdirectory that is a real directory inside the source")
    if not os.path.isdir(real):
        raise BadInput(f"{where}: subdirectory {subdir!r} does not exist", hint="check --subdir / source.subdir")
    return candidate


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# ---------------------------------------------------------------------------------------
# Local directory


def check_local_directory(path: Path, label: str | None = None) -> Path:
    """`path` resolved, after checking that no symlink inside it points outside it. Used for
    local directories and git checkouts alike (archives check their links while extracting)."""
    if not path.exists():
        raise BadInput(f"code directory {path}: not found", hint="check the path")
    if not path.is_dir():
        raise BadInput(f"code directory {path}: not a directory", hint="pass a directory or an archive")
    root = Path(os.path.realpath(path))
    for dirpath, dirnames, filenames in walk_tree(root, f"code directory {root}"):  # iterative, depth-capped
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        for name in (*dirnames, *filenames):
            entry = os.path.join(dirpath, name)
            if not os.path.islink(entry):
                continue
            try:
                target = os.path.realpath(entry)  # recursive per link: a 1000-link chain overflows
            except (RecursionError, OSError):
                raise BadInput(f"code directory {root}: symlink {os.path.relpath(entry, root)} starts a chain of links "
                               "too long to follow", hint="replace the links with the file") from None
            if not _inside(target, str(root)):
                relative = os.path.relpath(entry, root)
                raise BadInput(f"{label or f'code directory {root}'}: symlink {relative!r} points outside it "
                               f"({os.readlink(entry)[:100]!r})",
                               hint="replace the link with the file, or remove it")
    return root


# ---------------------------------------------------------------------------------------
# git


_UNKNOWN_REF = re.compile(
    r"couldn't find remote ref|not our ref|no such remote ref|unadvertised object|"
    r"did not match any|invalid refspec|bad object|unknown revision|is not a valid",
    re.IGNORECASE,
)
_NEEDS_CREDENTIALS = re.compile(
    r"could not read (username|password)|authentication failed|terminal prompts disabled|"
    r"permission denied \(publickey|invalid username or password|HTTP Basic: Access denied",
    re.IGNORECASE,
)
_ABBREVIATED_SHA = re.compile(r"[0-9a-fA-F]{4,39}")
# What git says when a remote that answered goes away during the transfer: reachable, then lost.
_FETCH_RETRIES = 2
_CONNECTION_LOST = re.compile(
    r"early EOF|index-pack failed|invalid index-pack output|connection reset by peer|"
    r"unexpected disconnect while reading sideband packet|RPC failed",
    re.IGNORECASE,
)


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",  # never wait for a password on a terminal nobody watches
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_SSH_COMMAND=env.get("GIT_SSH_COMMAND", "ssh") + " -o BatchMode=yes",
        LC_ALL="C",  # stderr is classified by its English text
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def _run_git(args: list[str], cwd: Path, *, timeout: float, remote: str,
             budget: float | None = None) -> subprocess.CompletedProcess[str]:
    """git, killed with its whole process group (remote helpers, ssh) on timeout or Ctrl-C.

    `budget` is the whole operation's deadline, which the message names; `timeout` is what is
    left of it for this call."""
    try:
        proc = subprocess.Popen(["git", *args], cwd=cwd, env=_git_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=True)
    except FileNotFoundError:
        raise InfraUnavailable("git is not installed: cannot fetch a git source",
                               hint="install git, or pass a directory or archive as JOB") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise InfraUnavailable(f"git remote {redact_url(remote)}: no answer within {budget or timeout:g}s",
                               hint="check the network and that the remote answers") from None
    except BaseException:
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(["git", *args], proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)


def _last_line(stderr: str) -> str:
    lines = [ln.strip() for ln in redact_text(stderr).splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.lower().startswith(("fatal:", "error:"))]
    # git's first fatal line names the cause; later ones are generic ("Could not read ...")
    return (fatal or lines[-1:] or ["no output"])[0][:300]


def clone_git(remote: str, ref: str | None, dest: Path, *, timeout: float = DEFAULT_GIT_TIMEOUT) -> str:
    """A shallow checkout of `ref` (commit, branch or tag; None = the remote's HEAD) into
    `dest`; returns the full commit sha. Errors never contain the remote's credentials."""
    shown = redact_url(remote)
    if remote.startswith("-"):
        raise BadInput(f"git remote {shown!r} starts with '-'", hint="pass a URL")
    if ref is not None:
        validate_ref(ref, f"git ref for {shown}")
    # file:// is disabled for submodules and transports since git 2.38.1; we allow it only for
    # the remote the user named (tests and local mirrors), never implicitly.
    protocol = ["-c", "protocol.file.allow=always"] if remote.lower().startswith("file://") else []
    dest.mkdir(parents=True)

    # One deadline for the whole clone, not one per git call: init, fetch, a second fetch
    # for an abbreviated sha and the checkout together never take longer than `timeout`.
    deadline = time.monotonic() + timeout

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise InfraUnavailable(f"git remote {shown}: no answer within {timeout:g}s",
                                   hint="check the network and that the remote answers")
        return _run_git([*protocol, *args], dest, timeout=left, remote=remote, budget=timeout)

    for step in (("init", "-q"), ("remote", "add", "origin", remote)):
        result = git(*step)
        if result.returncode != 0:
            raise InfraUnavailable(f"git {step[0]} failed in {dest}: {_last_line(result.stderr)}")

    wanted = ref or "HEAD"
    fetched = git("fetch", "-q", "--depth", "1", "--no-tags", "origin", wanted)
    # A connection reset mid-transfer is usually transient (a proxy, a busy server): the fetch
    # is idempotent, so it is tried again, within the same deadline, before it is an error.
    # A retry cut before any byte says only "could not read": the first cause is the one told.
    broke: subprocess.CompletedProcess[str] | None = None
    for _ in range(_FETCH_RETRIES):
        if fetched.returncode == 0 or not _CONNECTION_LOST.search(fetched.stderr):
            break
        broke = fetched
        fetched = git("fetch", "-q", "--depth", "1", "--no-tags", "origin", wanted)
    if fetched.returncode != 0 and broke is not None and not _CONNECTION_LOST.search(fetched.stderr):
        fetched = broke
    if fetched.returncode != 0 and ref is not None and _ABBREVIATED_SHA.fullmatch(ref) and _UNKNOWN_REF.search(fetched.stderr):
        # An abbreviated sha cannot be fetched by name: fetch the branches' history and resolve
        # it here. Full shas never take this path: a typo must not cost a full clone.
        fetched = git("fetch", "-q", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*")
        if fetched.returncode == 0:
            resolved = git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
            if resolved.returncode != 0:
                raise BadInput(f"git remote {shown}: unknown commit {ref!r}",
                               hint="check the sha / --ref against the repository")
            wanted = resolved.stdout.strip()
            fetched = git("update-ref", "FETCH_HEAD", wanted)
    if fetched.returncode != 0:
        _raise_fetch_error(shown, ref, fetched.stderr)

    checkout = git("-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD")
    if checkout.returncode != 0:
        raise BadInput(f"git remote {shown}: cannot check out {ref or 'HEAD'}: {_last_line(checkout.stderr)}",
                       hint="the commit may hold paths this file system cannot store")
    head = git("rev-parse", "HEAD")
    if head.returncode != 0:  # pragma: no cover - a checkout that succeeded has a HEAD
        raise InfraUnavailable(f"git remote {shown}: cannot read the checked-out commit: {_last_line(head.stderr)}")
    return head.stdout.strip()


def _raise_fetch_error(shown: str, ref: str | None, stderr: str) -> None:
    line = _last_line(stderr)
    if _NEEDS_CREDENTIALS.search(stderr):
        raise BadInput(f"git remote {shown}: access denied ({line})",
                       hint="put credentials in a git credential helper or the URL; they are never printed")
    if ref is not None and _UNKNOWN_REF.search(stderr):
        raise BadInput(f"git remote {shown}: unknown commit, branch or tag {ref!r}",
                       hint="check the ref (URL@REF / --ref / source.git.commit) against the repository")
    if _CONNECTION_LOST.search(stderr):
        raise InfraUnavailable(f"git remote {shown}: the connection broke during the fetch ({line})",
                               hint="the remote went away mid-transfer; check it and the network, then rerun")
    raise InfraUnavailable(f"git remote {shown}: cannot be reached ({line})",
                           hint="check the URL and the network")


# ---------------------------------------------------------------------------------------
# Archives


def extract_archive(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Path:
    """Extract a .tar/.tar.gz/.tgz/.zip archive into `dest` (created), refusing anything
    that could write outside it or exhaust the disk. Returns `dest`."""
    if not archive.exists():
        raise BadInput(f"archive {archive}: not found", hint="check the path")
    if not archive.is_file():
        raise BadInput(f"archive {archive}: not a regular file", hint="pass a .tar, .tar.gz, .tgz or .zip file")
    dest.mkdir(parents=True, exist_ok=True)
    writer = _Writer(archive, dest, max_bytes)
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            _extract_zip(archive, writer, max_members)
        else:
            _extract_tar(archive, writer, max_members)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InfraUnavailable(f"archive {archive}: no space left while extracting to {dest}",
                                   hint="free disk space or set TMPDIR to a larger file system") from None
        raise BadInput(f"archive {archive}: cannot be extracted ({exc.strerror or exc})",
                       hint="check that the archive is complete") from None
    writer.check_links()
    return dest


class _Writer:
    """Writes members under `dest`, never through a link, counting every byte."""

    def __init__(self, archive: Path, dest: Path, max_bytes: int) -> None:
        self.archive = archive
        self.dest = dest
        self.real_dest = os.path.realpath(dest)
        self.max_bytes = max_bytes
        self.written = 0
        self.declared = 0  # sizes the archive's headers claim, checked before anything is written
        self.links: list[tuple[str, str]] = []  # (member name, path on disk)

    def declare(self, member: str, size: int) -> None:
        """Count a member's declared size; refuse the archive once the total passes the limit."""
        self.declared += size
        if self.declared > self.max_bytes:
            raise self.refuse(member, f"takes the declared size past the limit of {self.max_bytes} bytes",
                              "ship a smaller archive, or keep data out of the code archive")

    def refuse(self, member: str, why: str, hint: str) -> BadInput:
        return BadInput(f"archive {self.archive}: member {member[:200]!r} {why}", hint=hint)

    def member_path(self, raw_name: str) -> tuple[str, str] | None:
        """(clean relative name, absolute path) for a member; None for the root itself."""
        name = raw_name.replace("\\", "/")
        if "\x00" in name:
            raise self.refuse(raw_name, "has a NUL character in its name", "rebuild the archive")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            raise self.refuse(raw_name, "has an absolute path", "rebuild the archive with relative paths")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise self.refuse(raw_name, "climbs out of the archive with '..'", "rebuild the archive without '..' paths")
        if not parts:
            return None
        if len(parts) > MAX_TREE_DEPTH:  # os.makedirs and every later walk recurse per level
            raise self.refuse(raw_name, f"is more than {MAX_TREE_DEPTH} directories deep", "flatten the archive")
        relative = "/".join(parts)
        return relative, os.path.join(self.dest, *parts)

    def _prepare_parent(self, member: str, path: str) -> None:
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        if not _inside(os.path.realpath(parent), self.real_dest):
            raise self.refuse(member, "would be written through a link that leaves the archive",
                              "rebuild the archive without links to directories outside it")
        if os.path.islink(path):
            raise self.refuse(member, "would overwrite a link from the same archive",
                              "rebuild the archive without duplicate names")

    def directory(self, member: str, path: str) -> None:
        self._prepare_parent(member, path)
        if os.path.isdir(path):
            return
        os.mkdir(path, 0o755)

    def file(self, member: str, path: str, data: IO[bytes], declared: int, mode: int) -> None:
        self._prepare_parent(member, path)
        if os.path.isdir(path):
            raise self.refuse(member, "is a file with the name of a directory in the archive", "rebuild the archive")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o755 if mode & 0o111 else 0o644)
        count = 0
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = data.read(_CHUNK)
                if not chunk:
                    break
                count += len(chunk)
                self.written += len(chunk)
                if count > declared:
                    raise self.refuse(member, f"inflates past its declared size of {declared} bytes",
                                      "the archive is corrupt or hostile; rebuild it")
                if self.written > self.max_bytes:
                    raise self.refuse(member, f"takes the extracted size past the limit of {self.max_bytes} bytes",
                                      "ship a smaller archive, or keep data out of the code archive")
                out.write(chunk)

    def symlink(self, member: str, relative: str, path: str, target: str) -> None:
        if "\x00" in target:
            raise self.refuse(member, "is a link with a NUL character in its target", "rebuild the archive")
        if target.startswith("/") or re.match(r"^[A-Za-z]:", target):
            raise self.refuse(member, f"is a link to an absolute path ({target[:100]})",
                              "rebuild the archive with relative links inside it")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relative), target))
        if resolved == ".." or resolved.startswith("../"):
            raise self.refuse(member, f"is a link pointing outside the archive ({target[:100]})",
                              "rebuild the archive without links that leave it")
        self._prepare_parent(member, path)
        if os.path.lexists(path):
            raise self.refuse(member, "is a link over an existing entry", "rebuild the archive without duplicate names")
        os.symlink(target, path)
        self.links.append((member, path))

    def hardlink(self, member: str, path: str, target_name: str) -> None:
        """Hard links are copied, not linked: a copy cannot alias a file outside `dest`."""
        located = self.member_path(target_name)
        if located is None:
            raise self.refuse(member, "is a hard link to the archive root", "rebuild the archive")
        _target_rel, target_path = located
        real_target = os.path.realpath(target_path)
        if not _inside(real_target, self.real_dest):
            raise self.refuse(member, f"is a hard link pointing outside the archive ({target_name[:100]})",
                              "rebuild the archive without links that leave it")
        if not os.path.isfile(real_target):
            raise self.refuse(member, f"is a hard link to {target_name[:100]!r}, which is not an earlier file",
                              "rebuild the archive")
        size = os.path.getsize(real_target)
        with open(real_target, "rb") as data:
            self.file(member, path, data, size, os.stat(real_target).st_mode)

    def check_links(self) -> None:
        """Each link checked alone stays inside, but links through links can still leave
        (`a -> .` then `b -> a/..`): resolve them all on disk once everything is written."""
        for member, path in self.links:
            try:
                real = os.path.realpath(path)  # recursive per link: a 1000-link chain overflows
            except (RecursionError, OSError):
                raise self.refuse(member, "starts a chain of links too long to follow", "rebuild the archive") from None
            if not _inside(real, self.real_dest):
                raise self.refuse(member, "is a link that resolves outside the archive (through other links)",
                                  "rebuild the archive without links that leave it")


def _extract_tar(archive: Path, writer: _Writer, max_members: int) -> None:
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, EOFError, ValueError) as exc:
        raise BadInput(f"archive {archive}: not a readable tar archive ({exc})",
                       hint="pass a .tar, .tar.gz, .tgz or .zip file") from None
    try:
        with tar:
            members: list[tarfile.TarInfo] = []
            for member in tar:  # lazily, so a million-member archive stops at the limit
                members.append(member)
                if len(members) > max_members:
                    raise BadInput(f"archive {archive}: more than {max_members} members",
                                   hint=f"ship at most {max_members} files in the archive")
                _check_tar_member_type(writer, member)
                if member.isfile():
                    writer.declare(member.name, member.size)
            for member in members:
                located = writer.member_path(member.name)
                if located is None:
                    continue
                relative, path = located
                if member.isdir():
                    writer.directory(member.name, path)
                elif member.issym():
                    writer.symlink(member.name, relative, path, member.linkname)
                elif member.islnk():
                    writer.hardlink(member.name, path, member.linkname)
                else:
                    data = tar.extractfile(member)
                    assert data is not None  # regular files always have data
                    with data:
                        writer.file(member.name, path, data, member.size, member.mode)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise BadInput(f"archive {archive}: corrupt or truncated tar archive ({exc})",
                       hint="re-create the archive") from None


def _check_tar_member_type(writer: _Writer, member: tarfile.TarInfo) -> None:
    if member.isdev():
        kind = "a FIFO" if member.isfifo() else "a device file"
        raise writer.refuse(member.name, f"is {kind}", "rebuild the archive without special files")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise writer.refuse(member.name, f"has an unsupported type ({member.type!r})",
                            "keep only files, directories and links in the archive")
    writer.member_path(member.name)  # absolute / '..' names refused before anything is written


def _extract_zip(archive: Path, writer: _Writer, max_members: int) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise BadInput(f"archive {archive}: not a readable zip archive ({exc})",
                       hint="pass a .tar, .tar.gz, .tgz or .zip file") from None
    try:
        with zf:
            infos = zf.infolist()
            if len(infos) > max_members:
                raise BadInput(f"archive {archive}: {len(infos)} members, more than the limit of {max_members}",
                               hint=f"ship at most {max_members} files in the archive")
            for info in infos:
                writer.member_path(info.filename)
                file_type = stat.S_IFMT(info.external_attr >> 16)
                if file_type in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
                    raise writer.refuse(info.filename, "is a device file, FIFO or socket",
                                        "rebuild the archive without special files")
                if info.flag_bits & 0x1:
                    raise writer.refuse(info.filename, "is encrypted", "ship an unencrypted archive")
                writer.declare(info.filename, info.file_size)
            for info in infos:
                located = writer.member_path(info.filename)
                if located is None:
                    continue
                relative, path = located
                file_type = stat.S_IFMT(info.external_attr >> 16)
                if info.is_dir():
                    writer.directory(info.filename, path)
                elif file_type == stat.S_IFLNK:
                    if info.file_size > 4096:
                        raise writer.refuse(info.filename, "is a link with an oversized target", "rebuild the archive")
                    target = zf.read(info).decode("utf-8", errors="replace")
                    writer.symlink(info.filename, relative, path, target)
                else:
                    with zf.open(info) as data:
                        writer.file(info.filename, path, data, info.file_size, info.external_attr >> 16)
    except (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, NotImplementedError) as exc:
        raise BadInput(f"archive {archive}: corrupt or unsupported zip archive ({exc})",
                       hint="re-create the archive with deflate or store compression") from None
