"""The build context: the code tree after ignore rules, the lock, and reserved files.

Layout of the (temporary, always removed) context directory:

    .launchbuild/Dockerfile   the rendered Dockerfile
    .launchbuild/uv           the host's uv binary, bind-mounted into install steps only
    .launchbuild/ca.pem       classic builder's throwaway stage only
    requirements.lock         the lock, copied alone so code changes keep the install layer
    code/                     the job's code, ignore rules applied, modes normalised

Modes are normalised to 0644/0755 when copying, and the content hash covers exactly what
is copied (path, content, executable bit, symlink target), never mtimes, owners or the
host's umask: two checkouts of one commit hash the same.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from launchbuild.dockerignore import IgnoreRules
from launchbuild.errors import BadInput, InfraUnavailable

RESERVED_DIR = ".launchbuild"
DOCKERFILE_PATH = f"{RESERVED_DIR}/Dockerfile"


@dataclass(frozen=True)
class Entry:
    path: str  # relative posix path
    kind: str  # "f" file, "l" symlink, "d" directory
    mode: int = 0  # normalised: 0o644 / 0o755
    digest: str = ""  # sha256 of the content (files) or the link target (symlinks)
    target: str = ""  # symlink target, relative


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def scan(source_dir: Path, rules: IgnoreRules | None = None) -> tuple[Entry, ...]:
    """Every entry that goes into the image, sorted by path. Refuses symlinks that leave the
    tree and special files (one-line BadInput naming the path)."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise BadInput(f"code directory {source_dir} does not exist", hint="pass an existing directory")
    root = source_dir.resolve()
    rules = rules or IgnoreRules.for_source(source_dir)
    entries: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(source_dir, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(source_dir).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        keep_dirs = []
        for name in sorted(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = here / name
            if full.is_symlink():
                filenames.append(name)  # handled as a link below
                continue
            # A virtualenv under any name (venv/, env/, .conda-env/): host binaries, never code.
            if _is_venv(full):
                continue
            # An excluded dir is still walked when a later "!" rule may re-include inside it.
            if rules.excluded(rel) and not rules.has_negations:
                continue
            keep_dirs.append(name)
            if not rules.excluded(rel):
                entries.append(Entry(rel, "d", 0o755))
        dirnames[:] = keep_dirs
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rules.excluded(rel):
                continue
            full = here / name
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                entries.append(_link_entry(root, full, rel))
            elif stat.S_ISREG(st.st_mode):
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                entries.append(Entry(rel, "f", mode, _file_digest(full)))
            else:
                raise BadInput(
                    f"{full}: not a regular file, directory or symlink",
                    hint="remove it or list it in .dockerignore",
                )
    return tuple(sorted(entries, key=lambda e: e.path))


def _link_entry(root: Path, full: Path, rel: str) -> Entry:
    target = os.readlink(full)
    resolved = (full.parent / target).resolve()
    if resolved != root and root not in resolved.parents:
        raise BadInput(
            f"{full}: symlink points outside the code directory (to {target})",
            hint="replace it with a copy of the file or list it in .dockerignore",
        )
    # Absolute targets would point elsewhere inside the image: store them relative.
    relative = os.path.relpath(resolved, full.parent.resolve()) if os.path.isabs(target) else target
    return Entry(rel, "l", 0o777, hashlib.sha256(relative.encode()).hexdigest(), relative)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_hash(entries: tuple[Entry, ...]) -> str:
    """sha256 over (path, kind, mode, content digest) of every entry: no mtimes, no owners."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.path):
        h.update(f"{e.kind}\0{e.path}\0{e.mode:o}\0{e.digest}\n".encode())
    return h.hexdigest()


def code_hash(source_dir: Path) -> str:
    return content_hash(scan(source_dir))


@contextlib.contextmanager
def build_context(
    source_dir: Path | None,
    *,
    dockerfile: str,
    lock_text: str,
    uv_binary: Path | None = None,
    ca_bundle: Path | None = None,
    entries: tuple[Entry, ...] | None = None,
) -> Iterator[Path]:
    """A temporary context directory, removed on exit whatever happens (Ctrl-C included)."""
    tmp = Path(tempfile.mkdtemp(prefix="launchbuild-ctx-"))
    try:
        try:
            _fill(tmp, source_dir, dockerfile, lock_text, uv_binary, ca_bundle, entries)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InfraUnavailable(
                    f"no space left while writing the build context in {tmp.parent}",
                    hint="free disk space or set TMPDIR to a larger filesystem",
                ) from None
            raise
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fill(
    tmp: Path,
    source_dir: Path | None,
    dockerfile: str,
    lock_text: str,
    uv_binary: Path | None,
    ca_bundle: Path | None,
    entries: tuple[Entry, ...] | None,
) -> None:
    reserved = tmp / RESERVED_DIR
    reserved.mkdir()
    (tmp / DOCKERFILE_PATH).write_text(dockerfile, encoding="utf-8")
    (tmp / "requirements.lock").write_text(lock_text, encoding="utf-8")
    code = tmp / "code"
    code.mkdir(mode=0o755)
    if uv_binary is not None:
        dest = reserved / "uv"
        try:
            os.link(uv_binary, dest)  # same filesystem: no 40 MB copy per build
        except OSError:
            shutil.copy2(uv_binary, dest)
        os.chmod(dest, 0o755)
    if ca_bundle is not None:
        shutil.copyfile(ca_bundle, reserved / "ca.pem")
    if source_dir is None:
        return
    source_dir = Path(source_dir)
    for e in entries if entries is not None else scan(source_dir):
        dest = code / e.path
        if e.kind == "d":
            dest.mkdir(mode=0o755, parents=True, exist_ok=True)
            os.chmod(dest, 0o755)
        elif e.kind == "l":
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(e.target, dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_dir / e.path, dest)
            os.chmod(dest, e.mode)
