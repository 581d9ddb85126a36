"""Docker image references: parse, validate and normalise, as the Docker CLI does.

`ubuntu` means `docker.io/library/ubuntu:latest`; the first path component is a registry
only when it looks like a host (has a `.` or a `:`, or is `localhost`). Grammar from the
distribution project's `reference` package, kept strict so a typo fails here with a
clear line rather than as a 404 from a registry later.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from launchbuild.errors import BadInput

DEFAULT_REGISTRY = "docker.io"
# docker.io is the name people write; the v2 API itself is served from another host.
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}\Z")
_HEX_BY_ALGO = {"sha256": 64, "sha384": 96, "sha512": 128}
_DOMAIN_LABEL = re.compile(r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\Z")
_MAX_NAME = 255


@dataclass(frozen=True)
class ImageRef:
    """A validated, normalised image reference."""

    registry: str  # host[:port], "docker.io" for Docker Hub
    repository: str  # "library/ubuntu", "nvidia/cuda"
    tag: str | None = None  # None only when a digest is given
    digest: str | None = None  # "sha256:<64 hex>"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What a registry's /manifests/ endpoint takes: the digest wins over the tag."""
        return self.digest or self.tag or "latest"

    @property
    def canonical(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def familiar(self) -> str:
        """The short spelling people use: `ubuntu:22.04`, `nvidia/cuda:12.1.1-...`."""
        name = self.repository
        if self.registry != DEFAULT_REGISTRY:
            name = f"{self.registry}/{name}"
        elif name.startswith("library/") and name.count("/") == 1:
            name = name[len("library/"):]
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name

    @property
    def api_host(self) -> str:
        return _DOCKER_HUB_API if self.registry in _DOCKER_HUB_ALIASES else self.registry

    @property
    def is_loopback(self) -> bool:
        host = _host_without_port(self.registry)
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def scheme(self) -> str:
        # Docker itself treats loopback registries as insecure-allowed: plain http there,
        # TLS everywhere else (with the user's CA bundle, which requests honours).
        return "http" if self.is_loopback else "https"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.api_host}"


def _host_without_port(registry: str) -> str:
    if registry.startswith("["):
        return registry[: registry.index("]") + 1]
    return registry.rsplit(":", 1)[0] if ":" in registry else registry


def _bad(ref: str, why: str) -> BadInput:
    shown = ref if len(ref) <= 120 else ref[:117] + "..."
    return BadInput(
        f"invalid image reference {shown!r}: {why}; "
        "write it as [registry[:port]/]name[:tag][@sha256:digest], e.g. nvidia/cuda:12.1.1-runtime-ubuntu22.04"
    )


def _valid_registry(host: str) -> bool:
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        try:
            ipaddress.IPv6Address(host[1:end])
        except ValueError:
            return False
        rest = host[end + 1 :]
        return rest == "" or (rest.startswith(":") and _valid_port(rest[1:]))
    name, sep, port = host.partition(":")
    if sep and not _valid_port(port):
        return False
    labels = name.split(".")
    return bool(name) and all(_DOMAIN_LABEL.match(label) for label in labels)


def _valid_port(port: str) -> bool:
    return port.isascii() and port.isdigit() and 0 < int(port) < 65536


def parse_image_ref(ref: object) -> ImageRef:
    """Parse `ref` into an `ImageRef`; anything malformed raises `BadInput` (one line)."""
    if not isinstance(ref, str):
        raise BadInput(f"invalid image reference {ref!r}: expected a string such as ubuntu:22.04")
    text = ref.strip()
    if not text:
        raise _bad(ref, "it is empty")
    if not text.isascii() or any(c.isspace() or not c.isprintable() for c in text):
        raise _bad(ref, "it contains whitespace or non-ASCII characters")

    digest = None
    if "@" in text:
        text, _, digest = text.partition("@")
        if not _DIGEST.match(digest):
            raise _bad(ref, f"digest {digest!r} is not algorithm:hex")
        algo, _, hexpart = digest.partition(":")
        expected = _HEX_BY_ALGO.get(algo)
        if expected is None:
            raise _bad(ref, f"digest algorithm {algo!r} is not one of sha256, sha384, sha512")
        if len(hexpart) != expected or not re.fullmatch(r"[0-9a-f]+", hexpart):
            raise _bad(ref, f"a {algo} digest has {expected} lowercase hex digits")

    tag = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.match(tag):
            raise _bad(ref, f"tag {tag!r} may hold only letters, digits, '_', '.', '-' (at most 128)")

    if not text:
        raise _bad(ref, "the name is missing")
    parts = text.split("/")
    registry = DEFAULT_REGISTRY
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry = parts.pop(0)
        if not _valid_registry(registry):
            raise _bad(ref, f"registry {registry!r} is not a valid host[:port]")
    for part in parts:
        if not _COMPONENT.match(part):
            why = "uppercase letters are not allowed" if part.lower() != part else "it has an empty or invalid path component"
            raise _bad(ref, f"{why} ({part!r})")
    repository = "/".join(parts)
    if registry in _DOCKER_HUB_ALIASES:
        registry = DEFAULT_REGISTRY
        if len(parts) == 1:
            repository = f"library/{repository}"
    if len(registry) + 1 + len(repository) > _MAX_NAME:
        raise _bad(ref, f"the name is longer than {_MAX_NAME} characters")
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)
