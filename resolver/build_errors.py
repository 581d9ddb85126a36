"""LB301 for a build backend that failed: the cause first (its last exception), no host paths,
no credentials. Pure."""

from __future__ import annotations

import re

from launchbuild.core.findings import Evidence, Finding, Location
from launchbuild.resolver.rules import finding as resolver_finding
from launchbuild.resolver.model import Target

_EXCEPTION = re.compile(r"^\s*(?:\[stderr\]\s*)?((?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning)"
                        r"(?::.*)?)$")
_BUILD_FAILED = re.compile(r"Failed to (?:build|download|prepare|fetch)|build backend returned an error|"
                           r"prepare_metadata_for_build|get_requires_for_build|metadata-generation-failed|"
                           r"Getting requirements to build|subprocess-exited-with-error", re.IGNORECASE)
_TEMP_PATH = re.compile(r"(?:file://)?/(?:tmp|var/folders|private/var)/[^\s'\"`)]*")
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def is_build_failure(stderr: str) -> bool:
    return bool(_BUILD_FAILED.search(stderr))


def scrub(text: str) -> str:
    """Drop credentials in URLs and the resolver's temporary paths."""
    text = _USERINFO.sub(r"\1***@", text)
    return _TEMP_PATH.sub("<build dir>", text)


# setuptools/distutils end a failed build with `error: <why>` on the backend's stderr and no
# traceback (minGPT without its package dir: "error: package directory 'mingpt' does not exist").
_DISTUTILS_ERROR = re.compile(r"^error:\s+\S.*$")


def last_exception(stderr: str) -> str | None:
    """The backend's last exception line; else its last `error: ...` line inside the backend's
    own [stderr] block (uv's outer `error: The build backend returned an error` is not a cause)."""
    found = distutils = None
    in_backend_stderr = False
    for line in stderr.splitlines():
        text = line.strip()
        if text.startswith("[stderr]"):
            in_backend_stderr, text = True, text[len("[stderr]"):].strip()
        elif text.startswith("[stdout]") or (line[:1].strip() and not line.startswith(" ")):
            in_backend_stderr = False  # uv's own, unindented lines end the block
        m = _EXCEPTION.match(text)
        if m:
            found = m.group(1).strip()
        elif in_backend_stderr and _DISTUTILS_ERROR.match(text):
            distutils = text
    found = found or distutils
    return scrub(found) if found else None


def build_failure_finding(stderr: str, what: str, target: Target, backend: str,
                          location: Location | None) -> Finding:
    cause = last_exception(stderr)
    named = re.search(r"Failed to (?:build|download|prepare)[^`]*`([^`]+)`", stderr)
    if named and not _TEMP_PATH.search(named.group(1)) and "file://" not in named.group(1):
        what = f"{scrub(named.group(1))} (from {what})"
    failed = next((ln.strip(" ×╰─▶├") for ln in stderr.splitlines() if _BUILD_FAILED.search(ln)), "")
    failed = scrub(re.sub(r"\s+", " ", failed))[:200]
    message = (f"{cause}: building {what} failed for Python {target.python} on {target.platform}"
               if cause else f"building {what} failed for Python {target.python} on {target.platform}")
    if failed:
        message += f" ({failed})"
    return resolver_finding(
        "LB301",
        message=message,
        fix=("fix the build (a missing build dependency goes in [build-system] requires), or pin a release "
             "with a wheel for the target"),
        evidence=(Evidence("backend", backend, "resolver"), Evidence("target python", target.python, "resolver")),
        location=location,
    )
