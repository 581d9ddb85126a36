"""The layered environment on the real engine and the real local registry (issue 17).

One job, two builds: `rich` + `six`, then `idna` added. The heavy threshold is lowered so a
small package (pygments' 1.2 MB wheel) makes the heavy layer. The second build reuses the heavy
layer (same diff ID locally, same blob digest in the registry), rebuilds only the later layers,
and its push sends less than the heavy layer; the environment is verified as one each time."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.builder import push_bytes
from launchbuild.builder.layers import HEAVY_BYTES_ENV
from launchbuild.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.network]

# Above markdown-it-py, rich, mdurl and six; below pygments (PyPI's sizes, read by the resolver).
THRESHOLD = "700000"


def layer_index(ref: str, *needles: str) -> int:
    """The index (in rootfs order) of the layer whose history entry names all `needles`, read
    from the image config in the registry (its history marks metadata-only steps)."""
    import urllib.request

    config = push_bytes.manifest_blobs(ref)[0]
    base, path, _ = push_bytes.registry_parts(ref)
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"{base}/v2/{path}/blobs/{config.digest}", timeout=10) as resp:
        history = json.loads(resp.read())["history"]
    layered = [h for h in history if not h.get("empty_layer")]
    found = [i for i, h in enumerate(layered) if all(n in h.get("created_by", "") for n in needles)]
    assert len(found) == 1, [h.get("created_by", "")[:80] for h in layered]
    return found[0]


def layer_files(ref: str, index: int, *, files_only: bool = False) -> list[str]:
    """The paths in one layer (rootfs order) of the pushed image, read from its registry blob;
    `files_only`: without its folders (a RUN step's mount points and /tmp show as folders)."""
    import tarfile
    import urllib.request

    blob = push_bytes.manifest_blobs(ref)[1 + index]  # the config blob comes first
    base, path, _ = push_bytes.registry_parts(ref)
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"{base}/v2/{path}/blobs/{blob.digest}", timeout=30) as resp:
        with tarfile.open(fileobj=resp, mode="r|*") as tar:
            return [member.name for member in tar if not (files_only and member.isdir())]


def delete_from_registry(ref: str) -> None:
    """This test's tags leave the registry (its config enables deletes); best effort."""
    import urllib.request

    base, path, tag = push_bytes.registry_parts(ref)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        head = urllib.request.Request(f"{base}/v2/{path}/manifests/{tag}", method="HEAD",
                                      headers={"Accept": push_bytes.MANIFEST_TYPES})
        digest = opener.open(head, timeout=10).headers.get("Docker-Content-Digest")
        if digest:
            opener.open(urllib.request.Request(f"{base}/v2/{path}/manifests/{digest}", method="DELETE"),
                        timeout=10).close()
    except OSError:
        pass


def remove_built(tags: list[str], destination: str, job_dir: str, docker_client) -> None:
    """This test's images leave the registry and the local engine (pushed and local tags)."""
    for tag in tags:
        delete_from_registry(tag)
        for ref in (tag, tag.replace(f"{destination}:", f"launchbuild/{job_dir}:")):
            try:
                docker_client.images.remove(ref)
            except Exception:  # noqa: BLE001 - best-effort clean-up of this test's own tags
                pass


