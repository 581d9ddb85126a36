"""The kubernetes engine through `builder.engines.run`: the cluster builds the local Dockerfile
under the local tag, a base only in the local engine is LB404 before anything is submitted,
and the pushed image is verified by a Pod with no network whose log the local judge reads.

Docker is a fake SDK client here (its answers are the point); the cluster is the fake API
server of tests/helpers_k8s.py, spoken to by the real `kubernetes` client."""

from __future__ import annotations

import base64
import io
import json
import sys
import tarfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from hypothesis import given, strategies as st

pytest.importorskip("kubernetes")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers_k8s import DIGEST, FakeKube, FakeKubeServer  # noqa: E402

from launchbuild.builder import kubernetes as k8s  # noqa: E402
from launchbuild.builder.api import fit_and_tag  # noqa: E402
from launchbuild.builder.context import DOCKERFILE_PATH, content_hash, scan  # noqa: E402
from launchbuild.builder.engine import find_uv_binary  # noqa: E402
from launchbuild.builder.engines import EngineOptions, run  # noqa: E402
from launchbuild.builder.kubernetes_verify import render_verification, verify_name  # noqa: E402
from launchbuild.builder.plan import Frontend  # noqa: E402
from launchbuild.errors import BadInput  # noqa: E402
from tests.helpers_builder import GOLDEN_CASES, GOLDEN_DIR  # noqa: E402

PUSH = "registry.example.com:5000/team/train"
BASE_ID = "sha256:" + "5" * 64
NS = "builds"
UV = find_uv_binary()


class _Images:
    def __init__(self, local: dict[str, str], registry):
        self.local, self.registry = local, registry

    def get(self, ref: str):
        from docker.errors import ImageNotFound

        if ref not in self.local:
            raise ImageNotFound(f"no such image: {ref}")
        return SimpleNamespace(id=self.local[ref], attrs={})

    def get_registry_data(self, ref: str):
        from docker.errors import APIError, NotFound

        if self.registry == "unreachable":
            raise APIError("dial tcp: connection refused")
        if ref not in self.registry:
            raise NotFound("manifest unknown")
        return SimpleNamespace(id=self.registry[ref])


def _docker(plan, *, local: bool = True, registry="present"):
    reg = registry if registry == "unreachable" else ({plan.base_image: "sha256:" + "6" * 64} if registry == "present" else {})
    return SimpleNamespace(images=_Images({plan.base_image: BASE_ID} if local else {}, reg))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('training')\n")
    return src


def _options(plan, source: Path, tmp_path: Path, **kw) -> EngineOptions:
    kube = kw.pop("kube", k8s.KubernetesBuildOptions(namespace=NS, registry_secret="regcred"))
    return EngineOptions(engine="kubernetes", source_dir=source, push=PUSH, kubernetes=kube,
                         client=kw.pop("client", _docker(plan)), poll_interval_s=0.01, **kw)


def _dry_run(plan, source: Path, tmp_path: Path, **kw) -> list[dict]:
    out = tmp_path / "build.yaml"
    outcome = run(plan, _options(plan, source, tmp_path, dry_run=True, output=out, **kw))
    assert outcome.summary is None and outcome.manifests is not None
    assert outcome.manifests.written_to == out and outcome.manifests.text == out.read_text()
    return list(yaml.safe_load_all(out.read_text()))


def _archive_file(configmap: dict, path: str) -> str:
    data = base64.b64decode(configmap["binaryData"][k8s.CONTEXT_ARCHIVE_KEY])
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.extractfile(path).read().decode()


BUILDKIT_CASES = sorted(n for n, p in GOLDEN_CASES.items() if p.frontend is Frontend.BUILDKIT)


