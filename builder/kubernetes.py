"""Cluster engine: a Kubernetes Job that runs rootless BuildKit, the supported cluster builder.

kaniko (archived upstream in June 2025) is gone: it ignored the `RUN --mount` lines of the
one Dockerfile every engine builds; `builder="kaniko"` is refused with the migration note
of docs/kubernetes.md.

Everything here is pure: options in, manifests (plain dicts) out. The submit path, which
needs the optional `kubernetes` client, lives in `kubernetes_submit.submit`.

The build context travels as a deterministic `.tar.gz` to one of:
  * object storage (`s3://bucket/prefix`, `gs://bucket/prefix`): an init container downloads
    it and a second one unpacks it;
  * a PersistentVolumeClaim (`pvc:CLAIM` or `pvc:CLAIM/sub/dir`): the unpack init container
    reads it from the claim;
  * a ConfigMap created at submit time (`configmap`): for small contexts (< ~900 KiB
    compressed) on clusters with no object storage or shared volume.
The layer cache lives in the registry, never on the node, so any node can build warm.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import IO, Any, Mapping, Sequence

from launchbuild.builder.kubernetes_options import (  # noqa: F401  (re-exported: callers import them from here)
    ANNOTATION_CONTEXT,
    ANNOTATION_DESTINATION,
    BUILDERS,
    BUILDER_CONTAINER,
    BUILDKIT_IMAGE,
    CANDIDATE_SUFFIX,
    CLEANUP_POLICIES,
    CONFIGMAP_CONTEXT_LIMIT,
    CONTEXT_ARCHIVE_KEY,
    ContextStore,
    Destination,
    FETCH_CONTAINER,
    GCS_FETCH_IMAGE,
    KANIKO_MIGRATION,
    KubernetesBuildOptions,
    LABEL_COMPONENT,
    LABEL_CONTENT_TAG,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    Resources,
    S3_FETCH_IMAGE,
    Toleration,
    UNPACK_CONTAINER,
    UV_CONTAINER,
    UV_IMAGE,
    UV_IN_IMAGE,
    _BUCKET,
    _DNS_LABEL,
    _DNS_SUBDOMAIN,
    _LABEL_VALUE,
    _QUALIFIED_NAME,
    _QUANTITY,
    parse_destination,
    parse_repository,
    PROMOTE_IMAGE,
    validate,
)

from launchbuild.errors import BadInput
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
    """A tag in a repo: one manifest holds the whole cache (mode=max)."""
    ref = parse_destination(options.destination)
    return f"{options.cache_repo or ref.repository}:buildcache"


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
    if has_ca(options):
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
        if has_ca(options):
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
    if options.uv_image:
        # The Dockerfile bind-mounts `.launchbuild/uv` from the context, as every BuildKit
        # build does; here that file comes from the uv image the kubelet pulls (for the node's
        # architecture), not from the archive. Fixed strings only: nothing of the job's.
        init.append({
            "name": UV_CONTAINER,
            "image": options.uv_image,
            "command": ["sh", "-c", f"mkdir -p {_CONTEXT_DIR}/.launchbuild && cp {UV_IN_IMAGE} {_CONTEXT_DIR}/.launchbuild/uv"],
            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
            "volumeMounts": [{"name": "context", "mountPath": _CONTEXT_DIR}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        })
    pod = {"initContainers": init, "containers": [builder], "volumes": volumes}
    # Kubernetes < 1.30 reads AppArmor from this annotation; 1.30+ from appArmorProfile.
    annotations = {f"container.apparmor.security.beta.kubernetes.io/{BUILDER_CONTAINER}": "unconfined"}
    return pod, annotations


def _registry_secret_volume(options: KubernetesBuildOptions) -> dict[str, Any]:
    # dockerconfigjson secrets store the file under `.dockerconfigjson`; BuildKit reads
    # `config.json`. Mounted, never copied into env or args.
    return {
        "name": "registry-auth",
        "secret": {"secretName": options.registry_secret, "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
    }


def _ca_volume(options: KubernetesBuildOptions) -> dict[str, Any]:
    items = [{"key": options.ca_key, "path": options.ca_key}]
    if options.ca_secret:
        return {"name": "ca-bundle", "secret": {"secretName": options.ca_secret, "items": items}}
    return {"name": "ca-bundle", "configMap": {"name": options.ca_configmap, "items": items}}


def has_ca(options: KubernetesBuildOptions) -> bool:
    return bool(options.ca_configmap or options.ca_secret)


def render_job(options: KubernetesBuildOptions) -> dict[str, Any]:
    validate(options)
    store = ContextStore.parse(options.context_store)
    name = job_name(options.destination)
    job_labels = labels(options.destination)
    pod, pod_annotations = _buildkit_pod(options, store)
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


def promote_name(destination: str) -> str:
    """`<job name stem>-promote-<hash8>` of the candidate destination: at most 63 characters."""
    stem, _, digest = job_name(destination).rpartition("-")
    return f"{stem[:45].rstrip('-')}-promote-{digest}"


def render_promotion_job(options: KubernetesBuildOptions, source: str, tag: str) -> dict[str, Any]:
    """The Job that gives the verified image (`source`, REPO@DIGEST of the candidate) its
    content `tag` in the same repository, with the registry Secret the build pushed with."""
    validate(options)
    name = promote_name(options.destination)
    job_labels = {**labels(options.destination), LABEL_COMPONENT: "image-promote", LABEL_INSTANCE: name}
    args = ["tag", source, tag] + (["--insecure"] if options.insecure_registry else [])
    container: dict[str, Any] = {
        "name": "promote",
        "image": options.promote_image or PROMOTE_IMAGE,
        "args": args,
        "env": [{"name": "DOCKER_CONFIG", "value": "/etc/launchbuild/docker"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if options.registry_secret:
        container["volumeMounts"] = [{"name": "registry-auth", "mountPath": "/etc/launchbuild/docker", "readOnly": True}]
        pod["volumes"] = [_registry_secret_volume(options)]
    if options.service_account:
        pod["serviceAccountName"] = options.service_account
    if options.node_selector:
        pod["nodeSelector"] = dict(options.node_selector)
    if options.tolerations:
        pod["tolerations"] = [t.to_k8s() for t in options.tolerations]
    spec: dict[str, Any] = {"backoffLimit": 0, "activeDeadlineSeconds": 300}
    if options.ttl_after_finished_s is not None:
        spec["ttlSecondsAfterFinished"] = options.ttl_after_finished_s
    spec["template"] = {"metadata": {"labels": dict(job_labels)}, "spec": pod}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": options.namespace, "labels": job_labels,
                     "annotations": {ANNOTATION_DESTINATION: options.destination}},
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


def write_manifests(manifests: Sequence[Mapping[str, Any]], dest: Path | str | IO[str], *, fmt: str = "yaml") -> str:
    """Write to a path or an open text stream, and answer the text. Never to stdout on its
    own: the CLI prints what the API returns (`api.build(dry_run=True)` never prints)."""
    text = dump_manifests(manifests, fmt)
    write_manifest_text(text, dest)
    return text


def write_manifest_text(text: str, dest: Path | str | IO[str]) -> None:
    if hasattr(dest, "write"):
        dest.write(text)  # type: ignore[union-attr]
        return
    path = Path(dest)  # type: ignore[arg-type]
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write manifests to {path}: {exc.strerror}", hint="choose a writable path") from None


# --- context archive (builder/context_archive.py; re-exported for existing callers) ----------

from launchbuild.builder.context_archive import build_context_archive, write_context_archive  # noqa: E402,F401
