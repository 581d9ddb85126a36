"""Cluster engine: a Kubernetes Job that runs an existing builder (rootless BuildKit or kaniko).

Everything here is pure: options in, manifests (plain dicts) out. The submit path, which
needs the optional `kubernetes` client, lives in `kubernetes_submit` (which imports this
module, never the other way round).

The build context travels as a deterministic `.tar.gz` to one of:
  * object storage (`s3://bucket/prefix`, `gs://bucket/prefix`): kaniko reads it natively;
    for BuildKit an init container downloads it and a second one unpacks it;
  * a PersistentVolumeClaim (`pvc:CLAIM` or `pvc:CLAIM/sub/dir`): kaniko via `tar://`,
    BuildKit via the unpack init container;
  * a ConfigMap created at submit time (`configmap`): for small contexts (< ~900 KiB
    compressed) on clusters with no object storage or shared volume.
The layer cache lives in the registry, never on the node, so any node can build warm.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import stat
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Mapping, Sequence

from launchbuild.core.imageref import ImageRefError, Reference, split_reference
from launchbuild.core.platform import SUPPORTED_PLATFORMS
from launchbuild.errors import BadInput

# Pinned by tag so a cluster build is repeatable. Pin by digest too in production
# (`builder_image="moby/buildkit:v0.16.0-rootless@sha256:..."`): docs/kubernetes.md
# shows how to look the digest up. We do not ship digests we could not verify here.
BUILDKIT_IMAGE = "moby/buildkit:v0.16.0-rootless"
KANIKO_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2"
S3_FETCH_IMAGE = "amazon/aws-cli:2.17.0"
GCS_FETCH_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:489.0.0-slim"

BUILDERS = ("buildkit", "kaniko")
CLEANUP_POLICIES = ("always", "on-success", "never")
CONTEXT_ARCHIVE_KEY = "context.tar.gz"
# A ConfigMap holds at most 1 MiB in etcd, base64 and metadata included.
CONFIGMAP_CONTEXT_LIMIT = 700 * 1024

LABEL_NAME = "app.kubernetes.io/name"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_CONTENT_TAG = "launchbuild.io/content-tag"
ANNOTATION_DESTINATION = "launchbuild.io/destination"
ANNOTATION_CONTEXT = "launchbuild.io/context"

BUILDER_CONTAINER = "builder"
FETCH_CONTAINER = "fetch-context"
UNPACK_CONTAINER = "unpack-context"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


@dataclass(frozen=True)
class Destination:
    """Where a cluster build pushes: `host[:port]/path:tag`. The registry host is mandatory:
    a cluster build pushes, and an implicit Docker Hub push is a surprise nobody wants."""

    host: str
    path: str
    tag: str

    @property
    def repository(self) -> str:
        return f"{self.host}/{self.path}"

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


def _written(ref: str, what: str, fix: str) -> Reference:
    try:
        return split_reference(ref)
    except ImageRefError as exc:
        raise BadInput(f"{what} {ref!r} is not a valid image reference: {exc.why}", hint=fix) from None


def parse_destination(ref: str, *, what: str = "destination") -> Destination:
    fix = f"give {what} as HOST[:PORT]/REPO:TAG, e.g. registry.example.com:5000/team/job:sha-1234"
    if not isinstance(ref, str) or not ref or any(c.isspace() for c in ref):
        raise BadInput(f"{what} {ref!r} is empty or has whitespace", hint=fix)
    if "@" in ref:
        raise BadInput(f"{what} {ref!r} has a digest; a build pushes a tag", hint=fix)
    written = _written(ref, what, fix)
    if written.host is None:
        raise BadInput(f"{what} {ref!r} names no registry host", hint=fix)
    if written.tag is None:
        raise BadInput(f"{what} {ref!r} has no tag", hint=fix)
    return Destination(written.host, written.path, written.tag)


def parse_repository(ref: str, *, what: str) -> str:
    """A repository without tag (`host[:port]/path`), as the cache repo takes it."""
    fix = f"give {what} as HOST[:PORT]/REPO with no tag"
    if not isinstance(ref, str) or any(c.isspace() for c in ref):
        raise BadInput(f"{what} {ref!r} is not HOST[:PORT]/REPO", hint=fix)
    written = _written(ref, what, fix)
    if written.host is None or written.tag is not None or written.digest is not None:
        raise BadInput(f"{what} {ref!r} is not HOST[:PORT]/REPO", hint=fix)
    return ref


@dataclass(frozen=True)
class Resources:
    """Requests/limits of the builder container. No CPU limit by default: CFS throttling
    makes compiles slow and buys nothing for a one-shot Job; the memory limit protects the node."""

    cpu_request: str = "1"
    memory_request: str = "2Gi"
    cpu_limit: str | None = None
    memory_limit: str | None = "8Gi"
    ephemeral_storage_request: str | None = "10Gi"
    ephemeral_storage_limit: str | None = None

    def to_k8s(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for kind, values in (
            ("requests", (("cpu", self.cpu_request), ("memory", self.memory_request), ("ephemeral-storage", self.ephemeral_storage_request))),
            ("limits", (("cpu", self.cpu_limit), ("memory", self.memory_limit), ("ephemeral-storage", self.ephemeral_storage_limit))),
        ):
            chosen = {k: v for k, v in values if v is not None}
            if chosen:
                out[kind] = chosen
        return out


@dataclass(frozen=True)
class Toleration:
    key: str | None = None
    operator: str = "Equal"  # Equal | Exists
    value: str | None = None
    effect: str | None = None  # NoSchedule | PreferNoSchedule | NoExecute | None (all)

    @classmethod
    def parse(cls, text: str) -> Toleration:
        """`key=value:Effect`, `key:Effect` (Exists), `key=value`, or `key` (Exists, any effect)."""
        body, _, effect = text.partition(":")
        key, eq, value = body.partition("=")
        return cls(key=key or None, operator="Equal" if eq else "Exists", value=value if eq else None, effect=effect or None)

    def to_k8s(self) -> dict[str, str]:
        out = {"key": self.key, "operator": self.operator, "value": self.value, "effect": self.effect}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class ContextStore:
    """Where the context archive lives. `kind` is s3, gs, pvc or configmap."""

    kind: str
    location: str = ""  # bucket for s3/gs, claim name for pvc
    prefix: str = ""  # object prefix (s3/gs) or sub-directory of the claim (pvc)

    @classmethod
    def parse(cls, text: str) -> ContextStore:
        fix = "use s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX], pvc:CLAIM[/SUBDIR] or configmap"
        if text == "configmap":
            return cls("configmap")
        for scheme in ("s3", "gs"):
            if text.startswith(f"{scheme}://"):
                bucket, _, prefix = text[len(scheme) + 3 :].partition("/")
                prefix = prefix.strip("/")
                if not _BUCKET.match(bucket) or ".." in prefix.split("/") or any(c.isspace() for c in prefix):
                    raise BadInput(f"context store {text!r}: invalid bucket or prefix", hint=fix)
                return cls(scheme, bucket, prefix)
        if text.startswith("pvc:"):
            claim, _, sub = text[4:].partition("/")
            sub = sub.strip("/")
            if not _DNS_SUBDOMAIN.match(claim) or ".." in sub.split("/") or any(c.isspace() for c in sub):
                raise BadInput(f"context store {text!r}: invalid claim name or sub-directory", hint=fix)
            return cls("pvc", claim, sub)
        raise BadInput(f"context store {text!r} is not supported", hint=fix)

    def __str__(self) -> str:
        if self.kind in ("s3", "gs"):
            return f"{self.kind}://{self.location}" + (f"/{self.prefix}" if self.prefix else "")
        if self.kind == "pvc":
            return f"pvc:{self.location}" + (f"/{self.prefix}" if self.prefix else "")
        return self.kind


@dataclass(frozen=True)
class KubernetesBuildOptions:
    destination: str  # HOST[:PORT]/REPO:TAG, the tag being the content tag
    context_store: str  # s3://..., gs://..., pvc:CLAIM[/DIR], configmap
    builder: str = "buildkit"  # buildkit | kaniko
    namespace: str = "default"
    cache_repo: str | None = None  # default: the destination repo (BuildKit, tag buildcache) / REPO/cache (kaniko)
    registry_secret: str | None = None  # a kubernetes.io/dockerconfigjson Secret
    ca_configmap: str | None = None  # a ConfigMap holding the corporate CA bundle
    ca_key: str = "ca.crt"
    storage_secret: str | None = None  # Secret whose keys become env of the container reading s3/gs
    service_account: str | None = None
    resources: Resources = field(default_factory=Resources)
    timeout_s: int = 1800  # activeDeadlineSeconds
    ttl_after_finished_s: int | None = 3600
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    dockerfile: str = "Dockerfile"  # path inside the context
    platform: str | None = None  # linux/amd64, linux/arm64
    insecure_registry: bool = False  # plain-http or self-signed registry without a CA
    builder_image: str | None = None  # override, e.g. pinned by digest
    fetch_image: str | None = None  # override of the s3/gs download image (BuildKit only)


def validate(options: KubernetesBuildOptions) -> None:
    """Every field, so a bad option fails here with BadInput and never at the API server."""
    if options.builder not in BUILDERS:
        raise BadInput(f"kubernetes builder {options.builder!r} is unknown", hint="use buildkit or kaniko")
    parse_destination(options.destination)
    ContextStore.parse(options.context_store)
    if options.cache_repo is not None:
        parse_repository(options.cache_repo, what="cache repo")
    if not _DNS_LABEL.match(options.namespace or ""):
        raise BadInput(f"namespace {options.namespace!r} is not a DNS-1123 label", hint="use lowercase letters, digits and '-'")
    for what, name in (
        ("registry secret", options.registry_secret),
        ("CA configmap", options.ca_configmap),
        ("storage secret", options.storage_secret),
        ("service account", options.service_account),
    ):
        if name is not None and not _DNS_SUBDOMAIN.match(name):
            raise BadInput(f"{what} name {name!r} is not a valid Kubernetes name", hint="use lowercase letters, digits, '-' and '.'")
    if not re.match(r"^[-._a-zA-Z0-9]+$", options.ca_key):
        raise BadInput(f"CA configmap key {options.ca_key!r} is not a valid key", hint="use letters, digits, '-', '_' and '.'")
    for name, value in (
        ("cpu request", options.resources.cpu_request),
        ("memory request", options.resources.memory_request),
        ("cpu limit", options.resources.cpu_limit),
        ("memory limit", options.resources.memory_limit),
        ("ephemeral-storage request", options.resources.ephemeral_storage_request),
        ("ephemeral-storage limit", options.resources.ephemeral_storage_limit),
    ):
        if value is not None and not _QUANTITY.match(value):
            raise BadInput(f"{name} {value!r} is not a Kubernetes quantity", hint="e.g. 500m, 2, 4Gi")
    if not isinstance(options.timeout_s, int) or isinstance(options.timeout_s, bool) or options.timeout_s <= 0:
        raise BadInput(f"timeout {options.timeout_s!r} must be a positive number of seconds")
    if options.ttl_after_finished_s is not None and (not isinstance(options.ttl_after_finished_s, int) or options.ttl_after_finished_s < 0):
        raise BadInput(f"ttl after finished {options.ttl_after_finished_s!r} must be >= 0 seconds")
    for key, value in options.node_selector:
        if not _QUALIFIED_NAME.match(key) or not _LABEL_VALUE.match(value) or len(value) > 63:
            raise BadInput(f"node selector {key}={value} is not a valid label", hint="use KEY=VALUE with label syntax")
    for t in options.tolerations:
        if t.operator not in ("Equal", "Exists") or (t.operator == "Exists" and t.value):
            raise BadInput(f"toleration {t} is invalid", hint="use key=value:Effect, or key:Effect for Exists")
        if t.effect not in (None, "NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise BadInput(f"toleration effect {t.effect!r} is unknown", hint="use NoSchedule, PreferNoSchedule or NoExecute")
        if t.key is not None and not _QUALIFIED_NAME.match(t.key):
            raise BadInput(f"toleration key {t.key!r} is not a valid label key")
    dockerfile = options.dockerfile
    if not dockerfile or dockerfile.startswith("/") or ".." in dockerfile.split("/") or any(c.isspace() for c in dockerfile):
        raise BadInput(f"dockerfile {dockerfile!r} must be a relative path inside the context")
    if options.platform is not None and options.platform not in SUPPORTED_PLATFORMS:
        raise BadInput(f"platform {options.platform!r} is not supported", hint="use linux/amd64 or linux/arm64")
    for what, image in (("builder image", options.builder_image), ("fetch image", options.fetch_image)):
        if image is not None and (not image or any(c.isspace() for c in image)):
            raise BadInput(f"{what} {image!r} is not an image reference")


# --- names ----------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def job_name(destination: str) -> str:
    """`lb-<tag>-<hash8>`: the same content tag and destination always give the same name, so
    a second submit finds the first one's Job (see `submit`), and two destinations never clash."""
    ref = parse_destination(destination)
    digest = hashlib.sha256(str(ref).encode()).hexdigest()[:8]
    slug = _slug(ref.tag)
    # Content tags already start with "lb-"; don't stutter.
    stem = (slug if slug.startswith("lb-") else f"lb-{slug}")[:54].rstrip("-")
    return f"{stem}-{digest}"


