"""Checks through a real `launchbuild serve`, on the real engine and package index: the
document is the one `launchbuild check --format json` prints for the same job and options
(whatever the verdict), and 200 mixed concurrent requests each get their own answer."""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers_serve import launchbuild_exe, start_server, tar_gz

pytestmark = [pytest.mark.docker, pytest.mark.network]

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
BUSYBOX_STANDIN = "launchbuild-test/busybox:latest"
CUDA_STANDIN = "launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04"
FROM_RUN = Path(__file__).resolve().parents[2] / "examples" / "from-run"


@pytest.fixture(scope="module")
def server(tmp_path_factory, standin_images):
    tmp = tmp_path_factory.mktemp("serve-checks")
    srv = start_server(tmp, "--max-concurrent-checks", "2", "--check-queue-size", "256", "--max-upload-bytes", "65536",
                       env={"TMPDIR": str(tmp)})
    srv.tmp = tmp  # type: ignore[attr-defined]
    yield srv
    assert srv.stop() == 0
    assert [p.name for p in tmp.iterdir() if p.name.startswith("launchbuild-serve-")] == []


def cli_document(cwd: Path, *args: str) -> dict:
    proc = subprocess.run([launchbuild_exe(), "check", *args, "--format", "json"], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def same_document(served: dict, cli: dict) -> None:
    served, cli = dict(served), dict(cli)
    assert isinstance(served.pop("duration_s"), float) and isinstance(cli.pop("duration_s"), float)
    assert served == cli


CODE = {"train.py": "import six\nprint(six.__version__)\n", "requirements.txt": "six==1.16.0\n"}
CASES = [
    # (request options, the same as CLI flags)
    ({"python": "3.11", "entrypoint": "python train.py", "python-base-image": PYTHON_STANDIN},
     ["--python", "3.11", "--entrypoint", "python train.py", "--python-base-image", PYTHON_STANDIN], "pass"),
    ({"python": "3.11", "base-image": BUSYBOX_STANDIN, "gpu": ["H100"], "driver": "470.57.02", "strict": True},
     ["--python", "3.11", "--base-image", BUSYBOX_STANDIN, "--gpu", "H100", "--driver", "470.57.02", "--strict"],
     "fail"),
]


@pytest.mark.parametrize("options,flags,verdict", CASES)
def test_an_archive_check_is_the_cli_document(server, tmp_path, options, flags, verdict):
    (tmp_path / "code").mkdir()
    for name, text in CODE.items():
        (tmp_path / "code" / name).write_text(text)
    cli_document(tmp_path, "code", *flags)  # both warm: a cold lock says cache_hit false
    archive = tar_gz(CODE)
    response = httpx.post(server.url + "/v1/checks", headers=server.headers, timeout=300, files={
        "request": (None, json.dumps({"source": {"archive": "source"}, "options": options})),
        "source": ("code.tar.gz", archive)})
    assert response.status_code == 200, response.text
    same_document(response.json(), cli_document(tmp_path, "code", *flags))
    assert response.json()["verdict"] == verdict  # 200 whatever the verdict


def test_a_wandb_spec_with_a_queue_config_is_the_cli_document(server, tmp_path):
    spec = json.loads((FROM_RUN / "wandb-job.json").read_text())
    queue = {"builder": {"accelerator": {"base_image": CUDA_STANDIN}}}
    code = {"train.py": (FROM_RUN / "train.py").read_text(), "requirements.txt": "six==1.16.0\n"}
    body = {"source": {"archive": "source"}, "spec": spec, "queue_config": queue,
            "options": {"gpu": ["A100"], "driver": "535.104.05"}}
    (tmp_path / "wandb-job.json").write_text(json.dumps(spec))
    (tmp_path / "queue-config.json").write_text(json.dumps(queue))
    (tmp_path / "code").mkdir()
    for name, text in code.items():
        (tmp_path / "code" / name).write_text(text)
    flags = ["wandb-job.json", "--queue-config", "queue-config.json", "--gpu", "A100", "--driver", "535.104.05"]
    cli_document(tmp_path, *flags)  # warm
    response = httpx.post(server.url + "/v1/checks", headers=server.headers, timeout=300, files={
        "request": (None, json.dumps(body)), "source": ("code.zip", _zip(code))})
    assert response.status_code == 200, response.text
    served = response.json()
    same_document(served, cli_document(tmp_path, *flags))
    assert served["target"]["image"]["value"] == CUDA_STANDIN


def _zip(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def test_an_image_check_and_a_warm_repeat(server):
    body = {"source": {"image": PYTHON_STANDIN}, "options": {"gpu": ["T4"], "ignore": ["LB999"]}}
    bad = httpx.post(server.url + "/v1/checks", headers=server.headers, json=body, timeout=120)
    assert bad.status_code == 400 and "LB999" in bad.json()["error"]["message"]
    body["options"]["ignore"] = []
    first = httpx.post(server.url + "/v1/checks", headers=server.headers, json=body, timeout=120)
    again = httpx.post(server.url + "/v1/checks", headers=server.headers, json=body, timeout=120)
    assert first.status_code == again.status_code == 200
    assert again.headers["x-launchbuild-cache"] == "hit" and again.json() == first.json()
    assert first.json()["job"] == f"image:{PYTHON_STANDIN}"


def test_two_hundred_mixed_requests_each_get_their_own_answer(server):
    """Good, bad, oversized and unauthorized requests at once: every response belongs to its
    request (its own driver, its own option name), none is lost, and the metrics add up."""
    before = httpx.get(server.url + "/metrics").text

    def good(i: int) -> None:
        driver = f"535.{i}.01"
        code = {"train.py": f"print({i})\n", "requirements.txt": "six==1.16.0\n"}
        r = httpx.post(server.url + "/v1/checks", headers=server.headers, timeout=600, files={
            "request": (None, json.dumps({"source": {"archive": "source"}, "options": {
                "python": "3.11", "python-base-image": PYTHON_STANDIN, "driver": driver,
                "entrypoint": f"python train.py --run {i}"}})),
            "source": ("code.tar.gz", tar_gz(code))})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["target"]["driver"]["value"] == driver
        assert doc["target"]["entrypoint"]["value"] == ["python", "train.py", "--run", str(i)]

    def bad(i: int) -> None:
        r = httpx.post(server.url + "/v1/checks", headers=server.headers, timeout=600,
                       json={"source": {"image": PYTHON_STANDIN}, "options": {f"bogus-{i}": True}})
        assert r.status_code == 400 and f"'bogus-{i}'" in r.json()["error"]["message"], r.text

    def oversized(i: int) -> None:
        r = httpx.post(server.url + "/v1/checks", headers=server.headers, timeout=600, files={
            "request": (None, json.dumps({"source": {"archive": "source"}})),
            "source": ("code.tar.gz", os.urandom(66000 + i))})
        assert r.status_code == 413, r.text

    def unauthorized(i: int) -> None:
        r = httpx.post(server.url + "/v1/checks", headers={"Authorization": f"Bearer nope-{i}"}, timeout=600,
                       json={"source": {"image": PYTHON_STANDIN}})
        assert r.status_code == 401, r.text

    kinds = [good, bad, oversized, unauthorized]
    jobs = [(kinds[i % 4], i) for i in range(200)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda job: job[0](job[1]), jobs))
    assert len(results) == 200
    after = httpx.get(server.url + "/metrics").text

    def count(text: str, status: str) -> int:
        line = f'launchbuild_http_requests_total{{route="/v1/checks",method="POST",status="{status}"}} '
        found = [ln for ln in text.splitlines() if ln.startswith(line)]
        return int(found[0].rsplit(" ", 1)[1]) if found else 0

    for status in ("200", "400", "413", "401"):
        assert count(after, status) - count(before, status) == 50, status


def test_a_cached_check_is_dropped_when_its_image_changes(server, docker_client):
    """The exact cache: the same request after the base image was re-tagged is checked again
    against the new image (the engine's image events invalidate what the server remembers)."""
    ref = f"launchbuild-test/serve-cache-{os.getpid()}:1"
    python, debian = (docker_client.images.get(r) for r in (PYTHON_STANDIN, "launchbuild-test/debian:12"))
    python.tag(ref)
    try:
        body = {"source": {"image": ref}}
        first = httpx.post(server.url + "/v1/checks", headers=server.headers, json=body, timeout=120)
        warm = httpx.post(server.url + "/v1/checks", headers=server.headers, json=body, timeout=120)
        assert warm.headers["x-launchbuild-cache"] == "hit" and warm.json() == first.json()
        seen = _events_seen(server)
        debian.tag(ref)  # same name, another image
        deadline = time.monotonic() + 60  # a bound only: we wait on the server saying it saw the event
        while _events_seen(server) == seen:
            assert time.monotonic() < deadline, "the server never saw the engine's tag event"
        changed = httpx.post(server.url + "/v1/checks", headers=server.headers, json=body, timeout=120)
        assert changed.headers["x-launchbuild-cache"] == "miss"
        assert changed.json()["image"]["pythons"] != first.json()["image"]["pythons"]
        assert changed.json()["image"]["digest"] != first.json()["image"]["digest"]
    finally:
        docker_client.images.remove(ref)


def _events_seen(server) -> int:
    deadline = time.monotonic() + 60
    text = httpx.get(server.url + "/metrics").text
    while "\nlaunchbuild_engine_image_events_connected 1" not in text:  # the watch connects at start-up
        assert time.monotonic() < deadline, "the server never followed the engine's events"
        text = httpx.get(server.url + "/metrics").text
    return int(text.split("\nlaunchbuild_engine_image_events_seen ")[1].split()[0])
