"""Drive W&B Launch's own builder offline: job in, Dockerfile.wandb + build context out.

Runs under the peer's venv (bench/.work/peer-venv), never under the project's interpreter.
Only the calls that need a W&B server are replaced (shared/reference/peer-builders.md §7):
`wandb.apis.public.Api` by `FakePublicApi` (its artifacts are local files) and
`wandb.docker.is_buildx_installed` (forced on, so the peer gets its pip cache mount under
BuildKit, as it would with buildx). Everything else is the stock wandb code path:
`create_job._make_metadata_for_partial_job`, `JobBuilder.build()`, the public `Job`,
`LaunchProject.fetch_and_validate_project()` and `BuildContextManager.create_build_context()`.

    peer_wandb.py --code DIR --entrypoint "python train.py" --runtime 3.11 \
        [--frozen FILE] [--accelerator-base-image IMG] --out CONTEXT_DIR

Prints one JSON object: context_dir, dockerfile, image_tag, image_uri.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import wandb
import wandb.apis.public
import wandb.docker
from wandb.sdk.artifacts._internal_artifact import InternalArtifact
from wandb.sdk.launch import create_job
from wandb.sdk.launch._project_spec import LaunchProject
from wandb.sdk.launch.builder import build as launch_build
from wandb.sdk.launch.builder.context_manager import BuildContextManager

ENTITY = "bench"
PROJECT = "bench"


class FakeArtifact:
    """The slice of `wandb.Artifact` that `Job` and `LaunchProject` touch."""

    def __init__(self, name: str, files: dict[str, str]) -> None:
        self.name = name
        self.version = 0
        self.qualified_name = f"{ENTITY}/{PROJECT}/{name}:v0"
        self.state = "COMMITTED"
        self._files = files  # artifact path -> local file

    def download(self, root: str | None = None, *args, **kwargs) -> str:
        root = root or tempfile.mkdtemp()
        for rel, local in self._files.items():
            dest = Path(root) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(local, dest)
        return root


class FakePublicApi:
    """Stands in for `wandb.apis.public.Api`: serves the two artifacts built locally."""

    job_artifact: FakeArtifact
    code_artifact: FakeArtifact

    def __init__(self, *args, **kwargs) -> None:
        self.default_entity = ENTITY
        self.settings = {"base_url": "offline"}

    def _artifact(self, name, type=None):  # noqa: A002 - wandb's own signature
        return self.job_artifact if type == "job" else self.code_artifact

    def _artifact_from_id(self, artifact_id):
        return self.code_artifact

    def job(self, name, path=None):
        return wandb.apis.public.jobs.Job(self, name, path)


def _manifest_files(artifact: InternalArtifact) -> dict[str, str]:
    return {path: entry.local_path for path, entry in artifact.manifest.entries.items() if entry.local_path}


def make_context(code: Path, entrypoint: str, runtime: str, frozen: Path | None,
                 accelerator_base_image: str | None, out: Path, job_name: str) -> dict:
    staging = tempfile.TemporaryDirectory()
    metadata, requirements = create_job._make_metadata_for_partial_job(
        job_type="code", tempdir=staging, git_hash=None, runtime=runtime,
        path=str(code), entrypoint=entrypoint,
    )
    if metadata is None:
        raise SystemExit(f"peer_wandb: wandb refused the job at {code}")
    if frozen is not None:
        # A run-made job: the run's package list becomes requirements.frozen.txt.
        requirements = frozen.read_text().splitlines()
    create_job._dump_metadata_and_requirements(tmp_path=staging.name, metadata=metadata, requirements=requirements)

    job_builder = create_job._configure_job_builder_for_partial(staging.name, job_source="code")
    job_builder._settings.job_name = job_name
    code_artifact = InternalArtifact(name=f"code-{job_name}", type="code", description="Code artifact for job",
                                     digest_algorithm="MD5")
    code_artifact.add_dir(str(code))
    for item in create_job.CODE_ARTIFACT_EXCLUDE_PATHS:
        try:
            code_artifact.remove(item)
        except FileNotFoundError:
            pass
    # What the server would answer when the code artifact is saved.
    job_builder._handle_server_artifact({"id": "QXJ0aWZhY3Q6b2ZmbGluZQ=="}, code_artifact)
    job_artifact = job_builder.build(api=None)
    if job_artifact is None:
        raise SystemExit("peer_wandb: JobBuilder.build() produced no job")

    FakePublicApi.job_artifact = FakeArtifact(job_name, _manifest_files(job_artifact))
    FakePublicApi.code_artifact = FakeArtifact(f"code-{job_name}", _manifest_files(code_artifact))
    wandb.apis.public.Api = FakePublicApi
    wandb.docker.is_buildx_installed = lambda: True
    launch_build.docker.is_buildx_installed = lambda: True

    resource_args: dict = {}
    if accelerator_base_image:
        resource_args = {"local-container": {"builder": {"accelerator": {"base_image": accelerator_base_image}}}}
    project = LaunchProject(
        uri=None, job=f"{ENTITY}/{PROJECT}/{job_name}:v0", api=None, launch_spec={},
        target_entity=ENTITY, target_project=PROJECT, name=None, docker_config={}, git_info={},
        overrides={}, resource="local-container", resource_args=resource_args, run_id=None,
    )
    project.fetch_and_validate_project()
    context_dir, image_tag = BuildContextManager(project).create_build_context("docker")
    if out.exists():
        shutil.rmtree(out)
    shutil.move(context_dir, out)
    staging.cleanup()
    return {
        "context_dir": str(out),
        "dockerfile": str(out / "Dockerfile.wandb"),
        "image_tag": image_tag,
        "image_uri": f"{project.image_name}:{image_tag}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, required=True)
    parser.add_argument("--entrypoint", default="python train.py")
    parser.add_argument("--runtime", default="3.11")
    parser.add_argument("--frozen", type=Path)
    parser.add_argument("--accelerator-base-image")
    parser.add_argument("--job-name", default="bench-job")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    result = make_context(args.code.resolve(), args.entrypoint, args.runtime, args.frozen,
                          args.accelerator_base_image, args.out.resolve(), args.job_name)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