def _label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def labels(destination: str) -> dict[str, str]:
    ref = parse_destination(destination)
    return {
        LABEL_NAME: "launchbuild",
        LABEL_COMPONENT: "image-build",
        LABEL_MANAGED_BY: "launchbuild",
        LABEL_INSTANCE: job_name(destination),
        LABEL_CONTENT_TAG: _label_value(ref.tag),
    }


def pod_selector(destination: str) -> str:
    """Label selector of the build's pods (our own label, set on the pod template)."""
    return f"{LABEL_INSTANCE}={job_name(destination)}"


def archive_name(options: KubernetesBuildOptions) -> str:
    return f"{job_name(options.destination)}.tar.gz"


def context_location(options: KubernetesBuildOptions) -> str:
    """Where the context archive must be before the Job starts: an s3/gs object URI, a path on
    the claim (`pvc:CLAIM/path`), or the ConfigMap's name (`configmap:NAME`)."""
    store = ContextStore.parse(options.context_store)
    name = archive_name(options)
    if store.kind in ("s3", "gs"):
        key = f"{store.prefix}/{name}" if store.prefix else name
        return f"{store.kind}://{store.location}/{key}"
    if store.kind == "pvc":
        return f"pvc:{store.location}/" + (f"{store.prefix}/{name}" if store.prefix else name)
    return f"configmap:{context_configmap_name(options)}"


