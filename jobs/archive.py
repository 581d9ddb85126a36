"""A code archive on this machine: safe extraction of .tar/.tar.gz/.tgz/.zip files.

Archives are extracted by our own loop, not `tarfile.extractall`: the `data` filter exists
only from Python 3.12 (and late 3.10/3.11 patch releases), and even it cannot bound the
bytes a zip member really inflates to. Each member is checked before anything is written,
written without following links, and counted while it is written.
"""

from __future__ import annotations

import errno
import lzma
import os
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import IO

from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.jobs.local_tree import is_within
from launchbuild.limits import MAX_TREE_DEPTH

DEFAULT_MAX_ARCHIVE_BYTES = 2 * 1024**3
DEFAULT_MAX_MEMBERS = 100_000
_CHUNK = 1024 * 1024


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

    @staticmethod
    def _parts(raw_name: str) -> tuple[list[str], tuple[str, str] | None]:
        """A member name's path parts, or (what is wrong with it, what to do)."""
        name = raw_name.replace("\\", "/")
        if "\x00" in name:
            return [], ("has a NUL character in its name", "rebuild the archive")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            return [], ("has an absolute path", "rebuild the archive with relative paths")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            return [], ("climbs out of the archive with '..'", "rebuild the archive without '..' paths")
        if len(parts) > MAX_TREE_DEPTH:  # os.makedirs and every later walk recurse per level
            return [], (f"is more than {MAX_TREE_DEPTH} directories deep", "flatten the archive")
        return parts, None

    def member_path(self, raw_name: str, *, linked_from: str | None = None) -> tuple[str, str] | None:
        """(clean relative name, absolute path) for a member; None for the root itself.
        `linked_from`: the hard link that names `raw_name` as its target, which a refusal names."""
        parts, problem = self._parts(raw_name)
        if problem is not None:
            if linked_from is not None:
                raise self.refuse(linked_from, f"is a hard link to {raw_name[:100]!r}, which {problem[0]}", problem[1])
            raise self.refuse(raw_name, *problem)
        if not parts:
            return None
        relative = "/".join(parts)
        return relative, os.path.join(self.dest, *parts)

    def _prepare_parent(self, member: str, path: str) -> None:
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        if not is_within(os.path.realpath(parent), self.real_dest):
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
        located = self.member_path(target_name, linked_from=member)
        if located is None:
            raise self.refuse(member, "is a hard link to the archive root", "rebuild the archive")
        _target_rel, target_path = located
        real_target = os.path.realpath(target_path)
        if not is_within(real_target, self.real_dest):
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
            if not is_within(real, self.real_dest):
                raise self.refuse(member, "is a link that resolves outside the archive (through other links)",
                                  "rebuild the archive without links that leave it")


# A long-name (GNU `L`/`K`) or pax header is read whole into memory by tarfile, before any
# member is seen, and is not a member's data: a 300 KB .tar.gz whose header claims 300 MB
# held ~1 GB of memory. One header may hold a long path (Linux stops at 4096 bytes) and pax
# attributes; all of them together stay far below what a code archive could need.
MAX_TAR_HEADER_BYTES = 1024 * 1024
MAX_TAR_HEADERS_TOTAL = 64 * 1024 * 1024


class _HeaderRefused(Exception):
    """Raised from inside tarfile's parser; `_extract_tar` names the archive."""

    def __init__(self, why: str, hint: str) -> None:
        super().__init__(why)
        self.why, self.hint = why, hint


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile's member parser, refusing extended headers too large to hold in memory and
    GNU sparse members (whose maps tarfile also reads without a bound; no code needs them)."""

    def _bounded(self, tar: tarfile.TarFile) -> None:
        total = getattr(tar, "_launchbuild_header_bytes", 0) + self.size
        tar._launchbuild_header_bytes = total  # type: ignore[attr-defined]
        if self.size > MAX_TAR_HEADER_BYTES or total > MAX_TAR_HEADERS_TOTAL:
            raise _HeaderRefused(f"has an extended header of {self.size} bytes, past the limit of "
                                 f"{MAX_TAR_HEADER_BYTES} per header and {MAX_TAR_HEADERS_TOTAL} in all",
                                 "the archive is corrupt or hostile; re-create it with plain tar")

    def _proc_gnulong(self, tarfile):  # type: ignore[no-untyped-def]
        self._bounded(tarfile)
        return super()._proc_gnulong(tarfile)

    def _proc_pax(self, tarfile):  # type: ignore[no-untyped-def]
        self._bounded(tarfile)
        return super()._proc_pax(tarfile)

    @staticmethod
    def _sparse() -> _HeaderRefused:
        return _HeaderRefused("has a GNU sparse member", "re-create the archive without sparse files (tar without --sparse)")

    def _proc_sparse(self, tarfile):  # type: ignore[no-untyped-def]
        raise self._sparse()

    def _proc_gnusparse_00(self, next, pax_headers, buf):  # type: ignore[no-untyped-def]  # noqa: A002
        raise self._sparse()

    def _proc_gnusparse_01(self, next, pax_headers):  # type: ignore[no-untyped-def]  # noqa: A002
        raise self._sparse()

    def _proc_gnusparse_10(self, next, pax_headers, tarfile):  # type: ignore[no-untyped-def]  # noqa: A002
        raise self._sparse()


def _extract_tar(archive: Path, writer: _Writer, max_members: int) -> None:
    try:
        _read_tar(archive, writer, max_members)
    except _HeaderRefused as exc:
        raise BadInput(f"archive {archive}: {exc.why}", hint=exc.hint) from None


def _read_tar(archive: Path, writer: _Writer, max_members: int) -> None:
    try:
        tar = tarfile.open(archive, "r:*", tarinfo=_BoundedTarInfo)
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
