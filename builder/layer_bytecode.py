"""Runs in the image, in a later install step: compile the bytecode of the distributions
that step installed, and only theirs.

`compileall` over the whole venv would find every earlier layer's .pyc valid, but it opens
each one to say so: 0.16 s for numpy, pandas and scikit-learn's 3,900 files, ~0.7 s under a
torch stack, on every dependency change (a later layer) and every code change (the job's own
project, installed after the code). Each distribution's RECORD names its files; which
distributions: those a sub-lock pins, or those whose metadata folder is newer than a stamp
file made just before the install (the project's name is the project's to say). Test folders
are left out, as in the first layer.

With `--cache DIR` (a BuildKit cache mount of the job's cache scope) a .pyc is taken from
DIR when this Python already compiled the same source at the same path, in any earlier build:
a dependency change reinstalls its whole layer, and compiling its ~650 files again was 0.4 of
the small job's 0.7 s install step (0.07 s restored). Those .pyc are checked-hash (PEP 552):
the interpreter checks each against its source's hash at import, so one is never trusted for
a changed file whatever its timestamp (uv's copies get new mtimes, which would make timestamp
.pyc stale at once). The first layer uses `--all ROOT`: every .py under ROOT but test folders.

Usage: python layer_bytecode.py [--cache DIR] (SUB_LOCK | --newer-than STAMP | --all ROOT).
Standard library only (Python 3.8+); never fails the step (bytecode is an optimisation: a
module without it compiles when imported).
"""

import compileall
import hashlib
import importlib.util
import os
import py_compile
import re
import sys

from importlib import metadata  # Python 3.8+, as every Python the builder installs

TESTS = re.compile(r"[/\\]tests?[/\\]")
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==|@)")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_names(text):
    """The distributions a sub-lock pins (`name==1.0 \\`, `name @ url`); hash lines skipped."""
    return {canonical(m.group(1)) for m in map(_ENTRY.match, text.splitlines()) if m}


def sources(dist):
    for entry in dist.files or ():
        if str(entry).endswith(".py"):
            path = str(entry.locate())
            if not TESTS.search(path):
                yield path


def _installed_at(dist):
    """When the distribution was installed: its metadata folder is made by the install (its
    files may be hard links to older ones), else the INSTALLER file the installer writes."""
    folder = getattr(dist, "_path", None)  # PathDistribution's .dist-info folder (3.8-3.14)
    candidates = [str(folder)] if folder is not None else []
    candidates += [str(e.locate()) for e in dist.files or () if str(e).endswith(".dist-info/INSTALLER")]
    for path in candidates:
        try:
            return os.stat(path).st_mtime_ns
        except OSError:
            continue
    return None


