"""Facts from the local Docker engine: one image inspect, then one short probe container.

The probe runs the image's own /bin/sh with no network and prints every file-level fact
in one go, between `@@section` markers, using shell builtins where it can (minimal images
lack coreutils). It is always removed, whether it finished, timed out or was interrupted.
Images without /bin/sh (scratch) give inspect-only facts.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.imageref import ImageRef
from launchbuild.compat.facts.providers.base import ProviderUnavailable
from launchbuild.compat.facts.providers.filefacts import (
    PATH_DIRS,
    PYTHON_DIRS,
    PYTHON_MINORS,
    CUDNN_LIB_GLOBS,
    FileScan,
    facts_from_config,
    facts_from_files,
    merge_facts,
)
from launchbuild.core.platform import Platform

log = logging.getLogger(__name__)

PROVIDER = "docker"
PROBE_LABEL = "launchbuild.probe"
# The process that started a container: an engine shared by several builds (CI runners,
# parallel jobs) can then tell its own probes from everyone else's.
OWNER_LABEL = "io.launchbuild.owner-pid"


def owner_labels() -> dict[str, str]:
    import os

    return {OWNER_LABEL: str(os.getpid())}
PROBE_TIMEOUT_S = 60
API_TIMEOUT_S = 30
# What a real probe prints is a few KiB (os-release, apt-cache policy of ten packages). The
# image's /bin/sh is the image's own program: one that prints gigabytes must not be read whole.
MAX_PROBE_OUTPUT = 1024 * 1024

_SECTIONS = (
    "os-release",
    "debian_version",
    "apt-get",
    "glibc",
    "pythons",
    "nvcc",
    "cuda-version-json",
    "cuda-version-txt",
    "apt-lists",
    "apt-policy",
    "cudnn",
)


def _probe_script() -> str:
    minors = " ".join(str(m) for m in PYTHON_MINORS)
    python_dirs = " ".join(PYTHON_DIRS)
    policy_pkgs = " ".join(f"python3.{m}" for m in PYTHON_MINORS)
    libc_globs = " ".join(
        f"{d}/libc-*.so {d}/*/libc-*.so" for d in ("/lib", "/lib64", "/usr/lib", "/usr/lib64")
    )
    cudnn_globs = " ".join(CUDNN_LIB_GLOBS)
    return f"""
show() {{ [ -f "$1" ] && [ -r "$1" ] || return 0; while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done < "$1"; }}
echo @@os-release; if [ -r /etc/os-release ]; then show /etc/os-release; else show /usr/lib/os-release; fi
echo @@debian_version; show /etc/debian_version
echo @@apt-get; command -v apt-get 2>/dev/null
echo @@glibc
getconf GNU_LIBC_VERSION 2>/dev/null
if command -v ldd >/dev/null 2>&1; then ldd --version 2>/dev/null | while IFS= read -r l; do printf '%s\\n' "$l"; break; done; fi
for f in {libc_globs}; do [ -e "$f" ] && printf '%s\\n' "$f"; done
echo @@pythons
for x in {minors}; do
  command -v python3.$x 2>/dev/null
  for d in {python_dirs}; do [ -x "$d/python3.$x" ] && printf '%s\\n' "$d/python3.$x"; done
