"""Facts from a registry's v2 API over HTTP: no daemon, no pull.

Manifest (index -> the platform's manifest) -> config blob -> layers streamed from the top
one down until the file facts are answered. Every manifest and every blob read to its end
is checked against its digest. Credentials come from the Docker config file and are only
ever placed in request headers: never in a URL, a log line or an error message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tarfile
import zlib
from pathlib import Path
from typing import Any, Callable


class _RequestsOnFirstUse:
    """`requests` imported when the registry is first asked, not when facts are read from
    the local engine or the cache: importing it costs ~0.15 s, a third of a warm check."""

    def __getattr__(self, name: str) -> Any:
        import requests as module

        globals()["requests"] = module
        return getattr(module, name)


requests: Any = _RequestsOnFirstUse()

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.imageref import DEFAULT_REGISTRY, ImageRef
from launchbuild.compat.facts.providers.base import (
    ImageNotFound,
    ProviderUnavailable,
    RegistryAuthError,
    RegistryIntegrityError,
)
from launchbuild.compat.facts.providers.filefacts import facts_from_config, facts_from_files, merge_facts
from launchbuild.compat.facts.providers.layers import OverlayView
from launchbuild.core.labels import LOCK_SHA_LABEL, layers_after_build
from launchbuild.core.platform import Platform
from launchbuild.compat.facts.providers.registry_shapes import (
    check_descriptor, check_layers, config_history, image_config_parts, index_entries, text_or_none,
)
from launchbuild.limits import MAX_BLOB_BYTES, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, clip
from launchbuild.netbounds import Deadline, blob_seconds, deadline_session

PROVIDER = "registry"
TIMEOUT = (5.0, 30.0)  # connect, read
MAX_MANIFEST = MAX_MANIFEST_BYTES
MAX_CONFIG = MAX_CONFIG_BYTES

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
_LISTS = {OCI_INDEX, DOCKER_LIST}

_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


# --- credentials ---------------------------------------------------------------------------


def _docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _auth_key(key: str) -> str:
    host = re.sub(r"^[a-z]+://", "", key.strip()).split("/", 1)[0].lower()
    return "docker.io" if host in {"index.docker.io", "registry-1.docker.io", "docker.io"} else host


def load_credentials(registry: str, config_path: Path | None = None) -> tuple[str, str] | None:
    """(user, secret) for `registry` from the Docker config's `auths`, or None.

    Credential helpers (credsStore/credHelpers) are not run: they are programs of their
    own and an `auths` entry is what `docker login` writes without one.
    """
    path = config_path or _docker_config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return None
    want = _auth_key(registry)
    for key, entry in auths.items():
        if not isinstance(entry, dict) or _auth_key(str(key)) != want:
            continue
        if isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                user, sep, secret = base64.b64decode(entry["auth"], validate=False).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            if sep:
                return user, secret
        if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            return entry["username"], entry["password"]
    return None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="..."` -> ("bearer", {...}). Pure."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _CHALLENGE_PARAM.finditer(rest)}
    return scheme.lower(), params


# --- HTTP ------------------------------------------------------------------------------------


class RegistryClient:
    """A v2 API client for one repository. Every call has a timeout."""

    def __init__(
        self,
        ref: ImageRef,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        session: requests.Session | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.ref = ref
        self.timeout = timeout
        # One overall deadline per request and its body (a per-read timeout never fires
        # against a registry that sends one byte a second): netbounds.Deadline.
        self.deadline = Deadline()
        self.session = session or deadline_session(self.deadline)
        self._creds = load_credentials(ref.registry, config_path)
        self._auth_header: str | None = None
        self._where = ref.registry if ref.registry != DEFAULT_REGISTRY else "Docker Hub"

    # Errors name the image and the registry, never a URL with query (tokens) or creds.
    def _unreachable(self, exc: Exception) -> ProviderUnavailable:
        if self.deadline.expired:
            return ProviderUnavailable(
                f"registry {self.ref.registry} did not answer for {self.ref.familiar} within the deadline of "
                f"{self.deadline.seconds:g}s; check the registry or the network, or use --offline"
            )
        kind = "timed out" if isinstance(exc, requests.Timeout) else "is unreachable"
        return ProviderUnavailable(
            f"registry {self.ref.registry} {kind} while reading {self.ref.familiar} ({type(exc).__name__}); "
            "check the network or use --offline"
        )

    def _login_hint(self) -> str:
        return f"run docker login {self.ref.registry}" if self.ref.registry != DEFAULT_REGISTRY else "run docker login"

    def _get(self, path: str, *, accept: str | None = None, budget: float | None = None) -> requests.Response:
        url = f"{self.ref.base_url}/v2/{self.ref.repository}/{path}"
        headers = {"Accept": accept} if accept else {}
        self.deadline.arm(budget)  # this request and its body, token round trip included
        for attempt in range(2):
            if self._auth_header:
                headers["Authorization"] = self._auth_header
            try:
                # Bodies are always streamed so a cut-short body surfaces in _read_capped as such.
                response = self.session.get(url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=True)
            except (requests.RequestException, OSError) as exc:
                raise self._unreachable(exc) from None
            if response.status_code != 401:
                return response
            response.close()
            if attempt == 1 or not self._authenticate(response.headers.get("WWW-Authenticate", "")):
                break
        if self._creds:
            raise RegistryAuthError(f"registry {self.ref.registry} refused credentials for {self.ref.familiar}: {self._login_hint()}")
        raise RegistryAuthError(f"registry {self.ref.registry} requires credentials for {self.ref.familiar}: {self._login_hint()}")

    def _authenticate(self, challenge: str) -> bool:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if not self._creds or self._auth_header:
                return False
            token = base64.b64encode(f"{self._creds[0]}:{self._creds[1]}".encode()).decode()
            self._auth_header = f"Basic {token}"
            return True
        if scheme != "bearer" or not params.get("realm") or self._auth_header:
            return False
        realm = params["realm"]
        if not realm.startswith(("https://", "http://")):
            return False
        query = {"scope": params.get("scope") or f"repository:{self.ref.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        try:
            response = self.session.get(realm, params=query, auth=self._creds, timeout=self.timeout, stream=True)
            body = json.loads(self._read_capped(response, 1024 * 1024, "token answer") or b"null")
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(exc) from None
        except ValueError:
            body = None
        if response.status_code in (401, 403):
            return False
        if response.status_code != 200:
            raise ProviderUnavailable(
                f"registry {self.ref.registry}: the token service answered {response.status_code} for {self.ref.familiar}"
            )
        issued = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not isinstance(issued, str) or not issued:
            raise ProviderUnavailable(f"registry {self.ref.registry}: the token service sent no token for {self.ref.familiar}")
        self._auth_header = f"Bearer {issued}"
        return True

    def _check_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status == 200:
            return
        response.close()
        if status == 404 and what == "manifest":
            raise ImageNotFound(
                f"image or tag not found: {self.ref.familiar} (registry {self.ref.registry} has no such manifest); "
                "check the name and tag"
            )
        if status == 403:
            raise RegistryAuthError(f"registry {self.ref.registry} denied access to {self.ref.familiar}: {self._login_hint()}")
        raise ProviderUnavailable(
            f"registry {self.ref.registry} answered HTTP {status} for the {what} of {self.ref.familiar}; try again later"
        )

    def _read_capped(self, response: requests.Response, limit: int, what: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ProviderUnavailable(f"registry {self.ref.registry}: the {what} of {self.ref.familiar} is over {limit} bytes")
                chunks.append(chunk)
        except requests.Timeout as exc:
            raise self._unreachable(exc) from None
        except (requests.RequestException, OSError, ValueError) as exc:
            if self.deadline.expired:
                raise self._unreachable(exc) from None
            raise RegistryIntegrityError(
                f"registry {self.ref.registry} cut the {what} of {self.ref.familiar} short; try again"
            ) from None
        finally:
            response.close()
        if self.deadline.expired:  # the watchdog's shutdown can look like a clean end of body
            raise self._unreachable(TimeoutError())
        return b"".join(chunks)

    def manifest(self, reference: str) -> tuple[dict[str, Any], str, str]:
        """(manifest, media type, digest). The digest is checked against what was asked for."""
        response = self._get(f"manifests/{reference}", accept=MANIFEST_ACCEPT)
        self._check_status(response, "manifest")
        header_digest = response.headers.get("Docker-Content-Digest")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        body = self._read_capped(response, MAX_MANIFEST, "manifest")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        expected = reference if reference.startswith("sha256:") else header_digest
        if expected and expected.startswith("sha256:") and expected != digest:
            raise RegistryIntegrityError(
                f"manifest digest mismatch for {self.ref.familiar}: expected {expected}, got {digest}; "
                "the registry or a proxy altered it"
            )
        try:
            manifest = json.loads(body)
        except ValueError:
            raise RegistryIntegrityError(f"registry {self.ref.registry} sent a manifest for {self.ref.familiar} that is not JSON") from None
        except RecursionError:
            raise RegistryIntegrityError(f"registry {self.ref.registry} sent a manifest for {self.ref.familiar} nested too deeply") from None
        if not isinstance(manifest, dict):
            raise RegistryIntegrityError(f"registry {self.ref.registry} sent a malformed manifest for {self.ref.familiar}")
        media_type = text_or_none(manifest.get("mediaType")) or content_type
        return manifest, str(media_type), digest

    def blob_bytes(self, descriptor: dict[str, Any], what: str, limit: int = MAX_CONFIG) -> bytes:
        digest = check_descriptor(descriptor, what, self.ref)
        response = self._get(f"blobs/{digest}")
        self._check_status(response, what)
        body = self._read_capped(response, limit, what)
        _verify(body_digest=_sha(digest, body), expected=digest, size=len(body), expected_size=descriptor.get("size"),
                what=what, ref=self.ref)
        return body

    def blob_stream(self, descriptor: dict[str, Any], what: str) -> "_VerifyingReader":
        digest = check_descriptor(descriptor, what, self.ref)
        if isinstance(descriptor.get("size"), int) and descriptor["size"] > MAX_BLOB_BYTES:
            raise ProviderUnavailable(f"registry {self.ref.registry}: the {what} of {self.ref.familiar} is over {MAX_BLOB_BYTES} bytes")
        response = self._get(f"blobs/{digest}", budget=blob_seconds(descriptor.get("size"), self.deadline.seconds))
        self._check_status(response, what)
        return _VerifyingReader(response, descriptor, what, self)


def _sha(digest: str, body: bytes) -> str:
    algo = digest.partition(":")[0] or "sha256"
    if algo not in ("sha256", "sha384", "sha512"):
        algo = "sha256"
    return f"{algo}:" + hashlib.new(algo, body).hexdigest()


def _verify(*, body_digest: str, expected: str, size: int, expected_size: Any, what: str, ref: ImageRef) -> None:
    if isinstance(expected_size, int) and size < expected_size:
        raise RegistryIntegrityError(
            f"the {what} of {ref.familiar} was cut short ({size} of {expected_size} bytes) by registry {ref.registry}; try again"
        )
    if body_digest != expected:
        raise RegistryIntegrityError(
            f"digest mismatch in the {what} of {ref.familiar}: expected {expected}, got {body_digest}; "
            "the registry or a proxy altered it"
        )


class _VerifyingReader:
    """A file-like view of a blob download that hashes what passes through it."""

    def __init__(self, response: requests.Response, descriptor: dict[str, Any], what: str, client: RegistryClient) -> None:
        self.response = response
        self.expected = str(descriptor.get("digest", ""))
        self.expected_size = descriptor.get("size")
        algo = self.expected.partition(":")[0]
        self.hash = hashlib.new(algo if algo in ("sha256", "sha384", "sha512") else "sha256")
        self.size = 0
        self.what = what
        self.client = client
        declared = self.expected_size if isinstance(self.expected_size, int) and not isinstance(self.expected_size, bool) else None
        self.limit = min(declared, MAX_BLOB_BYTES) if declared is not None else MAX_BLOB_BYTES

    def read(self, n: int = -1) -> bytes:
        try:
            data = self.response.raw.read(n if n is not None and n >= 0 else None, decode_content=False)
        except requests.Timeout as exc:
            raise self.client._unreachable(exc) from None
        except Exception as exc:
            if self.client.deadline.expired or "timed out" in str(exc).lower():
                raise self.client._unreachable(requests.Timeout()) from None
            raise RegistryIntegrityError(
                f"registry {self.client.ref.registry} cut the {self.what} of {self.client.ref.familiar} short; try again"
            ) from None
        if self.client.deadline.expired:
            raise self.client._unreachable(TimeoutError())
        self.hash.update(data)
        self.size += len(data)
        if self.size > self.limit:  # past its declared size, or past any layer's cap
            ref = self.client.ref
            raise RegistryIntegrityError(
                f"registry {ref.registry} sent more than {self.limit} bytes for the {self.what} of {ref.familiar}"
            )
        return data

    def drain_and_verify(self) -> None:
        while self.read(1 << 20):
            pass
        _verify(
            body_digest=f"{self.expected.partition(':')[0]}:{self.hash.hexdigest()}",
            expected=self.expected,
            size=self.size,
            expected_size=self.expected_size,
            what=self.what,
            ref=self.client.ref,
        )

    def close(self) -> None:
        self.response.close()


# --- reading an image --------------------------------------------------------------------------


def select_platform(index: dict[str, Any], platform: Platform) -> tuple[dict[str, Any], bool]:
    """The index entry for `platform`; else the first real image, flagged as a mismatch."""
    # index_entries: only well-formed entries (dict platform of strings, string digest).
    images = [m for m in index_entries(index) if m["platform"].get("os") not in (None, "unknown")]
    for entry in images:
        p = entry["platform"]
        if platform.matches(p.get("os"), p.get("architecture"), p.get("variant")):
            return entry, True
    if images:
        return images[0], False
    raise ProviderUnavailable("the image index lists no image for any platform")


def _layer_mode(media_type: str) -> str | None:
    if media_type.endswith(("tar+gzip", "tar.gzip")):
        return "r|gz"
    if media_type.endswith(("image.rootfs.diff.tar", "image.layer.v1.tar")):
        return "r|"
    return None  # zstd and foreign layers: not read


def walk_layers(
    client: RegistryClient, layers: list[dict[str, Any]], *, need_cuda: bool
) -> tuple[OverlayView, bool, list[str]]:
    """Read layers from the top down until answered. (view, complete, notes)."""
    view = OverlayView()
    notes: list[str] = []
    complete = True
    total = len(layers)
    for position, layer in enumerate(reversed(layers)):
        mode = _layer_mode(str(layer.get("mediaType", "")))
        if mode is None:
            notes.append(f"layer {total - position} of {total} has media type {clip(repr(layer.get('mediaType')), 80)}, not read")
            complete = False
            view.layers_read += 1
            continue
        what = f"layer {total - position} of {total}"
        reader = client.blob_stream(layer, what)
        try:
            try:
                with tarfile.open(fileobj=reader, mode=mode) as tar:  # type: ignore[call-overload]
                    view.add_layer(tar)
            except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
                raise RegistryIntegrityError(
                    f"the {what} of {client.ref.familiar} from registry {client.ref.registry} is cut short or corrupt "
                    f"({type(exc).__name__}); try again"
                ) from None
            reader.drain_and_verify()
        finally:
            reader.close()
        if position + 1 < total and view.answered(need_cuda):
            notes.append(f"stopped after the top {position + 1} of {total} layers: the file facts were answered")
            return view, False, notes
    return view, complete, notes


def read_facts(
    ref: ImageRef,
    platform: Platform,
    *,
    client: RegistryClient | None = None,
    cached: Callable[[str], ImageFacts | None] | None = None,
    read_files: bool = True,
) -> ImageFacts:
    client = client or RegistryClient(ref)
    try:
        return _read_facts(ref, platform, client, cached, read_files)
    finally:
        client.deadline.cancel()


def _read_facts(
    ref: ImageRef,
    platform: Platform,
    client: RegistryClient,
    cached: Callable[[str], ImageFacts | None] | None,
    read_files: bool,
) -> ImageFacts:
    manifest, media_type, top_digest = client.manifest(ref.reference)
    sources: dict[str, str] = {}
    if media_type in _LISTS or "manifests" in manifest:
        entry, matched = select_platform(manifest, platform)
        manifest, media_type, _ = client.manifest(check_descriptor(entry, "index entry", ref))
        if not matched:
            p = entry["platform"]
            sources["architecture"] = f"registry index: no {platform} entry, read {clip(p.get('os'), 40)}/{clip(p.get('architecture'), 40)}"
    config_desc = manifest.get("config")
    if not isinstance(config_desc, dict) or not isinstance(manifest.get("layers"), list):
        raise ProviderUnavailable(f"registry {ref.registry}: {ref.familiar} is a {clip(media_type or 'manifest', 80)} this tool cannot read")
    check_layers(manifest["layers"], ref)
    image_id = check_descriptor(config_desc, "config", ref)
    if cached is not None:
        hit = cached(image_id)
        if hit is not None:
            return hit
    try:
        config = json.loads(client.blob_bytes(config_desc, "config blob"))
    except (ValueError, RecursionError):
        raise RegistryIntegrityError(f"the config blob of {ref.familiar} is not JSON") from None
    # Every field checked for its type and size (a number for Env, an object as architecture).
    config, inner, env, labels = image_config_parts(config, ref)
    facts, cfg_sources = facts_from_config(env, labels, where="image config")
    sources.update({k: v for k, v in cfg_sources.items()})
    facts.update(env=tuple(env.items()), labels=tuple(sorted(labels.items())), image_id=image_id, digest=top_digest)
    if text_or_none(config.get("architecture")):
        facts["architecture"] = config["architecture"]
        sources.setdefault("architecture", "registry config blob architecture")
    if text_or_none(config.get("variant")):
        facts["variant"] = config["variant"]
    if text_or_none(inner.get("User")):
        facts["user"] = inner["User"]
    history = config_history(config) if labels.get(LOCK_SHA_LABEL) else None
    facts["layers_after_build"] = layers_after_build(history, labels.get(LOCK_SHA_LABEL)) if history else None
    notes: list[tuple[str, str]] = []
    if read_files:
        view, complete, layer_notes = walk_layers(client, manifest["layers"], need_cuda="CUDA_VERSION" in env)
        notes.extend((PROVIDER, n) for n in layer_notes)
        facts, merged_sources = merge_facts(facts_from_files(view.scan(complete=complete)), (facts, sources))
        sources = merged_sources
        if not complete and "pythons" in sources:
            sources["pythons"] += f" (top {view.layers_read} of {len(manifest['layers'])} layers only)"
    return ImageFacts(
        reference=ref.familiar,
        provider=PROVIDER,
        fact_sources=tuple(sorted(sources.items())),
        attempts=tuple(notes),
        **facts,
    )

