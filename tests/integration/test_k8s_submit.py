"""The real submit path, through the real `kubernetes` client, against the fake API server
on 127.0.0.1 in tests/helpers_k8s.py (no cluster is reachable here). Needs the
`launchbuild[kubernetes]` extra; the importorskip only guards quick loops without it."""

from __future__ import annotations

import socket
from dataclasses import replace
import sys
from pathlib import Path

import pytest

pytest.importorskip("kubernetes")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers_k8s import DIGEST, FAIL_LOG, FakeKube, FakeKubeServer, api_client_for  # noqa: E402

from launchbuild.builder import kubernetes as k8s  # noqa: E402
from launchbuild.builder.kubernetes_submit import KubernetesBuildFailed, submit  # noqa: E402
from launchbuild.errors import BadInput, InfraUnavailable  # noqa: E402

DEST = "registry.example.com:5000/team/train:lb-0123abcd"
NS = "builds"


@pytest.fixture
def context_dir(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY train.py /app/train.py\n")
    (ctx / "train.py").write_text("print('hi')\n")
    return ctx


def _options(store: str = "configmap", builder: str = "buildkit") -> k8s.KubernetesBuildOptions:
    return k8s.KubernetesBuildOptions(destination=DEST, context_store=store, builder=builder, namespace=NS, registry_secret="regcred")


def _run(fake: FakeKube, context_dir: Path, options=None, **kw):
    with FakeKubeServer(fake) as srv:
        kw.setdefault("poll_interval_s", 0.01)
        return submit(context_dir, options or _options(), api_client=srv.api_client(), **kw)


def _posts(fake: FakeKube, kind: str) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(f"/{kind}")]


def test_success_creates_waits_and_cleans_up(context_dir: Path) -> None:
    fake = FakeKube("succeed", polls_before_done=3)
    events: list[str] = []
    result = _run(fake, context_dir, on_event=events.append)
    name = k8s.job_name(DEST)
    assert (result.job_name, result.namespace, result.reused, result.deleted) == (name, NS, False, True)
    assert result.digest == DIGEST and result.pod == f"{name}-x7k2p"
    # the Job sent is exactly the rendered manifest; the ConfigMap holds the archive
    archive = k8s.build_context_archive(context_dir)
    cm, job = k8s.render_manifests(_options(), context_archive=archive)
    assert [r.body for r in _posts(fake, "jobs")] == [job]
    assert [r.body for r in _posts(fake, "configmaps")] == [cm]
    assert sum(r.path.endswith("/status") for r in fake.requests) == 3
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    assert deletes[0].path == f"/apis/batch/v1/namespaces/{NS}/jobs/{name}"
    assert deletes[0].query["propagationPolicy"] == ["Background"]  # or the pods are orphaned
    assert deletes[1].path.endswith(f"/configmaps/{name}-ctx")
    assert not fake.jobs and not fake.configmaps
    assert any("succeeded" in e for e in events)


def test_failure_raises_with_the_log_tail_and_keeps_the_job(context_dir: Path) -> None:
    fake = FakeKube("fail")
    with pytest.raises(KubernetesBuildFailed) as info:
        _run(fake, context_dir, log_tail_lines=5)
    err = info.value
    assert err.exit_code == 1
    assert err.log_tail == tuple(FAIL_LOG[-5:])
    text = str(err)
    assert "BackoffLimitExceeded" in text and "container builder exited 1" in text
    assert "did not complete successfully: exit code: 1" in text
    assert "kubectl logs" in text  # kept for inspection under the default on-success policy
    log_reads = [r for r in fake.requests if r.path.endswith("/log")]
    assert log_reads[0].query["container"] == ["builder"] and log_reads[0].query["tailLines"] == ["5"]
    assert fake.jobs  # not deleted


def test_failure_in_the_unpack_init_container_shows_its_log(context_dir: Path) -> None:
    fake = FakeKube("fail-init")
    with pytest.raises(KubernetesBuildFailed, match="container unpack-context exited 1") as info:
        _run(fake, context_dir, cleanup="always")
    assert any("No such file or directory" in line for line in info.value.log_tail)
    assert not fake.jobs  # cleanup=always deletes failed jobs too


def test_active_deadline_exceeded_is_a_failure(context_dir: Path) -> None:
    with pytest.raises(KubernetesBuildFailed, match="DeadlineExceeded"):
        _run(FakeKube("deadline"), context_dir)