done
echo @@nvcc; command -v nvcc 2>/dev/null || {{ [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; }}
echo @@cuda-version-json; show /usr/local/cuda/version.json
echo @@cuda-version-txt; show /usr/local/cuda/version.txt
echo @@apt-lists; n=0; for f in /var/lib/apt/lists/*_Packages*; do [ -e "$f" ] && n=$((n+1)); done; echo $n
echo @@cudnn; for f in {cudnn_globs}; do [ -e "$f" ] && printf '%s\\n' "$f"; done
echo @@apt-policy; if command -v apt-cache >/dev/null 2>&1; then apt-cache policy {policy_pkgs} 2>/dev/null; else echo @@none; fi
echo @@end
"""


PROBE_SCRIPT = _probe_script()
_ = PATH_DIRS  # the probe relies on the image's own PATH, as `docker run` would


def parse_probe_output(text: str) -> FileScan:
    """Turn the probe's stdout into a `FileScan`. Pure; output cut short = incomplete."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    complete = False
    for line in text.splitlines():
        if line.startswith("@@"):
            name = line[2:].strip()
            if name == "end":
                complete = True
                current = None
                continue
            if name in _SECTIONS:
                current = name
                sections.setdefault(name, [])
                continue
        if current is not None:
            sections[current].append(line)

    def body(name: str) -> str | None:
        lines = sections.get(name)
        if lines is None:
            return None
        text = "\n".join(lines).strip("\n")
        return text if text.strip() else None

    def path_or_absent(name: str) -> str | None:
        if name not in sections:
            return None
        found = [ln.strip() for ln in sections[name] if ln.strip()]
        return found[0] if found else ("" if complete else None)

    apt_lists = None
    if body("apt-lists") is not None:
        try:
            apt_lists = int(body("apt-lists").split()[0])  # type: ignore[union-attr]
        except (ValueError, IndexError):
            apt_lists = None
    policy = body("apt-policy")
    if policy is not None and policy.strip() == "@@none":
        policy = None
    elif policy is None and "apt-policy" in sections and complete:
        policy = ""
    return FileScan(
        where="probe container",
        os_release=body("os-release"),
        debian_version=body("debian_version"),
        apt_get=path_or_absent("apt-get"),
        glibc=body("glibc"),
        python_paths=tuple(ln.strip() for ln in sections.get("pythons", []) if ln.strip()),
        nvcc=path_or_absent("nvcc"),
        cuda_version_json=body("cuda-version-json"),
        cuda_version_txt=body("cuda-version-txt"),
        apt_policy=policy,
        apt_list_files=apt_lists,
        cudnn_libs=tuple(ln.strip() for ln in sections.get("cudnn", []) if ln.strip()),
        complete=complete,
    )


def _pairs(items: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        if sep:
            out[key] = value
    return out


def _repo_digest(attrs: dict[str, Any], ref: ImageRef) -> str | None:
    digests = [d for d in attrs.get("RepoDigests") or () if "@" in d]
    wanted = (ref.familiar_name, ref.name)
    for entry in digests:
        name, _, digest = entry.partition("@")
        if name in wanted or name.endswith("/" + ref.repository):
            return digest
    return None


def facts_from_inspect(attrs: dict[str, Any], ref: ImageRef) -> tuple[dict[str, Any], dict[str, str]]:
    """Facts from `docker image inspect` output. Pure."""
    config = attrs.get("Config") or {}
    env = _pairs(config.get("Env"))
    labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    facts, sources = facts_from_config(env, labels, where="image config")
    facts.update(
        env=tuple(env.items()),
        labels=tuple(sorted(labels.items())),
        image_id=attrs.get("Id"),
        digest=_repo_digest(attrs, ref) or attrs.get("Id"),
    )
    if attrs.get("Architecture"):
        facts["architecture"] = attrs["Architecture"]
        sources["architecture"] = "image inspect Architecture"
    if attrs.get("Variant"):
        facts["variant"] = attrs["Variant"]
    if config.get("User"):
        facts["user"] = config["User"]
    return facts, sources


def engine_history(doc: Any) -> list[tuple[str, bool]] | None:
    """The engine's /images/{id}/history answer (newest first) as (created_by, made a
    layer) pairs, oldest first; None for anything else. Pure: the image is outside input."""
    if not isinstance(doc, list):
        return None
    entries: list[tuple[str, bool]] = []
    for entry in reversed(doc):
        if not isinstance(entry, dict):
            return None
        created_by, size = entry.get("CreatedBy") or "", entry.get("Size") or 0
        if not isinstance(created_by, str) or not isinstance(size, int) or isinstance(size, bool):
            return None
        entries.append((created_by, size > 0))  # a step that changed no file adds 0 bytes
    return entries


def _layers_after_build(labels: dict[str, str], image_id: str, client: Any) -> int | None:
    """core.labels.layers_after_build for a local image: its history, read only when the
    image carries a launchbuild lock label (one more engine call, on the uncached path)."""
    from launchbuild.core.labels import LOCK_SHA_LABEL, layers_after_build

    sha = labels.get(LOCK_SHA_LABEL)
    if not sha or not image_id:
        return None
    from launchbuild.docker_socket import shared

    fast = shared()
    doc = fast.history(image_id) if fast is not None else None
    if doc is None and client is not None:
        try:
            doc = client.api.history(image_id)
        except Exception as exc:  # noqa: BLE001 - the SDK's errors: the history stays unknown
            log.info("history of %s not read: %s", image_id, _first_line(exc))
            doc = None
    history = engine_history(doc)
    return layers_after_build(history, sha) if history is not None else None


def connect(timeout: int = API_TIMEOUT_S) -> Any:
    """A docker SDK client that has answered a ping, or `ProviderUnavailable`."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - docker is a hard dependency
        raise ProviderUnavailable(f"the docker Python package is missing ({exc})") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise ProviderUnavailable(f"no Docker engine answers ({_first_line(exc)})") from None
    except Exception as exc:  # requests errors from a socket that is there but dead
        raise ProviderUnavailable(f"no Docker engine answers ({_first_line(exc)})") from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def local_image(client: Any, ref: ImageRef) -> dict[str, Any]:
    from docker.errors import DockerException, ImageNotFound, NotFound

    try:
        return client.images.get(ref.familiar).attrs
    except (ImageNotFound, NotFound):
        raise ProviderUnavailable(f"{ref.familiar} is not present in the local Docker engine") from None
    except DockerException as exc:
        raise ProviderUnavailable(f"the Docker engine could not inspect {ref.familiar}: {_first_line(exc)}") from None
    except Exception as exc:
        raise ProviderUnavailable(f"the Docker engine stopped answering: {_first_line(exc)}") from None


def run_probe(client: Any, image_id: str, *, timeout: int = PROBE_TIMEOUT_S) -> str | None:
    """Run the probe; its stdout, or None when the image has no /bin/sh."""
    from docker.errors import APIError, DockerException

    container = None
    try:
        try:
            container = client.containers.create(
                image_id,
                entrypoint=["/bin/sh", "-c", PROBE_SCRIPT],
                command=[],
                network_mode="none",
                user="0",
                labels={PROBE_LABEL: "1", **owner_labels()},
                mem_limit="256m",
                working_dir="/",
            )
        except APIError as exc:
            raise ProviderUnavailable(f"could not create the probe container: {_first_line(exc)}") from None
        try:
            container.start()
        except APIError as exc:
            text = str(exc).lower()
            if "no such file" in text or "not found" in text or "executable file" in text:
                return None
            raise ProviderUnavailable(f"the probe container did not start: {_first_line(exc)}") from None
        try:
            container.wait(timeout=timeout)
        except Exception:
            raise ProviderUnavailable(f"the probe container ran past {timeout}s") from None
        return _bounded_logs(container).decode("utf-8", "replace")
    except DockerException as exc:
        raise ProviderUnavailable(f"the Docker engine failed during the probe: {_first_line(exc)}") from None
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except Exception as exc:  # best effort; the label lets tests find leftovers
                log.warning("could not remove probe container %s: %s", container.id[:12], exc)


def _bounded_logs(container: Any, limit: int = MAX_PROBE_OUTPUT) -> bytes:
    """The probe's stdout, or ProviderUnavailable once it passes `limit` bytes."""
    stream = container.logs(stdout=True, stderr=False, stream=True, follow=False)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise ProviderUnavailable(f"the probe container printed more than {limit} bytes")
            chunks.append(chunk)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return b"".join(chunks)


def platform_mismatch(attrs: dict[str, Any], platform: Platform) -> str | None:
    arch, os_ = attrs.get("Architecture"), attrs.get("Os")
    if arch and Platform.normalise_arch(arch) != platform.architecture:
        return f"the local image is {os_}/{arch}, not {platform}"
    if os_ and os_ != platform.os:
        return f"the local image is {os_}/{arch}, not {platform}"
    return None


def read_facts(
    ref: ImageRef,
    platform: Platform,
    *,
    client: Any = None,
    cached: Callable[[str], ImageFacts | None] | None = None,
    probe_timeout: int = PROBE_TIMEOUT_S,
) -> ImageFacts:
    """Facts for a locally present image. `cached(image_id)` short-cuts the probe."""
    attrs: dict[str, Any] | None = None
    if client is None:
        # A cached fact sheet needs one inspect and no SDK (its imports cost more than the
        # whole warm check); anything the socket cannot answer goes the SDK way below.
        from launchbuild.docker_socket import shared

        fast = shared()
        doc = fast.image(ref.familiar) if fast is not None else None
        if doc is False:
            raise ProviderUnavailable(f"{ref.familiar} is not present in the local Docker engine")
        if doc:
            attrs = doc
        client = None if attrs is not None else connect()
    if attrs is None:
        attrs = local_image(client, ref)
    image_id = attrs.get("Id") or ""
    if cached is not None and image_id:
        hit = cached(image_id)
        if hit is not None:
            return hit
    client = client or connect()  # a probe runs a container: that is the SDK's job
    facts, sources = facts_from_inspect(attrs, ref)
    notes: list[tuple[str, str]] = []
    try:
        output = run_probe(client, image_id, timeout=probe_timeout)
    except ProviderUnavailable as exc:
        output = None
        notes.append((PROVIDER, f"file facts unknown: {exc.message}"))
    else:
        if output is None:
            notes.append((PROVIDER, "file facts unknown: the image has no /bin/sh to probe with"))
    if output is not None:
        scan = parse_probe_output(output)
        facts, sources = merge_facts(facts_from_files(scan), (facts, sources))
    facts["layers_after_build"] = _layers_after_build(dict(facts.get("labels") or ()), image_id, client)
    return ImageFacts(
        reference=ref.familiar,
        provider=PROVIDER,
        fact_sources=tuple(sorted(sources.items())),
        attempts=tuple(notes),
        **facts,
    )
