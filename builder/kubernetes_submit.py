"""Real submit of the cluster build: create the Job, watch it, report, clean up.

Talks to the API server through the official `kubernetes` client, an optional extra
(`pip install 'launchbuild[kubernetes]'`), imported only when a submit happens.

Decisions:
  * 409 on create: the Job name is derived from the content tag and destination, so an
    existing launchbuild Job of that name builds exactly this image. A running or finished
    one is adopted and waited on (no second build); a failed one is reported with its log,
    and the user deletes it to retry (its TTL removes it too). A Job of that name that
    launchbuild did not create is a BadInput.
  * Cleanup: `on-success` (default) deletes the Job and its pods after a success and keeps a
    failed Job for `kubectl logs`; `always` and `never` mean what they say. Deletion uses
    propagationPolicy=Background, because deleting a Job through the API orphans its pods.
  * Context: every store gets its archive here before the Job is created: the `configmap`
    store as a ConfigMap, pvc/s3/gs through `context_stores.upload` (the claim's mount, the
    object store's HTTP API, or the operator's uploader). `context_uploaded=True` says the
    caller put it there already.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from launchbuild.builder import kubernetes as k8s
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput, BuildFailed, InfraUnavailable

INSTALL_HINT = "pip install 'launchbuild[kubernetes]'"
# BuildKit's metadata file is JSON that also holds the *config* digest; a builder image
# override that writes the bare manifest digest is read too.
_BUILDKIT_DIGEST = re.compile(r'"containerimage\.digest"\s*:\s*"(sha256:[0-9a-f]{64})"')
_BARE_DIGEST = re.compile(r"\s*(sha256:[0-9a-f]{64})\s*")


@dataclass(frozen=True)
class SubmitResult:
    """What a cluster build's Job answered: which Job (created, or an earlier one adopted), the
    pushed image's digest, and whether the Job was deleted."""

    job_name: str
    namespace: str
    destination: str
    reused: bool  # an existing Job for the same content tag was adopted
    duration_s: float
    digest: str | None = None  # sha256:... of the pushed image, from the builder's termination message
    pod: str | None = None
    deleted: bool = False


class KubernetesBuildFailed(BuildFailed):
    """The build Job failed or timed out. `log_tail` holds the failing container's last lines."""

    def __init__(self, message: str, *, log_tail: tuple[str, ...] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log_tail = log_tail

    def __str__(self) -> str:
        head = super().__str__()
        if not self.log_tail:
            return head
        return head + "\n" + "\n".join(f"  | {line}" for line in self.log_tail)


def _import_client() -> Any:
    try:
        import kubernetes  # noqa: F401
        from kubernetes import client
    except ImportError:
        raise BadInput(
            "--engine kubernetes needs the kubernetes Python client, which is not installed",
            hint=f"run: {INSTALL_HINT}",
        ) from None
    return client


def load_api_client(kubeconfig: str | Path | None = None, context: str | None = None) -> Any:
    """From a kubeconfig (KUBECONFIG or ~/.kube/config), else the in-cluster service account."""
    client = _import_client()
    from kubernetes import config

    cfg = client.Configuration()
    try:
        config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, context=context, client_configuration=cfg)
    except (config.ConfigException, OSError) as kube_exc:
        try:
            config.load_incluster_config(client_configuration=cfg)
        except config.ConfigException:
            raise BadInput(
                f"no usable kubeconfig ({kube_exc}) and not running in a cluster",
                hint="set KUBECONFIG or pass the kubeconfig path; test it with `kubectl get ns`",
            ) from None
    return client.ApiClient(cfg)


@contextmanager
def _api_errors(api_client: Any, doing: str, namespace: str) -> Iterator[None]:
    from kubernetes.client.exceptions import ApiException
    import urllib3

    host = api_client.configuration.host
    try:
        yield
    except ApiException as exc:
        status = exc.status or 0
        reason = _api_message(exc)
        if status == 401:
            raise BadInput(
                f"kubernetes API at {host} rejected the credentials (401) while {doing}",
                hint="refresh the kubeconfig credentials; `kubectl auth whoami` shows who you are",
            ) from None
        if status == 403:
            raise BadInput(
                f"kubernetes API at {host} forbids {doing} in namespace {namespace} (403): {reason}",
                hint="grant the Role in docs/kubernetes.md (jobs, pods, pods/log, configmaps) or use another --kubernetes-namespace",
            ) from None
        if status == 404 and reason.startswith("namespaces "):
            raise BadInput(f"namespace {namespace} not found on {host} while {doing}", hint="create it or pass an existing namespace") from None
        if status in (400, 422):
            raise BadInput(f"kubernetes API at {host} refused the request while {doing} ({status}): {reason}", hint="check the options; `--dry-run` shows the manifest") from None
        if status == 0 or status >= 500:
            raise InfraUnavailable(f"kubernetes API at {host} failed while {doing} ({status}): {reason}", hint="retry when the control plane is healthy") from None
        # e.g. 404 for a Job someone deleted while we watched it
        raise BuildFailed(f"kubernetes API at {host} answered {status} while {doing}: {reason}", hint="check the Job with kubectl and submit again") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise InfraUnavailable(
            f"kubernetes API at {host} is unreachable while {doing}: {type(exc).__name__}",
            hint="check the cluster address in your kubeconfig and your network/VPN",
        ) from None


