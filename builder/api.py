"""build_image: context → tag → skip? → build → verify → tag → push.

The tag is applied only after the image passed verification, so a tag that exists
(locally or in the registry) always names a verified image, and a build that fails or is
interrupted leaves none behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from launchbuild.builder import engine as eng
from launchbuild.builder.local_images import LocalImages
from launchbuild.builder.context import build_context, content_hash, scan, stable_context_dir, synced_context
from launchbuild.builder.dockerfile import TAG_SCOPE, render
from launchbuild.builder.plan import BuildPlan, CaMode, Frontend, find_ca_bundle
from launchbuild.builder.push_bytes import measured_push, summary_fields
from launchbuild.builder.tags import content_tag, image_ref, split_ref, tag_of
from launchbuild.builder.verify import (
    VerificationCache,
    environment_key,
    reused_verification,
    script_in_code,
    verify_image,
)
from launchbuild.errors import BadInput
from launchbuild.builder.model import BuildSummary


def prepare_plan(plan: BuildPlan, *, frontend: Frontend, ca_bundle: Path | None, uv_binary: Path | None) -> BuildPlan:
    """Fit the plan to the engine: BuildKit gets the host's uv (when its arch matches the
    target) and a CA secret; the classic builder gets the venv's pip and a throwaway stage."""
    if frontend is Frontend.BUILDKIT:
        uv_ok = uv_binary is not None and eng.host_arch() == plan.arch
        return dataclasses.replace(
            plan,
            frontend=frontend,
            installer="uv" if uv_ok else "pip",
            ca_mode=CaMode.SECRET if ca_bundle else CaMode.NONE,
        )
    return dataclasses.replace(
        plan,
        frontend=frontend,
        installer="pip",
        ca_mode=CaMode.THROWAWAY_STAGE if ca_bundle else CaMode.NONE,
    )


def fit_and_tag(plan: BuildPlan, *, frontend: Frontend, ca_bundle: Path | None, uv_binary: Path | None,
                code_hash: str, base_digest: str, repository: str | None = None) -> tuple[BuildPlan, str, str]:
    """(fitted plan, Dockerfile, image reference with its content tag): the one place a tag
    is computed, for every engine. The cluster engine calls it with the BuildKit frontend and
    the host's uv, exactly as a local BuildKit build does, so both give the same Dockerfile
    and the same tag for the same job."""
    fitted = prepare_plan(plan, frontend=frontend, ca_bundle=ca_bundle, uv_binary=uv_binary)
    dockerfile = render(fitted)
    assert dockerfile is not None
    # The cache scope says where wheels are downloaded from, not what the image holds: every
    # scope's build of one job gets one tag, computed with the same stand-in scope.
    tagged_text = render(dataclasses.replace(fitted, cache_scope=TAG_SCOPE)) if fitted.cache_scope else dockerfile
    assert tagged_text is not None
    tag = content_tag(dockerfile=tagged_text, lock_text=fitted.lock_text, code_hash=code_hash,
                      base_digest=base_digest, options={"platform": fitted.platform})
    return fitted, dockerfile, image_ref(repository or fitted.repository, tag)


def code_entries(source_dir: Path, credentials=None):
    """The files copied into the image (ignore rules applied, credential files withheld)."""
    return _withhold_credentials(scan(Path(source_dir)), Path(source_dir), credentials)


def base_digest(client, ref: str) -> str:
    """The base image's identity in the tag: its local image ID, else its registry digest."""
    return _base_digest(LocalImages(client), ref)


def _base_digest(images: LocalImages, ref: str) -> str:
    digest = images.image_id(ref) or eng.registry_manifest_digest(images.client, ref)
    if not digest:
        raise BadInput(
            f"base image {ref} is neither in the local engine nor in its registry",
            hint="pull or build it first, or fix the image name",
        )
    return digest


_ENGINE_OF_FRONTEND = {Frontend.BUILDKIT: "buildkit", Frontend.CLASSIC: "classic"}


def _skip_over_socket(base_image: str, engine: str, tagged, started: float) -> BuildSummary | None:
    """The skip summary when the content tag is already in the local engine, else None
    (also when the socket cannot answer: the caller then asks through the SDK as always)."""
    from launchbuild.docker_socket import shared

    fast = shared()
    if fast is None or engine not in ("auto", "buildkit", "classic"):
        return None
    base = fast.image(base_image)
    if not base:
        return None  # a base only in its registry: its digest needs the SDK
    frontend = Frontend.CLASSIC if engine == "classic" else Frontend.BUILDKIT
    _, _, ref = tagged(frontend, base["Id"])
    found = fast.image(ref)
    if not found:
        return None
    return BuildSummary(tag=ref, skipped=True, reason="content tag already in the local engine",
                        engine=_ENGINE_OF_FRONTEND[frontend], size_bytes=found.get("Size"),
                        duration_s=time.monotonic() - started)


