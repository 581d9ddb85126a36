"""The cluster options from the option layer, through the one mapping
(`options/kubernetes.build_options`): every `kubernetes-*` row of the options table reaches its
`KubernetesBuildOptions` field, from flags, the environment or a config file, typed by the row;
bad text is one line naming the option."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, strategies as st

from launchbuild.builder.kubernetes_options import KubernetesBuildOptions, Resources, Toleration
from launchbuild.errors import BadInput
from launchbuild.options import resolve_options
from launchbuild.options.kubernetes import build_options
from launchbuild.options.table import OPTIONS

_FROM_THE_BUILD = {"destination", "platform", "dockerfile"}  # set by the engine from the plan and the tag
_DESTINATION = "registry.example.com:5000/team/job:lb-0123"


def _kube(flags: dict | None = None, env: dict | None = None) -> KubernetesBuildOptions:
    options = resolve_options(flags or {}, env=env or {})
    return build_options(options, destination=_DESTINATION, platform=None, dockerfile="Dockerfile")


# One non-default value per row, as text (the way a flag, a variable or a config file gives it).
_TEXT = {
    "kubernetes-namespace": "ml-builds", "kubernetes-context-store": "s3://bucket/ctx", "kubernetes-builder": "buildkit",
    "kubernetes-registry-secret": "regcred", "kubernetes-insecure-registry": "true",
    "kubernetes-ca-configmap": "corp-ca", "kubernetes-ca-key": "root.pem", "kubernetes-service-account": "builder",
    "kubernetes-storage-secret": "store", "kubernetes-cache-repo": "registry.example.com:5000/team/cache",
    "kubernetes-resources": "memory-limit=16Gi,cpu-request=2", "kubernetes-node-selector": "pool=builders,zone=a",
    "kubernetes-toleration": "dedicated=builds:NoSchedule,spot:NoExecute", "kubernetes-timeout": "600",
    "kubernetes-ttl-after-finished": "0", "kubernetes-builder-image": "buildkit:pinned",
    "kubernetes-fetch-image": "aws:pinned", "kubernetes-ca-secret": "corp-ca-secret", "kubernetes-uv-image": "uv:pinned",
    "kubernetes-verify": "off", "kubernetes-verify-timeout": "90", "kubernetes-promote-image": "crane:pinned",
    "kubernetes-context-store-path": "/mnt/ctx", "kubernetes-context-uploader": "aws s3 cp {archive} '{url}'",
}


def test_the_defaults_are_the_builders_defaults() -> None:
    assert _kube() == KubernetesBuildOptions(destination=_DESTINATION)


def test_every_kubernetes_row_sets_a_field_and_every_operator_field_has_a_row() -> None:
    rows = {o.name for o in OPTIONS if o.name.startswith("kubernetes-")}
    assert rows == set(_TEXT), "a new kubernetes-* row needs a value here (and a field in build_options)"
    got = _kube(env={"LAUNCHBUILD_" + name.upper().replace("-", "_"): text for name, text in _TEXT.items()})
    default = KubernetesBuildOptions(destination=_DESTINATION)
    unchanged = {f.name for f in dataclasses.fields(KubernetesBuildOptions)
                 if getattr(got, f.name) == getattr(default, f.name)}
    # builder has one allowed value, so its row cannot change it
    assert unchanged - _FROM_THE_BUILD == {"builder"}


def test_text_values_are_converted_by_the_rows_types() -> None:
    got = _kube(env={"LAUNCHBUILD_" + name.upper().replace("-", "_"): text for name, text in _TEXT.items()})
    assert got == KubernetesBuildOptions(
        destination=_DESTINATION, context_store="s3://bucket/ctx", namespace="ml-builds", registry_secret="regcred",
        insecure_registry=True, ca_configmap="corp-ca", ca_key="root.pem", service_account="builder",
        storage_secret="store", cache_repo="registry.example.com:5000/team/cache",
        resources=Resources(memory_limit="16Gi", cpu_request="2"), node_selector=(("pool", "builders"), ("zone", "a")),
        tolerations=(Toleration.parse("dedicated=builds:NoSchedule"), Toleration.parse("spot:NoExecute")),
        timeout_s=600, ttl_after_finished_s=0, builder_image="buildkit:pinned", fetch_image="aws:pinned",
        ca_secret="corp-ca-secret", uv_image="uv:pinned", verify=False, verify_timeout_s=90,
        promote_image="crane:pinned", context_store_path="/mnt/ctx",
        context_uploader=("aws", "s3", "cp", "{archive}", "{url}"))


@pytest.mark.parametrize(("env", "needles"), [
    ({"LAUNCHBUILD_KUBERNETES_NODE_SELECTOR": "pool"}, ("'pool' is not KEY=VALUE", "LAUNCHBUILD_KUBERNETES_NODE_SELECTOR")),
    ({"LAUNCHBUILD_KUBERNETES_RESOURCES": "gpu=1"}, ("unknown resource 'gpu'", "use one of cpu-request")),
    ({"LAUNCHBUILD_KUBERNETES_INSECURE_REGISTRY": "maybe"}, ("'kubernetes-insecure-registry'", "a boolean")),
    ({"LAUNCHBUILD_KUBERNETES_TIMEOUT": "soon"}, ("'kubernetes-timeout'", "whole number")),
])
def test_bad_text_is_one_bad_input_line_naming_the_option(env, needles) -> None:
    with pytest.raises(BadInput) as info:
        _kube(env=env)
    assert "\n" not in str(info.value) and all(n in str(info.value) for n in needles), str(info.value)


_KEY = st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True)
_VALUE = st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True)


@given(st.lists(st.tuples(_KEY, _VALUE), max_size=5))
def test_node_selector_text_round_trips(pairs) -> None:
    text = ",".join(f"{k}={v}" for k, v in pairs)
    assert _kube(env={"LAUNCHBUILD_KUBERNETES_NODE_SELECTOR": text}).node_selector == tuple(pairs)
    assert _kube({"kubernetes-node-selector": [f"{k}={v}" for k, v in pairs]}).node_selector == tuple(pairs)


_BUCKET = st.from_regex(r"[a-z0-9][a-z0-9-]{1,30}[a-z0-9]", fullmatch=True)
_PREFIX = st.from_regex(r"([a-z0-9_]{1,10}(/[a-z0-9_]{1,10}){0,3})?", fullmatch=True)


@given(st.sampled_from(["s3://", "gs://", "pvc:"]), _BUCKET, _PREFIX)
def test_context_stores_round_trip_and_name_a_location_under_them(scheme, bucket, prefix) -> None:
    from launchbuild.builder import kubernetes as k8s
    from launchbuild.builder.kubernetes_options import ContextStore

    text = f"{scheme}{bucket}" + (f"/{prefix}" if prefix else "")
    store = ContextStore.parse(text)
    assert ContextStore.parse(str(store)) == store and str(store) == text
    options = KubernetesBuildOptions(destination=_DESTINATION, context_store=text)
    assert k8s.context_location(options).startswith(text.rstrip("/") + "/")
    assert k8s.context_location(options).endswith(k8s.archive_name(options))
