"""The build context as a reproducible `.tar.gz`, for engines that ship it elsewhere (the
cluster engine's context stores)."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

from launchbuild.errors import BadInput


def build_context_archive(context_dir: Path | str, *, dockerfile: str = "Dockerfile") -> bytes:
    """The context as a reproducible .tar.gz: sorted entries, zero mtimes and owners, modes
    kept. The same tree gives the same bytes, so re-uploading is idempotent.

    The context directory is the one the builder prepared (ignore rules already applied);
    symlinks are stored as links, never followed out of the tree."""
    root = Path(context_dir)
    if not root.is_dir():
        raise BadInput(f"build context {root} is not a directory", hint="pass the prepared context directory")
    if not (root / dockerfile).is_file():
        raise BadInput(f"build context {root} has no {dockerfile}", hint="render the Dockerfile into the context first")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            entries: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                base = Path(dirpath)
                entries.extend(base / d for d in dirnames)
                entries.extend(base / f for f in sorted(filenames))
            for path in sorted(entries, key=lambda p: p.relative_to(root).as_posix()):
                rel = path.relative_to(root).as_posix()
                st = path.lstat()
                info = tarfile.TarInfo(rel)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = stat.S_IMODE(st.st_mode)
                if stat.S_ISLNK(st.st_mode):
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(path)
                    tar.addfile(info)
                elif stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    info.size = st.st_size
                    with open(path, "rb") as fh:
                        tar.addfile(info, fh)
                # sockets, fifos and devices have no place in a build context: skipped.
    return buf.getvalue()


def write_context_archive(context_dir: Path | str, dest: Path | str, *, dockerfile: str = "Dockerfile") -> Path:
    data = build_context_archive(context_dir, dockerfile=dockerfile)
    path = Path(dest)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write the context archive to {path}: {exc.strerror}", hint="choose a writable path") from None
    return path
