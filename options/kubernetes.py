"""The `kubernetes-*` operator options → `builder.kubernetes.KubernetesBuildOptions`.

Every field an operator sets (registry auth Secret, insecure registry, CA ConfigMap, service
account, resources, node selector, tolerations, timeouts, images) comes from one table row;
the destination, platform and Dockerfile path come from the build itself. The CA the cluster
trusts comes only from `kubernetes-ca-configmap`: a CA variable in the submitting shell
(SSL_CERT_FILE, ...) says nothing about what exists in the cluster.
"""

from __future__ import annotations

import shlex
from typing import Any

from launchbuild.errors import BadInput
from launchbuild.limits import clip
from launchbuild.options.files import did_you_mean

# --kubernetes-resources NAME → the Resources field it sets.
RESOURCE_NAMES = {
    "cpu-request": "cpu_request",
    "memory-request": "memory_request",
    "cpu-limit": "cpu_limit",
    "memory-limit": "memory_limit",
    "ephemeral-storage-request": "ephemeral_storage_request",
    "ephemeral-storage-limit": "ephemeral_storage_limit",
}


def _where(options: Any, name: str) -> str:
    s = options.values[name]
    return s.detail or s.origin.value


def _pairs(options: Any, name: str, what: str) -> list[tuple[str, str]]:
    out = []
    for item in options[name] or ():
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise BadInput(f"{_where(options, name)}: {clip(repr(item), 80)} is not {what}",
                           hint=f"give each as {what}")
        out.append((key.strip(), value.strip()))
    return out


def resources(options: Any) -> Any:
    """`cpu-request=2,memory-limit=16Gi` over the builder's defaults (builder/kubernetes.Resources)."""
    from dataclasses import replace

    from launchbuild.builder.kubernetes import Resources

    chosen = Resources()
    for key, value in _pairs(options, "kubernetes-resources", "NAME=QUANTITY"):
        if key not in RESOURCE_NAMES:
            raise BadInput(f"{_where(options, 'kubernetes-resources')}: unknown resource {clip(repr(key), 60)}"
                           f"{did_you_mean(key, RESOURCE_NAMES)}", hint=f"use one of {', '.join(RESOURCE_NAMES)}")
        chosen = replace(chosen, **{RESOURCE_NAMES[key]: value})
    return chosen


def build_options(options: Any, *, destination: str, platform: str | None, dockerfile: str) -> Any:
    """The cluster build's options from the resolved `Options` (validated by the builder)."""
    from launchbuild.builder import kubernetes as k8s

    def opt(name: str) -> Any:
        return options["kubernetes-" + name]

    return k8s.KubernetesBuildOptions(
        destination=destination,
        context_store=opt("context-store"),
        builder=opt("builder"),
        namespace=opt("namespace"),
        cache_repo=opt("cache-repo"),
        registry_secret=opt("registry-secret"),
        ca_configmap=opt("ca-configmap"),
        ca_key=opt("ca-key"),
        storage_secret=opt("storage-secret"),
        service_account=opt("service-account"),
        resources=resources(options),
        timeout_s=opt("timeout"),
        ttl_after_finished_s=opt("ttl-after-finished"),
        node_selector=tuple(_pairs(options, "kubernetes-node-selector", "KEY=VALUE")),
        tolerations=tuple(k8s.Toleration.parse(t) for t in opt("toleration") or ()),
        dockerfile=dockerfile,
        platform=platform,
        insecure_registry=bool(opt("insecure-registry")),
        builder_image=opt("builder-image"),
        fetch_image=opt("fetch-image"),
        ca_secret=opt("ca-secret"),
        uv_image=opt("uv-image"),
        verify=bool(opt("verify")),
        verify_timeout_s=opt("verify-timeout"),
        promote_image=opt("promote-image"),
        context_store_path=opt("context-store-path"),
        context_uploader=tuple(shlex.split(opt("context-uploader"))) if opt("context-uploader") else (),
    )
