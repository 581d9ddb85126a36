"""An overlay view of image layers read from the top one down, with whiteouts. Pure.

Only what the fact sheet needs is kept: every path's kind (file, dir, symlink target) and
the contents of a few small files. Upper layers win; `.wh.<name>` hides a path in lower
layers, `.wh..wh..opq` hides a directory's lower-layer children.
"""

from __future__ import annotations

import posixpath
import re
import tarfile
from typing import IO, Iterable

from launchbuild.compat.facts.providers.filefacts import CUDNN_LIB, PATH_DIRS, PYTHON_DIRS, PYTHON_MINORS, FileScan
from launchbuild.core.records import dataclass

_KEEP_CONTENT = frozenset({"os-release", "debian_version", "version.json", "version.txt"})
_MAX_KEPT = 64 * 1024
_LIBC_NAME = re.compile(r"libc(?:\.so\.6|-\d+\.\d+\.so)\Z")
_LIBC_VERSION = re.compile(rb"GNU C Library[^\n\x00]*?version (\d+\.\d+)")
_MAX_LIBC_SCAN = 16 * 1024 * 1024
_MAX_HOPS = 40


@dataclass(frozen=True)
class Entry:
    """One path of the overlay view: its kind, its link target, and for the few files kept, their
    bytes or the glibc version found in them."""

    kind: str  # "file" | "dir" | "symlink" | "hardlink" | "other"
    target: str | None = None  # symlink/hardlink target
    content: bytes | None = None  # kept for a few small files
    glibc: str | None = None  # version string found inside a libc


