"""The registry provider over real HTTP against tests/fakeregistry.py on 127.0.0.1:
image assembly (index -> manifest -> config -> layers), auth flows and every fault."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from launchbuild.core.imageref import parse_image_ref
from launchbuild.compat.facts.inspect import inspect_image
from launchbuild.compat.facts.providers import registry as registry_provider
from launchbuild.compat.facts.providers.base import ImageNotFound, ProviderUnavailable, RegistryAuthError, RegistryIntegrityError
from launchbuild.core.platform import Platform
from launchbuild.errors import InfraUnavailable
from tests.fakeregistry import FakeRegistry, Symlink, Whiteout, sha256

OS_RELEASE = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n'
CUDA_ENV = {"CUDA_VERSION": "12.1.1", "NV_CUDNN_VERSION": "8.9.0.131",
            "NVIDIA_REQUIRE_CUDA": "cuda>=12.1 brand=tesla,driver>=470,driver<471"}
BASE = {
    "etc/os-release": Symlink("../usr/lib/os-release"),
    "usr/lib/os-release": OS_RELEASE,
    "etc/debian_version": "bookworm/sid\n",
    "bin": Symlink("usr/bin"),
    "usr/bin/apt-get": b"ELF",
    "usr/bin/python3.10": b"ELF",
    "usr/lib/x86_64-linux-gnu/libc.so.6": b"\x00GNU C Library (Ubuntu GLIBC 2.35-0ubuntu3) stable release version 2.35.\x00",
}
CUDA_LAYER = {
    "usr/local/cuda": Symlink("cuda-12.1"),
    "usr/local/cuda-12.1/version.json": json.dumps({"cuda": {"name": "CUDA SDK", "version": "12.1.1"}}),
}
TOP = {"usr/bin/python3.10": Whiteout(), "usr/local/bin/python3.11": b"ELF"}
FAST = (2.0, 0.5)


@pytest.fixture
def reg():
    with FakeRegistry() as registry:
        registry.add_image("nvidia/cuda", "12.1.1-runtime", layers=[BASE, CUDA_LAYER, TOP], env=CUDA_ENV,
                           labels={"com.nvidia.cudnn.version": "8.9.0.131"})
        yield registry


def read(reg, ref="nvidia/cuda:12.1.1-runtime", platform="linux/amd64", **client_kw):
    image = parse_image_ref(f"{reg.host}/{ref}")
    client = registry_provider.RegistryClient(image, timeout=client_kw.pop("timeout", FAST), **client_kw)
    return registry_provider.read_facts(image, Platform.parse(platform), client=client)


def test_reads_config_and_file_facts_through_whiteouts_and_symlinks(reg):
    facts = read(reg)
    assert facts.provider == "registry"
    assert (facts.os_id, facts.os_version, facts.os_codename) == ("ubuntu", "22.04", "jammy")
    assert facts.has_apt is True and facts.has_nvcc is False
    assert facts.pythons == ("3.11",)  # 3.10 was whited out by the top layer
    assert facts.glibc == "2.35"
    assert facts.cuda_version == "12.1.1" and facts.cudnn_version == "8.9.0.131"
    assert facts.require_cuda.startswith("cuda>=12.1")
    assert facts.architecture == "amd64"
    assert facts.digest == sha256(reg.manifests[("nvidia/cuda", "12.1.1-runtime")][1])
    assert facts.source_of("pythons") == "registry layers python3.X on PATH"
    # the image was read over HTTP only: manifests and blobs, nothing else
    assert {e["path"].split("/")[-2] for e in reg.log} <= {"manifests", "blobs"}


def test_index_is_followed_to_the_platform_and_attestations_skipped(reg):
    amd = reg.add_image("multi/app", None, layers=[BASE], architecture="amd64")
    arm = reg.add_image("multi/app", None, layers=[{**BASE, "usr/bin/python3.12": b"ELF"}], architecture="arm64")
    att = reg.add_image("multi/app", None, layers=[{}], architecture="unknown", os="unknown")
    index = reg.add_index("multi/app", "1", [(att, {"os": "unknown", "architecture": "unknown"}),
                                             (amd, {"os": "linux", "architecture": "amd64"}),
                                             (arm, {"os": "linux", "architecture": "arm64", "variant": "v8"})])
    facts = read(reg, "multi/app:1", platform="linux/arm64")
    assert facts.architecture == "arm64" and facts.pythons == ("3.10", "3.12")
    assert facts.digest == index["digest"] and facts.image_id == arm["config_digest"]
    missing = read(reg, "multi/app:1", platform="linux/s390x")
    assert missing.architecture == "amd64"
    assert "no linux/s390x entry" in missing.source_of("architecture")


def test_pinned_digest_is_verified(reg):
    digest = sha256(reg.manifests[("nvidia/cuda", "12.1.1-runtime")][1])
    assert read(reg, f"nvidia/cuda@{digest}").digest == digest


def test_stops_reading_lower_layers_once_answered():
    with FakeRegistry() as reg:
        reg.add_image("app/x", "1", layers=[{"junk": b"x" * 1000}, BASE])
        facts = read(reg, "app/x:1")
        blobs = [e for e in reg.log if "/blobs/" in e["path"]]
        assert len(blobs) == 2  # config + top layer; the bottom layer was never fetched
        assert facts.has_apt is True and facts.os_id == "ubuntu"
        assert any("stopped after the top 1 of 2 layers" in why for _, why in facts.attempts)


# --- faults: each gives the right error type and one clear line -------------------------------


def assert_one_line(exc, *words):
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    for word in words:
        assert word in text


def test_404_is_image_not_found(reg):
    with pytest.raises(ImageNotFound) as err:
        read(reg, "nvidia/cuda:no-such-tag")
    assert err.value.exit_code == 2
    assert_one_line(err.value, "image or tag not found", "nvidia/cuda:no-such-tag")
    reg.fault = "404"
    with pytest.raises(ImageNotFound):
        read(reg)


def test_500_is_infra_unavailable(reg):
    reg.fault = "500"
    with pytest.raises(ProviderUnavailable) as err:
        read(reg)
    assert err.value.exit_code == 3
    assert_one_line(err.value, "HTTP 500", reg.host)


def test_slow_response_times_out(reg):
    # The registry holds its answer until the test says so: the error can only be the
    # client's own read timeout, however long the machine takes to get there.
    reg.fault = "slow"
    with pytest.raises(ProviderUnavailable) as err:
        read(reg, timeout=(2.0, 0.3))
    assert reg.slow_held.is_set() and not reg.answered_slowly.is_set()
    assert_one_line(err.value, "timed out", "--offline")


def test_connection_refused_is_infra_unavailable():
    with FakeRegistry() as reg:
        host = reg.host
    image = parse_image_ref(f"{host}/app/x:1")
    with pytest.raises(ProviderUnavailable) as err:
        registry_provider.read_facts(image, Platform.parse("linux/amd64"), client=registry_provider.RegistryClient(image, timeout=FAST))
    assert_one_line(err.value, "unreachable")


@pytest.mark.parametrize("fault", ["truncate", "blob-corrupt", "digest-mismatch"])
def test_integrity_faults(reg, fault):
    reg.fault = fault
    with pytest.raises(RegistryIntegrityError) as err:
        read(reg)
    assert err.value.exit_code == 3
    expected = {"truncate": "cut", "blob-corrupt": "digest mismatch", "digest-mismatch": "manifest digest mismatch"}[fault]
    assert_one_line(err.value, expected)


def test_truncated_layer_is_detected():
    with FakeRegistry() as reg:
        reg.add_image("app/x", "1", layers=[BASE])
        image = parse_image_ref(f"{reg.host}/app/x:1")
        client = registry_provider.RegistryClient(image, timeout=FAST)
        manifest, _, _ = client.manifest("1")
        reg.fault = "truncate"
        with pytest.raises(RegistryIntegrityError) as err:
            registry_provider.walk_layers(client, manifest["layers"], need_cuda=False)
        assert_one_line(err.value, "layer 1 of 1")


def test_integrity_fault_is_not_hidden_by_inference(reg, tmp_path):
    reg.fault = "blob-corrupt"
    with pytest.raises(RegistryIntegrityError):
        inspect_image(f"{reg.host}/nvidia/cuda:12.1.1-runtime", providers=("registry", "inferred"), cache_dir=tmp_path)


# --- auth ---------------------------------------------------------------------------------------


def docker_config(tmp_path, monkeypatch, host, user="robot", secret="s3cr3t-Pa55"):
    config_dir = tmp_path / "dockercfg"
    config_dir.mkdir()
    auth = base64.b64encode(f"{user}:{secret}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {f"http://{host}": {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    return secret


def test_bearer_without_credentials_gets_an_anonymous_token(reg, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # empty: no credentials
    reg.auth = "bearer"
    facts = read(reg)
    assert facts.os_id == "ubuntu"
    token_calls = [e for e in reg.log if e["path"] == "/token"]
    assert len(token_calls) == 1 and "repository%3Anvidia%2Fcuda%3Apull" in token_calls[0]["query"]
    assert all(e["authorization"] == f"Bearer {reg.token}" for e in reg.log if "/blobs/" in e["path"])


def test_bearer_token_endpoint_uses_docker_config_credentials(reg, tmp_path, monkeypatch):
    secret = docker_config(tmp_path, monkeypatch, reg.host)
    reg.auth, reg.users = "bearer", {"robot": secret}
    assert read(reg).os_id == "ubuntu"
    token_call = next(e for e in reg.log if e["path"] == "/token")
    assert token_call["authorization"].startswith("Basic ")


def test_basic_auth_from_docker_config(reg, tmp_path, monkeypatch):
    secret = docker_config(tmp_path, monkeypatch, reg.host)
    reg.auth, reg.users = "basic", {"robot": secret}
    assert read(reg).has_apt is True


def test_401_without_credentials_says_docker_login(reg, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    reg.auth, reg.users = "basic", {"robot": "x"}
    with pytest.raises(RegistryAuthError) as err:
        read(reg)
    assert err.value.exit_code == 3
    assert_one_line(err.value, "requires credentials", f"run docker login {reg.host}")


def test_refused_credentials_are_never_printed(reg, tmp_path, monkeypatch):
    secret = docker_config(tmp_path, monkeypatch, reg.host, secret="wrong-Secret-123")
    reg.auth, reg.users = "bearer", {"robot": "the-right-one"}
    with pytest.raises(InfraUnavailable) as err:
        inspect_image(f"{reg.host}/nvidia/cuda:12.1.1-runtime", providers=("registry",), cache_dir=tmp_path / "c")
    assert_one_line(err.value, "refused credentials", f"docker login {reg.host}")
    assert secret not in str(err.value) and base64.b64encode(f"robot:{secret}".encode()).decode() not in str(err.value)


def test_cli_style_failure_has_no_traceback_and_no_secret(reg, tmp_path):
    """A real process: the error line a user would see, with the secret in DOCKER_CONFIG."""
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    secret = "leak-me-not-42"
    auth = base64.b64encode(f"robot:{secret}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    reg.auth, reg.users = "basic", {"robot": "other"}
    code = (
        "import sys\n"
        "from launchbuild.compat.facts.inspect import inspect_image\n"
        "from launchbuild.errors import LaunchbuildError\n"
        "try:\n"
        f"    inspect_image('{reg.host}/nvidia/cuda:12.1.1-runtime', providers=('registry',), cache_dir=sys.argv[1])\n"
        "except LaunchbuildError as e:\n"
        "    print(e, file=sys.stderr); sys.exit(e.exit_code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c")], capture_output=True, text=True,
                          env={"DOCKER_CONFIG": str(config_dir), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert secret not in proc.stderr + proc.stdout and auth not in proc.stderr + proc.stdout


def test_credentials_lookup(tmp_path):
    path = tmp_path / "config.json"
    hub = base64.b64encode(b"me:hubpass").decode()
    path.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": hub},
                                          "reg.example:5000": {"username": "u", "password": "p"},
                                          "bad": {"auth": "!!!"}}}))
    assert registry_provider.load_credentials("docker.io", path) == ("me", "hubpass")
    assert registry_provider.load_credentials("reg.example:5000", path) == ("u", "p")
    assert registry_provider.load_credentials("other:1", path) is None
    path.write_text("{broken")
    assert registry_provider.load_credentials("docker.io", path) is None


@pytest.mark.parametrize(("header", "scheme", "params"), [
    ('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
     "bearer", {"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull"}),
    ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
    ("bearer realm=https://x/t", "bearer", {"realm": "https://x/t"}),
])
def test_parse_challenge(header, scheme, params):
    assert registry_provider.parse_challenge(header) == (scheme, params)