def context_configmap_name(options: KubernetesBuildOptions) -> str:
    return f"{job_name(options.destination)}-ctx"


def cache_ref(options: KubernetesBuildOptions) -> str:
    """BuildKit: a tag in a repo (one manifest holds the whole cache, mode=max). kaniko: a
    repo it fills with one tag per cached layer, so by default it gets its own `/cache` repo."""
    ref = parse_destination(options.destination)
    repo = options.cache_repo or (ref.repository if options.builder == "buildkit" else f"{ref.repository}/cache")
    return f"{repo}:buildcache" if options.builder == "buildkit" else repo


# --- manifests ------------------------------------------------------------------------------

_WORKSPACE = "/workspace"
_CONTEXT_DIR = f"{_WORKSPACE}/context"  # the unpacked context (BuildKit)
_STORE_DIR = f"{_WORKSPACE}/store"  # PVC or ConfigMap holding the archive
_DOWNLOAD_DIR = f"{_WORKSPACE}/download"  # s3/gs download (BuildKit)
_BUILDKIT_HOME = "/home/user"  # the rootless image's user (uid 1000)
_CA_DIR = "/etc/launchbuild/ca"


def _archive_path_in_pod(options: KubernetesBuildOptions, store: ContextStore) -> str:
    if store.kind in ("s3", "gs"):
        return f"{_DOWNLOAD_DIR}/{CONTEXT_ARCHIVE_KEY}"
    if store.kind == "configmap":
        return f"{_STORE_DIR}/{CONTEXT_ARCHIVE_KEY}"
    # The claim is mounted at its sub-directory, so the archive sits at the top.
    return f"{_STORE_DIR}/{archive_name(options)}"


