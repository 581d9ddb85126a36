"""How many bytes a push sent: the pushed manifest's blobs that the registry did not have.

`docker push` already skips blobs the registry holds; this measures it from the registry's
side, over the distribution v2 API: before the push, the blobs the repository's existing
manifests name, each confirmed with a HEAD request; after it, the pushed manifest's config
and layers. What is in the manifest and was not there before went out. A blob that docker
mounted from another repository of the same registry is counted as sent (an upper bound).

The registry is asked without credentials: a registry that wants a login (or cannot be
reached) gives "unknown" (None), never a failed push. Standard library only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from launchbuild.builder.tags import split_ref
from launchbuild.core.records import dataclass

TIMEOUT_S = 10.0
MAX_MANIFEST = 4 * 1024 * 1024
MAX_TAGS = 64  # existing tags looked at before a push (a bound on the requests, not a guess)
MANIFEST_TYPES = ", ".join((
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
))


@dataclass(frozen=True)
class Blob:
    """One blob a manifest names (its config or a layer): digest and compressed size."""

    digest: str
    size: int


@dataclass(frozen=True)
class PushStats:
    """What a push sent, measured on the registry: the blobs it did not have, against the whole
    image; `summary_fields` puts them on the build summary."""

    bytes_sent: int  # compressed bytes of the blobs the registry did not have
    blobs_sent: int
    blobs_total: int  # config + layers of the pushed manifest
    image_bytes: int  # compressed bytes of all of them

    def describe(self) -> str:
        return (f"{self.bytes_sent / 1e6:.1f} MB of {self.image_bytes / 1e6:.1f} MB sent "
                f"({self.blobs_sent} of {self.blobs_total} blobs were missing)")


def registry_parts(ref: str) -> tuple[str, str, str] | None:
    """(base URL, repository path, tag) for `host[:port]/path:tag`; None without a registry host."""
    repo, tag = split_ref(ref)
    if tag is None or tag.startswith("@") or "/" not in repo:
        return None
    host, path = repo.split("/", 1)
    if not ("." in host or ":" in host or host == "localhost"):
        return None  # a Docker Hub name: not asked (it needs a token even to read)
    scheme = "http" if host.split(":")[0] in ("127.0.0.1", "localhost") or host.startswith("[::1]") else "https"
    return f"{scheme}://{host}", path, tag


def _open(method: str, url: str, accept: str | None = None):
    request = urllib.request.Request(url, method=method, headers={"Accept": accept} if accept else {})
    handler = urllib.request.ProxyHandler({})  # the registry is asked directly, like the engine does
    return urllib.request.build_opener(handler).open(request, timeout=TIMEOUT_S)


def _get_json(url: str, accept: str | None = None) -> dict | None:
    try:
        with _open("GET", url, accept) as resp:
            body = resp.read(MAX_MANIFEST + 1)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if len(body) > MAX_MANIFEST:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def blobs_of(manifest: dict | None) -> tuple[Blob, ...] | None:
    """Pure: the config and layers a single-image manifest names; None for anything else."""
    if not isinstance(manifest, dict):
        return None
    parts = [manifest.get("config"), *(manifest.get("layers") or [])]
    out = []
    for part in parts:
        if not isinstance(part, dict):
            return None
        digest, size = part.get("digest"), part.get("size")
        if not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return None
        out.append(Blob(digest, size))
    return tuple(out)


def manifest_blobs(ref: str) -> tuple[Blob, ...] | None:
    parts = registry_parts(ref)
    if parts is None:
        return None
    base, path, tag = parts
    return blobs_of(_get_json(f"{base}/v2/{path}/manifests/{tag}", MANIFEST_TYPES))


def blob_present(base: str, path: str, digest: str) -> bool:
    try:
        with _open("HEAD", f"{base}/v2/{path}/blobs/{digest}") as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def blobs_before_push(ref: str) -> frozenset[str] | None:
    """The blobs the repository already holds, as its existing tags name them (HEAD-checked).
    None when the registry cannot say (a login needed, not reachable)."""
    parts = registry_parts(ref)
    if parts is None:
        return None
    base, path, _ = parts
    try:
        with _open("GET", f"{base}/v2/{path}/tags/list") as resp:
            listing = json.loads(resp.read(MAX_MANIFEST))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # a repository that does not exist yet holds nothing
            return frozenset()
        return None
    except (urllib.error.URLError, OSError, ValueError, RecursionError):
        return None
    tags = listing.get("tags") if isinstance(listing, dict) else None
    if not isinstance(tags, list):
        return frozenset()
    named: set[str] = set()
    for tag in sorted(t for t in tags if isinstance(t, str))[-MAX_TAGS:]:
        for blob in manifest_blobs(f"{split_ref(ref)[0]}:{tag}") or ():
            named.add(blob.digest)
    return frozenset(d for d in named if blob_present(base, path, d))


def stats(pushed: tuple[Blob, ...], had: frozenset[str]) -> PushStats:
    """Pure: what of the pushed manifest the registry did not have."""
    unique = {b.digest: b for b in pushed}
    missing = [b for d, b in unique.items() if d not in had]
    return PushStats(bytes_sent=sum(b.size for b in missing), blobs_sent=len(missing),
                     blobs_total=len(unique), image_bytes=sum(b.size for b in unique.values()))


def pull_bytes(new: tuple[Blob, ...], held: tuple[Blob, ...]) -> int:
    """Pure: compressed bytes a node holding the image `held` must pull for `new`."""
    have = {b.digest for b in held}
    return sum(b.size for b in {b.digest: b for b in new}.values() if b.digest not in have)


def measured_push(push, ref: str) -> tuple[str, PushStats | None]:
    """Run `push()` (returns the digest) between the two looks at the registry."""
    had = blobs_before_push(ref)
    digest = push()
    pushed = manifest_blobs(ref) if had is not None else None
    return digest, (stats(pushed, had) if pushed is not None and had is not None else None)


def summary_fields(push: PushStats | None) -> dict:
    """BuildSummary's push fields."""
    if push is None:
        return {}
    return {"push_bytes_sent": push.bytes_sent, "push_image_bytes": push.image_bytes,
            "push_blobs": (push.blobs_sent, push.blobs_total)}
