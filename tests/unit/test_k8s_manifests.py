"""Cluster engine manifests: every builder × context-store variant is validated against the
Kubernetes API schema as the official client encodes it (its models are generated from the
Kubernetes OpenAPI spec; since client v30-something they are pydantic models with
extra="forbid", so an unknown or misspelled field is rejected), round-tripped, checked for
structure, and compared with golden YAML files under tests/fixtures/k8s/.

Regenerate goldens after an intended change: LAUNCHBUILD_UPDATE_GOLDEN=1 pytest tests/unit/test_k8s_manifests.py
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from launchbuild.builder import kubernetes as k8s
from launchbuild.builder.kubernetes import KubernetesBuildOptions, Resources, Toleration
from launchbuild.errors import BadInput

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "k8s"
DEST = "registry.example.com:5000/team/train:lb-3f9a2c1d7e4b"
ARCHIVE = b"\x1f\x8b fake archive bytes"

STORES = {
    "s3": "s3://builds-bucket/launchbuild",
    "gs": "gs://builds-bucket",
    "pvc": "pvc:build-contexts",
    "pvcdir": "pvc:build-contexts/team-a/ctx",
    "configmap": "configmap",
}


def _full(builder: str, store: str) -> KubernetesBuildOptions:
    return KubernetesBuildOptions(
        destination=DEST,
        context_store=STORES[store],
        builder=builder,
        namespace="ml-builds",
        cache_repo="registry.example.com:5000/team/cache",
        registry_secret="registry-push",
        ca_configmap="corp-ca",
        ca_key="ca-bundle.crt",
        storage_secret="build-storage",
        service_account="image-builder",
        resources=Resources(cpu_request="2", memory_request="4Gi", cpu_limit="4", memory_limit="16Gi"),
        timeout_s=3600,
        ttl_after_finished_s=600,
        node_selector=(("node.kubernetes.io/pool", "builders"),),
        tolerations=(Toleration.parse("dedicated=builds:NoSchedule"), Toleration.parse("spot:NoExecute")),
        dockerfile="docker/Dockerfile",
        platform="linux/amd64",
        insecure_registry=True,
    )


def _minimal(builder: str, store: str) -> KubernetesBuildOptions:
    return KubernetesBuildOptions(destination=DEST, context_store=STORES[store], builder=builder)


VARIANTS = {
    f"{builder}-{store}-{shape}": (builder, store, factory)
    for builder in k8s.BUILDERS
    for store in STORES
    for shape, factory in (("minimal", _minimal), ("full", _full))
}


def _manifests(name: str) -> list[dict]:
    builder, store, factory = VARIANTS[name]
    return k8s.render_manifests(factory(builder, store), context_archive=ARCHIVE)


def _validate_with_client_models(manifest: dict) -> None:
    kubernetes_client = pytest.importorskip("kubernetes.client")
    model = {"Job": kubernetes_client.V1Job, "ConfigMap": kubernetes_client.V1ConfigMap}[manifest["kind"]]
    api = kubernetes_client.ApiClient()
    if hasattr(model, "model_validate"):  # pydantic models: unknown fields are errors
        obj = model.model_validate(manifest)
    else:  # older generated models drop unknown fields; the round-trip below catches them
        obj = api._ApiClient__deserialize(manifest, model.__name__)
    assert api.sanitize_for_serialization(obj) == manifest


# --- schema and structure --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_is_a_valid_kubernetes_object(name: str) -> None:
    for manifest in _manifests(name):
        _validate_with_client_models(manifest)


def test_the_schema_check_rejects_a_misspelled_field() -> None:
    kubernetes_client = pytest.importorskip("kubernetes.client")
    if not hasattr(kubernetes_client.V1Job, "model_validate"):
        pytest.skip("this kubernetes client has no strict models")
    job = k8s.render_job(_minimal("buildkit", "s3"))
    job["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(Exception, match="securityContex"):
        kubernetes_client.V1Job.model_validate(job)
    job = k8s.render_job(_minimal("buildkit", "pvc"))
    del job["spec"]["template"]["spec"]["containers"][0]["name"]  # a required field
    with pytest.raises(Exception, match="name"):
        kubernetes_client.V1Job.model_validate(job)


def _pod(job: dict) -> dict:
    return job["spec"]["template"]["spec"]


def _all_containers(job: dict) -> list[dict]:
    pod = _pod(job)
    return pod.get("initContainers", []) + pod["containers"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_job_structure(name: str) -> None:
    builder, store, factory = VARIANTS[name]
    options = factory(builder, store)
    job = _manifests(name)[-1]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec, pod = job["spec"], _pod(job)
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == options.timeout_s
    assert spec["ttlSecondsAfterFinished"] == options.ttl_after_finished_s
    assert pod["restartPolicy"] == "Never"
    name_ = job["metadata"]["name"]
    assert name_ == k8s.job_name(DEST) and len(name_) <= 63
    assert job["metadata"]["namespace"] == options.namespace
    labels = job["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "launchbuild"
    assert labels["app.kubernetes.io/instance"] == name_
    assert labels[k8s.LABEL_CONTENT_TAG] == "lb-3f9a2c1d7e4b"
    assert job["spec"]["template"]["metadata"]["labels"] == labels  # pods found by the same labels
    assert job["metadata"]["annotations"][k8s.ANNOTATION_DESTINATION] == DEST
    # every mount names a volume of the pod, and volume/container names are unique
    volumes = [v["name"] for v in pod.get("volumes", [])]
    assert len(volumes) == len(set(volumes))
    containers = [c["name"] for c in _all_containers(job)]
    assert len(containers) == len(set(containers))
    for c in _all_containers(job):
        for m in c.get("volumeMounts", []):
            assert m["name"] in volumes, (c["name"], m)
    builder_c = pod["containers"][0]
    assert builder_c["name"] == "builder"
    assert builder_c["resources"] == options.resources.to_k8s()
    assert pod.get("serviceAccountName") == options.service_account
    assert pod.get("nodeSelector", {}) == dict(options.node_selector)
    assert pod.get("tolerations", []) == [t.to_k8s() for t in options.tolerations]
    # Credentials travel only as mounted files: never in args or env values.
    flat = json.dumps([c.get("args", []) + c.get("command", []) + c.get("env", []) for c in _all_containers(job)])
    assert "dockerconfigjson" not in flat and "password" not in flat.lower()


@pytest.mark.parametrize("store", sorted(STORES))
@pytest.mark.parametrize("factory", [_minimal, _full])
def test_buildkit_rootless_requirements(store: str, factory) -> None:
    options = factory("buildkit", store)
    job = k8s.render_job(options)
    pod = _pod(job)
    c = pod["containers"][0]
    assert c["image"] == k8s.BUILDKIT_IMAGE
    assert c["command"] == ["buildctl-daemonless.sh"]
    sc = c["securityContext"]
    assert sc["runAsUser"] == 1000 and sc["runAsGroup"] == 1000
    assert sc["seccompProfile"] == {"type": "Unconfined"}
    assert sc["appArmorProfile"] == {"type": "Unconfined"}
    assert job["spec"]["template"]["metadata"]["annotations"] == {
        "container.apparmor.security.beta.kubernetes.io/builder": "unconfined"
    }
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["BUILDKITD_FLAGS"] == "--oci-worker-no-process-sandbox"
    args = c["args"]
    assert args[:3] == ["build", "--frontend", "dockerfile.v0"]
    insecure = ",registry.insecure=true" if options.insecure_registry else ""
    cache = (options.cache_repo or "registry.example.com:5000/team/train") + ":buildcache"
    assert ["--output", f"type=image,name={DEST},push=true{insecure}"] == args[args.index("--output"):args.index("--output") + 2]
    assert f"type=registry,ref={cache},mode=max{insecure}" == args[args.index("--export-cache") + 1]
    assert f"type=registry,ref={cache}{insecure}" == args[args.index("--import-cache") + 1]
    assert "context=/workspace/context" in args
    dockerfile_dir = "/workspace/context/docker" if options.dockerfile == "docker/Dockerfile" else "/workspace/context"
    assert f"dockerfile={dockerfile_dir}" in args
    assert "filename=Dockerfile" in args
    # the context is unpacked by an init container from the store, read-only into the builder
    init = {i["name"]: i for i in pod["initContainers"]}
    unpack = init["unpack-context"]
    assert unpack["command"][:2] == ["tar", "-xzf"] and unpack["command"][-2:] == ["-C", "/workspace/context"]
    assert ("fetch-context" in init) == (store in ("s3", "gs"))
    if store in ("s3", "gs"):
        tool = ["aws", "s3", "cp"] if store == "s3" else ["gcloud", "storage", "cp"]
        assert init["fetch-context"]["command"][: len(tool)] == tool
        assert k8s.context_location(options) in init["fetch-context"]["command"]
    # CA: trusted by the builder and handed to the Dockerfile as a build secret, never to unpack
    if options.ca_configmap:
        assert env["SSL_CERT_DIR"] == "/etc/launchbuild/ca"
        assert ["--secret", "id=ca,src=/etc/launchbuild/ca/ca-bundle.crt"] == args[args.index("--secret"):args.index("--secret") + 2]
        assert all(m["name"] != "ca-bundle" for m in unpack["volumeMounts"])
    else:
        assert "--secret" not in args and "SSL_CERT_DIR" not in env
    if options.registry_secret:
        mount = next(m for m in c["volumeMounts"] if m["name"] == "registry-auth")
        assert mount["mountPath"] == "/home/user/.docker" and env["DOCKER_CONFIG"] == "/home/user/.docker"
        vol = next(v for v in pod["volumes"] if v["name"] == "registry-auth")
        assert vol["secret"] == {"secretName": "registry-push", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}


def test_kaniko_is_refused_with_the_migration_note() -> None:
    with pytest.raises(BadInput, match="kaniko.*no longer supported") as info:
        k8s.render_job(_minimal("kaniko", "pvc"))
    assert "Migrating from kaniko" in (info.value.hint or "")


@pytest.mark.parametrize("store", sorted(STORES))
def test_uv_comes_from_the_uv_image_into_the_context(store: str) -> None:
    image = k8s.UV_IMAGE.format(version="0.13.9")
    job = k8s.render_job(replace(_minimal("buildkit", store), uv_image=image))
    _validate_with_client_models(job)
    init = _pod(job)["initContainers"]
    assert [c["name"] for c in init][-2:] == [k8s.UNPACK_CONTAINER, k8s.UV_CONTAINER]  # after the unpack
    uv = init[-1]
    assert uv["image"] == image and uv["command"][-1].endswith("/workspace/context/.launchbuild/uv")
    assert "uv-binary" not in [c["name"] for c in _pod(k8s.render_job(_minimal("buildkit", store)))["initContainers"]]


def test_ca_bundle_from_a_secret() -> None:
    options = replace(_minimal("buildkit", "pvc"), ca_secret="corp-ca", ca_key="ca.pem")
    job = k8s.render_job(options)
    _validate_with_client_models(job)
    vol = next(v for v in _pod(job)["volumes"] if v["name"] == "ca-bundle")
    assert vol == {"name": "ca-bundle", "secret": {"secretName": "corp-ca", "items": [{"key": "ca.pem", "path": "ca.pem"}]}}
    args = _pod(job)["containers"][0]["args"]
    assert "id=ca,src=/etc/launchbuild/ca/ca.pem" in args
    with pytest.raises(BadInput, match="both a CA configmap and a CA secret"):
        k8s.render_job(replace(options, ca_configmap="corp-ca"))


def test_configmap_store_puts_the_archive_first() -> None:
    import base64

    cm, job = k8s.render_manifests(_minimal("buildkit", "configmap"), context_archive=ARCHIVE)
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == k8s.context_configmap_name(_minimal("buildkit", "configmap"))
    assert base64.b64decode(cm["binaryData"]["context.tar.gz"]) == ARCHIVE
    vol = next(v for v in _pod(job)["volumes"] if v["name"] == "context-store")
    assert vol["configMap"]["name"] == cm["metadata"]["name"]


def test_configmap_store_refuses_a_large_context() -> None:
    with pytest.raises(BadInput, match="ConfigMap can hold"):
        k8s.render_manifests(_minimal("buildkit", "configmap"), context_archive=b"x" * (k8s.CONFIGMAP_CONTEXT_LIMIT + 1))
    with pytest.raises(BadInput, match="needs the context archive"):
        k8s.render_manifests(_minimal("buildkit", "configmap"))


# --- goldens ---------------------------------------------------------------------------------

GOLDEN = ["buildkit-s3-minimal", "buildkit-pvcdir-full", "buildkit-configmap-minimal", "buildkit-gs-full"]


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_yaml(name: str) -> None:
    text = k8s.dump_manifests(_manifests(name))
    path = GOLDEN_DIR / f"{name}.yaml"
    if os.environ.get("LAUNCHBUILD_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    assert list(yaml.safe_load_all(text)) == _manifests(name)


# --- names -----------------------------------------------------------------------------------


def test_job_name_is_deterministic_valid_and_distinct() -> None:
    a = k8s.job_name(DEST)
    assert a == k8s.job_name(DEST)
    assert k8s._DNS_LABEL.match(a)
    assert a != k8s.job_name("registry.example.com:5000/other/train:lb-3f9a2c1d7e4b")
    long = k8s.job_name("r.example.com/a/b:" + "X_" * 60)
    assert len(long) <= 63 and k8s._DNS_LABEL.match(long)


@pytest.mark.parametrize(
    "ref,expected",
    [
        ("registry.example.com/team/job:v1", ("registry.example.com", "team/job", "v1")),
        ("127.0.0.1:5055/team/job:sha-1", ("127.0.0.1:5055", "team/job", "sha-1")),
        ("localhost/job:t", ("localhost", "job", "t")),
        ("reg:5000/a/b/c:t.1_2-3", ("reg:5000", "a/b/c", "t.1_2-3")),
    ],
)
def test_parse_destination(ref: str, expected: tuple[str, str, str]) -> None:
    r = k8s.parse_destination(ref)
    assert (r.host, r.path, r.tag) == expected and str(r) == ref


@pytest.mark.parametrize(
    "ref,message",
    [
        ("team/job:v1", "names no registry host"),
        ("job:v1", "names no registry host"),
        ("registry.example.com/team/job", "has no tag"),
        ("registry.example.com/team/job@sha256:" + "a" * 64, "has a digest"),
        ("registry.example.com/Team/job:v1", "not a valid image reference"),
        ("registry.example.com/team/job:", "not a valid image reference"),
        ("", "empty"),
        ("registry.example.com/team job:v1", "whitespace"),
    ],
)
def test_parse_destination_rejects(ref: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        k8s.parse_destination(ref)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("s3://bucket/a/b/", k8s.ContextStore("s3", "bucket", "a/b")),
        ("gs://bucket", k8s.ContextStore("gs", "bucket", "")),
        ("pvc:claim", k8s.ContextStore("pvc", "claim", "")),
        ("pvc:claim/x/y", k8s.ContextStore("pvc", "claim", "x/y")),
        ("configmap", k8s.ContextStore("configmap")),
    ],
)
def test_context_store_parse(text: str, expected: k8s.ContextStore) -> None:
    assert k8s.ContextStore.parse(text) == expected


@pytest.mark.parametrize("text", ["azure://c/x", "s3://", "s3://B/x", "pvc:Bad_Claim", "pvc:c/../x", "/local/dir", "gs://b/a b"])
def test_context_store_rejects(text: str) -> None:
    with pytest.raises(BadInput, match="context store"):
        k8s.ContextStore.parse(text)


@pytest.mark.parametrize(
    "store,location",
    [
        ("s3://bkt/p", f"s3://bkt/p/{k8s.job_name(DEST)}.tar.gz"),
        ("gs://bkt", f"gs://bkt/{k8s.job_name(DEST)}.tar.gz"),
        ("pvc:c/d", f"pvc:c/d/{k8s.job_name(DEST)}.tar.gz"),
        ("configmap", f"configmap:{k8s.job_name(DEST)}-ctx"),
    ],
)
def test_context_location(store: str, location: str) -> None:
    assert k8s.context_location(KubernetesBuildOptions(DEST, store)) == location


@pytest.mark.parametrize(
    "text,expected",
    [
        ("dedicated=builds:NoSchedule", {"key": "dedicated", "operator": "Equal", "value": "builds", "effect": "NoSchedule"}),
        ("nvidia.com/gpu:NoSchedule", {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}),
        ("spot=true", {"key": "spot", "operator": "Equal", "value": "true"}),
        ("spot", {"key": "spot", "operator": "Exists"}),
    ],
)
def test_toleration_parse(text: str, expected: dict) -> None:
    assert Toleration.parse(text).to_k8s() == expected


BAD_OPTIONS = [
    ({"builder": "docker"}, "builder 'docker' is unknown"),
    ({"ca_secret": "Bad_Secret"}, "CA secret name"),
    ({"uv_image": "uv image"}, "uv image"),
    ({"verify_timeout_s": 0}, "verification timeout"),
    ({"context_uploader": ("aws", "s3", "cp")}, "uploader command names no"),
    ({"namespace": "ML_Builds"}, "namespace"),
    ({"registry_secret": "Bad Secret"}, "registry secret name"),
    ({"ca_configmap": "-x"}, "CA configmap name"),
    ({"service_account": "UPPER"}, "service account name"),
    ({"ca_key": "a/b"}, "CA configmap key"),
    ({"resources": Resources(memory_request="lots")}, "memory request"),
    ({"resources": Resources(cpu_limit="2 cores")}, "cpu limit"),
    ({"timeout_s": 0}, "timeout"),
    ({"timeout_s": True}, "timeout"),
    ({"ttl_after_finished_s": -1}, "ttl"),
    ({"node_selector": (("pool", "a b"),)}, "node selector"),
    ({"tolerations": (Toleration("k", "Equal", "v", "Sometimes"),)}, "toleration effect"),
    ({"tolerations": (Toleration("k", "Exists", "v", None),)}, "toleration"),
    ({"dockerfile": "../Dockerfile"}, "dockerfile"),
    ({"dockerfile": "/abs/Dockerfile"}, "dockerfile"),
    ({"platform": "windows/amd64"}, "platform"),
    ({"cache_repo": "cache"}, "cache repo"),
    ({"destination": "job:latest"}, "registry host"),
    ({"context_store": "ftp://x"}, "context store"),
    ({"builder_image": ""}, "builder image"),
]


@pytest.mark.parametrize("change,message", BAD_OPTIONS, ids=[m for _, m in BAD_OPTIONS])
def test_bad_options_are_bad_input(change: dict, message: str) -> None:
    options = replace(_minimal("buildkit", "s3"), **change)
    with pytest.raises(BadInput, match=message) as info:
        k8s.render_manifests(options)
    assert "\n" not in str(info.value)


def test_builder_image_override_allows_digest_pinning() -> None:
    pinned = k8s.BUILDKIT_IMAGE + "@sha256:" + "1" * 64
    job = k8s.render_job(replace(_minimal("buildkit", "pvc"), builder_image=pinned))
    assert {c["image"] for c in _all_containers(job)} == {pinned}


# --- writing ---------------------------------------------------------------------------------


def test_write_manifests_yaml_json_path_stream_never_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifests = _manifests("buildkit-configmap-full")
    out = tmp_path / "build.yaml"
    text = k8s.write_manifests(manifests, out)
    assert list(yaml.safe_load_all(out.read_text())) == manifests and text == out.read_text()
    stream = io.StringIO()
    k8s.write_manifests(manifests, stream, fmt="json")
    doc = json.loads(stream.getvalue())
    assert doc == {"apiVersion": "v1", "kind": "List", "items": manifests}
    assert json.loads(k8s.dump_manifests(manifests[-1:], "json")) == manifests[-1]
    assert capsys.readouterr() == ("", "")  # printing is the CLI's: the builder answers text
    with pytest.raises(BadInput, match="format"):
        k8s.write_manifests(manifests, stream, fmt="toml")
    with pytest.raises(BadInput, match="cannot write manifests"):
        k8s.write_manifests(manifests, tmp_path / "missing-dir" / "x.yaml")
