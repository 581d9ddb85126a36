"""Runs in the image, in a later install layer's step: compile the bytecode of the
distributions that layer installed, and only theirs.

`compileall` over the whole venv would find every earlier layer's .pyc valid, but it opens
each one to say so: 0.16 s for numpy, pandas and scikit-learn's 3,900 files, more for a torch
stack, on every dependency change. The sub-lock names what this step installed; each
distribution's RECORD names its files. Test folders are left out, as in the first layer.

Usage: python layer_bytecode.py SUB_LOCK. Standard library only (Python 3.8+); never fails
the step (bytecode is an optimisation: a module without it compiles when imported).
"""

import compileall
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


def main(argv):
    if len(argv) != 2:
        return 0
    try:
        with open(argv[1], encoding="utf-8") as handle:
            wanted = locked_names(handle.read())
    except OSError:
        return 0
    for dist in metadata.distributions():
        if canonical(dist.metadata["Name"] or "") in wanted:
            for path in sources(dist):
                compileall.compile_file(path, quiet=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
