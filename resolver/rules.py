"""Rules the resolver reports (its lock, its detectors of the job's inputs): metadata only, no check
here (the resolver is before compat in the pipeline, so compat's registry lists them from here); the resolver builds their findings with this module's `finding(ID, ...)`.

Their fixes are advice for a person, each rule says why; tests/unit/test_rule_fixes.py holds
them to that list."""

from __future__ import annotations

from collections.abc import Iterable

from launchbuild.core.findings import Evidence, Finding, Location, Severity
from launchbuild.core.fixes import Fix
from launchbuild.core.rule import PYTHON_PACKAGES, Rule

# Advice only (text fixes): the conflict, the failed build or the markers are the user's to fix: no value follows from the resolver's error.
LB301 = Rule(
    "LB301",
    Severity.ERROR,
    "Requirements do not resolve",
    "The resolver could not find versions that satisfy every requirement for the target "
    "Python and platform. Reported by the resolver; nothing can be built.",
    "Relax or correct the conflicting pins the message names.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)
# Advice only (text fixes): where an unpublished package should come from (an index, a vendored wheel, a VCS URL) is the user's call.
LB305 = Rule(
    "LB305",
    Severity.ERROR,
    "Requirement pinned to a local or unavailable source",
    "A requirement points at a local path, a file:// URL, an editable checkout or an index "
    "the build cannot reach, so the image build cannot install it. Reported by the resolver.",
    "Publish the package to a reachable index, vendor it into the source, or drop it.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)
# Advice only (text fixes): which input form the unread file is meant for is the user's to say.
LB307 = Rule(
    "LB307",
    Severity.ERROR,
    "Dependency file not understood",
    "The job has a file that looks like a dependency file (requirements-gpu.txt, conda-lock.yml, "
    "poetry.lock without its pyproject, ...) but no input form reads it and no other input won, so the "
    "image would silently have an empty environment.",
    "Pass the file explicitly (--requirements FILE), or declare the dependencies in a form launchbuild reads.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)
# Advice only (text fixes): information: the job's dependencies are the user's to declare.
LB308 = Rule(
    "LB308",
    Severity.INFO,
    "No dependency file: the image has no third-party packages",
    "No input form found any dependency (no requirements, pyproject, setup, Pipfile, conda or lock file, or "
    "one that declares none): the image gets the interpreter and the standard library only.",
    "Add requirements.txt, pyproject.toml or environment.yml if the job imports third-party packages.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)
# Advice only (text fixes): the PyPI name of the conda package is exactly what is not known.
LB309 = Rule(
    "LB309",
    Severity.WARNING,
    "Conda package without a known PyPI name",
    "An environment.yml / conda.yaml dependency is not in the sourced conda-to-PyPI table "
    "(data/conda_pypi.json), so it is not installed: the image is built with pip/uv from PyPI.",
    "Add the package's PyPI name to the file's pip section, or remove the conda line.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)
# Advice only (text fixes): stale hashes and a wrong pin read the same: only the user knows which to change.
LB310 = Rule(
    "LB310",
    Severity.ERROR,
    "Requirement hash does not match",
    "A requirement line carries --hash values, and none of them is a hash of the release the lock "
    "pins: the user's hashes are enforced, so the install would refuse it.",
    "Update the --hash values, or pin the version they were computed for.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)
# Advice only (text fixes): the project's packaging is the user's code.
LB311 = Rule(
    "LB311",
    Severity.WARNING,
    "The job's own project cannot be built",
    "The job's pyproject declares a build system, but the project does not build into a wheel (a flat "
    "layout with several top-level packages, a missing package folder): it is not installed into the image; "
    "its dependencies are, and its code runs from the workdir.",
    "Fix the project's packaging, or remove [build-system] if the job is not meant to be installed.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)

# Typed fix: the highest supported Python the job's own range allows (SetOption python).
LB312 = Rule(
    "LB312",
    Severity.ERROR,
    "Target Python outside the job's requires-python",
    "The job declares the Pythons it runs on (pyproject.toml requires-python, Poetry's `python` "
    "dependency, setup.cfg python_requires, a lock file's own requires-python) or pins one "
    "(environment.yml's python=, Pipfile's and Pipfile.lock's [requires] python_version), and the "
    "target Python, chosen by a source that takes precedence (--python, the job's runtime, "
    ".python-version, runtime.txt), is not one of them: installing the project refuses that Python, "
    "and code written for the declared Pythons may not run on it. Reported by the resolver.",
    "Target a Python the job declares, or widen (or change) what it declares.",
    ("packages", "resolver"),
    PYTHON_PACKAGES,
    produced_by="resolver",
)

REPORTED_BY_RESOLVER: dict[str, Rule] = {r.id: r for r in (LB301, LB305, LB307, LB308, LB309, LB310, LB311, LB312)}


def finding(
    rule_id: str,
    message: str,
    fix: str | Fix | tuple[Fix, ...],
    evidence: Iterable[Evidence] = (),
    *,
    severity: Severity | None = None,
    location: Location | None = None,
) -> Finding:
    """A finding of one of the resolver's rules: its title and default severity are the
    registry's. The resolver imports only this module (metadata), never the compat checks."""
    return REPORTED_BY_RESOLVER[rule_id].finding(message, fix, evidence, severity=severity, location=location)