def _api_message(exc: Any) -> str:
    import json

    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("message") or exc.reason or "")
    except (ValueError, TypeError):
        return str(exc.reason or "")


def _condition(job: Any, kind: str) -> Any:
    for cond in (job.status.conditions or []) if job.status else []:
        if cond.type == kind and cond.status == "True":
            return cond
    return None


def _state(job: Any) -> tuple[str, str]:
    """('running'|'succeeded'|'failed', reason)."""
    status = job.status
    if status is None:
        return "running", ""
    if _condition(job, "Complete") or (status.succeeded or 0) >= 1:
        return "succeeded", ""
    failed = _condition(job, "Failed")
    if failed is not None:
        return "failed", f"{failed.reason or 'Failed'}: {failed.message or ''}".rstrip(": ")
    if (status.failed or 0) >= 1:  # backoffLimit is 0: the first failed pod ends the Job
        return "failed", "pod failed"
    return "running", ""


def _newest_pod(core: Any, namespace: str, selector: str) -> Any:
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items or []
    if not pods:
        return None
    return max(pods, key=lambda p: (p.metadata.creation_timestamp is not None, p.metadata.creation_timestamp or 0, p.metadata.name))


def _failing_container(pod: Any) -> tuple[str, str]:
    """(container, reason) of the container that ended the pod, init containers first."""
    status = pod.status
    for statuses in ((status.init_container_statuses or []) if status else [], (status.container_statuses or []) if status else []):
        for cs in statuses:
            state = cs.state
            if state is None:
                continue
            if state.terminated is not None and (state.terminated.exit_code or 0) != 0:
                return cs.name, f"container {cs.name} exited {state.terminated.exit_code} ({state.terminated.reason or 'Error'})"
            if state.waiting is not None and state.waiting.reason not in (None, "PodInitializing", "ContainerCreating"):
                return cs.name, f"container {cs.name} {state.waiting.reason}: {state.waiting.message or ''}".rstrip(": ")
    return k8s.BUILDER_CONTAINER, (status.reason or status.phase or "") if status else ""


def _log_tail(core: Any, namespace: str, pod: Any, container: str, lines: int) -> tuple[str, ...]:
    from kubernetes.client.exceptions import ApiException

    try:
        text = core.read_namespaced_pod_log(pod.metadata.name, namespace, container=container, tail_lines=lines)
    except ApiException:
        return ()  # a container that never started has no log; the reason says why
    return tuple(line for line in str(text).splitlines() if line.strip())[-lines:]


def _digest(pod: Any) -> str | None:
    for cs in (pod.status.container_statuses or []) if pod is not None and pod.status else []:
        if cs.name == k8s.BUILDER_CONTAINER and cs.state and cs.state.terminated and cs.state.terminated.message:
            message = cs.state.terminated.message
            m = _BUILDKIT_DIGEST.search(message) or _BARE_DIGEST.fullmatch(message)
            if m:
                return m.group(1)
    return None


