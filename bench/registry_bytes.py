"""The registry measures of the gpu-stack job (issue 17): each tool's image pushed with plain
`docker push` to the local registry before and after the dependency change, the bytes sent
and the bytes a node holding the previous image must pull, read from the registry's
manifests (builder/push_bytes.py); then the tags removed again."""

from __future__ import annotations

from launchbuild.bench.harness import DOCKER, REGISTRY, JobSpec, docker, log, must, newest_image, remove_images, run
from launchbuild.bench.tools import Tool

REGISTRY_MEASURES = ("bytes pushed on dependency change", "bytes pushed on dependency change, share of the image",
                     "bytes a node holding the previous image must pull")
REGISTRY_NOTES = {
    REGISTRY_MEASURES[0]: ("compressed bytes of the blobs the registry did not hold before `docker push` of the "
                           "dependency change (the previous image was pushed to the same repository first); "
                           "from the registry's manifests and HEAD blob requests"),
    REGISTRY_MEASURES[2]: "compressed bytes of the new manifest's blobs that the previous image's manifest lacks",
}


def push_to_registry(tool: Tool, job: JobSpec, local_ref: str, tag: str):
    """Push `local_ref` as REGISTRY/<repo>:<tag> with plain `docker push` (both tools alike);
    returns (PushStats, manifest blobs), measured on the registry (builder/push_bytes.py)."""
    from launchbuild.builder import push_bytes

    remote = f"{REGISTRY}/{tool.repository(job)}:{tag}"
    docker("tag", local_ref, remote)
    had = push_bytes.blobs_before_push(remote)
    seconds = must(run([DOCKER, "push", remote]), f"push of {remote}")
    blobs = push_bytes.manifest_blobs(remote)
    if had is None or blobs is None:
        raise SystemExit(f"bench: the registry at {REGISTRY} did not answer for {remote}")
    pushed = push_bytes.stats(blobs, had)
    log(f"{tool.name:11} {job.name:13} push {tag}: {pushed.describe()} in {seconds:.1f}s")
    return pushed, blobs


def registry_measures(tool: Tool, job: JobSpec, previous) -> dict[str, float]:
    """After a dependency change: bytes the push sends, and bytes a node with the previous image pulls."""
    from launchbuild.builder import push_bytes

    pushed, blobs = push_to_registry(tool, job, newest_image(tool.repository(job)), "next")
    return {
        REGISTRY_MEASURES[0]: pushed.bytes_sent,
        REGISTRY_MEASURES[1]: pushed.bytes_sent / pushed.image_bytes,
        REGISTRY_MEASURES[2]: push_bytes.pull_bytes(blobs, previous[1]),
    }


def clean_up(tool: Tool, job: JobSpec) -> None:
    """A GPU-stack image is ~7 GB: drop this tool's images (local and registry tags) before the next."""
    remove_images(tool.repository(job))
    remove_images(f"{REGISTRY}/{tool.repository(job)}")
    for tag in ("previous", "next"):
        delete_manifest(f"{tool.repository(job)}", tag)


def delete_manifest(repository: str, tag: str) -> None:
    """Drop the tag's manifest from the registry (its config enables deletes); blobs stay until GC."""
    import urllib.request

    accept = "application/vnd.docker.distribution.manifest.v2+json"
    base = f"http://{REGISTRY}/v2/{repository}/manifests"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(f"{base}/{tag}", method="HEAD", headers={"Accept": accept}),
                         timeout=10) as resp:
            digest = resp.headers.get("Docker-Content-Digest")
        if digest:
            opener.open(urllib.request.Request(f"{base}/{digest}", method="DELETE"), timeout=10).close()
    except OSError as exc:
        log(f"could not delete {repository}:{tag} from the registry: {exc}")
