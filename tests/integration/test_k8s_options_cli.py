"""The Kubernetes operator options through the real CLI: `build --engine kubernetes --dry-run`
against the stand-in image in the local engine, manifests read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.network]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture()
def demo(tmp_path: Path, standin_images) -> Path:
    job = tmp_path / "demo"
    shutil.copytree(EXAMPLES / "demo", job)
    (job / "queue.json").write_text(json.dumps(
        {"builder": {"accelerator": {"base_image": standin_images["cuda121"]}}}))
    return job


def _dry_run(demo: Path, out: Path, registry: str, *extra: str, env: dict[str, str] | None = None):
    import yaml

    result = CliRunner().invoke(app, [
        "build", str(demo), "--queue-config", str(demo / "queue.json"), "--engine", "kubernetes", "--dry-run",
        "--push", f"{registry}/team/demo", "-o", str(out), *extra], env={"NO_COLOR": "1", **(env or {})})
    assert result.exit_code == 0, result.output
    return [d for d in yaml.safe_load_all(out.read_text()) if d["kind"] == "Job"][0]


def test_operator_options_reach_the_cluster_job_and_the_shell_ca_does_not(demo: Path, tmp_path: Path,
                                                                          local_registry):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    plain = _dry_run(demo, tmp_path / "plain.yaml", local_registry, env={"SSL_CERT_FILE": str(bundle)})
    pod = plain["spec"]["template"]["spec"]
    # A CA variable in the submitting shell names nothing in the cluster: no ConfigMap is mounted.
    assert all(v["name"] != "ca-bundle" for v in pod["volumes"])

    ops = tmp_path / "ops.toml"
    ops.write_text('kubernetes-service-account = "builder"\nkubernetes-toleration = ["dedicated=builds:NoSchedule"]\n')
    job = _dry_run(demo, tmp_path / "full.yaml", local_registry,
                   "--config", str(ops), "--kubernetes-registry-secret", "registry-push",
                   "--kubernetes-ca-configmap", "corp-ca", "--kubernetes-node-selector", "pool=builds",
                   "--kubernetes-resources", "memory-limit=16Gi", "--kubernetes-timeout", "900",
                   env={"LAUNCHBUILD_KUBERNETES_NAMESPACE": "ml-builds"})
    pod = job["spec"]["template"]["spec"]
    assert job["metadata"]["namespace"] == "ml-builds" and job["spec"]["activeDeadlineSeconds"] == 900
    assert pod["serviceAccountName"] == "builder" and pod["nodeSelector"] == {"pool": "builds"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "builds", "effect": "NoSchedule"}]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["ca-bundle"]["configMap"]["name"] == "corp-ca"
    assert volumes["registry-auth"]["secret"]["secretName"] == "registry-push"
    builder = pod["containers"][0]
    assert builder["resources"]["limits"]["memory"] == "16Gi"
    # The options change where and how the cluster builds, never what is built: same tag.
    tag = "launchbuild.io/destination"
    assert job["metadata"]["annotations"][tag] == plain["metadata"]["annotations"][tag]