def _store_volume(options: KubernetesBuildOptions, store: ContextStore) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(volume, mount) of the volume that holds the archive, for pvc and configmap."""
    if store.kind == "pvc":
        mount = {"name": "context-store", "mountPath": _STORE_DIR, "readOnly": True}
        if store.prefix:
            mount["subPath"] = store.prefix
        return {"name": "context-store", "persistentVolumeClaim": {"claimName": store.location, "readOnly": True}}, mount
    if store.kind == "configmap":
        return (
            {"name": "context-store", "configMap": {"name": context_configmap_name(options)}},
            {"name": "context-store", "mountPath": _STORE_DIR, "readOnly": True},
        )
    return None


def _storage_env_from(options: KubernetesBuildOptions) -> list[dict[str, Any]]:
    return [{"secretRef": {"name": options.storage_secret}}] if options.storage_secret else []


def _buildkit_pod(options: KubernetesBuildOptions, store: ContextStore) -> tuple[dict[str, Any], dict[str, str]]:
    dest = parse_destination(options.destination)
    cache = cache_ref(options)
    insecure = ",registry.insecure=true" if options.insecure_registry else ""
    args = [
        "build",
        "--frontend", "dockerfile.v0",
        "--local", f"context={_CONTEXT_DIR}",
        "--local", f"dockerfile={_CONTEXT_DIR}/{os.path.dirname(options.dockerfile)}".rstrip("/"),
        "--opt", f"filename={os.path.basename(options.dockerfile)}",
    ]
    if options.platform:
        args += ["--opt", f"platform={options.platform}"]
    args += [
        "--output", f"type=image,name={dest},push=true{insecure}",
        "--export-cache", f"type=registry,ref={cache},mode=max{insecure}",
        "--import-cache", f"type=registry,ref={cache}{insecure}",
        # The digest comes back in the pod status (kubectl get pod -o yaml shows it too).
        "--metadata-file", "/dev/termination-log",
    ]
    env = [
        {"name": "BUILDKITD_FLAGS", "value": "--oci-worker-no-process-sandbox"},
        {"name": "DOCKER_CONFIG", "value": f"{_BUILDKIT_HOME}/.docker"},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "context", "mountPath": _CONTEXT_DIR, "readOnly": True},
        # The image's VOLUME for the state dir is mounted nosuid,nodev on some node OSes
        # (moby/buildkit#879), which breaks rootless; an emptyDir does not.
        {"name": "buildkitd", "mountPath": f"{_BUILDKIT_HOME}/.local/share/buildkit"},
    ]
    volumes: list[dict[str, Any]] = [{"name": "context", "emptyDir": {}}, {"name": "buildkitd", "emptyDir": {}}]
    if options.registry_secret:
        mounts.append({"name": "registry-auth", "mountPath": f"{_BUILDKIT_HOME}/.docker", "readOnly": True})
        volumes.append(_registry_secret_volume(options))
    if options.ca_configmap:
        mounts.append({"name": "ca-bundle", "mountPath": _CA_DIR, "readOnly": True})
        volumes.append(_ca_volume(options))
        # Go reads every file of SSL_CERT_DIR in addition to the system bundle file, so the
        # corporate CA is added, not substituted; `--secret id=ca` hands it to the Dockerfile's
        # install steps (RUN --mount=type=secret,id=ca) and never into a layer.
        env.append({"name": "SSL_CERT_DIR", "value": _CA_DIR})
        args += ["--secret", f"id=ca,src={_CA_DIR}/{options.ca_key}"]
    builder = {
        "name": BUILDER_CONTAINER,
        "image": options.builder_image or BUILDKIT_IMAGE,
        "command": ["buildctl-daemonless.sh"],
        "args": args,
        "env": env,
        "resources": options.resources.to_k8s(),
        "securityContext": {
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        },
        "volumeMounts": mounts,
    }
    init: list[dict[str, Any]] = []
    archive = _archive_path_in_pod(options, store)
    if store.kind in ("s3", "gs"):
        volumes.append({"name": "download", "emptyDir": {}})
        source = context_location(options)
        if store.kind == "s3":
            command = ["aws", "s3", "cp", "--only-show-errors", source, archive]
            image = S3_FETCH_IMAGE
        else:
            command = ["gcloud", "storage", "cp", source, archive]
            image = GCS_FETCH_IMAGE
        fetch: dict[str, Any] = {
            "name": FETCH_CONTAINER,
            "image": options.fetch_image or image,
            "command": command,
            "volumeMounts": [{"name": "download", "mountPath": _DOWNLOAD_DIR}],
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        }
        if options.storage_secret:
            fetch["envFrom"] = _storage_env_from(options)
        if options.ca_configmap:
            # The CLIs are Python (aws) and Python (gcloud): both honour these variables.
            fetch["env"] = [
                {"name": "AWS_CA_BUNDLE", "value": f"{_CA_DIR}/{options.ca_key}"},
                {"name": "REQUESTS_CA_BUNDLE", "value": f"{_CA_DIR}/{options.ca_key}"},
            ]
            fetch["volumeMounts"].append({"name": "ca-bundle", "mountPath": _CA_DIR, "readOnly": True})
        init.append(fetch)
        unpack_mounts = [{"name": "download", "mountPath": _DOWNLOAD_DIR, "readOnly": True}]
    else:
        volume, mount = _store_volume(options, store)  # type: ignore[misc]
        volumes.append(volume)
        unpack_mounts = [mount]
    # The BuildKit image already on the node has busybox tar: no third image to pull.
    init.append({
        "name": UNPACK_CONTAINER,
        "image": options.builder_image or BUILDKIT_IMAGE,
        "command": ["tar", "-xzf", archive, "-C", _CONTEXT_DIR],
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
        "volumeMounts": [{"name": "context", "mountPath": _CONTEXT_DIR}, *unpack_mounts],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    })
    pod = {"initContainers": init, "containers": [builder], "volumes": volumes}
    # Kubernetes < 1.30 reads AppArmor from this annotation; 1.30+ from appArmorProfile.
    annotations = {f"container.apparmor.security.beta.kubernetes.io/{BUILDER_CONTAINER}": "unconfined"}
    return pod, annotations


def _kaniko_pod(options: KubernetesBuildOptions, store: ContextStore) -> tuple[dict[str, Any], dict[str, str]]:
    dest = parse_destination(options.destination)
    if store.kind in ("s3", "gs"):
        context = context_location(options)
    else:
        context = f"tar://{_archive_path_in_pod(options, store)}"
    args = [
        f"--context={context}",
        f"--dockerfile={options.dockerfile}",
        f"--destination={dest}",
        "--cache=true",
        f"--cache-repo={cache_ref(options)}",
        # redo: content-hash snapshots; the default time mode misses same-second edits.
        "--snapshot-mode=redo",
        "--digest-file=/dev/termination-log",
    ]
    if options.platform:
        args.append(f"--custom-platform={options.platform}")
    if options.insecure_registry:
        args += [f"--insecure-registry={dest.host}", "--skip-tls-verify-registry=" + dest.host]
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    store_volume = _store_volume(options, store)
    if store_volume:
        volumes.append(store_volume[0])
        mounts.append(store_volume[1])
    if options.registry_secret:
        volumes.append(_registry_secret_volume(options))
        mounts.append({"name": "registry-auth", "mountPath": "/kaniko/.docker", "readOnly": True})
    if options.ca_configmap:
        volumes.append(_ca_volume(options))
        # The executor image sets SSL_CERT_DIR=/kaniko/ssl/certs: one more file there is trusted
        # alongside the bundled roots, for registry pulls and pushes and the s3/gs download.
        mounts.append({
            "name": "ca-bundle",
            "mountPath": "/kaniko/ssl/certs/launchbuild-ca.crt",
            "subPath": options.ca_key,
            "readOnly": True,
        })
    builder: dict[str, Any] = {
        "name": BUILDER_CONTAINER,
        "image": options.builder_image or KANIKO_IMAGE,
        "args": args,
        "resources": options.resources.to_k8s(),
        "volumeMounts": mounts,
    }
    if store.kind in ("s3", "gs") and options.storage_secret:
        builder["envFrom"] = _storage_env_from(options)
    return {"containers": [builder], "volumes": volumes}, {}


def _registry_secret_volume(options: KubernetesBuildOptions) -> dict[str, Any]:
    # dockerconfigjson secrets store the file under `.dockerconfigjson`; both builders read
    # `config.json`. Mounted, never copied into env or args.
    return {
        "name": "registry-auth",
        "secret": {"secretName": options.registry_secret, "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
    }


def _ca_volume(options: KubernetesBuildOptions) -> dict[str, Any]:
    return {"name": "ca-bundle", "configMap": {"name": options.ca_configmap, "items": [{"key": options.ca_key, "path": options.ca_key}]}}


def render_job(options: KubernetesBuildOptions) -> dict[str, Any]:
    validate(options)
    store = ContextStore.parse(options.context_store)
    name = job_name(options.destination)
    job_labels = labels(options.destination)
    pod, pod_annotations = (_buildkit_pod if options.builder == "buildkit" else _kaniko_pod)(options, store)
    pod_spec: dict[str, Any] = {"restartPolicy": "Never"}
    if options.service_account:
        pod_spec["serviceAccountName"] = options.service_account
    pod_spec.update({k: v for k, v in pod.items() if v})
    if options.node_selector:
        pod_spec["nodeSelector"] = dict(options.node_selector)
    if options.tolerations:
        pod_spec["tolerations"] = [t.to_k8s() for t in options.tolerations]
    template_meta: dict[str, Any] = {"labels": dict(job_labels)}
    if pod_annotations:
        template_meta["annotations"] = pod_annotations
    spec: dict[str, Any] = {
        # One attempt: a failed build is deterministic; retrying only hides the log.
        "backoffLimit": 0,
        "activeDeadlineSeconds": options.timeout_s,
    }
    if options.ttl_after_finished_s is not None:
        spec["ttlSecondsAfterFinished"] = options.ttl_after_finished_s
    spec["template"] = {"metadata": template_meta, "spec": pod_spec}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": options.namespace,
            "labels": job_labels,
            "annotations": {
                ANNOTATION_DESTINATION: options.destination,
                ANNOTATION_CONTEXT: context_location(options),
            },
        },
        "spec": spec,
    }


def render_context_configmap(options: KubernetesBuildOptions, archive: bytes) -> dict[str, Any]:
    import base64

    if len(archive) > CONFIGMAP_CONTEXT_LIMIT:
        raise BadInput(
            f"build context archive is {len(archive) // 1024} KiB, over the {CONFIGMAP_CONTEXT_LIMIT // 1024} KiB a ConfigMap can hold",
            hint="use --kubernetes-context-store pvc:CLAIM, s3://BUCKET or gs://BUCKET, or trim the context with .dockerignore",
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": context_configmap_name(options), "namespace": options.namespace, "labels": labels(options.destination)},
        "binaryData": {CONTEXT_ARCHIVE_KEY: base64.b64encode(archive).decode("ascii")},
    }


def render_manifests(options: KubernetesBuildOptions, *, context_archive: bytes | None = None) -> list[dict[str, Any]]:
    """The objects to apply, in order. With the `configmap` store the ConfigMap carrying the
    context comes first (pass `context_archive`); other stores need the archive uploaded first
    (see `context_location`)."""
    job = render_job(options)
    if ContextStore.parse(options.context_store).kind == "configmap":
        if context_archive is None:
            raise BadInput("the configmap context store needs the context archive to render", hint="pass context_archive=build_context_archive(dir)")
        return [render_context_configmap(options, context_archive), job]
    return [job]


def dump_manifests(manifests: Sequence[Mapping[str, Any]], fmt: str = "yaml") -> str:
    if fmt == "json":
        # A v1 List is what `kubectl apply -f` takes for several objects in one JSON document.
        doc: Any = manifests[0] if len(manifests) == 1 else {"apiVersion": "v1", "kind": "List", "items": list(manifests)}
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"
    if fmt == "yaml":
        import yaml

        return "".join("---\n" + yaml.safe_dump(dict(m), sort_keys=False, default_flow_style=False) for m in manifests)
    raise BadInput(f"manifest format {fmt!r} is unknown", hint="use yaml or json")


def write_manifests(manifests: Sequence[Mapping[str, Any]], dest: Path | str | IO[str] | None = None, *, fmt: str = "yaml") -> None:
    """Write to a path, an open text stream, or stdout (None or '-')."""
    text = dump_manifests(manifests, fmt)
    if dest is None or dest == "-":
        sys.stdout.write(text)
        return
    if hasattr(dest, "write"):
        dest.write(text)  # type: ignore[union-attr]
        return
    path = Path(dest)  # type: ignore[arg-type]
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write manifests to {path}: {exc.strerror}", hint="choose a writable path") from None


# --- context archive ------------------------------------------------------------------------


def build_context_archive(context_dir: Path | str, *, dockerfile: str = "Dockerfile") -> bytes:
    """The context as a reproducible .tar.gz: sorted entries, zero mtimes and owners, modes
    kept. The same tree gives the same bytes, so re-uploading is idempotent.

    The context directory is the one the builder prepared (ignore rules already applied);
    symlinks are stored as links, never followed out of the tree."""
    root = Path(context_dir)
    if not root.is_dir():
        raise BadInput(f"build context {root} is not a directory", hint="pass the prepared context directory")
    if not (root / dockerfile).is_file():
        raise BadInput(f"build context {root} has no {dockerfile}", hint="render the Dockerfile into the context first")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            entries: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                base = Path(dirpath)
                entries.extend(base / d for d in dirnames)
                entries.extend(base / f for f in sorted(filenames))
            for path in sorted(entries, key=lambda p: p.relative_to(root).as_posix()):
                rel = path.relative_to(root).as_posix()
                st = path.lstat()
                info = tarfile.TarInfo(rel)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = stat.S_IMODE(st.st_mode)
                if stat.S_ISLNK(st.st_mode):
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(path)
                    tar.addfile(info)
                elif stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    info.size = st.st_size
                    with open(path, "rb") as fh:
                        tar.addfile(info, fh)
                # sockets, fifos and devices have no place in a build context: skipped.
    return buf.getvalue()


def write_context_archive(context_dir: Path | str, dest: Path | str, *, dockerfile: str = "Dockerfile") -> Path:
    data = build_context_archive(context_dir, dockerfile=dockerfile)
    path = Path(dest)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write the context archive to {path}: {exc.strerror}", hint="choose a writable path") from None
    return path
