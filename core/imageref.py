"""Docker image references: the one grammar, parse, validate and normalise, as the Docker CLI does.

`ubuntu` means `docker.io/library/ubuntu:latest`; the first path component is a registry
only when it looks like a host (has a `.` or a `:`, or is `localhost`). Grammar from the
distribution project's `reference` package, kept strict so a typo fails here with a
clear line rather than as a 404 from a registry later.

Digests follow the OCI image spec and go-digest (what the engine verifies with): an
algorithm the engine knows (sha256, sha384, sha512) and exactly its length of lowercase
hex (64, 96, 128). `a/b@sha512:<64 hex>` or `a/b@md5:...` could never be pulled, so they
are refused here, at the first stage that sees them.

Every caller goes through this module: the job spec (`validate_image_ref`: the value ends
up in a Dockerfile FROM line), compat's inspection (`parse_image_ref`), the builder's
repositories and tags (`split_reference`, `valid_tag`, `registry_host`).
"""

from __future__ import annotations

import ipaddress
import re

from launchbuild.core.records import dataclass
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
    def familiar_name(self) -> str:
        """The short name without tag or digest: `ubuntu`, `localhost:5000/team/app`."""
        name = self.repository
        if self.registry != DEFAULT_REGISTRY:
            name = f"{self.registry}/{name}"
        elif name.startswith("library/") and name.count("/") == 1:
            name = name[len("library/"):]
        return name

    @property
    def familiar(self) -> str:
        """The short spelling people use: `ubuntu:22.04`, `nvidia/cuda:12.1.1-...`."""
        name = self.familiar_name
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


class ImageRefError(BadInput):
    """A reference outside the grammar. `why` is the reason alone, for callers (a job field,
    a push destination) that phrase the line in their own terms; `part` names what broke."""

    def __init__(self, ref: str, why: str, part: str = "name") -> None:
        super().__init__(
            f"invalid image reference {_shown(ref)!r}: {why}; "
            "write it as [registry[:port]/]name[:tag][@sha256:digest], e.g. nvidia/cuda:12.1.1-runtime-ubuntu22.04"
        )
        self.why = why
        self.part = part


def _shown(ref: str) -> str:
    return ref if len(ref) <= 120 else ref[:117] + "..."


def _bad(ref: str, why: str, part: str = "name") -> ImageRefError:
    return ImageRefError(ref, why, part)


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


def looks_like_host(component: str) -> bool:
    """Whether the first path component names a registry (docker's rule)."""
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def registry_host(name: str) -> str | None:
    """The registry host[:port] of a name as written, or None for Docker Hub style names."""
    first, _, rest = name.partition("/")
    return first if rest and looks_like_host(first) else None


def split_name_tag(text: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of a reference as written, unvalidated. The tag is what follows
    the last ':' after the last '/', so a registry port is never taken for a tag."""
    digest = None
    if "@" in text:
        text, _, digest = text.partition("@")
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        return text[:colon], text[colon + 1 :], digest
    return text, None, digest


def valid_tag(tag: str) -> bool:
    return bool(_TAG.match(tag))


@dataclass(frozen=True)
class Reference:
    """A reference as written and checked against the grammar, not normalised."""

    host: str | None  # None: no registry component (Docker Hub)
    path: str  # "nvidia/cuda", "ubuntu"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.host}/{self.path}" if self.host else self.path


def split_reference(ref: object) -> Reference:
    """Check `ref` against the grammar; `ImageRefError` (a BadInput, one line) otherwise.
    Leading and trailing whitespace is ignored; inner whitespace is an error."""
    if not isinstance(ref, str):
        raise BadInput(f"invalid image reference {ref!r}: expected a string such as ubuntu:22.04")
    text = ref.strip()
    if not text:
        raise _bad(ref, "it is empty", "empty")
    if not text.isascii() or any(c.isspace() or not c.isprintable() for c in text):
        raise _bad(ref, "it contains whitespace or non-ASCII characters", "whitespace")

    name, tag, digest = split_name_tag(text)
    if digest is not None:
        if not _DIGEST.match(digest):
            raise _bad(ref, f"digest {digest!r} is not algorithm:hex", "digest")
        algo, _, hexpart = digest.partition(":")
        expected = _HEX_BY_ALGO.get(algo)
        if expected is None:
            raise _bad(ref, f"digest algorithm {algo!r} is not one of sha256, sha384, sha512", "digest")
        if len(hexpart) != expected or not re.fullmatch(r"[0-9a-f]+", hexpart):
            raise _bad(ref, f"a {algo} digest has {expected} lowercase hex digits", "digest")
    if tag is not None and not _TAG.match(tag):
        raise _bad(ref, f"tag {tag!r} may hold only letters, digits, '_', '.', '-' (at most 128)", "tag")

    if not name:
        raise _bad(ref, "the name is missing")
    parts = name.split("/")
    host = None
    if len(parts) > 1 and looks_like_host(parts[0]):
        host = parts.pop(0)
        if not _valid_registry(host):
            raise _bad(ref, f"registry {host!r} is not a valid host[:port]", "registry")
    for part in parts:
        if not _COMPONENT.match(part):
            why = "uppercase letters are not allowed" if part.lower() != part else "it has an empty or invalid path component"
            raise _bad(ref, f"{why} ({part!r})")
    # distribution's NameTotalLengthMax counts the name as written, not the normalised one.
    if len(name) > _MAX_NAME:
        raise _bad(ref, f"the name is longer than {_MAX_NAME} characters")
    return Reference(host=host, path="/".join(parts), tag=tag, digest=digest)


def parse_image_ref(ref: object) -> ImageRef:
    """Parse `ref` into a normalised `ImageRef`; anything malformed raises `BadInput` (one line)."""
    written = split_reference(ref)
    registry = written.host or DEFAULT_REGISTRY
    repository = written.path
    if registry in _DOCKER_HUB_ALIASES:
        registry = DEFAULT_REGISTRY
        if "/" not in repository:
            repository = f"library/{repository}"
    tag = written.tag
    if tag is None and written.digest is None:
        tag = "latest"
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=written.digest)


# The options layer's default python base image is the template `python:{python}-slim`.
PYTHON_PLACEHOLDER = "{python}"


def validate_image_ref(ref: object, where: str, *, allow_python_placeholder: bool = False) -> str:
    """`ref` itself if it is a valid image reference, else one BadInput line naming `where`.

    Stricter than `parse_image_ref` at the edges: the value is written into a Dockerfile
    FROM line and onto docker's command line, so any whitespace (leading or trailing
    included) or '#' is refused (Dockerfile injection)."""
    if not isinstance(ref, str):
        raise BadInput(f"{where}: image reference must be a string, got {type(ref).__name__}",
                       hint="give an image like 'repo/name:tag' or 'repo/name@sha256:<64 hex>'")
    checked = ref.replace(PYTHON_PLACEHOLDER, "3.11") if allow_python_placeholder else ref
    shown = _shown(ref)
    if not checked:
        raise BadInput(f"{where}: image reference is empty", hint="give an image like 'repo/name:tag'")
    if re.search(r"\s|#", checked):
        raise BadInput(f"{where}: image reference {shown!r} contains whitespace or '#'",
                       hint="docker image references cannot contain either; fix the value")
    try:
        split_reference(checked)
    except ImageRefError as exc:
        why = f"malformed digest ({exc.why})" if exc.part == "digest" else exc.why
        raise BadInput(f"{where}: {shown!r} is not a valid image reference: {why}",
                       hint="expected [registry[:port]/]path[:tag][@sha256:<64 hex>], lowercase path") from None
    return ref
