"""Options of the cluster engine, and their validation (pure; no client needed).

`KubernetesBuildOptions` field names are stable. The operator's `kubernetes-*` options (one
table row each, docs/kubernetes.md "Options") map onto them in one place:
`options/kubernetes.build_options`.
"""

from __future__ import annotations

import re
from dataclasses import field

from launchbuild.core.imageref import ImageRefError, Reference, split_reference
from launchbuild.core.platform import SUPPORTED_PLATFORMS
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

# Pinned by tag so a cluster build is repeatable. Pin by digest too in production
# (`builder_image="moby/buildkit:v0.16.0-rootless@sha256:..."`): docs/kubernetes.md
# shows how to look the digest up. We do not ship digests we could not verify here.
BUILDKIT_IMAGE = "moby/buildkit:v0.16.0-rootless"
S3_FETCH_IMAGE = "amazon/aws-cli:2.17.0"
GCS_FETCH_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:489.0.0-slim"
# Tags the verified image with its content tag (`crane tag REPO@DIGEST TAG`): the cluster
# builder pushes under `<content tag>-unverified`, so the content tag itself only ever names
# an image that passed verification, as on a local engine.
PROMOTE_IMAGE = "gcr.io/go-containerregistry/crane:v0.20.2"
CANDIDATE_SUFFIX = "-unverified"

BUILDERS = ("buildkit",)
KANIKO_MIGRATION = ("kaniko was archived upstream in June 2025 and ignored the RUN --mount lines launchbuild renders; "
                    "use builder buildkit (rootless), see 'Migrating from kaniko' in docs/kubernetes.md")
# The uv of the same version as the host's, copied into the context by an init container:
# the Dockerfile bind-mounts `.launchbuild/uv` exactly as a local BuildKit build does, and
# 40 MB of binary need not travel in the context archive. Override with `uv_image`.
UV_IMAGE = "ghcr.io/astral-sh/uv:{version}-debian-slim"
UV_IN_IMAGE = "/usr/local/bin/uv"
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
UV_CONTAINER = "uv-binary"

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
    """One toleration of the cluster build's pods, parsed from `--kubernetes-toleration`."""

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
    """The cluster engine's options: the operator's `kubernetes-*` settings (mapped in
    `options/kubernetes.build_options`), plus what the engine sets from the plan."""

    # Set by the engine (engines/kubernetes.py) from the content tag; an operator leaves it "".
    destination: str = ""  # HOST[:PORT]/REPO:TAG, the tag being the content tag
    context_store: str = "configmap"  # s3://..., gs://..., pvc:CLAIM[/DIR], configmap
    builder: str = "buildkit"  # buildkit only; kaniko is refused with a migration note
    namespace: str = "default"
    cache_repo: str | None = None  # default: the destination repo, tag buildcache
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
    fetch_image: str | None = None  # override of the s3/gs download image
    # Fields added with the engine protocol (docs/kubernetes.md, "Options"):
    ca_secret: str | None = None  # a Secret holding the CA bundle (instead of ca_configmap), key ca_key
    uv_image: str | None = None  # image whose /usr/local/bin/uv is copied into the context; None: no uv
    verify: bool = True  # run the verification Pod (no network) on the built image
    verify_timeout_s: int = 300  # the verification Pod's activeDeadlineSeconds
    promote_image: str | None = None  # override of the image that tags the verified image (crane)
    context_store_path: str | None = None  # pvc store: where the claim is mounted on the submitting machine
    context_uploader: tuple[str, ...] = ()  # argv of the operator's uploader, with {archive} and {url}


def validate(options: KubernetesBuildOptions) -> None:
    """Every field, so a bad option fails here with BadInput and never at the API server."""
    if options.builder == "kaniko":
        raise BadInput("kubernetes builder 'kaniko' is no longer supported", hint=KANIKO_MIGRATION)
    if options.builder not in BUILDERS:
        raise BadInput(f"kubernetes builder {options.builder!r} is unknown", hint="use buildkit")
    if options.ca_configmap and options.ca_secret:
        raise BadInput("both a CA configmap and a CA secret are set", hint="name the CA bundle once: ca_configmap or ca_secret")
    parse_destination(options.destination)
    ContextStore.parse(options.context_store)
    if options.cache_repo is not None:
        parse_repository(options.cache_repo, what="cache repo")
    if not _DNS_LABEL.match(options.namespace or ""):
        raise BadInput(f"namespace {options.namespace!r} is not a DNS-1123 label", hint="use lowercase letters, digits and '-'")
    for what, name in (
        ("registry secret", options.registry_secret),
        ("CA configmap", options.ca_configmap),
        ("CA secret", options.ca_secret),
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
    if not isinstance(options.verify_timeout_s, int) or isinstance(options.verify_timeout_s, bool) or options.verify_timeout_s <= 0:
        raise BadInput(f"verification timeout {options.verify_timeout_s!r} must be a positive number of seconds")
    if options.context_uploader and not any("{archive}" in a for a in options.context_uploader):
        raise BadInput("the context uploader command names no {archive}",
                       hint="e.g. aws s3 cp {archive} {url}: launchbuild fills in the archive and its URL")
    for what, image in (("builder image", options.builder_image), ("fetch image", options.fetch_image),
                        ("uv image", options.uv_image), ("promote image", options.promote_image)):
        if image is not None and (not image or any(c.isspace() for c in image)):
            raise BadInput(f"{what} {image!r} is not an image reference")