def under(root):
    """Every .py file under `root` but those in test folders, in a stable order."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found += [os.path.join(folder, name) for name in sorted(files) if name.endswith(".py")]
    return [path for path in found if not TESTS.search(path)]


def chosen(argv):
    """The distributions to compile, by the command line; None when it names none."""
    if len(argv) == 3 and argv[1] == "--newer-than":
        try:
            stamp = os.stat(argv[2]).st_mtime_ns
        except OSError:
            return None
        return [d for d in metadata.distributions() if (_installed_at(d) or 0) > stamp]
    if len(argv) != 2:
        return None
    try:
        with open(argv[1], encoding="utf-8") as handle:
            wanted = locked_names(handle.read())
    except OSError:
        return None
    return [d for d in metadata.distributions() if canonical(d.metadata["Name"] or "") in wanted]


# Below this many files a worker pool costs more than it saves (forking the workers, ~10 ms each).
PARALLEL_MIN_FILES = 64


def _compile(path):
    return compileall.compile_file(path, quiet=2)


def _workers():
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this step may use (a cgroup's cpuset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def compile_files(paths, workers=None):
    """Compile `paths`, in a pool of worker processes when there are many (as `compileall -j 0`
    does; ~300 files of a later layer take 0.46 s in one process). A pool that cannot start
    (no /dev/shm in some sandboxes) falls back to one process; compile_file skips a .pyc that is
    already valid, so whatever the pool did is not done twice."""
    workers = _workers() if workers is None else workers
    if workers > 1 and len(paths) >= PARALLEL_MIN_FILES:
        try:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                list(pool.map(_compile, paths, chunksize=max(1, len(paths) // (workers * 4))))
            return
        except Exception:  # noqa: BLE001 - bytecode is an optimisation: fall back, never fail the step
            pass
    for path in paths:
        _compile(path)


def chosen_paths(argv):
    """The source files to compile, by the command line (without `--cache DIR`)."""
    if len(argv) == 3 and argv[1] == "--all":
        return under(argv[2])
    return [path for dist in chosen(argv) or () for path in sources(dist)]


# The cache: one checked-hash .pyc per (interpreter magic, source path, source bytes). The
# path is in the key because a .pyc holds its source's path (tracebacks name it).
_CHECKED_HASH = 0b11  # PEP 552 flags: hash-based, check_source


def cache_entry(cache, path, source):
    digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + b"\0" + os.fsencode(path) + b"\0" + source).hexdigest()
    return os.path.join(cache, digest[:2], digest + ".pyc")


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _fits(pyc, source):
    """A checked-hash .pyc of this interpreter for exactly `source` (a torn or foreign entry is not)."""
    return (pyc is not None and len(pyc) > 16 and pyc[:4] == importlib.util.MAGIC_NUMBER
            and int.from_bytes(pyc[4:8], "little") == _CHECKED_HASH
            and pyc[8:16] == importlib.util.source_hash(source))


def _write(path, data):
    """Write `data` whole or not at all (a temp file renamed: a concurrent build reads either)."""
    folder = os.path.dirname(path)
    temp = "{}.{}.tmp".format(path, os.getpid())
    try:
        os.makedirs(folder, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
        return True
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass
        return False


def restore(path, cache):
    """Put the cached .pyc of `path` in place; False when the cache has none that fits."""
    source = _read(path)
    if source is None:
        return False
    pyc = _read(cache_entry(cache, path, source))
    return _fits(pyc, source) and _write(importlib.util.cache_from_source(path), pyc)


def compile_and_keep(path, cache):
    """Compile `path` to a checked-hash .pyc and keep a copy in the cache."""
    source = _read(path)
    if source is None:
        return
    target = importlib.util.cache_from_source(path)
    try:
        if py_compile.compile(path, cfile=target, quiet=2,
                              invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH) is None:
            return  # a file that does not compile: skipped, as compileall skips it
    except Exception:  # noqa: BLE001 - bytecode is an optimisation: never fail the step
        return
    pyc = _read(target)
    if _fits(pyc, source):
        _write(cache_entry(cache, path, source), pyc)


def _compile_and_keep(args):
    compile_and_keep(*args)


def compile_cached(paths, cache, workers=None):
    """Restore what the cache holds; compile the rest (in a pool when there are many) and keep it."""
    missing = [path for path in paths if not restore(path, cache)]
    workers = _workers() if workers is None else workers
    if workers > 1 and len(missing) >= PARALLEL_MIN_FILES:
        try:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                list(pool.map(_compile_and_keep, [(p, cache) for p in missing],
                              chunksize=max(1, len(missing) // (workers * 4))))
            return
        except Exception:  # noqa: BLE001 - fall back to one process (a pool cannot start without /dev/shm)
            pass
    for path in missing:
        compile_and_keep(path, cache)


def main(argv):
    args = list(argv[1:])
    cache = None
    if len(args) >= 2 and args[0] == "--cache":
        cache, args = args[1], args[2:]
    paths = chosen_paths([argv[0]] + args)
    if cache:
        compile_cached(paths, cache)
    else:
        compile_files(paths)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
