"""A queue agent's use of `launchbuild serve`: before a job is queued, check it; if it passes,
build its image and follow the build to its tag.

    python examples/agent/agent.py --url http://127.0.0.1:8642 --token-file tokens.txt \
        --spec examples/from-run/wandb-job.json --code examples/from-run \
        --queue-config examples/agent/queue-config.json --gpu A100 --driver 535.104.05 [--build]

Standard library only (an agent should not need our dependencies). The job spec is sent as
is; the code directory is uploaded as a .tar.gz (the `source` part), the way an artifact
job's code reaches an agent. Exit status: 0 the job may be queued (and was built, with
--build), 1 the check failed or the build did not succeed, 2 bad input, 3 server unreachable.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def code_archive(directory: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and path.name not in ("wandb-job.json", "wandb-metadata.json"):
                tar.add(path, arcname=str(path.relative_to(directory)))
    return buf.getvalue()


def multipart(request: dict, archive: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\n"
            f"Content-Type: application/json\r\n\r\n{json.dumps(request)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"source\"; filename=\"code.tar.gz\"\r\n"
            f"Content-Type: application/gzip\r\n\r\n").encode()
    return head + archive + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=900) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def events(self, build_id: str):
        """Server-sent events of a build, as dicts, until its final status."""
        req = urllib.request.Request(f"{self.url}/v1/builds/{build_id}/events",
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=900) as resp:
            for raw in resp:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    yield json.loads(line[6:])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8642")
    p.add_argument("--token-file", type=Path, help="a name:token file; the first token is used")
    p.add_argument("--spec", type=Path, required=True, help="wandb-job.json")
    p.add_argument("--code", type=Path, required=True, help="the job's code directory")
    p.add_argument("--queue-config", type=Path, help="the queue's config JSON")
    p.add_argument("--gpu", action="append", default=[])
    p.add_argument("--driver")
    p.add_argument("--python-base-image")
    p.add_argument("--build", action="store_true", help="build the image when the check passes")
    args = p.parse_args()

    token = ""
    if args.token_file:
        line = next(l for l in args.token_file.read_text().splitlines() if l.strip() and not l.startswith("#"))
        token = line.split(":", 1)[1].strip()
    options = {k: v for k, v in {"gpu": args.gpu or None, "driver": args.driver,
                                  "python-base-image": args.python_base_image}.items() if v}
    request = {"source": {"archive": "source"}, "spec": json.loads(args.spec.read_text()), "options": options}
    if args.queue_config:
        request["queue_config"] = json.loads(args.queue_config.read_text())
    client = Client(args.url, token)
    archive = code_archive(args.code)

    try:
        status, report = client.call("POST", "/v1/checks", *multipart(request, archive))
    except urllib.error.URLError as exc:
        print(f"launchbuild serve unreachable at {args.url}: {exc.reason}", file=sys.stderr)
        return 3
    if status != 200:
        print(f"check refused ({status}): {report.get('error', {}).get('message')}", file=sys.stderr)
        return report.get("error", {}).get("exit_code", 1)
    print(f"verdict: {report['verdict']} ({report['summary']['errors']} errors, {report['summary']['warnings']} warnings)")
    for finding in report["findings"]:
        print(f"  {finding['rule']} {finding['severity']}: {finding['message']}")
    if report["exit_code"] != 0:
        return 1  # do not queue it
    if not args.build:
        return 0

    status, created = client.call("POST", "/v1/builds", *multipart(request, archive))
    if status != 202:
        print(f"build refused ({status}): {created.get('error', {}).get('message')}", file=sys.stderr)
        return created.get("error", {}).get("exit_code", 1)
    build_id = created["id"]
    print(f"build {build_id}: {created['status']}")
    for event in client.events(build_id):
        if event["type"] == "phase":
            print(f"  {event['title']}…")
        elif event["type"] == "end":
            print(f"build {build_id}: {event['status']}" + (f" -> {event['tag']}" if event.get("tag") else ""))
    _, record = client.call("GET", f"/v1/builds/{build_id}")
    return 0 if record["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