def _verify(images: LocalImages, image_id: str, plan: BuildPlan, entries, uv_binary: Path | None, source_dir=None):
    """Run the probe, unless this image's environment layers are identical to an image that
    already passed and the entrypoint's script is among the copied files (a code-only change)."""
    from launchbuild.core.cache import cache_root

    cache = VerificationCache(cache_root())
    key = environment_key(images.attrs(image_id) or {}, plan)
    checks = cache.get(key) if key else None
    script = script_in_code(plan.entrypoint, frozenset(e.path for e in entries if e.kind == "f"))
    extra = cache.extra(key) if checks is not None and key else {}
    if checks is not None and script is not None and extra.get("importable") and source_dir is not None:
        from launchbuild.builder.verify_imports import reused_import_checks

        return reused_verification(checks, script) + reused_import_checks(
            extra, Path(source_dir) / script, script, frozenset(e.path for e in entries))
    from launchbuild.builder import layers, verify_layers

    heavy_key = verify_layers.heavy_layer_key(plan, _local_id(images, plan.base_image))
    heavy = verify_layers.HeavyImports(cache_root())
    carried = heavy.get(heavy_key) if heavy_key else None
    results = verify_image(images.containers(), image_id, plan, uv_binary=uv_binary if eng.host_arch() == plan.arch else None,
                           carried_imports=carried)
    from launchbuild.builder.verify import LAST_IMPORTABLE, LAST_IMPORTS

    imports = LAST_IMPORTS.pop(image_id, [])
    if key and all(r.passed for r in results):
        cache.put(key, results, LAST_IMPORTABLE.pop(image_id, ()))
    if heavy_key and all(r.passed for r in results):
        heavy.put(heavy_key, layers.for_plan(plan)[0].packages, imports)
    return results


def _local_id(images: LocalImages, ref: str) -> str:
    """The local image ID of the base (its config digest), "" when the engine does not have it."""
    try:
        return images.image_id(ref) or ""
    except Exception:  # noqa: BLE001 - unknown base: nothing is carried over, everything is imported
        return ""


def _withhold_credentials(entries, root: Path, credentials):
    """The job's own files that hold its index credentials (its requirements.txt, as a rule)
    stay out of the image's code copy: the installed environment comes from the credential-free
    lock, and a token must not reach a layer by the COPY of the code either."""
    if not credentials:
        return entries
    from urllib.parse import quote

    # The secret part: the password, or the token when the URL had only a user part. A user
    # name alone (`__token__`, `oauth2`) would withhold far more than the files that hold it.
    secrets = [p or u for _, u, p in credentials.entries if len(p or u) >= 4]
    secrets += [v for v in getattr(credentials, "vcs_secrets", ()) if len(v) >= 4]
    needles = [v.encode() for s in secrets for v in {s, quote(s, safe="")}]
    kept = []
    for e in entries:
        if e.kind == "f":
            try:
                with open(root / e.path, "rb") as fh:
                    data = fh.read(16 * 1024 * 1024)
            except OSError:
                data = b""
            if any(n in data for n in needles):
                continue
        kept.append(e)
    return tuple(kept)


@contextlib.contextmanager
def _netrc_secret(credentials):
    """The job's index credentials as a 0600 netrc file in a private temp dir, for the life of
    one build (BuildKit reads it as the `netrc` secret), then removed."""
    if not credentials:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="launchbuild-secret-") as tmp:
        path = Path(tmp) / "netrc"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(credentials.netrc_text())
        yield path


