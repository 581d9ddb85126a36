"""Image references checked against the docker reference grammar.

An image reference ends up in a Dockerfile `FROM` line and on docker's command line, so a
value with whitespace, '#', or a malformed digest is refused before anything else runs
(Dockerfile injection). Grammar: github.com/distribution/reference, `reference.go`.
"""

from __future__ import annotations

import re

from launchbuild.errors import BadInput

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?",
    re.ASCII,
)
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_NAME_MAX = 255

# The options layer's default python base image is the template `python:{python}-slim`.
PYTHON_PLACEHOLDER = "{python}"


def validate_image_ref(ref: object, where: str, *, allow_python_placeholder: bool = False) -> str:
    """`ref` if it is a valid docker image reference, else BadInput naming `where`."""
    if not isinstance(ref, str):
        raise BadInput(f"{where}: image reference must be a string, got {type(ref).__name__}",
                       hint="give an image like 'repo/name:tag' or 'repo/name@sha256:<64 hex>'")
    checked = ref
    if allow_python_placeholder:
        checked = checked.replace(PYTHON_PLACEHOLDER, "3.11")
    shown = ref if len(ref) <= 120 else ref[:117] + "..."
    if not checked:
        raise BadInput(f"{where}: image reference is empty", hint="give an image like 'repo/name:tag'")
    if re.search(r"\s|#", checked):
        raise BadInput(f"{where}: image reference {shown!r} contains whitespace or '#'",
                       hint="docker image references cannot contain either; fix the value")
    match = _REFERENCE.fullmatch(checked)
    if match is None:
        raise BadInput(f"{where}: {shown!r} is not a valid image reference",
                       hint="expected [registry[:port]/]path[:tag][@sha256:<64 hex>], lowercase path")
    first, slash, _rest = match.group("name").partition("/")
    # Like docker: the first component is a registry only if it looks like a host
    # (has '.' or ':', or is localhost); otherwise it is a path component, lowercase only.
    if slash and not ("." in first or ":" in first or first == "localhost" or first.startswith("[")) \
            and not re.fullmatch(_PATH_COMPONENT, first):
        raise BadInput(f"{where}: {shown!r} is not a valid image reference",
                       hint="repository paths are lowercase; a registry needs a '.' or ':port'")
    digest = match.group("digest")
    if digest is not None and digest.startswith("sha256:") and not _SHA256.fullmatch(digest):
        raise BadInput(f"{where}: image reference {shown!r} has a malformed digest",
                       hint="a sha256 digest is 'sha256:' followed by 64 lowercase hex characters")
    if len(match.group("name")) > _NAME_MAX:
        raise BadInput(f"{where}: image name is longer than {_NAME_MAX} characters",
                       hint="shorten the repository path")
    return ref
