"""Put the cluster build's context archive where the Job reads it: every store writes it.

* `pvc:CLAIM[/DIR]`: the operator mounts the claim on the submitting machine and names the
  mount (`context_store_path`); the archive is written there atomically (the Job mounts the
  claim at DIR and reads `<job-name>.tar.gz`).
* `s3://BUCKET[/PREFIX]`: an S3 `PutObject` over HTTP, signed with AWS Signature Version 4 from
  the operator's environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional
  `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`); `AWS_ENDPOINT_URL_S3` or
  `AWS_ENDPOINT_URL` point it at an S3-compatible store (MinIO, Ceph), path-style.
* `gs://BUCKET[/PREFIX]`: a Cloud Storage JSON API media upload with the operator's OAuth token
  (`GOOGLE_OAUTH_ACCESS_TOKEN` or `CLOUDSDK_AUTH_ACCESS_TOKEN`, e.g. from
  `gcloud auth print-access-token`); `STORAGE_EMULATOR_HOST` points it at an emulator.
* Any of them through the operator's own uploader instead (`context_uploader`): an argv with
  `{archive}` (a private temp file) and `{url}` (the store location), run without a shell.

Credentials are read from the environment when the upload happens, sent only in the request's
Authorization header, and never printed. (`configmap` is created by the submit itself.)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Mapping
from urllib.parse import quote, urlsplit

from launchbuild.builder.kubernetes_options import ContextStore, KubernetesBuildOptions
from launchbuild.errors import BadInput, InfraUnavailable

UPLOAD_TIMEOUT_S = 300


def upload(options: KubernetesBuildOptions, archive: bytes, *, name: str, location: str,
           env: Mapping[str, str] | None = None, timeout_s: float = UPLOAD_TIMEOUT_S) -> str:
    """Write or upload `archive` (the object/file `name`) for a pvc, s3 or gs store; returns
    where it went (`location`, as `context_location` gives it)."""
    env = dict(os.environ) if env is None else dict(env)
    store = ContextStore.parse(options.context_store)
    if store.kind == "configmap":
        raise BadInput("the configmap store is created by the submit, not uploaded", hint="submit the build")
    if options.context_uploader:
        return _run_uploader(options.context_uploader, archive, location, timeout_s)
    key = f"{store.prefix}/{name}" if store.prefix else name
    if store.kind == "pvc":
        return _write_pvc(options, store, archive, key, location)
    if store.kind == "s3":
        return _put_s3(store.location, key, archive, env, timeout_s, location)
    return _put_gs(store.location, key, archive, env, timeout_s, location)


# --- pvc -------------------------------------------------------------------------------------


def _write_pvc(options: KubernetesBuildOptions, store: ContextStore, archive: bytes, key: str, location: str) -> str:
    if not options.context_store_path:
        raise BadInput(
            f"the pvc store {store} needs the claim mounted on this machine to write the context archive",
            hint="mount the claim (NFS/CSI) and name the mount point as the context store path",
        )
    root = Path(options.context_store_path)
    if not root.is_dir():
        raise BadInput(f"context store path {root} is not a directory",
                       hint=f"mount claim {store.location} there, or fix the context store path")
    dest = root / key
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".launchbuild-", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(archive)
            os.chmod(tmp, 0o644)  # the Job's unpack container runs as uid 1000
            os.replace(tmp, dest)  # a Job never reads a half-written archive
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise BadInput(f"cannot write the context archive to {dest}: {exc.strerror}",
                       hint="check that the claim is mounted read-write at the context store path") from None
    return location


# --- s3: AWS Signature Version 4 -------------------------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_authorization(method: str, url: str, headers: Mapping[str, str], *, payload_sha256: str,
                        access_key: str, secret_key: str, region: str, service: str, amz_date: str) -> str:
    """The `Authorization` header value of AWS Signature Version 4 for one request. `headers`
    are the headers to sign (Host included); pure, so it is tested against AWS's examples."""
    parts = urlsplit(url)
    canonical_uri = quote(parts.path or "/", safe="/-_.~")
    query = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~"))
                   for k, _, v in (p.partition("=") for p in parts.query.split("&") if p))
    canonical_query = "&".join(f"{k}={v}" for k, v in query)
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    names = sorted(signed)
    canonical_headers = "".join(f"{n}:{signed[n]}\n" for n in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join([method, canonical_uri, canonical_query, canonical_headers, signed_headers, payload_sha256])
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode(), date), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


