"""A fake Kubernetes API server on 127.0.0.1 for the cluster-engine submit tests.

It implements only what `builder/kubernetes_submit.py` calls, with the real API's paths,
status codes and Status bodies, so the real `kubernetes` client is what gets exercised:
  POST   /apis/batch/v1/namespaces/{ns}/jobs
  GET    /apis/batch/v1/namespaces/{ns}/jobs/{name}[/status]
  DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}
  GET    /api/v1/namespaces/{ns}/pods?labelSelector=k=v
  GET    /api/v1/namespaces/{ns}/pods/{name}/log?container=&tailLines=
  POST   /api/v1/namespaces/{ns}/configmaps, DELETE .../configmaps/{name}
  POST   /api/v1/namespaces/{ns}/pods, GET/DELETE .../pods/{name}   (the verification Pod)
  POST   /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies, DELETE .../{name}

Each Job moves through `active` for `polls_before_done` status reads, then ends as the
scenario says: succeed, fail (builder exits 1), fail-init (context unpack fails), deadline
(DeadlineExceeded), or hang (stays active). A verification Pod is pending for
`polls_before_done` reads, then ends as `verify` says: exit (the probe exits with
`probe_exit` and logs `probe_log`) or pull (ErrImagePull).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

DIGEST = "sha256:" + "ab" * 32
FAIL_LOG = [f"#{i} [builder 3/7] RUN step {i}" for i in range(1, 60)] + [
    "#61 ERROR: process \"/bin/sh -c pip install --require-hashes -r requirements.lock\" did not complete successfully: exit code: 1",
    "error: failed to solve: process did not complete successfully: exit code: 1",
]
INIT_FAIL_LOG = ["tar: can't open '/workspace/store/ctx.tar.gz': No such file or directory"]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class FakeKube:
    scenario: str = "succeed"
    polls_before_done: int = 2
    deny: int | None = None  # 401 or 403 on every request
    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    configmaps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    polls: dict[tuple[str, str], int] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    verify: str = "exit"
    fail_promotion: bool = False  # the promotion Job (crane tag) fails: the registry refused the tag
    probe_exit: int = 0
    probe_log: str = ""
    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pod_polls: dict[tuple[str, str], int] = field(default_factory=dict)
    policies: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def verify_pod(self, key: tuple[str, str]) -> dict[str, Any]:
        pod = json.loads(json.dumps(self.pods[key]))
        self.pod_polls[key] += 1
        probe: dict[str, Any] = {"name": "probe", "ready": False, "restartCount": 0, "image": "x", "imageID": ""}
        if self.pod_polls[key] <= self.polls_before_done:
            probe["state"] = {"waiting": {"reason": "PodInitializing"}}
            phase = "Pending"
        elif self.verify == "pull":
            probe["state"] = {"waiting": {"reason": "ErrImagePull", "message": "manifest unknown"}}
            phase = "Pending"
        else:
            probe["state"] = {"terminated": {"exitCode": self.probe_exit, "reason": "Completed" if self.probe_exit == 0 else "Error"}}
            phase = "Succeeded" if self.probe_exit == 0 else "Failed"
        pod["status"] = {"phase": phase, "containerStatuses": [probe]}
        return pod

    # --- state ------------------------------------------------------------------------------

    def job_state(self, key: tuple[str, str]) -> str:
        if self.polls.get(key, 0) < self.polls_before_done or self.scenario == "hang":
            return "active"
        if self.fail_promotion and "-promote-" in key[1]:
            return "fail"
        return self.scenario

    def job_with_status(self, key: tuple[str, str]) -> dict[str, Any]:
        job = json.loads(json.dumps(self.jobs[key]))
        state = self.job_state(key)
        status: dict[str, Any] = {"startTime": "2024-01-01T00:00:00Z"}
        if state == "active":
            status["active"] = 1
        elif state == "succeed":
            status["succeeded"] = 1
            status["conditions"] = [{"type": "Complete", "status": "True"}]
        elif state == "deadline":
            status["failed"] = 1
            status["conditions"] = [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}]
        else:
            status["failed"] = 1
            status["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]
        job["status"] = status
        return job

    def pod_for(self, key: tuple[str, str]) -> dict[str, Any]:
        job = self.jobs[key]
        ns, name = key
        state = self.job_state(key)
        builder: dict[str, Any] = {"name": "builder", "ready": False, "restartCount": 0, "image": "x", "imageID": ""}
        init = [{"name": "unpack-context", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]
        phase = "Running"
        if state == "active":
            builder["state"] = {"running": {"startedAt": "2024-01-01T00:00:01Z"}}
        elif state == "succeed":
            phase = "Succeeded"
            message = json.dumps({"containerimage.config.digest": "sha256:" + "cd" * 32, "containerimage.digest": DIGEST})
            builder["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "message": message}}
        elif state == "fail-init":
            phase = "Failed"
            init[0]["state"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
            builder["state"] = {"waiting": {"reason": "PodInitializing"}}
        else:
            phase = "Failed"
            builder["state"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{name}-x7k2p",
                "namespace": ns,
                "labels": dict(job["spec"]["template"]["metadata"]["labels"]),
                "creationTimestamp": "2024-01-01T00:00:00Z",
            },
            "spec": job["spec"]["template"]["spec"],
            "status": {"phase": phase, "initContainerStatuses": init, "containerStatuses": [builder]},
        }


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        fake: FakeKube = self.server.fake
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with fake.lock:
            fake.requests.append(Recorded(method, url.path, query, body))
            if fake.deny == 401:
                return self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            if fake.deny == 403:
                return self._send(403, _status(403, "Forbidden", f'jobs.batch is forbidden: User "dev" cannot {method.lower()} resource "jobs" in API group "batch" in the namespace "builds"'))
            return self._route(fake, method, url.path, query, body)

    def _route(self, fake: FakeKube, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        m = re.fullmatch(r"/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?(/status)?", path)
        if m:
            ns, name = m.group(1), m.group(2)
            if method == "POST" and name is None:
                key = (ns, body["metadata"]["name"])
                if key in fake.jobs:
                    return self._send(409, _status(409, "AlreadyExists", f'jobs.batch "{key[1]}" already exists'))
                job = json.loads(json.dumps(body))
                job["metadata"]["uid"] = f"uid-{len(fake.jobs)}"
                job["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
                fake.jobs[key] = job
                fake.polls[key] = 0
                return self._send(201, job)
            key = (ns, name)
            if key not in fake.jobs:
                return self._send(404, _status(404, "NotFound", f'jobs.batch "{name}" not found'))
            if method == "GET":
                if m.group(3):
                    fake.polls[key] += 1
                return self._send(200, fake.job_with_status(key))
            if method == "DELETE":
                del fake.jobs[key]
                return self._send(200, _status(200, "", "") | {"status": "Success"})
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?", path)
        if m and method == "POST" and m.group(2) is None:
            key = (m.group(1), body["metadata"]["name"])
            if key in fake.pods:
                return self._send(409, _status(409, "AlreadyExists", f'pods "{key[1]}" already exists'))
            fake.pods[key], fake.pod_polls[key] = body, 0
            return self._send(201, body)
        if m and m.group(2) is not None and (m.group(1), m.group(2)) in fake.pods:
            key = (m.group(1), m.group(2))
            if method == "GET":
                return self._send(200, fake.verify_pod(key))
            if method == "DELETE":  # the API answers a pod deletion with the Pod
                return self._send(200, fake.pods.pop(key))
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", path)
        if m and (m.group(1), m.group(2)) in fake.pods:
            return self._send(200, fake.probe_log, "text/plain")
        m = re.fullmatch(r"/apis/networking.k8s.io/v1/namespaces/([^/]+)/networkpolicies(?:/([^/]+))?", path)
        if m:
            if method == "POST":
                key = (m.group(1), body["metadata"]["name"])
                if key in fake.policies:
                    return self._send(409, _status(409, "AlreadyExists", f'networkpolicies "{key[1]}" already exists'))
                fake.policies[key] = body
                return self._send(201, body)
            if method == "DELETE" and fake.policies.pop((m.group(1), m.group(2)), None) is not None:
                return self._send(200, _status(200, "", "") | {"status": "Success"})
            return self._send(404, _status(404, "NotFound", "networkpolicies not found"))
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods(?:/([^/]+)/log)?", path)
        if m and method == "GET":
            ns, pod_name = m.group(1), m.group(2)
            if pod_name is None:
                selector = query.get("labelSelector", [""])[0]
                k, _, v = selector.partition("=")
                items = [fake.pod_for(key) for key in fake.jobs if key[0] == ns]
                items = [p for p in items if p["metadata"]["labels"].get(k) == v]
                return self._send(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
            container = query.get("container", ["builder"])[0]
            lines = INIT_FAIL_LOG if container == "unpack-context" else FAIL_LOG
            tail = int(query.get("tailLines", [str(len(lines))])[0])
            return self._send(200, "\n".join(lines[-tail:]) + "\n", "text/plain")
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/configmaps(?:/([^/]+))?", path)
        if m:
            ns, name = m.group(1), m.group(2)
            if method == "POST":
                key = (ns, body["metadata"]["name"])
                if key in fake.configmaps:
                    return self._send(409, _status(409, "AlreadyExists", f'configmaps "{key[1]}" already exists'))
                fake.configmaps[key] = body
                return self._send(201, body)
            if method == "DELETE" and (ns, name) in fake.configmaps:
                del fake.configmaps[(ns, name)]
                return self._send(200, _status(200, "", "") | {"status": "Success"})
            return self._send(404, _status(404, "NotFound", f'configmaps "{name}" not found'))
        return self._send(404, _status(404, "NotFound", f"the server could not find the requested resource {path}"))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


class FakeKubeServer:
    """Context manager: `with FakeKubeServer(FakeKube(...)) as srv: srv.api_client()`."""

    def __init__(self, fake: FakeKube) -> None:
        self.fake = fake
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.fake = fake  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def api_client(self) -> Any:
        return api_client_for(self.url)

    def __enter__(self) -> FakeKubeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def api_client_for(url: str) -> Any:
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = url
    cfg.retries = 0  # an unreachable API must fail fast in tests
    return client.ApiClient(cfg)
