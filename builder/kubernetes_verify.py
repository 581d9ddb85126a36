"""Verification of a cluster build: the local build's probe and judge, run as a Pod with no network.

The Pod runs the pushed image by digest with the probe of `builder/verify.py`
(`verify_probe.py` and `imports_probe.py`, shipped in a ConfigMap) and the same arguments;
its log is judged by `verify.judge_run`, so a cluster build is verified exactly like a
local one. "No network" is made of two independent parts, because a NetworkPolicy is only
enforced where the cluster's network plugin implements it:

* a deny-all NetworkPolicy (no ingress and no egress rule) created with the Pod and selecting
  only it;
* in the Pod itself: `dnsPolicy: None` with a resolver at 127.0.0.1 (no name resolves, so
  nothing reaches a registry or an index by name even where policies are not enforced), no
  service account token (`automountServiceAccountToken: false`), no service links and no host
  network.

Image pulls are the kubelet's and are not affected. The Pod, its ConfigMap and its policy are
deleted afterwards, whatever the outcome.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from launchbuild.builder import kubernetes as k8s
from launchbuild.builder.plan import BuildPlan
from launchbuild.builder.verify import PROBE_DIR, judge_run, probe_command, probe_files
from launchbuild.builder.model import VerificationResult

PROBE_CONTAINER = "probe"
PROBE_FILES_CONTAINER = "probe-files"
LABEL_VERIFY = "launchbuild.io/verify"
_PROBE_SOURCE = "/launchbuild-probe-src"
# Waiting reasons that will not resolve by themselves: stop at once and say why.
_STUCK = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError")


def verify_name(destination: str) -> str:
    """`<job name stem>-verify-<hash8>`: at most 63 characters, a valid label value too."""
    stem, _, digest = k8s.job_name(destination).rpartition("-")
    return f"{stem[:46].rstrip('-')}-verify-{digest}"


def render_verification(options: k8s.KubernetesBuildOptions, plan: BuildPlan, image: str) -> list[dict[str, Any]]:
    """[NetworkPolicy, ConfigMap of the probe, Pod], in the order they are created."""
    k8s.validate(options)
    name = verify_name(options.destination)
    labels = {**k8s.labels(options.destination), k8s.LABEL_COMPONENT: "image-verify",
              k8s.LABEL_INSTANCE: name, LABEL_VERIFY: name}
    meta = {"name": name, "namespace": options.namespace, "labels": labels}
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        # Both directions listed and no rule given: nothing in, nothing out.
        "spec": {"podSelector": {"matchLabels": {LABEL_VERIFY: name}}, "policyTypes": ["Ingress", "Egress"]},
    }
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": probe_files()}
    copy = f"cp {_PROBE_SOURCE}/probe.py {_PROBE_SOURCE}/imports_probe.py {_PROBE_SOURCE}/entrypoint_imports.py {PROBE_DIR}/"
    if options.uv_image:
        # `uv pip check` beside the probe, as locally: the venv of a uv build has no pip.
        copy += f" && cp {k8s.UV_IN_IMAGE} {PROBE_DIR}/uv"
    entrypoint, args = probe_command(plan)
    small = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}}
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": options.verify_timeout_s,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False,
        "dnsPolicy": "None",
        "dnsConfig": {"nameservers": ["127.0.0.1"]},
        "initContainers": [{
            "name": PROBE_FILES_CONTAINER,
            "image": options.uv_image or options.builder_image or k8s.BUILDKIT_IMAGE,
            "command": ["sh", "-c", copy],
            "volumeMounts": [{"name": "probe-source", "mountPath": _PROBE_SOURCE, "readOnly": True},
                             {"name": "probe", "mountPath": PROBE_DIR}],
            "resources": small,
        }],
        "containers": [{
            "name": PROBE_CONTAINER,
            "image": image,
            "command": entrypoint,
            "args": args,
            # The image's own USER and WORKDIR, as the local probe container has them.
            "securityContext": {"allowPrivilegeEscalation": False},
            "volumeMounts": [{"name": "probe", "mountPath": PROBE_DIR}],
            "resources": small,
        }],
        "volumes": [{"name": "probe", "emptyDir": {}}, {"name": "probe-source", "configMap": {"name": name}}],
    }
    if options.registry_secret:
        spec["imagePullSecrets"] = [{"name": options.registry_secret}]
    if options.node_selector:
        spec["nodeSelector"] = dict(options.node_selector)
    if options.tolerations:
        spec["tolerations"] = [t.to_k8s() for t in options.tolerations]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    return [policy, config, pod]


def _exit_code(pod: Any) -> tuple[int | None, str]:
    """(exit code of the probe, or None while it has none; why it cannot run, or "")."""
    for cs in (pod.status.init_container_statuses or []) + (pod.status.container_statuses or []) if pod.status else []:
        state = cs.state
        if state is None:
            continue
        if state.waiting is not None and state.waiting.reason in _STUCK:
            return None, f"{cs.name} {state.waiting.reason}: {state.waiting.message or ''}".rstrip(": ")
        if cs.name == PROBE_FILES_CONTAINER and state.terminated is not None and state.terminated.exit_code:
            return None, f"{cs.name} exited {state.terminated.exit_code}"
        if cs.name == PROBE_CONTAINER and state.terminated is not None:
            return state.terminated.exit_code, ""
    return None, ""


def run_verification(
    options: k8s.KubernetesBuildOptions,
    plan: BuildPlan,
    image: str,
    *,
    api_client: Any,
    poll_interval_s: float = 2.0,
    wait_timeout_s: float | None = None,
    on_event: Callable[[str], None] | None = None,
) -> tuple[VerificationResult, ...]:
    """Create the verification objects, wait for the probe, judge its log, delete everything."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from launchbuild.builder.kubernetes_submit import _api_errors

    say = on_event or (lambda _msg: None)
    ns, name = options.namespace, verify_name(options.destination)
    core, net = client.CoreV1Api(api_client), client.NetworkingV1Api(api_client)
    policy, config, pod_manifest = render_verification(options, plan, image)
    # The client takes plain dicts as bodies (it serialises them as they are); its stubs name
    # only its model classes.
    creates: tuple[tuple[Any, Any, str], ...] = ((net.create_namespaced_network_policy, policy, "the verification NetworkPolicy"),
               (core.create_namespaced_config_map, config, "the probe ConfigMap"),
               (core.create_namespaced_pod, pod_manifest, "the verification Pod"))
    try:
        for create, body, what in creates:
            with _api_errors(api_client, f"creating {what}", ns):
                try:
                    create(ns, body=body)
                except ApiException as exc:
                    if exc.status != 409:  # same name: the same image, probed by an earlier attempt
                        raise
        say(f"verifying {image} in pod {ns}/{name} (no network)")
        deadline = time.monotonic() + (wait_timeout_s if wait_timeout_s is not None else options.verify_timeout_s + 60)
        while True:
            with _api_errors(api_client, "reading the verification Pod", ns):
                pod = core.read_namespaced_pod(name, ns)
            code, stuck = _exit_code(pod)
            if stuck:
                return (VerificationResult("run image", False, f"the verification pod cannot run: {stuck}"),)
            phase = pod.status.phase if pod.status else None
            if code is not None and phase in ("Succeeded", "Failed"):
                break
            if phase == "Failed":  # e.g. DeadlineExceeded before the probe ended
                return (VerificationResult("run image", False, f"the verification pod failed: {(pod.status.reason if pod.status else None) or 'no reason given'}"),)
            if time.monotonic() >= deadline:
                return (VerificationResult("run image", False, f"probe did not finish within {options.verify_timeout_s}s"),)
            time.sleep(poll_interval_s)
        with _api_errors(api_client, "reading the verification Pod's log", ns):
            log = str(core.read_namespaced_pod_log(name, ns, container=PROBE_CONTAINER))
        # The log interleaves stderr; the probe's verdict is its last JSON line on stdout.
        json_lines = [line for line in log.splitlines() if line.startswith("{")]
        results, _probe = judge_run(plan, code, json_lines[-1] if json_lines else log, log)
        return results
    finally:
        _cleanup(api_client, core, net, ns, name)


