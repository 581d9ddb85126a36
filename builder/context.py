"""The build context: the code tree after ignore rules, the lock, and reserved files.

Layout of the context directory (a temporary one, always removed, from `build_context`;
for BuildKit builds a per-job one under the launchbuild cache dir, `synced_context`,
kept between builds so BuildKit can send it incrementally):

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
import time
from pathlib import Path
from typing import Iterator

from launchbuild.core.records import dataclass
from launchbuild.dockerignore import IgnoreRules
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.limits import walk_tree

RESERVED_DIR = ".launchbuild"
DOCKERFILE_PATH = f"{RESERVED_DIR}/Dockerfile"


@dataclass(frozen=True)
class Entry:
    """One path of the build context as it is copied: its kind, normalised mode and content
    digest; the content hash covers exactly these."""

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
    for dirpath, dirnames, filenames in walk_tree(source_dir, f"code directory {source_dir}"):  # iterative, depth-capped
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
    try:
        resolved = (full.parent / target).resolve(strict=False)
    except (RuntimeError, OSError, RecursionError):  # a loop (RuntimeError on 3.11) or a 1000-link chain
        raise BadInput(f"{full}: symlink loop (to {target})",
                       hint="remove the link or list it in .dockerignore") from None
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
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:  # unreadable (mode 000 for a non-root user, EIO): the operator's to fix
        raise BadInput(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})",
                       hint="fix its permissions or list it in .dockerignore") from None
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
    _mkdir(reserved)
    _write_if_changed(tmp / DOCKERFILE_PATH, dockerfile)
    _write_if_changed(tmp / "requirements.lock", lock_text)
    code = tmp / "code"
    _mkdir(code)
    if uv_binary is not None:
        dest = reserved / "uv"
        try:
            os.link(uv_binary, dest)  # same filesystem: no 40 MB copy per build
        except OSError:
            shutil.copy2(uv_binary, dest)
        os.chmod(dest, 0o755)
    if ca_bundle is not None:
        shutil.copyfile(ca_bundle, reserved / "ca.pem")
    elif f"{RESERVED_DIR}/ca.pem" in dockerfile:
        # The classic Dockerfile copies the CA slot on every host (so it, and the tag, do not
        # depend on the host's CA settings); without a bundle the slot is empty and unused.
        (reserved / "ca.pem").write_bytes(b"")
    if source_dir is None:
        return
    source_dir = Path(source_dir)
    listed = entries if entries is not None else scan(source_dir)
    _make_dirs(code, listed)
    for e in listed:
        dest = code / e.path
        if e.kind == "l":
            os.symlink(e.target, dest)
        elif e.kind == "f":
            shutil.copyfile(source_dir / e.path, dest)
            os.chmod(dest, e.mode)


# --- a per-job context kept between BuildKit builds ---------------------------------------------

CONTEXTS_DIR = "contexts"


def stable_context_dir(cache_root: Path, key: str) -> Path:
    """Where the context of the job named `key` (its image repository) lives between builds."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)[:80]
    return Path(cache_root) / CONTEXTS_DIR / f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@contextlib.contextmanager
def synced_context(
    context_dir: Path,
    source_dir: Path | None,
    *,
    dockerfile: str,
    lock_text: str,
    uv_binary: Path | None = None,
    entries: tuple[Entry, ...] | None = None,
) -> Iterator[Path]:
    """The build context in a directory that survives the build (a cache, not a temp dir).

    BuildKit sends a context incrementally when its path is the same as last time: files
    whose size and mtime did not change are not sent again, so a code-only rebuild no
    longer re-sends the 38 MB uv binary. Unchanged files are therefore left untouched
    (mtime kept), changed ones rewritten, stale ones removed. Its content equals what
    `build_context` writes. An exclusive lock guards it for the whole build (two builds of
    one job take turns); if anything fails or is interrupted, the directory is removed, so a
    half-synced context never serves a later build. Only the BuildKit path uses it: the
    classic builder re-sends every context anyway, and its CA copy must not outlive a build.
    """
    import fcntl

    context_dir = Path(context_dir)
    manifest_path = context_dir.with_name(context_dir.name + ".json")
    try:
        context_dir.parent.mkdir(parents=True, exist_ok=True)
        lock = open(context_dir.with_name(context_dir.name + ".lock"), "a")
    except OSError as exc:
        raise _context_write_error(exc, context_dir.parent) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _prune_unused(context_dir.parent, keep=context_dir.name)
        try:
            try:
                _sync(context_dir, manifest_path, source_dir, dockerfile, lock_text, uv_binary, entries)
            except OSError as exc:
                raise _context_write_error(exc, context_dir.parent) from None
            yield context_dir
        except BaseException:
            shutil.rmtree(context_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                manifest_path.unlink()
            raise
    finally:
        lock.close()  # releases the flock


UNUSED_DAYS = 14


def _prune_unused(contexts: Path, *, keep: str) -> None:
    """Contexts of jobs not built for UNUSED_DAYS go, so the cache does not grow without end
    (each holds a copy of the job's code; uv is a hard link where the filesystem allows)."""
    import fcntl

    cutoff = time.time() - UNUSED_DAYS * 86400
    for manifest in contexts.glob("*.json"):
        name = manifest.name[: -len(".json")]
        try:
            if name == keep or manifest.stat().st_mtime > cutoff:
                continue
            with open(contexts / f"{name}.lock", "a") as other:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # in use: leave it
                shutil.rmtree(contexts / name, ignore_errors=True)
                manifest.unlink()
        except OSError:
            continue


def _context_write_error(exc: OSError, where: Path) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InfraUnavailable(
            f"no space left while writing the build context in {where}",
            hint="free disk space or set LAUNCHBUILD_CACHE_DIR to a larger filesystem",
        )
    return InfraUnavailable(f"cannot write the build context in {where}: {exc.strerror}",
                            hint="check the permissions of the launchbuild cache directory or set LAUNCHBUILD_CACHE_DIR")


def _stamp(path: Path) -> list[int]:
    st = path.lstat()
    return [st.st_size, st.st_mtime_ns, st.st_mode]


# Every file and folder launchbuild writes into a context gets the mode COPY must see on any
# host: 0644 / 0755, never what the host's umask made of it (0664 and 0775 under the usual
# umask 002 of a desktop, 0600 under 077). The content tag does not hold the host's umask, so
# the image must not either: same tag, same layers.
def _mkdir(path: Path) -> None:
    path.mkdir(exist_ok=True)
    os.chmod(path, 0o755)


def _make_dirs(code: Path, entries) -> None:
    """Every folder the code copy needs, shallowest first, 0755: the listed ones and the parents
    no entry lists (a file a `!` rule re-includes under an excluded folder)."""
    needed = {p for e in entries for p in _parents(e.path)} | {e.path for e in entries if e.kind == "d"}
    for rel in sorted(needed, key=lambda r: (r.count("/"), r)):
        _mkdir(code / rel)


def _write_if_changed(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            os.chmod(path, 0o644)  # an older run's (or another umask's) mode is not kept
            return
    except OSError:
        pass
    path.write_bytes(data)
    os.chmod(path, 0o644)


def _valid_stamp(value: object) -> bool:
    """[kind, mode, digest, [size, mtime_ns]] as `_sync` writes it."""
    return (isinstance(value, list) and len(value) == 4 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], str) and isinstance(value[3], list))