def submit(
    context_dir: Path | str,
    options: k8s.KubernetesBuildOptions,
    *,
    api_client: Any = None,
    kubeconfig: str | Path | None = None,
    kube_context: str | None = None,
    context_uploaded: bool = False,
    cleanup: str = "on-success",
    poll_interval_s: float = 2.0,
    wait_timeout_s: float | None = None,
    log_tail_lines: int = 40,
    on_event: Callable[[str], None] | None = None,
) -> SubmitResult:
    """Create the build Job for `context_dir` and wait until it succeeds, fails or times out.

    Raises BadInput (options, credentials, RBAC), InfraUnavailable (API unreachable or
    failing), KubernetesBuildFailed (the build failed or timed out; carries the log tail)."""
    k8s.validate(options)
    if cleanup not in k8s.CLEANUP_POLICIES:
        raise BadInput(f"cleanup policy {cleanup!r} is unknown", hint="use always, on-success or never")
    store = k8s.ContextStore.parse(options.context_store)
    archive = k8s.build_context_archive(context_dir, dockerfile=options.dockerfile)
    client = _import_client()
    say = on_event or (lambda _msg: None)
    if store.kind != "configmap" and not context_uploaded:
        from launchbuild.builder.context_stores import upload

        where = upload(options, archive, name=k8s.archive_name(options), location=k8s.context_location(options))
        say(f"uploaded the context to {where}")
    if api_client is None:
        api_client = load_api_client(kubeconfig, kube_context)
    batch = client.BatchV1Api(api_client)
    core = client.CoreV1Api(api_client)
    ns = options.namespace
    name = k8s.job_name(options.destination)
    started = time.monotonic()

    manifests = k8s.render_manifests(options, context_archive=archive if store.kind == "configmap" else None)
    job_manifest = manifests[-1]
    from kubernetes.client.exceptions import ApiException

    if store.kind == "configmap":
        with _api_errors(api_client, "creating the context ConfigMap", ns):
            try:
                core.create_namespaced_config_map(ns, body=manifests[0])
                say(f"uploaded the context to configmap {ns}/{k8s.context_configmap_name(options)}")
            except ApiException as exc:
                if exc.status != 409:  # same name = same content tag = same archive
                    raise
    reused = False
    with _api_errors(api_client, "creating the build Job", ns):
        try:
            batch.create_namespaced_job(ns, body=job_manifest)
            say(f"created job {ns}/{name}")
        except ApiException as exc:
            if exc.status != 409:
                raise
            existing = batch.read_namespaced_job(name, ns)
            meta = existing.metadata
            if (meta.labels or {}).get(k8s.LABEL_MANAGED_BY) != "launchbuild" or (meta.annotations or {}).get(k8s.ANNOTATION_DESTINATION) != options.destination:
                raise BadInput(
                    f"job {ns}/{name} exists and was not created by launchbuild for {options.destination}",
                    hint=f"delete it (kubectl delete job -n {ns} {name}) or use another namespace",
                ) from None
            reused = True
            say(f"job {ns}/{name} already exists for this content tag; waiting on it")

    deadline = started + (wait_timeout_s if wait_timeout_s is not None else options.timeout_s + 120)
    selector = k8s.pod_selector(options.destination)
    while True:
        with _api_errors(api_client, "reading the build Job status", ns):
            job = batch.read_namespaced_job_status(name, ns)
        state, reason = _state(job)
        if state != "running":
            break
        if time.monotonic() >= deadline:
            state, reason = "timeout", f"still running after {time.monotonic() - started:.0f}s"
            break
        time.sleep(poll_interval_s)

    with _api_errors(api_client, "reading the build pod", ns):
        pod = _newest_pod(core, ns, selector)
    duration = time.monotonic() - started

    if state == "succeeded":
        deleted = cleanup in ("always", "on-success") and _delete(api_client, batch, core, options, store, say)
        say(f"job {ns}/{name} succeeded in {duration:.0f}s")
        return SubmitResult(name, ns, options.destination, reused, duration, _digest(pod), pod.metadata.name if pod else None, deleted)

    tail: tuple[str, ...] = ()
    detail = reason
    if pod is not None:
        with _api_errors(api_client, "reading the build pod's log", ns):
            container, why = _failing_container(pod)
            tail = _log_tail(core, ns, pod, container, log_tail_lines)
        detail = f"{reason}; {why}" if why and reason else (why or reason)
    # A timed-out Job nobody waits on would keep a node busy until its deadline.
    if cleanup == "always" or (state == "timeout" and cleanup != "never"):
        _delete(api_client, batch, core, options, store, say)
        kept = ""
    else:
        kept = f"; inspect with kubectl logs -n {ns} job/{name} --all-containers"
    what = "timed out" if state == "timeout" else "failed"
    raise KubernetesBuildFailed(
        f"kubernetes build job {ns}/{name} {what}: {detail or 'no reason given'}{kept}",
        log_tail=tail,
        hint=None if not reused or state == "timeout" else f"it is an earlier attempt; delete it (kubectl delete job -n {ns} {name}) to retry",
    )


def _delete(api_client: Any, batch: Any, core: Any, options: k8s.KubernetesBuildOptions, store: k8s.ContextStore, say: Callable[[str], None]) -> bool:
    from kubernetes.client.exceptions import ApiException

    ns, name = options.namespace, k8s.job_name(options.destination)
    with _api_errors(api_client, "deleting the build Job", ns):
        try:
            batch.delete_namespaced_job(name, ns, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != 404:
                raise
        if store.kind == "configmap":
            try:
                core.delete_namespaced_config_map(k8s.context_configmap_name(options), ns)
            except ApiException as exc:
                if exc.status != 404:
                    raise
    say(f"deleted job {ns}/{name}")
    return True
