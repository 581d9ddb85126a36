"""Content-addressed tags and image references.

The tag hashes what determines the image: the Dockerfile text, the lock, the code tree,
the base image's digest and the build options. Nothing about the machine that builds it
(user name, paths, time) goes in, so every builder of one job agrees on one tag.
"""

from __future__ import annotations

import hashlib
import json

from launchbuild.core.imageref import ImageRefError, registry_host, split_name_tag, split_reference, valid_tag
from launchbuild.errors import BadInput

TAG_PREFIX = "lb-"


def content_tag(
    *,
    dockerfile: str,
    lock_text: str,
    code_hash: str,
    base_digest: str,
    options: dict[str, str] | None = None,
) -> str:
    """`lb-` + 20 hex digits of sha256 over the inputs, each length-prefixed so no two
    different input sets can concatenate to the same bytes."""
    h = hashlib.sha256()
    parts = (
        ("dockerfile", dockerfile),
        ("lock", lock_text),
        ("code", code_hash),
        ("base", base_digest),
        ("options", json.dumps(options or {}, sort_keys=True)),
    )
    for name, value in parts:
        data = value.encode()
        h.update(f"{name}:{len(data)}:".encode())
        h.update(data)
    return TAG_PREFIX + h.hexdigest()[:20]


def split_ref(ref: str) -> tuple[str, str | None]:
    """("host:port/repo", "tag") from "host:port/repo:tag". The tag is what follows the last
    ':' after the last '/', so a registry port is never taken for a tag. A digest
    ("@sha256:...") is returned as the second value with its '@'."""
    if "@" in ref:
        repo, digest = ref.split("@", 1)
        return repo, "@" + digest
    name, tag, _ = split_name_tag(ref)
    return name, tag


def tag_of(ref: str) -> str:
    """The tag of a tagged reference ("host:port/repo:tag" -> "tag"); BadInput when it has none."""
    _, tag = split_ref(ref)
    if tag is None or tag.startswith("@"):
        raise BadInput(f"image reference {ref!r} has no tag", hint="give it as repo:tag")
    return tag


def validate_repository(repo: str) -> str:
    """A repository without tag: `[host[:port]/]path`. One-line BadInput otherwise."""
    if not repo or repo != repo.strip():
        raise BadInput(f"image repository {repo!r} is empty or has spaces", hint="pass e.g. 127.0.0.1:5055/team/job")
    try:
        written = split_reference(repo)
    except ImageRefError as exc:
        raise BadInput(f"image repository {repo!r} is not valid: {exc.why}",
                       hint="use [host[:port]/]path with lowercase letters, digits and . _ - separators") from None
    if written.tag is not None or written.digest is not None:
        raise BadInput(
            f"image repository {repo!r} already has a tag or digest",
            hint="pass the repository only; launchbuild chooses the content tag",
        )
    return written.name


def image_ref(repo: str, tag: str) -> str:
    name = validate_repository(repo)
    if not valid_tag(tag):
        raise BadInput(f"image tag {tag!r} is not valid", hint="use letters, digits, '.', '_' and '-'")
    return f"{name}:{tag}"


def registry_of(repo: str) -> str | None:
    """The registry host[:port] of a repository, or None for Docker Hub style names."""
    return registry_host(repo)
