"""Runs in the image, in a later install step: compile the bytecode of the distributions
that step installed, and only theirs.

`compileall` over the whole venv would find every earlier layer's .pyc valid, but it opens
each one to say so: 0.16 s for numpy, pandas and scikit-learn's 3,900 files, ~0.7 s under a
torch stack, on every dependency change (a later layer) and every code change (the job's own
project, installed after the code). Each distribution's RECORD names its files; which
distributions: those a sub-lock pins, or those whose metadata folder is newer than a stamp
file made just before the install (the project's name is the project's to say). Test folders
are left out, as in the first layer.

Usage: python layer_bytecode.py SUB_LOCK | python layer_bytecode.py --newer-than STAMP.
Standard library only (Python 3.8+); never fails the step (bytecode is an optimisation: a
module without it compiles when imported).
"""

import compileall
import os
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


def main(argv):
    compile_files([path for dist in chosen(argv) or () for path in sources(dist)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