def build(job: Path, destination: str, base: str, out: Path) -> dict:
    result = CliRunner().invoke(app, [
        "build", str(job), "--python", "3.11", "--entrypoint", "python train.py", "--base-image", base,
        "--push", destination, "--format", "json", "-o", str(out)],
        # A cache of its own: the verification of the first build is this test's, never an earlier run's.
        env={"NO_COLOR": "1", HEAVY_BYTES_ENV: THRESHOLD, "LAUNCHBUILD_CACHE_DIR": str(out.parent / "cache")})
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_a_one_package_change_reuses_the_heavy_layer_and_pushes_less_than_it(
        tmp_path, standin_images, local_registry, docker_client):
    job = tmp_path / "layered"
    job.mkdir()
    run_id = uuid.uuid4().hex[:10]
    # Code of its own: a rerun builds (and verifies) again instead of finding its content tag.
    (job / "train.py").write_text(f"import rich, six\nprint('ok')  # {run_id}\n")
    (job / "requirements.txt").write_text("rich\nsix\n")
    destination = f"{local_registry}/lb-test-layers/{run_id}"
    base = standin_images["python"]
    tags = []
    try:
        first = build(job, destination, base, tmp_path / "first.json")
        tags.append(first["build"]["tag"])
        (job / "requirements.txt").write_text("rich\nsix\nidna\n")
        second = build(job, destination, base, tmp_path / "second.json")
        tags.append(second["build"]["tag"])
        assert first["build"]["verified"] and second["build"]["verified"]  # the whole venv, pip check included
        assert any(v["check"] == "pip check" and v["passed"] for v in second["build"]["verification"])
        imports = next(v for v in second["build"]["verification"] if v["check"] == "imports")
        assert imports["passed"] and "carried over from the unchanged heavy layer" in imports["detail"]

        index1, index2 = (layer_index(t, "pip install", "1-heavy.lock") for t in tags)
        assert index1 == index2
        heavy = index1
        rest = layer_index(tags[1], "pip install", "2-rest.lock")
        layers1, layers2 = (docker_client.images.get(t).attrs["RootFS"]["Layers"] for t in tags)
        assert len(layers1) == len(layers2) and rest > heavy
        assert layers1[: heavy + 1] == layers2[: heavy + 1]  # the heavy layer and all below it reused
        assert layers1[rest] != layers2[rest]  # the later install layer rebuilt
        # Each layer carries the bytecode of what it installed, and only that: the later install
        # compiles idna and never rewrites pygments' .pyc (which would ship the heavy part twice).
        heavy_files, rest_files = layer_files(tags[1], heavy), layer_files(tags[1], rest)
        assert any("/pygments/__pycache__/" in f and f.endswith(".pyc") for f in heavy_files)
        assert any("/idna/__pycache__/" in f and f.endswith(".pyc") for f in rest_files)
        assert not [f for f in rest_files if "/pygments/" in f]
        # The later layer's .pyc are checked-hash (builder/layer_bytecode.py --cache): restored from
        # the scope's cache on a reinstall, each checked against its source at import, never its mtime.
        flags = docker_client.containers.run(
            tags[1], entrypoint=["/opt/venv/bin/python", "-c",
                                 "import importlib.util, six; "
                                 "print(open(importlib.util.cache_from_source(six.__file__), 'rb').read()[4:8].hex())"],
            network_mode="none", remove=True).decode().strip()
        assert flags == "03000000", flags
        # The heavy layer is unpacked into a temporary cache beside the venv and hard-linked from
        # it: nothing but the venv (and its sub-lock's folder) may be left in the layer.
        outside = [f for f in layer_files(tags[1], heavy, files_only=True) if not f.startswith("opt/venv/")]
        assert not outside, outside[:20]

        blobs1, blobs2 = (push_bytes.manifest_blobs(t) for t in tags)
        heavy_blob = blobs1[1 + heavy]  # the config blob comes first
        assert blobs2[1 + heavy] == heavy_blob  # same digest in the registry: never sent again
        push = second["build"]["push"]
        assert push["bytes_sent"] < heavy_blob.size
        assert push["blobs_sent"] < push["blobs_total"]
        assert first["build"]["push"]["bytes_sent"] > heavy_blob.size  # the first push did send it
        assert push_bytes.pull_bytes(blobs2, blobs1) < heavy_blob.size  # nor does a node pull it again
    finally:
        remove_built(tags, destination, "layered", docker_client)


def test_a_lock_that_is_all_heavy_keeps_its_layer_when_a_light_package_comes(
        tmp_path, standin_images, local_registry, docker_client):
    """A lock that is all heavy (here pygments alone; on the bench numpy, pandas and scikit-learn
    with their closure) is the heavy sub-lock standing alone, rendered as it is with a later
    layer: adding six adds a layer and rebuilds none."""
    job = tmp_path / "allheavy"
    job.mkdir()
    run_id = uuid.uuid4().hex[:10]
    (job / "train.py").write_text(f"import pygments\nprint('ok')  # {run_id}\n")
    (job / "requirements.txt").write_text("pygments\n")
    destination = f"{local_registry}/lb-test-layers/{run_id}"
    tags = []
    try:
        first = build(job, destination, standin_images["python"], tmp_path / "first.json")
        tags.append(first["build"]["tag"])
        (job / "requirements.txt").write_text("pygments\nsix\n")
        second = build(job, destination, standin_images["python"], tmp_path / "second.json")
        tags.append(second["build"]["tag"])
        heavy = layer_index(tags[0], "pip install", "1-heavy.lock")
        assert layer_index(tags[1], "pip install", "1-heavy.lock") == heavy
        layers1, layers2 = (docker_client.images.get(t).attrs["RootFS"]["Layers"] for t in tags)
        assert layers1[: heavy + 1] == layers2[: heavy + 1]
        assert layer_index(tags[1], "pip install", "2-rest.lock") > heavy
        imports = next(v for v in second["build"]["verification"] if v["check"] == "imports")
        assert imports["passed"] and "carried over from the unchanged heavy layer" in imports["detail"]
    finally:
        remove_built(tags, destination, "allheavy", docker_client)
