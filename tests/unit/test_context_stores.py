"""Every cluster context store writes or uploads its archive: pvc to the claim's mount (a
directory here), s3 and gs over their HTTP APIs (a fake S3/GCS server on 127.0.0.1 that
checks what a real one checks: the payload hash, the signature's scope, the bearer token),
and the operator's own uploader command."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given, strategies as st

from launchbuild.builder import context_stores as cs
from launchbuild.builder import kubernetes as k8s
from launchbuild.errors import BadInput, InfraUnavailable

DEST = "registry.example.com:5000/team/train:lb-3f9a2c1d7e4b"
ARCHIVE = b"\x1f\x8b\x08 an archive"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _opts(store: str, **kw) -> k8s.KubernetesBuildOptions:
    return k8s.KubernetesBuildOptions(destination=DEST, context_store=store, **kw)


def _upload(options, env=None):
    return cs.upload(options, ARCHIVE, name=k8s.archive_name(options), location=k8s.context_location(options), env=env or {})


# --- AWS Signature Version 4 -------------------------------------------------------------------


def test_sigv4_matches_the_example_in_the_s3_documentation() -> None:
    # "Example: GET Object" of the S3 API reference (sig-v4-header-based-auth).
    headers = {"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9",
               "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(), "x-amz-date": "20130524T000000Z"}
    auth = cs.sigv4_authorization("GET", "https://examplebucket.s3.amazonaws.com/test.txt", headers,
                                  payload_sha256=hashlib.sha256(b"").hexdigest(), access_key="AKIAIOSFODNN7EXAMPLE",
                                  secret_key=SECRET, region="us-east-1", service="s3", amz_date="20130524T000000Z")
    assert auth == ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40))
def test_s3_object_urls_carry_the_key_verbatim(key: str) -> None:
    url, region = cs.s3_url("bucket", key, {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "eu-west-1"})
    assert region == "eu-west-1"
    assert unquote(urlsplit(url).path) == f"/bucket/{key}"
    assert not any(c.isspace() for c in url)


def test_s3_urls_virtual_hosted_and_dotted_buckets() -> None:
    assert cs.s3_url("b", "k/x.tar.gz", {})[0] == "https://b.s3.us-east-1.amazonaws.com/k/x.tar.gz"
    assert cs.s3_url("a.b", "x", {"AWS_REGION": "eu-west-1"})[0] == "https://s3.eu-west-1.amazonaws.com/a.b/x"
    with pytest.raises(BadInput, match="S3 endpoint"):
        cs.s3_url("b", "x", {"AWS_ENDPOINT_URL": "ftp://x"})


# --- a fake object store ------------------------------------------------------------------------


class _Store(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _answer(self, code: int, body: bytes = b"") -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_PUT(self) -> None:  # S3 PutObject
        srv = self.server
        body = self._body()
        srv.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if srv.answer != 200:
            return self._answer(srv.answer, b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>")
        auth = self.headers.get("Authorization", "")
        if (hashlib.sha256(body).hexdigest() != self.headers.get("x-amz-content-sha256")
                or not auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
                or "/eu-west-1/s3/aws4_request" not in auth
                or "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date" not in auth):
            return self._answer(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
        srv.objects[unquote(self.path)] = body
        self._answer(200)

    def do_POST(self) -> None:  # GCS media upload
        srv = self.server
        body = self._body()
        srv.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if srv.answer != 200:
            return self._answer(srv.answer, json.dumps({"error": {"message": "denied"}}).encode())
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if self.headers.get("Authorization") != "Bearer ya29.token" or q.get("uploadType") != ["media"]:
            return self._answer(401, b'{"error": {"message": "Invalid Credentials"}}')
        srv.objects[url.path + "#" + q["name"][0]] = body
        self._answer(200, b"{}")


@pytest.fixture
def store():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Store)
    httpd.requests, httpd.objects, httpd.answer = [], {}, 200
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _s3_env(url: str, **kw) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": url, **kw}


def test_s3_store_puts_the_archive_signed(store) -> None:
    options = _opts("s3://builds/ctx")
    where = _upload(options, _s3_env(store.url, AWS_SESSION_TOKEN="sess-tok"))
    assert where == k8s.context_location(options) == f"s3://builds/ctx/{k8s.archive_name(options)}"
    assert store.objects == {f"/builds/ctx/{k8s.archive_name(options)}": ARCHIVE}
    headers = store.requests[0][2]
    assert headers["x-amz-security-token"] == "sess-tok"
    assert SECRET not in json.dumps(headers)  # the secret signs; it never travels


@pytest.mark.parametrize("code,error", [(403, BadInput), (404, BadInput), (500, InfraUnavailable), (503, InfraUnavailable)])
def test_s3_store_errors(store, code: int, error) -> None:
    store.answer = code
    with pytest.raises(error) as info:
        _upload(_opts("s3://builds"), _s3_env(store.url))
    text = str(info.value)
    assert str(code) in text and "\n" not in text and SECRET not in text
    if code == 403:
        assert "AccessDenied" in text


def test_s3_store_without_credentials_says_what_to_set() -> None:
    with pytest.raises(BadInput, match="needs AWS credentials") as info:
        _upload(_opts("s3://builds"), {"AWS_REGION": "eu-west-1"})
    assert "AWS_ACCESS_KEY_ID" in info.value.hint


def test_unreachable_store_is_infra_unavailable(store) -> None:
    url = store.url
    store.shutdown()
    store.server_close()
    with pytest.raises(InfraUnavailable, match="unreachable"):
        _upload(_opts("s3://builds"), _s3_env(url))
    with pytest.raises(InfraUnavailable, match="unreachable"):
        _upload(_opts("gs://builds"), {"STORAGE_EMULATOR_HOST": url, "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.token"})


def test_gs_store_uploads_with_the_bearer_token(store) -> None:
    options = _opts("gs://builds/team")
    _upload(options, {"STORAGE_EMULATOR_HOST": store.url, "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.token"})
    assert store.objects == {f"/upload/storage/v1/b/builds/o#team/{k8s.archive_name(options)}": ARCHIVE}
    store.answer = 403
    with pytest.raises(BadInput, match="403.*denied") as info:
        _upload(options, {"STORAGE_EMULATOR_HOST": store.url, "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.token"})
    assert "ya29.token" not in str(info.value)


def test_gs_store_without_a_token_says_how_to_get_one() -> None:
    with pytest.raises(BadInput, match="OAuth access token") as info:
        _upload(_opts("gs://builds"), {})
    assert "gcloud auth print-access-token" in info.value.hint


# --- pvc ------------------------------------------------------------------------------------------


def test_pvc_store_writes_the_archive_under_the_mounted_claim(tmp_path: Path) -> None:
    options = _opts("pvc:build-contexts/team-a", context_store_path=str(tmp_path))
    _upload(options)
    written = tmp_path / "team-a" / k8s.archive_name(options)
    assert written.read_bytes() == ARCHIVE and oct(written.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in written.parent.iterdir()] == [written.name]  # no temp file left


def test_pvc_store_needs_the_mount(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="needs the claim mounted"):
        _upload(_opts("pvc:build-contexts"))
    with pytest.raises(BadInput, match="is not a directory"):
        _upload(_opts("pvc:build-contexts", context_store_path=str(tmp_path / "missing")))


# --- the operator's uploader --------------------------------------------------------------------


def test_the_operators_uploader_gets_the_archive_and_the_url(tmp_path: Path) -> None:
    out = tmp_path / "uploaded"
    script = tmp_path / "up.py"
    script.write_text("import shutil, sys\nshutil.copy(sys.argv[1], sys.argv[3]); open(sys.argv[3] + '.url', 'w').write(sys.argv[2])\n")
    options = _opts("s3://builds", context_uploader=(sys.executable, str(script), "{archive}", "{url}", str(out)))
    _upload(options)
    assert out.read_bytes() == ARCHIVE
    assert Path(str(out) + ".url").read_text() == k8s.context_location(options)


def test_a_failing_or_missing_uploader(tmp_path: Path) -> None:
    failing = _opts("gs://builds", context_uploader=(sys.executable, "-c", "import sys; sys.exit('denied: no access')", "{archive}"))
    with pytest.raises(InfraUnavailable, match="exited 1.*denied: no access"):
        _upload(failing)
    missing = replace(failing, context_uploader=(str(tmp_path / "no-such-uploader"), "{archive}"))
    with pytest.raises(BadInput, match="not installed"):
        _upload(missing)


def test_a_bad_emulator_host_is_bad_input_and_configmap_is_not_uploaded() -> None:
    with pytest.raises(BadInput, match="Cloud Storage endpoint"):
        _upload(_opts("gs://builds"), {"STORAGE_EMULATOR_HOST": "localhost:9023", "GOOGLE_OAUTH_ACCESS_TOKEN": "t"})
    with pytest.raises(BadInput, match="created by the submit"):
        _upload(_opts("configmap"))
