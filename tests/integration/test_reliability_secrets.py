"""Secrets, through the real CLI and the real engine: plant canary values everywhere a
secret lives (job files, env tokens, ~/.netrc, DOCKER_CONFIG auths, the install CA bundle),
build once with `launchbuild build --verbose`, then prove none of them reached the image
(every layer of `docker save`, the config, the history) or the output, and that the image
runs as non-root. One build serves every check (module-scoped)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.helpers_image import saved_image_members

pytestmark = [pytest.mark.docker, pytest.mark.network]

SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")
PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
RUN = uuid.uuid4().hex[:10]
CANARIES = {
    name: f"canary-{name}-{RUN}"
    for name in ("dotenv", "id_rsa", "pem", "job_netrc", "home_netrc", "env_wandb", "env_hf", "env_github",
                 "registry_auth", "ca_marker")
}
ENV_TOKENS = {"WANDB_API_KEY": CANARIES["env_wandb"], "HF_TOKEN": CANARIES["env_hf"], "GITHUB_TOKEN": CANARIES["env_github"]}


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["launchbuild", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("secrets")
    job = root / "job"
    job.mkdir()
    (job / "train.py").write_text("import sys\nprint('ok', sys.version_info[:2])\n")
    (job / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    (job / "requirements.txt").write_text("six==1.16.0\n")
    (job / ".env").write_text(f"WANDB_API_KEY={CANARIES['dotenv']}\n")
    (job / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARIES['id_rsa']}\n-----END OPENSSH PRIVATE KEY-----\n")
    (job / "deploy.pem").write_text(f"-----BEGIN PRIVATE KEY-----\n{CANARIES['pem']}\n-----END PRIVATE KEY-----\n")
    (job / ".netrc").write_text(f"machine example.invalid login u password {CANARIES['job_netrc']}\n")
    home = root / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine example.invalid login u password {CANARIES['home_netrc']}\n")
    docker_config = root / "docker-config"
    docker_config.mkdir()
    auth = base64.b64encode(f"user:{CANARIES['registry_auth']}".encode()).decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5055": {"auth": auth}}}))
    ca = root / "corp-ca.pem"
    ca.write_bytes(SYSTEM_CA.read_bytes() + f"# {CANARIES['ca_marker']}\n".encode())
    env = {**os.environ, **ENV_TOKENS, "HOME": str(home), "DOCKER_CONFIG": str(docker_config),
           "SSL_CERT_FILE": str(ca), "NO_COLOR": "1", "COLUMNS": "200"}
    # uv, pip and the CLI read their caches under HOME: keep the real ones so the run stays warm.
    env["XDG_CACHE_HOME"] = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return {"job": job, "env": env, "root": root, "ca": ca}


@pytest.fixture(scope="module")
def built(planted, docker_client, standin_images):
    report = planted["root"] / "report.json"
    args = ["build", str(planted["job"]), "--python-base-image", PYTHON_STANDIN, "--no-cache",
            "--format", "rich", "--format", "json", "--output", str(planted["root"] / "report"), "--verbose"]
    result = _cli(args, planted["env"], planted["root"])
    # LB402 warns about the planted secrets (exit 0): the default ignore set keeps them out,
    # which the layer scans below prove.
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((planted["root"] / "report.json").read_text())
    assert report["build"] and report["build"]["tag"], report["build"]
    tag = report["build"]["tag"]
    yield {"tag": tag, "output": result.stdout + result.stderr, "report": report,
           "rich": (planted["root"] / "report.rich.txt").read_text() if (planted["root"] / "report.rich.txt").exists() else ""}
    docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def layer_files(built):
    return list(saved_image_members(built["tag"]))


@pytest.mark.parametrize("canary", sorted(CANARIES))
def test_no_canary_in_any_layer_or_the_image_metadata(layer_files, canary):
    value = CANARIES[canary].encode()
    hits = [f"{layer}:{name}" for layer, name, data in layer_files if value in data]
    assert hits == [], hits


@pytest.mark.parametrize("name", [".env", "id_rsa", "deploy.pem", ".netrc"])
def test_secret_files_are_kept_out_by_the_default_ignore_set(layer_files, name):
    assert [n for _, n, _ in layer_files if Path(n).name == name] == []


def test_install_ca_bundle_is_not_in_the_image(layer_files, planted):
    # A copy of the user's bundle under any name: its last certificate's text.
    chunk = SYSTEM_CA.read_bytes().split(b"-----BEGIN CERTIFICATE-----")[-1][:200]
    copies = [f"{layer}:{n}" for layer, n, data in layer_files if chunk in data and "ca-certificates" not in n]
    assert copies == [], copies
    assert not [n for _, n, _ in layer_files if n.endswith("corp-ca.pem") or n.startswith("run/secrets")]


def test_secrets_are_never_build_args_or_env(built, docker_client, planted):
    image = docker_client.images.get(built["tag"])
    metadata = json.dumps(image.attrs) + json.dumps(image.history())
    for value in [*CANARIES.values(), str(planted["ca"]), "WANDB_API_KEY", "HF_TOKEN", "GITHUB_TOKEN"]:
        assert value not in metadata, value
    # The bundle is named only as the BuildKit secret mount path, inside the install RUN.
    created = [h.get("CreatedBy", "") for h in image.history()]
    assert all("SSL_CERT_FILE=/run/secrets/" in c for c in created if "SSL_CERT_FILE" in c)
    assert not [c for c in created if c.lstrip().startswith("ARG") or c.lstrip().startswith("|")], created
    env = image.attrs["Config"].get("Env") or []
    assert not [e for e in env if e.split("=")[0] in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")], env


def test_image_runs_as_non_root(built, docker_client):
    config_user = docker_client.images.get(built["tag"]).attrs["Config"].get("User") or ""
    assert config_user not in ("", "0", "root", "0:0")
    out = docker_client.containers.run(built["tag"], ["id", "-u"], entrypoint=[], network_mode="none", remove=True)
    assert int(out.decode().strip()) != 0


def test_credentials_never_printed_even_verbose(built):
    for text in (built["output"], built["rich"], json.dumps(built["report"])):
        for value in CANARIES.values():
            assert value not in text


def test_lb402_warns_before_copying_secrets(planted):
    result = _cli(["check", str(planted["job"]), "--python-base-image", PYTHON_STANDIN, "--format", "json"],
                  planted["env"], planted["root"])
    # LB402 warns (exit 0): the secrets are in the source, and the default ignore set keeps
    # them out of the image (the layer scans above build without --force).
    assert result.returncode == 0, result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "LB402"]
    assert findings and all(f["severity"] == "warning" for f in findings)
    assert all({"fact": "copied", "value": "no", "source": "ignore rules"} in f["evidence"] for f in findings)
    flagged = json.dumps(findings)
    for name in (".env", "id_rsa", "deploy.pem"):
        assert name in flagged
    assert not any(value in flagged for value in CANARIES.values())  # names the file, never its content


def test_secret_check_count():
    count = len(CANARIES) + 4 + 1 + 1 + 1 + 1 + 1
    print(f"\n{count} secret checks on one CLI-built image")