def normalise(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


class OverlayView:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._whiteouts: set[str] = set()  # hides the path and everything below it
        self._opaque: set[str] = set()  # hides lower-layer children only
        self.layers_read = 0

    def _hidden(self, path: str) -> bool:
        probe = path
        first = True
        while True:
            if probe in self._whiteouts:
                return True
            if not first and probe in self._opaque:
                return True
            if not probe:
                return False
            probe = posixpath.dirname(probe)
            first = False

    def add_layer(self, tar: tarfile.TarFile | Iterable[tuple[tarfile.TarInfo, IO[bytes] | None]]) -> None:
        """Add the next layer down. `tar` is a stream-mode TarFile (or pairs, for tests)."""
        whiteouts: set[str] = set()
        opaque: set[str] = set()
        members = _iter_members(tar) if isinstance(tar, tarfile.TarFile) else tar
        for info, fileobj in members:
            path = normalise(info.name)
            parent, base = posixpath.split(path)
            if base == ".wh..wh..opq":
                opaque.add(parent)
                continue
            if base.startswith(".wh."):
                whiteouts.add(posixpath.join(parent, base[4:]))
                continue
            if not path or path in self.entries or self._hidden(path):
                continue
            self.entries[path] = _entry(info, fileobj, base)
        self._whiteouts |= whiteouts
        self._opaque |= opaque
        self.layers_read += 1

    def resolve(self, path: str) -> str | None:
        """Follow symlinks in every component, as the kernel would inside the image."""
        parts = [p for p in normalise(path).split("/") if p]
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/".join(done + [part])
            entry = self.entries.get(candidate)
            if entry is not None and entry.kind == "symlink" and entry.target is not None:
                hops += 1
                if hops > _MAX_HOPS:
                    return None
                target = entry.target
                if target.startswith("/"):
                    done = []
                parts = [p for p in target.split("/") if p and p != "."] + parts
                continue
            done.append(part)
        return "/".join(done)

    def lookup(self, path: str) -> Entry | None:
        resolved = self.resolve(path)
        if resolved is None:
            return None
        entry = self.entries.get(resolved)
        if entry is not None and entry.kind == "hardlink" and entry.target:
            return self.entries.get(normalise(entry.target), entry)
        return entry

    def is_file(self, path: str) -> bool:
        entry = self.lookup(path)
        return entry is not None and entry.kind in ("file", "hardlink")

    def text(self, path: str) -> str | None:
        entry = self.lookup(path)
        if entry is None or entry.content is None:
            return None
        return entry.content.decode("utf-8", "replace")

    def first_on_path(self, name: str, dirs: Iterable[str] = PATH_DIRS) -> str | None:
        for directory in dirs:
            if self.is_file(f"{directory}/{name}"):
                return f"{directory}/{name}"
        return None

    def glibc(self) -> str | None:
        for directory in ("lib", "lib64", "usr/lib", "usr/lib64"):
            for multiarch in ("", "x86_64-linux-gnu/", "aarch64-linux-gnu/", "arm-linux-gnueabihf/"):
                path = f"{directory}/{multiarch}libc.so.6"
                resolved = self.resolve(path)
                entry = self.lookup(path)
                if entry is None or resolved is None:
                    continue
                match = re.search(r"libc-(\d+\.\d+)\.so\Z", resolved)
                if match:
                    return f"libc-{match.group(1)}.so"
                if entry.glibc:
                    return f"GNU C Library version {entry.glibc}"
        return None

    def answered(self, need_cuda: bool) -> bool:
        """Enough is known to stop reading lower layers."""
        os_release = self.text("etc/os-release") or self.text("usr/lib/os-release")
        if not os_release or not self.first_on_path("apt-get"):
            return False
        if re.search(r"^ID(_LIKE)?=.*\b(debian|ubuntu)\b", os_release, re.M) and not self.text("etc/debian_version"):
            return False
        if need_cuda and not (self.text("usr/local/cuda/version.json") and self._nvcc()):
            return False
        return True

    def _nvcc(self) -> str | None:
        return self.first_on_path("nvcc", (*PATH_DIRS, "/usr/local/cuda/bin"))

    def scan(self, *, complete: bool, where: str = "registry layers") -> FileScan:
        pythons = tuple(
            f"/{d.strip('/')}/python3.{m}"
            for m in PYTHON_MINORS
            for d in PYTHON_DIRS
            if self.is_file(f"{d}/python3.{m}")
        )
        apt = self.first_on_path("apt-get")
        nvcc = self._nvcc()
        return FileScan(
            where=where,
            os_release=self.text("etc/os-release") or self.text("usr/lib/os-release"),
            debian_version=self.text("etc/debian_version"),
            apt_get=apt if apt else ("" if complete else None),
            glibc=self.glibc(),
            python_paths=pythons,
            nvcc=nvcc if nvcc else ("" if complete else None),
            cuda_version_json=self.text("usr/local/cuda/version.json"),
            cuda_version_txt=self.text("usr/local/cuda/version.txt"),
            cudnn_libs=tuple(sorted(p for p, e in self.entries.items() if e.kind != "dir" and CUDNN_LIB.match(p))),
            complete=complete,
        )


MAX_MEMBERS = 2_000_000  # per layer; a CUDA devel layer has ~30k, a bomb of empty entries millions
MAX_NAME = 4096  # PATH_MAX: a longer member name is not a path an image can hold


def _iter_members(tar: tarfile.TarFile) -> Iterable[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    for count, info in enumerate(tar, start=1):
        if count > MAX_MEMBERS:
            raise tarfile.TarError(f"more than {MAX_MEMBERS} entries in one layer")
        if len(info.name) > MAX_NAME or len(info.linkname) > MAX_NAME:
            raise tarfile.TarError(f"an entry name longer than {MAX_NAME} characters")
        yield info, (tar.extractfile(info) if info.isreg() else None)


def _entry(info: tarfile.TarInfo, fileobj: IO[bytes] | None, base: str) -> Entry:
    if info.issym():
        return Entry("symlink", target=info.linkname)
    if info.islnk():
        return Entry("hardlink", target=info.linkname)
    if info.isdir():
        return Entry("dir")
    if not info.isreg():
        return Entry("other")
    if fileobj is not None and base in _KEEP_CONTENT and info.size <= _MAX_KEPT:
        return Entry("file", content=fileobj.read(_MAX_KEPT))
    if fileobj is not None and _LIBC_NAME.match(base):
        return Entry("file", glibc=_scan_libc(fileobj))
    return Entry("file")


def _scan_libc(fileobj: IO[bytes]) -> str | None:
    seen = 0
    tail = b""
    while seen < _MAX_LIBC_SCAN:
        chunk = fileobj.read(1 << 20)
        if not chunk:
            return None
        seen += len(chunk)
        match = _LIBC_VERSION.search(tail + chunk)
        if match:
            return match.group(1).decode()
        tail = chunk[-256:]
    return None