def _sync(
    ctx: Path,
    manifest_path: Path,
    source_dir: Path | None,
    dockerfile: str,
    lock_text: str,
    uv_binary: Path | None,
    entries: tuple[Entry, ...] | None,
) -> None:
    from launchbuild.core.cache import read_json, write_json

    # The kept context's manifest: entries of any other shape count as changed (rewritten).
    saved = read_json(manifest_path)
    previous = {k: v for k, v in saved.items() if _valid_stamp(v)} if isinstance(saved, dict) else {}
    with contextlib.suppress(OSError):
        manifest_path.unlink()  # until the sync finishes, the directory matches no manifest
    ctx.mkdir(parents=True, exist_ok=True)
    reserved = ctx / RESERVED_DIR
    _mkdir(reserved)
    for extra in reserved.iterdir():
        if extra.name not in ("Dockerfile", "uv", "layers"):  # layers/: builder/layers.py keeps it in sync
            _remove(extra)
    _write_if_changed(ctx / DOCKERFILE_PATH, dockerfile)
    _write_if_changed(ctx / "requirements.lock", lock_text)
    uv_dest = reserved / "uv"
    if uv_binary is None:
        _remove(uv_dest)
    else:
        src = Path(uv_binary).stat()
        try:
            dst = uv_dest.lstat()
            same = (dst.st_size == src.st_size and dst.st_mtime_ns == src.st_mtime_ns
                    and stat.S_ISREG(dst.st_mode) and dst.st_mode & 0o777 == 0o755)
        except OSError:
            same = False
        if not same:
            _remove(uv_dest)
            try:
                os.link(uv_binary, uv_dest)  # same filesystem: no 40 MB copy
            except OSError:
                shutil.copy2(uv_binary, uv_dest)
            os.chmod(uv_dest, 0o755)
    for extra in ctx.iterdir():
        if extra.name not in (RESERVED_DIR, "requirements.lock", "code"):
            _remove(extra)

    code = ctx / "code"
    wanted = {e.path: e for e in (() if source_dir is None else
                                   entries if entries is not None else scan(Path(source_dir)))}
    # A re-included file under an excluded directory ("!" rules) keeps that directory.
    parents = {p for path in wanted for p in _parents(path)}
    if code.is_symlink() or (code.exists() and not code.is_dir()):
        _remove(code)
    _mkdir(code)
    # Stale paths first (deepest first), so a file that became a directory has room.
    for dirpath, dirnames, filenames in os.walk(code, topdown=False):
        here = Path(dirpath)
        for name in filenames + dirnames:
            full = here / name
            rel = full.relative_to(code).as_posix()
            is_link, is_dir = full.is_symlink(), full.is_dir()
            kind = "l" if is_link else "d" if is_dir else "f"
            e = wanted.get(rel)
            if kind == "d" and rel in parents:
                continue
            if e is None or e.kind != kind:
                _remove(full)
    stamps: dict[str, list] = {}
    _make_dirs(code, tuple(wanted.values()))
    for e in sorted(wanted.values(), key=lambda e: e.path):
        dest = code / e.path
        if e.kind == "d":
            continue
        before = previous.get(e.path)
        if before is not None and before[:3] == [e.kind, e.mode, e.digest]:
            with contextlib.suppress(OSError):
                if before[3] == _stamp(dest):
                    stamps[e.path] = before
                    continue  # untouched since we wrote it: BuildKit will not send it again
        _remove(dest)
        if e.kind == "l":
            os.symlink(e.target, dest)
        else:
            shutil.copyfile(Path(source_dir) / e.path, dest)  # type: ignore[arg-type]
            os.chmod(dest, e.mode)
        stamps[e.path] = [e.kind, e.mode, e.digest, _stamp(dest)]
    write_json(manifest_path, stamps, best_effort=False)


def _remove(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _parents(rel: str) -> Iterator[str]:
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        yield "/".join(parts[:i])