def test_client_side_timeout_deletes_the_running_job(context_dir: Path) -> None:
    fake = FakeKube("hang")
    with pytest.raises(KubernetesBuildFailed, match="timed out: still running") as info:
        _run(fake, context_dir, wait_timeout_s=0.3, poll_interval_s=0.05)
    assert info.value.log_tail  # the running builder's log so far
    assert not fake.jobs


@pytest.mark.parametrize("code,message", [(403, "forbids creating the build Job in namespace builds"), (401, "rejected the credentials")])
def test_forbidden_and_unauthorized_are_bad_input(context_dir: Path, code: int, message: str) -> None:
    fake = FakeKube(deny=code)
    with pytest.raises(BadInput, match=message) as info:
        _run(fake, context_dir, options=_options("pvc:contexts"), context_uploaded=True)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_unreachable_api_is_infra_unavailable(context_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nothing listens on the port now
    with pytest.raises(InfraUnavailable, match=f"127.0.0.1:{port} is unreachable") as info:
        submit(context_dir, _options(), api_client=api_client_for(f"http://127.0.0.1:{port}"), poll_interval_s=0.01)
    assert info.value.exit_code == 3


def test_existing_job_for_the_same_content_is_adopted(context_dir: Path) -> None:
    fake = FakeKube("succeed")
    with FakeKubeServer(fake) as srv:
        first = submit(context_dir, _options(), api_client=srv.api_client(), poll_interval_s=0.01, cleanup="never")
        second = submit(context_dir, _options(), api_client=srv.api_client(), poll_interval_s=0.01, cleanup="never")
    assert (first.reused, second.reused) == (False, True)
    assert len(_posts(fake, "jobs")) == 2 and len(fake.jobs) == 1  # the second POST got 409
    assert first.deleted is False and fake.configmaps  # cleanup=never keeps both


def test_existing_job_not_ours_is_bad_input(context_dir: Path) -> None:
    fake = FakeKube("succeed")
    name = k8s.job_name(DEST)
    foreign = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS, "labels": {"team": "x"}},
               "spec": {"template": {"metadata": {"labels": {}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}
    fake.jobs[(NS, name)] = foreign
    fake.polls[(NS, name)] = 0
    with pytest.raises(BadInput, match="was not created by launchbuild"):
        _run(fake, context_dir, options=_options("pvc:contexts"), context_uploaded=True)


def test_pvc_store_submits_after_the_context_is_marked_uploaded(context_dir: Path) -> None:
    fake = FakeKube("succeed")
    options = _options("pvc:contexts/team")
    result = _run(fake, context_dir, options=options, context_uploaded=True)
    assert result.deleted and not _posts(fake, "configmaps")
    job = _posts(fake, "jobs")[0].body
    unpack = job["spec"]["template"]["spec"]["initContainers"][-1]
    assert unpack["command"][2] == f"/workspace/store/{k8s.archive_name(options)}"


def test_pvc_store_writes_the_archive_to_the_mounted_claim(context_dir: Path, tmp_path: Path) -> None:
    mount = tmp_path / "claim"
    mount.mkdir()
    fake = FakeKube("succeed")
    options = replace(_options("pvc:contexts/team"), context_store_path=str(mount))
    events: list[str] = []
    _run(fake, context_dir, options=options, on_event=events.append)
    assert (mount / "team" / k8s.archive_name(options)).read_bytes() == k8s.build_context_archive(context_dir)
    assert any("uploaded the context to pvc:contexts/team/" in e for e in events)
    assert _posts(fake, "jobs")  # the Job is created only after the archive is in place


def test_pvc_store_without_its_mount_is_bad_input_before_any_job(context_dir: Path) -> None:
    fake = FakeKube("succeed")
    with pytest.raises(BadInput, match="needs the claim mounted on this machine"):
        _run(fake, context_dir, options=_options("pvc:contexts"))
    assert not fake.requests


def test_s3_store_without_credentials_is_bad_input_before_any_job(context_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeKube("succeed")
    with pytest.raises(BadInput, match="needs AWS credentials"):
        _run(fake, context_dir, options=_options("s3://bkt/ctx"))
    assert not fake.requests


def test_bad_cleanup_policy(context_dir: Path) -> None:
    with pytest.raises(BadInput, match="cleanup policy"):
        submit(context_dir, _options(), cleanup="sometimes")


def test_missing_kubernetes_client_is_bad_input(context_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # import now raises ImportError
    with pytest.raises(BadInput, match=r"pip install 'launchbuild\[kubernetes\]'"):
        submit(context_dir, _options())


def test_missing_kubeconfig_is_bad_input(context_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(BadInput, match="no usable kubeconfig"):
        submit(context_dir, _options(), kubeconfig=tmp_path / "absent-kubeconfig")
