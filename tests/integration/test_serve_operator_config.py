"""`launchbuild serve --config FILE` on the real engine and package index: the operator's config
file applies to every check and build (an operator option the report and the image show:
the resolver backend and the image's uid), a request still cannot set those options, and a
request's job options still win over the operator file's defaults for them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers_serve import start_server, tar_gz

pytestmark = [pytest.mark.docker, pytest.mark.network]

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
CUDA_STANDIN = "launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04"
CODE = {"train.py": "import six\nprint(six.__version__)\n", "requirements.txt": "six==1.16.0\n"}
OPERATOR_CONFIG = f'resolver = "pip-tools"\nuid = 4242\npython-base-image = "{PYTHON_STANDIN}"\n'


@pytest.fixture(scope="module")
def configured(tmp_path_factory, standin_images):
    tmp = tmp_path_factory.mktemp("serve-config")
    (tmp / "operator.toml").write_text(OPERATOR_CONFIG)
    srv = start_server(tmp, "--config", str(tmp / "operator.toml"), env={"TMPDIR": str(tmp)})
    srv.tmp = tmp  # type: ignore[attr-defined]
    yield srv
    assert srv.stop() == 0


def check(srv, options: dict) -> httpx.Response:
    return httpx.post(srv.url + "/v1/checks", headers=srv.headers, timeout=300, files={
        "request": (None, json.dumps({"source": {"archive": "source"}, "options": options})),
        "source": ("code.tar.gz", tar_gz(CODE))})


def cli_document(cwd: Path, *args: str) -> dict:
    proc = subprocess.run(["launchbuild", "check", *args, "--format", "json"], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_the_operator_config_applies_to_a_check_as_check_config_would(configured, tmp_path):
    (tmp_path / "code").mkdir()
    for name, text in CODE.items():
        (tmp_path / "code" / name).write_text(text)
    config = str(configured.tmp / "operator.toml")
    flags = ["code", "--python", "3.11", "--entrypoint", "python train.py", "--config", config]
    cli_document(tmp_path, *flags)  # warm the lock cache, as the served check is compared with a warm CLI run
    response = check(configured, {"python": "3.11", "entrypoint": "python train.py"})
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["environment"]["lock"]["backend"] == "pip-tools"  # an operator option, from the file
    image = served["target"]["image"]
    assert image["value"] == PYTHON_STANDIN and image["origin"] == "operator config" and image["detail"] == config
    assert "operator-config.toml" not in response.text and str(configured.state_dir) not in response.text
    cli = cli_document(tmp_path, *flags)
    for doc in (served, cli):
        doc.pop("duration_s")
    assert served == cli  # the same document as `launchbuild check --config FILE`


@pytest.mark.parametrize("option,value", [("resolver", "uv"), ("uid", "0")])
def test_a_request_cannot_override_the_operator_config(configured, option, value):
    response = check(configured, {"python": "3.11", option: value})
    assert response.status_code == 400 and f"option {option!r} is set by the server's operator" in response.text


def test_a_requests_job_option_wins_over_the_operator_configs_default(configured):
    response = check(configured, {"python": "3.11", "entrypoint": "python train.py", "python-base-image": CUDA_STANDIN})
    assert response.status_code == 200, response.text
    image = response.json()["target"]["image"]
    assert image["value"] == CUDA_STANDIN and image["origin"] != "operator config"
    assert response.json()["environment"]["lock"]["backend"] == "pip-tools"  # the operator's part still applies


def test_a_build_runs_as_the_operator_configs_uid(configured, docker_client):
    name = f"serve-uid-{os.getpid()}-{time.time_ns()}"
    spec = {"_version": "v0", "name": name, "source_type": "artifact",
            "source": {"artifact": f"wandb-artifact://_id/{name}", "entrypoint": ["python", "train.py"]},
            "runtime": "3.11"}
    created = httpx.post(configured.url + "/v1/builds", headers=configured.headers, timeout=300, files={
        "request": (None, json.dumps({"source": {"archive": "source"}, "spec": spec})),
        "source": ("code.tar.gz", tar_gz(CODE))})
    assert created.status_code == 202, created.text
    build_id = created.json()["id"]
    with httpx.stream("GET", f"{configured.url}/v1/builds/{build_id}/events", headers=configured.headers,
                      timeout=900) as r:
        for _line in r.iter_lines():
            pass  # the stream ends with the build's final status
    record = httpx.get(f"{configured.url}/v1/builds/{build_id}", headers=configured.headers).json()
    try:
        assert record["status"] == "succeeded", record
        assert record["report"]["environment"]["lock"]["backend"] == "pip-tools"
        assert docker_client.images.get(record["tag"]).attrs["Config"]["User"] == "4242:4242"
        assert "operator-config.toml" not in json.dumps(record)
    finally:
        if record.get("tag"):
            docker_client.images.remove(record["tag"], force=True)