def _cleanup(api_client: Any, core: Any, net: Any, ns: str, name: str) -> None:
    from kubernetes.client.exceptions import ApiException

    from launchbuild.builder.kubernetes_submit import _api_errors

    for delete, what in ((core.delete_namespaced_pod, "the verification Pod"),
                         (core.delete_namespaced_config_map, "the probe ConfigMap"),
                         (net.delete_namespaced_network_policy, "the verification NetworkPolicy")):
        with _api_errors(api_client, f"deleting {what}", ns):
            try:
                delete(name, ns)
            except ApiException as exc:
                if exc.status != 404:
                    raise


def run_promotion(
    options: k8s.KubernetesBuildOptions,
    source: str,
    tag: str,
    *,
    api_client: Any,
    poll_interval_s: float = 2.0,
    on_event: Callable[[str], None] | None = None,
) -> None:
    """Tag the verified image with its content tag (a crane Job); raises KubernetesBuildFailed
    with the Job's log tail when the registry refuses it. The Job is deleted on success."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from launchbuild.builder.kubernetes_submit import (
        KubernetesBuildFailed,
        _api_errors,
        _failing_container,
        _log_tail,
        _newest_pod,
        _state,
    )

    say = on_event or (lambda _msg: None)
    ns = options.namespace
    manifest = k8s.render_promotion_job(options, source, tag)
    name = manifest["metadata"]["name"]
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    with _api_errors(api_client, "creating the promotion Job", ns):
        try:
            batch.create_namespaced_job(ns, body=manifest)  # type: ignore[arg-type]  # a dict body is sent as is
        except ApiException as exc:
            if exc.status != 409:  # same name: the same candidate, tagged by an earlier attempt
                raise
    deadline = time.monotonic() + manifest["spec"]["activeDeadlineSeconds"] + 60
    while True:
        with _api_errors(api_client, "reading the promotion Job status", ns):
            state, reason = _state(batch.read_namespaced_job_status(name, ns))
        if state != "running":
            break
        if time.monotonic() >= deadline:
            state, reason = "failed", "still running after its deadline"
            break
        time.sleep(poll_interval_s)
    if state == "succeeded":
        with _api_errors(api_client, "deleting the promotion Job", ns):
            try:
                batch.delete_namespaced_job(name, ns, propagation_policy="Background")
            except ApiException as exc:
                if exc.status != 404:
                    raise
        say(f"tagged the verified image as :{tag}")
        return
    tail: tuple[str, ...] = ()
    with _api_errors(api_client, "reading the promotion pod's log", ns):
        pod = _newest_pod(core, ns, f"{k8s.LABEL_INSTANCE}={name}")
        if pod is not None:
            container, why = _failing_container(pod)
            tail = _log_tail(core, ns, pod, container, 20)
            reason = f"{reason}; {why}" if why else reason
    raise KubernetesBuildFailed(
        f"tagging the verified image {source} as :{tag} failed: {reason or 'no reason given'}; "
        f"inspect with kubectl logs -n {ns} job/{name}",
        log_tail=tail, hint="the registry Secret must allow pushing tags to the repository",
    )
