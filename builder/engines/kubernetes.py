"""The kubernetes engine: the local build's plan, Dockerfile, tag and verification, in a cluster.

1. The tag: `builder.api.fit_and_tag` with the BuildKit frontend and the host's uv, exactly
   as a local BuildKit build computes it, over the same code entries and base digest. The
   cluster context gets uv from the uv image (an init container), so the Dockerfile is the
   local one, byte for byte.
2. Before anything is submitted: a base image that exists only in the local engine (its
   registry has no manifest for it) is finding LB404, and nothing is submitted.
3. The context archive goes to the store (builder/context_stores.py), the Job builds and
   pushes with rootless BuildKit (builder/kubernetes_submit.py).
4. The Job pushes under `<content tag>-unverified`; that image, by digest, is verified by a
   Pod with no network running the local probe (builder/kubernetes_verify.py), and only when
   it passes does a promotion Job (crane) give it the content tag. So, as on a local engine,
   the content tag only ever names a verified image, and a content tag already in the
   registry is a skip. `verify=False` pushes the content tag directly and says so.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from launchbuild.builder.engines.base import BuildOutcome, EngineOptions
from launchbuild.builder.model import Manifests
from launchbuild.builder.plan import BuildPlan, Frontend
from launchbuild.errors import BadInput, InfraUnavailable


def default_uv_image() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from launchbuild.builder.kubernetes import UV_IMAGE

    try:
        return UV_IMAGE.format(version=version("uv"))
    except PackageNotFoundError:  # uv found on PATH only: the image of the newest release
        return "ghcr.io/astral-sh/uv:debian-slim"


def local_only_base(client: Any, base_image: str) -> Any:
    """Finding LB404 when `base_image` is in the local engine but its registry has no manifest
    for it (or cannot be asked from here), else None. Needs the docker SDK client."""
    from launchbuild.builder import engine as eng
    from launchbuild.builder.local_images import LocalImages
    from launchbuild.compat.catalog import get
    from launchbuild.core.findings import Evidence, Severity
    from launchbuild.core.fixes import Advice, SetOption

    local_id = LocalImages(client).image_id(base_image)
    if local_id is None:
        return None
    try:
        if eng.registry_manifest_digest(client, base_image):
            return None
        unreachable = None
    except InfraUnavailable as exc:
        unreachable = str(exc)
    rule = get("LB404")
    # Which registry the cluster pulls from is the operator's (advice); a local engine is an option.
    fix = (Advice("push the base image to a registry the cluster can pull from and name it there "
                  "(e.g. --base-image REGISTRY/REPO:TAG)"),
           SetOption("engine", "auto", phrase="build with a local engine"))
    evidence = [Evidence("local engine", local_id, "docker"),
                Evidence("registry", "unreachable from here" if unreachable else "no manifest", "registry")]
    if unreachable:
        return rule.finding(f"base image {base_image} is in the local engine, and its registry could not be asked "
                            "whether the cluster can pull it", fix, evidence, severity=Severity.WARNING)
    return rule.finding(f"base image {base_image} exists only in the local engine: the cluster cannot pull it",
                        fix, evidence)


def _cluster_options(options: EngineOptions, plan: BuildPlan, destination: str) -> Any:
    from launchbuild.builder.context import DOCKERFILE_PATH
    from launchbuild.builder.kubernetes import KubernetesBuildOptions

    base = options.kubernetes or KubernetesBuildOptions()
    uv_image = (base.uv_image or default_uv_image()) if plan.installer == "uv" else None
    return dataclasses.replace(base, destination=destination, platform=plan.platform, dockerfile=DOCKERFILE_PATH,
                               uv_image=uv_image)


def build_on_cluster(plan: BuildPlan, options: EngineOptions, progress: Any = None) -> BuildOutcome:
    from launchbuild.builder import engine as eng
    from launchbuild.builder import kubernetes as k8s
    from launchbuild.builder.api import base_digest, code_entries, fit_and_tag
    from launchbuild.builder.context import build_context, content_hash
    from launchbuild.builder.plan import find_ca_bundle
    from launchbuild.progress import Progress
    from launchbuild.core.findings import Severity
    from launchbuild.builder.model import BuildSummary

    started = time.monotonic()
    plan.validate()
    if not plan.builds_image:
        return BuildOutcome(BuildSummary(tag=plan.base_image, skipped=True, engine="none",
                                         reason="image job: the job's own image runs as is; nothing to build"))
    if plan.index_credentials:
        raise BadInput("the job's index credentials reach installs only as a local BuildKit secret; "
                       "--engine kubernetes has no way to pass them yet", hint="build with --engine buildkit")
    if not options.push:
        raise BadInput("--engine kubernetes needs --push REGISTRY/REPO: the cluster builder pushes there",
                       hint="add --push registry.example:5000/team/job")
    if options.source_dir is None:
        raise BadInput("a git or code job needs its source directory to build", hint="check the job source")
    if options.kubernetes is not None:
        # The operator's options fail here, before any Docker or cluster work.
        k8s.validate(dataclasses.replace(options.kubernetes, destination="localhost/validate:options"))
    client = options.client
    if client is None:
        try:
            client = eng.docker_client(timeout=60)
        except InfraUnavailable:
            client = None  # no local engine: nothing can be local-only; the check's digest names the base
    if client is not None:
        finding = local_only_base(client, plan.base_image)
        if finding is not None and finding.severity is Severity.ERROR:
            return BuildOutcome(None, (finding,))
        try:
            digest = base_digest(client, plan.base_image)
        except InfraUnavailable:
            if not options.base_digest:
                raise
            digest = options.base_digest  # the registry answered the check, not the engine
        found = (finding,) if finding is not None else ()
    elif options.base_digest:
        digest, found = options.base_digest, ()
    else:
        raise BadInput(f"base image {plan.base_image}: its digest is unknown, so the content tag cannot be computed",
                       hint="make the image readable from its registry or the local engine")

    entries = code_entries(options.source_dir, options.credentials)
    fitted, dockerfile, ref = fit_and_tag(plan, frontend=Frontend.BUILDKIT, ca_bundle=find_ca_bundle(options.ca_bundle),
                                          uv_binary=eng.find_uv_binary(), code_hash=content_hash(entries),
                                          base_digest=digest, repository=options.push)
    verify = options.kubernetes.verify if options.kubernetes is not None else True
    # Verified builds push under a candidate tag; only a verified image gets the content tag.
    candidate = f"{ref}{k8s.CANDIDATE_SUFFIX}" if verify else ref
    kube = _cluster_options(options, fitted, candidate)
    if client is not None and not (options.force or options.no_cache or options.dry_run):
        try:
            existing = eng.registry_manifest_digest(client, ref)
        except InfraUnavailable:
            existing = None  # the cluster may reach a registry this machine cannot: build
        if existing:
            return BuildOutcome(BuildSummary(tag=ref, skipped=True, reason="content tag already in the registry",
                                             digest=existing, engine="kubernetes",
                                             duration_s=time.monotonic() - started), found)
    with build_context(options.source_dir, dockerfile=dockerfile, lock_text=fitted.lock_text, entries=entries) as ctx:
        from launchbuild.builder.wheels_in_context import place

        place(ctx, fitted)  # wheels built or copied on this host travel with the context
        from launchbuild.builder import layers

        layers.place(ctx, fitted)  # the sub-locks of the layer split, as in a local build context
        if options.dry_run:
            for f in found:  # a dry run returns no report: the warning goes to the progress channel
                (progress or Progress()).log(f"{f.rule} ({f.severity.value}): {f.message}")
            store = k8s.ContextStore.parse(kube.context_store)
            archive = k8s.build_context_archive(ctx, dockerfile=kube.dockerfile) if store.kind == "configmap" else None
            text = k8s.dump_manifests(k8s.render_manifests(kube, context_archive=archive))
            written = None
            if options.output is not None:
                k8s.write_manifest_text(text, options.output)
                written = Path(options.output)
            return BuildOutcome(None, found, manifests=Manifests(text, written))
        from launchbuild.builder.kubernetes_submit import load_api_client, submit

        api_client = options.kube_api_client
        if api_client is None:
            api_client = load_api_client()
        progress = progress or Progress()
        say = progress.log
        with progress.phase("building on the cluster"):
            result = submit(ctx, kube, api_client=api_client, on_event=say, poll_interval_s=options.poll_interval_s)
    verification: tuple[Any, ...] = ()
    pushed: str | None = ref
    reason = ("an earlier Job for this content was adopted" if result.reused else "content tag not found") \
        + f"; built by Kubernetes Job {result.namespace}/{result.job_name}"
    if kube.verify:
        from launchbuild.builder.kubernetes_verify import run_promotion, run_verification

        image = f"{candidate.rsplit(':', 1)[0]}@{result.digest}" if result.digest else candidate
        with progress.phase("verifying on the cluster (no network)"):
            verification = run_verification(kube, fitted, image, api_client=api_client, on_event=say,
                                            poll_interval_s=options.poll_interval_s)
        if all(v.passed for v in verification):
            with progress.phase("tagging the verified image"):
                run_promotion(kube, image, ref.rsplit(":", 1)[1], api_client=api_client, on_event=say,
                              poll_interval_s=options.poll_interval_s)
        else:
            pushed = None
            reason = (f"verification failed: nothing was tagged {ref.rsplit(':', 1)[1]}; the unverified image "
                      f"stays at {candidate} for inspection")
    else:
        reason += "; not verified (verification turned off)"
    summary = BuildSummary(tag=ref, skipped=False, reason=reason, duration_s=time.monotonic() - started,
                           digest=result.digest, pushed=pushed, engine="kubernetes", verification=verification)
    return BuildOutcome(summary, found)