@pytest.mark.parametrize("name", BUILDKIT_CASES)
def test_the_cluster_builds_the_local_dockerfile_under_the_local_tag(name: str, source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES[name]
    configmap, job = _dry_run(plan, source, tmp_path)
    # What a local BuildKit build of the same plan renders and tags (builder/api.build_image
    # calls this very function with the local engine's frontend, the host's uv and CA bundle).
    local_plan, local_dockerfile, local_ref = fit_and_tag(
        plan, frontend=Frontend.BUILDKIT, ca_bundle=None, uv_binary=UV, code_hash=content_hash(scan(source)),
        base_digest=BASE_ID, repository=PUSH)
    assert _archive_file(configmap, DOCKERFILE_PATH) == local_dockerfile
    # The Job pushes the candidate of the local tag; only a verified image gets the tag itself.
    assert job["metadata"]["annotations"][k8s.ANNOTATION_DESTINATION] == local_ref + k8s.CANDIDATE_SUFFIX
    if local_plan.installer == "uv":
        # uv reaches the cluster context from the uv image, not from the archive.
        init = job["spec"]["template"]["spec"]["initContainers"]
        assert init[-1]["name"] == k8s.UV_CONTAINER and init[-1]["image"].startswith("ghcr.io/astral-sh/uv:")
        if plan.installer == "uv" and plan.ca_mode.value in ("none", "secret"):
            # The golden file of the plan is the local rendering: the cluster's is the same text.
            assert local_dockerfile == (GOLDEN_DIR / f"{name}.Dockerfile").read_text()


def test_the_hosts_ca_bundle_changes_neither_dockerfile_nor_tag(source: Path, tmp_path: Path, monkeypatch) -> None:
    plan = GOLDEN_CASES["code"]
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("PIP_CERT", raising=False)
    plain = _dry_run(plan, source, tmp_path)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    behind_proxy = _dry_run(plan, source, tmp_path)
    assert plain == behind_proxy
    # and the cluster CA is the operator's named object, never a ConfigMap nobody created
    assert "ca-bundle" not in json.dumps(behind_proxy)


def test_a_base_only_in_the_local_engine_is_lb404_before_anything_is_submitted(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    out = tmp_path / "build.yaml"
    fake = FakeKube("succeed")
    with FakeKubeServer(fake) as srv:
        outcome = run(plan, _options(plan, source, tmp_path, client=_docker(plan, registry="absent"),
                                     kube_api_client=srv.api_client()))
        dry = run(plan, _options(plan, source, tmp_path, client=_docker(plan, registry="absent"), dry_run=True, output=out))
    assert outcome.summary is None and dry.summary is None
    (finding,) = outcome.findings
    assert finding.rule == "LB404" and finding.severity.value == "error"
    assert plan.base_image in finding.message and "only in the local engine" in finding.message
    assert not fake.requests and not out.exists()


def test_an_unreachable_registry_is_a_warning_and_the_build_goes_on(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    out = tmp_path / "build.yaml"
    outcome = run(plan, _options(plan, source, tmp_path, client=_docker(plan, registry="unreachable"), dry_run=True, output=out))
    assert [(f.rule, f.severity.value) for f in outcome.findings] == [("LB404", "warning")]
    assert out.exists()


def test_a_base_only_in_its_registry_is_no_finding(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    out = tmp_path / "build.yaml"
    outcome = run(plan, _options(plan, source, tmp_path, client=_docker(plan, local=False), dry_run=True, output=out))
    assert outcome.findings == () and out.exists()


def test_a_dry_run_without_output_answers_the_manifests_and_prints_nothing(source: Path, tmp_path: Path,
                                                                           capfd) -> None:
    plan = GOLDEN_CASES["code"]
    outcome = run(plan, _options(plan, source, tmp_path, dry_run=True))
    assert outcome.summary is None and outcome.manifests is not None and outcome.manifests.written_to is None
    assert [d["kind"] for d in yaml.safe_load_all(outcome.manifests.text)] == ["ConfigMap", "Job"]
    assert capfd.readouterr() == ("", "")
    assert outcome.manifests.text == k8s.dump_manifests(_dry_run(plan, source, tmp_path))


def _probe_log(plan, *, python: str | None = None) -> str:
    probe = {"python": python or f"{plan.python}.7", "executable": "/opt/venv/bin/python",
             "pip_check": {"ran": True, "rc": 0, "output": "No broken requirements found."},
             "dists": [["six", "1.16.0"]], "marker_env": {}, "entrypoint": {"ok": True, "detail": "train.py found"},
             "uid": 1000}
    return "some stderr of the image\n" + json.dumps(probe) + "\n"


def _submit(plan, source: Path, tmp_path: Path, fake: FakeKube, **kw):
    with FakeKubeServer(fake) as srv:
        return run(plan, _options(plan, source, tmp_path, kube_api_client=srv.api_client(), **kw))


def test_a_cluster_build_is_verified_by_a_pod_with_no_network(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    fake = FakeKube("succeed", probe_log=_probe_log(plan))
    outcome = _submit(plan, source, tmp_path, fake)
    summary = outcome.summary
    assert summary.engine == "kubernetes" and summary.digest == DIGEST and summary.verified
    assert [v.check for v in summary.verification][:5] == ["python version", "pip check", "locked versions", "entrypoint", "non-root user"]
    assert summary.tag.startswith(PUSH + ":lb-") and summary.pushed == summary.tag
    posts = [(r.path.rsplit("/", 1)[-1], r.body) for r in fake.requests if r.method == "POST"]
    assert [kind for kind, _ in posts] == ["configmaps", "jobs", "networkpolicies", "configmaps", "pods", "jobs"]
    build, promote = [body for kind, body in posts if kind == "jobs"]
    candidate = build["metadata"]["annotations"][k8s.ANNOTATION_DESTINATION]
    assert candidate == summary.tag + k8s.CANDIDATE_SUFFIX  # the builder never pushes the content tag
    # only after the probe passed is the verified image, by digest, given the content tag
    assert promote["spec"]["template"]["spec"]["containers"][0]["args"] == ["tag", f"{PUSH}@{DIGEST}", summary.tag.rsplit(":", 1)[1]]
    pod, policy = dict(posts)["pods"], dict(posts)["networkpolicies"]
    spec = pod["spec"]
    assert spec["containers"][0]["image"] == f"{PUSH}@{DIGEST}"  # the pushed image, by digest
    assert (spec["dnsPolicy"], spec["dnsConfig"], spec["automountServiceAccountToken"], spec["enableServiceLinks"],
            spec["hostNetwork"]) == ("None", {"nameservers": ["127.0.0.1"]}, False, False, False)
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert policy["spec"] == {"podSelector": {"matchLabels": {"launchbuild.io/verify": verify_name(candidate)}},
                              "policyTypes": ["Ingress", "Egress"]}
    assert pod["metadata"]["labels"]["launchbuild.io/verify"] == verify_name(candidate)
    # the probe is the local one, with the local arguments
    assert spec["containers"][0]["command"] == ["/opt/venv/bin/python", "/tmp/launchbuild-verify/probe.py"]
    assert json.loads(spec["containers"][0]["args"][0]) == list(plan.entrypoint)
    assert not fake.pods and not fake.policies and not fake.configmaps and not fake.jobs  # all cleaned up


def test_a_failed_cluster_verification_tags_nothing(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    fake = FakeKube("succeed", probe_log=_probe_log(plan, python="3.9.2"))
    outcome = _submit(plan, source, tmp_path, fake)
    summary = outcome.summary
    assert not summary.verified
    failed = [v for v in summary.verification if not v.passed]
    assert [v.check for v in failed] == ["python version"] and "3.9.2" in failed[0].detail
    assert summary.pushed is None and "nothing was tagged" in summary.reason
    assert summary.tag + k8s.CANDIDATE_SUFFIX in summary.reason  # where the unverified image is
    assert not [r for r in fake.requests if r.method == "POST" and "-promote-" in json.dumps(r.body.get("metadata", {}))]


def test_a_registry_that_refuses_the_tag_fails_the_build_with_the_log(source: Path, tmp_path: Path) -> None:
    from launchbuild.builder.kubernetes_submit import KubernetesBuildFailed

    plan = GOLDEN_CASES["code"]
    fake = FakeKube("succeed", probe_log=_probe_log(plan), fail_promotion=True)
    with pytest.raises(KubernetesBuildFailed, match="tagging the verified image .* failed") as info:
        _submit(plan, source, tmp_path, fake)
    assert info.value.log_tail and "kubectl logs" in str(info.value)


def test_a_content_tag_already_in_the_registry_is_a_skip(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    _, _, ref = fit_and_tag(plan, frontend=Frontend.BUILDKIT, ca_bundle=None, uv_binary=UV,
                            code_hash=content_hash(scan(source)), base_digest=BASE_ID, repository=PUSH)
    docker = _docker(plan)
    docker.images.registry[ref] = DIGEST
    fake = FakeKube("succeed")
    summary = _submit(plan, source, tmp_path, fake, client=docker).summary
    assert (summary.skipped, summary.tag, summary.digest, summary.pushed) == (True, ref, DIGEST, None)
    assert not fake.requests


@pytest.mark.parametrize("verify,exit_code,log,expect", [
    ("pull", 0, "", "cannot run: probe ErrImagePull"),
    ("exit", 1, "Traceback\nModuleNotFoundError: no module named json\n", "probe exited 1"),
    ("exit", 0, "no json at all\n", "printed no JSON"),
])
def test_verification_pod_failures_are_failed_checks(source: Path, tmp_path: Path, verify, exit_code, log, expect) -> None:
    plan = GOLDEN_CASES["code"]
    fake = FakeKube("succeed", verify=verify, probe_exit=exit_code, probe_log=log)
    summary = _submit(plan, source, tmp_path, fake).summary
    (result,) = summary.verification
    assert result.check == "run image" and not result.passed and expect in result.detail
    assert not fake.pods and not fake.policies  # removed whatever the outcome


def test_verification_can_be_turned_off_and_says_so(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    fake = FakeKube("succeed")
    kube = k8s.KubernetesBuildOptions(namespace=NS, verify=False)
    summary = _submit(plan, source, tmp_path, fake, kube=kube).summary
    assert summary.verification == () and "not verified" in summary.reason
    assert not [r for r in fake.requests if r.path.endswith("/pods") and r.method == "POST"]


def test_verification_manifests_are_valid_kubernetes_objects() -> None:
    from kubernetes import client

    plan = GOLDEN_CASES["code-accelerator"]
    options = k8s.KubernetesBuildOptions(destination=PUSH + ":lb-0123", namespace=NS, registry_secret="regcred",
                                         uv_image="ghcr.io/astral-sh/uv:0.13.9-debian-slim",
                                         node_selector=(("pool", "builders"),), tolerations=(k8s.Toleration.parse("gpu:NoSchedule"),))
    models = {"NetworkPolicy": client.V1NetworkPolicy, "ConfigMap": client.V1ConfigMap, "Pod": client.V1Pod}
    api = client.ApiClient()
    manifests = render_verification(options, plan, PUSH + ":lb-0123@" + DIGEST)
    assert [m["kind"] for m in manifests] == ["NetworkPolicy", "ConfigMap", "Pod"]
    for manifest in manifests:
        model = models[manifest["kind"]]
        obj = model.model_validate(manifest) if hasattr(model, "model_validate") else api._ApiClient__deserialize(manifest, model.__name__)
        assert api.sanitize_for_serialization(obj) == manifest
    assert set(manifests[1]["data"]) == {"probe.py", "imports_probe.py", "entrypoint_imports.py"}
    assert "cp /usr/local/bin/uv /tmp/launchbuild-verify/uv" in manifests[2]["spec"]["initContainers"][0]["command"][-1]
    assert len(verify_name(options.destination)) <= 63


@pytest.mark.parametrize("change,message", [
    ({"push": None}, "needs --push"),
    ({"kubernetes": k8s.KubernetesBuildOptions(builder="kaniko")}, "kaniko"),
    ({"kubernetes": k8s.KubernetesBuildOptions(namespace="Bad_NS")}, "namespace"),
])
def test_bad_cluster_options_are_bad_input_before_any_work(source: Path, tmp_path: Path, change, message) -> None:
    plan = GOLDEN_CASES["code"]
    options = replace(_options(plan, source, tmp_path), client=SimpleNamespace(), **change)  # a client that answers nothing
    with pytest.raises(BadInput, match=message) as info:
        run(plan, options)
    assert "\n" not in str(info.value)


def test_index_credentials_cannot_reach_the_cluster(source: Path, tmp_path: Path) -> None:
    plan = replace(GOLDEN_CASES["code"], index_credentials=True)
    with pytest.raises(BadInput, match="index credentials"):
        run(plan, _options(plan, source, tmp_path))


_TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}", fullmatch=True)


@given(tag=_TAGS, path=st.from_regex(r"[a-z0-9]{1,20}(/[a-z0-9]{1,20}){0,3}", fullmatch=True))
def test_verification_names_are_valid_labels_and_distinct_per_destination(tag: str, path: str) -> None:
    import re

    destination = f"registry.example.com:5000/{path}:{tag}"
    name = verify_name(destination)
    assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
    assert name != k8s.job_name(destination)
    assert verify_name(destination + "x") != name


def test_without_a_local_engine_the_checks_digest_names_the_base(source: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    plan = GOLDEN_CASES["code"]
    digest = "sha256:" + "7" * 64
    out = tmp_path / "build.yaml"
    outcome = run(plan, replace(_options(plan, source, tmp_path, dry_run=True, output=out), client=None, base_digest=digest))
    assert outcome.findings == ()  # no local engine: nothing can be only there
    destination = list(yaml.safe_load_all(out.read_text()))[-1]["metadata"]["annotations"][k8s.ANNOTATION_DESTINATION]
    _, _, expected = fit_and_tag(plan, frontend=Frontend.BUILDKIT, ca_bundle=None, uv_binary=UV,
                                 code_hash=content_hash(scan(source)), base_digest=digest, repository=PUSH)
    assert destination == expected + k8s.CANDIDATE_SUFFIX
    with pytest.raises(BadInput, match="digest is unknown"):
        run(plan, replace(_options(plan, source, tmp_path, dry_run=True, output=out), client=None))


def test_the_promotion_job_is_a_valid_job_with_the_push_secret() -> None:
    from kubernetes import client

    options = k8s.KubernetesBuildOptions(destination=PUSH + ":lb-0123" + k8s.CANDIDATE_SUFFIX, namespace=NS,
                                         registry_secret="regcred", insecure_registry=True, service_account="builder")
    job = k8s.render_promotion_job(options, f"{PUSH}@{DIGEST}", "lb-0123")
    api = client.ApiClient()
    obj = client.V1Job.model_validate(job) if hasattr(client.V1Job, "model_validate") else api._ApiClient__deserialize(job, "V1Job")
    assert api.sanitize_for_serialization(obj) == job
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == k8s.PROMOTE_IMAGE and container["args"] == ["tag", f"{PUSH}@{DIGEST}", "lb-0123", "--insecure"]
    assert container["volumeMounts"][0]["mountPath"] == "/etc/launchbuild/docker"
    assert {"name": "DOCKER_CONFIG", "value": "/etc/launchbuild/docker"} in container["env"]
    assert pod["volumes"][0]["secret"]["secretName"] == "regcred" and pod["serviceAccountName"] == "builder"
    assert job["spec"]["backoffLimit"] == 0 and len(job["metadata"]["name"]) <= 63
    assert job["metadata"]["name"] not in (k8s.job_name(options.destination), verify_name(options.destination))


def test_run_refuses_an_unknown_engine_and_a_local_dry_run(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    with pytest.raises(BadInput, match="engine 'kaniko' is unknown"):
        run(plan, EngineOptions(engine="kaniko", source_dir=source))
    with pytest.raises(BadInput, match="--dry-run applies to --engine kubernetes"):
        run(plan, EngineOptions(engine="buildkit", source_dir=source, dry_run=True))


def test_an_image_job_builds_nothing_on_the_cluster(tmp_path: Path) -> None:
    from tests.helpers_builder import IMAGE_PLAN

    summary = run(IMAGE_PLAN, EngineOptions(engine="kubernetes", push=PUSH)).summary
    assert (summary.skipped, summary.engine, summary.tag) == (True, "none", IMAGE_PLAN.base_image)


def test_a_second_attempt_adopts_the_verification_objects_of_the_first(source: Path, tmp_path: Path) -> None:
    plan = GOLDEN_CASES["code"]
    fake = FakeKube("succeed", probe_log=_probe_log(plan))
    # an earlier attempt left its policy and probe ConfigMap behind (same names: same candidate)
    first = _submit(plan, source, tmp_path, fake)
    assert first.summary.verified
    candidate = first.summary.tag + k8s.CANDIDATE_SUFFIX
    name = verify_name(candidate)
    fake.policies[(NS, name)] = {"metadata": {"name": name}}
    fake.configmaps[(NS, name)] = {"metadata": {"name": name}}
    fake.requests.clear()
    with FakeKubeServer(fake) as srv:
        again = run(plan, _options(plan, source, tmp_path, kube_api_client=srv.api_client(), force=True))
    assert again.summary.verified
    assert not fake.pods and not fake.policies and not fake.configmaps
