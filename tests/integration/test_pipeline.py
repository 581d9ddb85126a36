"""The whole pipeline through the CLI, on the real engine with the stand-ins and real PyPI:
check, build (skip on rebuild), run the image, dockerfile, resolve, inspect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.network]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


@pytest.fixture()
def demo(tmp_path: Path, standin_images) -> Path:
    job = tmp_path / "demo"
    shutil.copytree(EXAMPLES / "demo", job)
    (job / "queue.json").write_text(json.dumps(
        {"builder": {"accelerator": {"base_image": standin_images["cuda121"]}}}))
    return job


def test_check_demo_passes_with_json_report(demo: Path, tmp_path: Path):
    out = tmp_path / "report.json"
    result = invoke("check", str(demo), "--queue-config", str(demo / "queue.json"), "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["schema_version"] == 1
    assert report["verdict"] == "pass"
    assert report["image"]["cuda_version"] == "12.1.1"
    assert report["environment"]["input_kind"] == "requirements"


def test_check_catches_old_driver_for_the_image(demo: Path):
    result = invoke("check", str(demo), "--queue-config", str(demo / "queue.json"), "--driver", "515.65.01",
                    "--format", "json")
    assert result.exit_code == 1, result.output
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "LB202" in rules


def test_busybox_accelerator_image_is_lb101(demo: Path, standin_images):
    result = invoke("check", str(demo), "--base-image", standin_images["busybox"], "--format", "json")
    assert result.exit_code == 1, result.output
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "LB101" in rules


def test_build_run_and_skip(demo: Path, docker_client, tmp_path: Path):
    out = tmp_path / "build.json"
    result = invoke("build", str(demo), "--queue-config", str(demo / "queue.json"), "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    build = json.loads(out.read_text())["build"]
    assert all(v["passed"] for v in build["verification"])
    tag = build["tag"]
    try:
        logs = docker_client.containers.run(tag, ["2"], network_mode="none", remove=True).decode()
        assert "training finished" in logs and "step 2/2" in logs
        again = invoke("build", str(demo), "--queue-config", str(demo / "queue.json"), "--format", "json",
                       "-o", str(out))
        assert again.exit_code == 0, again.output
        second = json.loads(out.read_text())["build"]
        assert second["skipped"] is True and second["tag"] == tag
    finally:
        docker_client.images.remove(tag, force=True)


def test_dockerfile_is_deterministic(demo: Path):
    first = invoke("dockerfile", str(demo), "--queue-config", str(demo / "queue.json"))
    second = invoke("dockerfile", str(demo), "--queue-config", str(demo / "queue.json"))
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    assert "FROM launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04" in first.stdout
    assert 'ENTRYPOINT ["python", "train.py"]' in first.stdout


def test_resolve_writes_a_hashed_lock(demo: Path, tmp_path: Path):
    lock = tmp_path / "lock.txt"
    result = invoke("resolve", str(demo), "--python", "3.9", "-o", str(lock))
    assert result.exit_code == 0, result.output
    text = lock.read_text()
    assert "rich==" in text and "--hash=sha256:" in text


def test_inspect_standin_json(standin_images):
    result = invoke("inspect", standin_images["cuda118"], "--format", "json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["cuda_version"] == "11.8.0"
    assert facts["provider"] == "docker"


def test_github_annotation_points_at_the_bad_pin(tmp_path: Path):
    job = tmp_path / "job"
    job.mkdir()
    (job / "train.py").write_text("print('x')\n")
    (job / "requirements.txt").write_text("# deps\nsix==1.16.0\nidna==0.0.999\n")
    result = invoke("check", str(job), "--entrypoint", "python train.py", "--format", "github")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert any("LB301" in line and "line=3" in line and "requirements.txt" in line for line in lines), result.stdout


def test_make_demo_script_runs_the_image():
    script = Path(__file__).resolve().parents[2] / "scripts" / "demo.sh"
    assert script.is_file()
    env = {**os.environ, "LAUNCHBUILD": f"{sys.executable} -m launchbuild.cli", "NO_COLOR": "1"}
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "training finished" in proc.stdout


def test_kubernetes_dry_run_writes_valid_manifests(demo: Path, tmp_path: Path, local_registry, standin_images):
    import yaml

    # The cluster pulls the base from a registry: the stand-in's copy in the local one.
    (demo / "queue.json").write_text(json.dumps(
        {"builder": {"accelerator": {"base_image": f"{local_registry}/{standin_images['cuda121']}"}}}))
    out = tmp_path / "build-job.yaml"
    result = invoke("build", str(demo), "--queue-config", str(demo / "queue.json"), "--engine", "kubernetes",
                    "--dry-run", "--push", f"{local_registry}/team/demo", "-o", str(out))
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(out.read_text()))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["ConfigMap", "Job"]
    job = docs[1]
    destination = job["metadata"]["annotations"]["launchbuild.io/destination"]
    assert destination.startswith(f"{local_registry}/team/demo:lb-")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert any(a.startswith(f"type=image,name={destination},push=true") for a in args)
    # The same job gives the same manifests: the name and tag are content-derived.
    again = tmp_path / "again.yaml"
    invoke("build", str(demo), "--queue-config", str(demo / "queue.json"), "--engine", "kubernetes",
           "--dry-run", "--push", f"{local_registry}/team/demo", "-o", str(again))
    assert again.read_text() == out.read_text()
    # Without -o the CLI prints them (`... --dry-run > build-job.yaml`): a real process, stdout only.
    printed = subprocess.run([sys.executable, "-m", "launchbuild.cli", "build", str(demo), "--queue-config",
                              str(demo / "queue.json"), "--engine", "kubernetes", "--dry-run", "--push",
                              f"{local_registry}/team/demo"], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "NO_COLOR": "1"})
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == out.read_text()


def test_kubernetes_engine_needs_a_push_destination(demo: Path):
    result = invoke("build", str(demo), "--queue-config", str(demo / "queue.json"), "--engine", "kubernetes",
                    "--dry-run")
    assert result.exit_code == 2, result.output
    assert "--push" in result.output and "Traceback" not in result.output


def test_kubernetes_refuses_a_base_only_in_the_local_engine_before_submitting(demo: Path, tmp_path: Path, local_registry,
                                                                           standin_images, docker_client):
    import uuid

    # Built (here: tagged) locally under a registry name, never pushed: the registry says no.
    local_only = f"{local_registry}/launchbuild-test/never-pushed-{uuid.uuid4().hex[:8]}:1"
    docker_client.images.get(standin_images["cuda121"]).tag(local_only)
    try:
        (demo / "queue.json").write_text(json.dumps({"builder": {"accelerator": {"base_image": local_only}}}))
        out = tmp_path / "build-job.yaml"
        result = invoke("build", str(demo), "--queue-config", str(demo / "queue.json"), "--engine", "kubernetes",
                        "--dry-run", "--push", f"{local_registry}/team/demo", "-o", str(out), "--format", "json")
    finally:
        docker_client.images.remove(local_only)
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text())  # the report, with the finding, in place of manifests
    lb404 = [f for f in report["findings"] if f["rule"] == "LB404"]
    assert lb404 and lb404[0]["severity"] == "error" and local_only in lb404[0]["message"]
    assert "Traceback" not in result.output