def s3_url(bucket: str, key: str, env: Mapping[str, str]) -> tuple[str, str]:
    """(object URL, region). A custom endpoint is addressed path-style (MinIO, Ceph); AWS
    virtual-hosted, except for dotted bucket names, whose host would not match the certificate."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = (env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or "").rstrip("/")
    path = quote(key, safe="/-_.~")
    if endpoint:
        if not re.match(r"^https?://[^/\s]+$", endpoint):
            raise BadInput(f"S3 endpoint {endpoint!r} is not http(s)://HOST[:PORT]", hint="fix AWS_ENDPOINT_URL")
        return f"{endpoint}/{bucket}/{path}", region
    if "." in bucket:
        return f"https://s3.{region}.amazonaws.com/{bucket}/{path}", region
    return f"https://{bucket}.s3.{region}.amazonaws.com/{path}", region


def _put_s3(bucket: str, key: str, archive: bytes, env: Mapping[str, str], timeout_s: float, location: str) -> str:
    access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not access or not secret:
        raise BadInput(
            f"uploading the context to {location} needs AWS credentials in the environment",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_REGION), or name a context uploader command",
        )
    url, region = s3_url(bucket, key, env)
    digest = hashlib.sha256(archive).hexdigest()
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = {"Host": urlsplit(url).netloc, "x-amz-content-sha256": digest, "x-amz-date": amz_date,
               "Content-Type": "application/gzip"}
    if env.get("AWS_SESSION_TOKEN"):
        headers["x-amz-security-token"] = env["AWS_SESSION_TOKEN"]
    headers["Authorization"] = sigv4_authorization("PUT", url, headers, payload_sha256=digest, access_key=access,
                                                   secret_key=secret, region=region, service="s3", amz_date=amz_date)
    _send("PUT", url, headers, archive, timeout_s, location, "check the bucket, its region and the key's s3:PutObject permission")
    return location


# --- gs: Cloud Storage JSON API ----------------------------------------------------------------


def gs_url(bucket: str, key: str, env: Mapping[str, str]) -> str:
    base = (env.get("STORAGE_EMULATOR_HOST") or "https://storage.googleapis.com").rstrip("/")
    if not re.match(r"^https?://[^/\s]+$", base):
        raise BadInput(f"Cloud Storage endpoint {base!r} is not http(s)://HOST[:PORT]", hint="fix STORAGE_EMULATOR_HOST")
    return f"{base}/upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=media&name={quote(key, safe='')}"


def _put_gs(bucket: str, key: str, archive: bytes, env: Mapping[str, str], timeout_s: float, location: str) -> str:
    token = env.get("GOOGLE_OAUTH_ACCESS_TOKEN") or env.get("CLOUDSDK_AUTH_ACCESS_TOKEN")
    if not token:
        raise BadInput(
            f"uploading the context to {location} needs a Google OAuth access token in the environment",
            hint="export GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth print-access-token), or name a context uploader command",
        )
    url = gs_url(bucket, key, env)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/gzip"}
    _send("POST", url, headers, archive, timeout_s, location, "check the bucket and the token's storage.objects.create permission")
    return location


# --- HTTP and the uploader command -------------------------------------------------------------


def _send(method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float, location: str, fix: str) -> None:
    import ssl
    import urllib.error
    import urllib.request

    from launchbuild.builder.plan import find_ca_bundle
    from launchbuild.limits import one_line

    ca = find_ca_bundle()  # the user's CA bundle (TLS interception) is trusted as for every other request
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={k: v for k, v in headers.items() if k != "Host"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as resp:
            resp.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        detail = exc.read(64 * 1024).decode("utf-8", "replace")
        code = re.search(r"<Code>([^<]{1,80})</Code>|\"message\"\s*:\s*\"([^\"]{1,200})\"", detail)
        said = one_line(next(g for g in code.groups() if g)) if code else (exc.reason or "")
        if exc.code >= 500:
            raise InfraUnavailable(f"the context store answered {exc.code} for {location}: {said}",
                                   hint="retry when the store is healthy") from None
        raise BadInput(f"the context store refused the upload to {location} ({exc.code}): {said}", hint=fix) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InfraUnavailable(f"the context store for {location} is unreachable: {type(reason).__name__}",
                               hint="check the store's address and your network") from None


def _run_uploader(argv: tuple[str, ...], archive: bytes, location: str, timeout_s: float) -> str:
    from launchbuild.limits import one_line

    with tempfile.TemporaryDirectory(prefix="launchbuild-ctx-") as tmp:
        path = Path(tmp) / "context.tar.gz"
        path.write_bytes(archive)
        command = [a.replace("{archive}", str(path)).replace("{url}", location) for a in argv]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=timeout_s,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise BadInput(f"the context uploader {argv[0]!r} is not installed or not on PATH",
                           hint="install it or fix the context uploader command") from None
        except subprocess.TimeoutExpired:
            raise InfraUnavailable(f"the context uploader did not finish within {timeout_s:.0f}s for {location}",
                                   hint="check the store and the uploader") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise InfraUnavailable(f"the context uploader exited {proc.returncode} for {location}: {one_line(last)[:200]}",
                               hint="run the uploader by hand to see why")
    return location