def build_image(
    plan: BuildPlan,
    context_source_dir: Path | None,
    *,
    engine: str = "auto",
    push: str | None = None,
    force: bool = False,
    no_cache: bool = False,
    ca_bundle: str | None = None,
    on_progress: eng.ProgressCallback | None = None,
    client=None,
    credentials=None,
) -> BuildSummary:
    """Build, verify, tag and optionally push the image for `plan`.

    `push` is a repository (`host:port/team/job`); the content tag is appended. A failed
    verification returns a summary whose `verification` holds the failures (the report
    turns that into exit 1) and leaves no tag. Build failures raise `BuildFailed`.
    """
    started = time.monotonic()
    plan.validate()
    if not plan.builds_image:
        return BuildSummary(
            tag=plan.base_image, skipped=True, engine="none",
            reason="image job: the job's own image runs as is; nothing to build",
        )
    if context_source_dir is None:
        raise BadInput("a git or code job needs its source directory to build", hint="check the job source")
    ca = find_ca_bundle(ca_bundle)
    uv_binary = eng.find_uv_binary()
    # Index credentials (plan.index_credentials) and VCS tokens alike: the files holding them
    # stay out of the code copy.
    entries = code_entries(Path(context_source_dir), credentials)
    code = content_hash(entries)

    def tagged(frontend: Frontend, base_digest: str) -> tuple[BuildPlan, str, str]:
        return fit_and_tag(plan, frontend=frontend, ca_bundle=ca, uv_binary=uv_binary, code_hash=code,
                           base_digest=base_digest, repository=push)

    # An unchanged job is answered before any engine is detected or SDK imported: the tag of
    # the frontend this engine setting prefers, looked up over the engine socket.
    if client is None and not (force or no_cache or push):
        skip = _skip_over_socket(plan.base_image, engine, tagged, started)
        if skip is not None:
            return skip
    # Images are read and tagged over the engine socket; the SDK is imported only for what
    # needs it (the classic engine, a verification container, a push).
    images = LocalImages(client)
    local = eng.select_engine(engine, images.given_client)
    plan, dockerfile, ref = tagged(local.frontend, _base_digest(images, plan.base_image))

    if not (force or no_cache):
        in_registry = eng.registry_manifest_digest(images.client, ref) if push else None
        if in_registry:
            # Nothing is pushed on a skip, so `pushed` stays empty: the tag was already there.
            return BuildSummary(tag=ref, skipped=True, reason="content tag already in the registry",
                                digest=in_registry, engine=local.name,
                                duration_s=time.monotonic() - started)
        found = images.attrs(ref)
        reason = "content tag already in the local engine"
        if found is None and push:
            # Verified earlier without --push (under the local repository): re-tag and push
            # that very image rather than building it again.
            local_ref = image_ref(plan.repository, tag_of(ref))
            found = images.attrs(local_ref)
            if found is not None:
                images.tag(found["Id"], ref)
                reason = f"verified image {local_ref} re-tagged for the registry"
        if found:
            pushed = digest = push_stats = None
            if push:
                digest, push_stats = measured_push(lambda: eng.push_image(images.client, ref), ref)
                pushed = ref
                reason += "; pushed"
            return BuildSummary(tag=ref, skipped=True, reason=reason, **summary_fields(push_stats),
                                digest=digest, pushed=pushed, engine=local.name,
                                size_bytes=found.get("Size"),
                                duration_s=time.monotonic() - started)

    secrets = {"ca": ca} if ca and plan.ca_mode is CaMode.SECRET else {}
    platform = plan.platform if plan.arch != eng.host_arch() else None
    if plan.frontend is Frontend.BUILDKIT and plan.ca_mode is not CaMode.THROWAWAY_STAGE:
        from launchbuild.core.cache import cache_root

        context = synced_context(
            stable_context_dir(cache_root(), split_ref(ref)[0]), Path(context_source_dir),
            dockerfile=dockerfile, lock_text=plan.lock_text,
            uv_binary=uv_binary if plan.installer == "uv" else None, entries=entries,
        )
    else:
        context = build_context(
            Path(context_source_dir),
            dockerfile=dockerfile,
            lock_text=plan.lock_text,
            uv_binary=uv_binary if plan.installer == "uv" else None,
            ca_bundle=ca if plan.ca_mode is CaMode.THROWAWAY_STAGE else None,
            entries=entries,
        )
    with context as ctx, _netrc_secret(credentials if plan.index_credentials else None) as netrc:
        if netrc is not None:
            secrets = {**secrets, "netrc": netrc}
        from launchbuild.builder.wheels_in_context import place

        place(ctx, plan)
        from launchbuild.builder import layers

        layers.place(ctx, plan)  # the sub-locks of the layer split
        result = local.build(ctx, platform=platform, no_cache=no_cache, secrets=secrets, on_progress=on_progress)

    verification = _verify(images, result.image_id, plan, entries, uv_binary, context_source_dir)
    if not all(v.passed for v in verification):
        eng.remove_image(images.client, result.image_id)
        return BuildSummary(tag=ref, skipped=False, engine=local.name, verification=verification,
                            reason="verification failed: the image was removed and nothing was tagged",
                            duration_s=time.monotonic() - started)
    images.tag(result.image_id, ref)
    digest = pushed = push_stats = None
    if push:
        # The local repository gets the tag too, so a later build without --push skips.
        images.tag(result.image_id, image_ref(plan.repository, tag_of(ref)))
        digest, push_stats = measured_push(lambda: eng.push_image(images.client, ref), ref)
        pushed = ref
    cached = sum(1 for s in result.steps if s.cached)
    return BuildSummary(
        tag=ref,
        skipped=False,
        reason=("forced rebuild" if (force or no_cache) else "content tag not found")
        + f"; {cached}/{len(result.steps)} steps from cache",
        duration_s=time.monotonic() - started,
        size_bytes=(images.attrs(result.image_id) or {}).get("Size"),
        digest=digest,
        pushed=pushed,
        engine=local.name,
        verification=verification,
        **summary_fields(push_stats),
    )
