"""The cluster options from the option layer: every `kubernetes-<field>` option maps onto its
`KubernetesBuildOptions` field, typed or as text; bad text is one line naming the option."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, strategies as st

from launchbuild.builder.kubernetes_options import (
    KubernetesBuildOptions,
    Resources,
    Toleration,
    option_name,
    options_from,
)
from launchbuild.errors import BadInput


def test_every_operator_field_has_an_option_and_the_defaults_stay() -> None:
    assert options_from({}) == KubernetesBuildOptions()
    names = {option_name(f.name) for f in dataclasses.fields(KubernetesBuildOptions)}
    # the three the CLI has today keep their names
    assert {"kubernetes-namespace", "kubernetes-context-store", "kubernetes-builder"} <= names
    assert "kubernetes-registry-secret" in names and "kubernetes-ca-secret" in names


def test_text_values_are_converted() -> None:
    got = options_from({
        "kubernetes-namespace": "ml-builds", "kubernetes-registry-secret": "regcred", "kubernetes-insecure-registry": "true",
        "kubernetes-service-account": "builder", "kubernetes-node-selector": "pool=builders,zone=a",
        "kubernetes-tolerations": ["dedicated=builds:NoSchedule", "spot:NoExecute"],
        "kubernetes-resources": "memory_limit=16Gi,cpu_request=2", "kubernetes-timeout-s": "600",
        "kubernetes-ca-configmap": "corp-ca", "kubernetes-verify": "off",
        "kubernetes-context-uploader": "aws s3 cp {archive} '{url}'", "kubernetes-destination": "ignored/by:engine",
    })
    assert got == KubernetesBuildOptions(
        namespace="ml-builds", registry_secret="regcred", insecure_registry=True, service_account="builder",
        node_selector=(("pool", "builders"), ("zone", "a")),
        tolerations=(Toleration.parse("dedicated=builds:NoSchedule"), Toleration.parse("spot:NoExecute")),
        resources=Resources(memory_limit="16Gi", cpu_request="2"), timeout_s=600, ca_configmap="corp-ca",
        verify=False, context_uploader=("aws", "s3", "cp", "{archive}", "{url}"))


@pytest.mark.parametrize("values,message", [
    ({"kubernetes-node-selector": "pool"}, "--kubernetes-node-selector: 'pool' is not KEY=VALUE"),
    ({"kubernetes-resources": "gpu=1"}, "'gpu' is not one of"),
    ({"kubernetes-insecure-registry": "maybe"}, "is not true or false"),
    ({"kubernetes-timeout-s": "soon"}, "not a whole number"),
])
def test_bad_text_is_bad_input_naming_the_option(values, message) -> None:
    with pytest.raises(BadInput, match=message) as info:
        options_from(values)
    assert "\n" not in str(info.value)


_KEY = st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True)
_VALUE = st.from_regex(r"[A-Za-z0-9._-]{0,20}", fullmatch=True)


@given(st.lists(st.tuples(_KEY, _VALUE), max_size=5))
def test_node_selector_text_round_trips(pairs) -> None:
    text = ",".join(f"{k}={v}" for k, v in pairs)
    assert options_from({"kubernetes-node-selector": text}).node_selector == tuple(pairs)
    assert options_from({"kubernetes-node-selector": [f"{k}={v}" for k, v in pairs]}).node_selector == tuple(pairs)


_BUCKET = st.from_regex(r"[a-z0-9][a-z0-9-]{1,30}[a-z0-9]", fullmatch=True)
_PREFIX = st.from_regex(r"([a-z0-9_]{1,10}(/[a-z0-9_]{1,10}){0,3})?", fullmatch=True)


@given(st.sampled_from(["s3://", "gs://", "pvc:"]), _BUCKET, _PREFIX)
def test_context_stores_round_trip_and_name_a_location_under_them(scheme, bucket, prefix) -> None:
    from launchbuild.builder.kubernetes_options import ContextStore
    from launchbuild.builder import kubernetes as k8s

    text = f"{scheme}{bucket}" + (f"/{prefix}" if prefix else "")
    store = ContextStore.parse(text)
    assert ContextStore.parse(str(store)) == store and str(store) == text
    options = KubernetesBuildOptions(destination="registry.example.com:5000/team/job:lb-0123", context_store=text)
    assert k8s.context_location(options).startswith(text.rstrip("/") + "/")
    assert k8s.context_location(options).endswith(k8s.archive_name(options))
