"""The bench's jobs: their definitions (small, medium, frozen, medium-accel, gpu-stack) and
their code directories on disk, written fresh, edited, and given one more dependency."""

from __future__ import annotations

import shutil
import subprocess

from launchbuild.bench.harness import GPU_STACK, JOBS_DIR, PYTHON, TRAIN_PY, JobSpec


def frozen_list(packages: str) -> str:
    """A run's package list as pins: what `pip list --format=freeze` would show after the run."""
    import uv

    proc = subprocess.run(
        [uv.find_uv_bin(), "pip", "compile", "-", "--python-version", PYTHON, "--no-header", "--no-annotate",
         "--no-python-downloads", "--quiet"],
        input=packages, capture_output=True, text=True, check=True,
    )
    return proc.stdout


def make_jobs() -> dict[str, JobSpec]:
    frozen = frozen_list("requests\nrich\n")
    tqdm_pin = next(line for line in frozen_list("tqdm\n").splitlines() if line.startswith("tqdm=="))
    web, data = ("requests", "rich"), ("numpy", "pandas", "sklearn")
    return {
        "small": JobSpec("small", requirements="requests\nrich\n", imports=web),
        "medium": JobSpec("medium", requirements="numpy\npandas\nscikit-learn\n", heavy=True, imports=data),
        "frozen": JobSpec("frozen", frozen=frozen, added_dependency=tqdm_pin, imports=web),
        "medium-accel": JobSpec("medium-accel", requirements="numpy\npandas\nscikit-learn\n", accelerator=True,
                                heavy=True, imports=data),
        # Issue 17: a real GPU stack (3-4 GB of wheels, downloaded again after each cold prune).
        "gpu-stack": JobSpec("gpu-stack", requirements=GPU_STACK, heavy=True, registry=True, runs=1,
                             imports=("torch", "numpy", "yaml", "requests")),
    }


def write_job(job: JobSpec, *, added: bool = False, code_version: int = 0) -> None:
    code = JOBS_DIR / job.dirname
    if code.exists():
        shutil.rmtree(code)
    code.mkdir(parents=True)
    (code / "train.py").write_text(TRAIN_PY + "".join(f"# edit {i}\n" for i in range(code_version)))
    extra = f"{job.added_dependency}\n" if added else ""
    if job.requirements is not None:
        (code / "requirements.txt").write_text(job.requirements + extra)
    if job.frozen is not None:
        (JOBS_DIR / f"{job.dirname}.frozen.txt").write_text(job.frozen + extra)


def edit_code(job: JobSpec, version: int) -> None:
    with open(JOBS_DIR / job.dirname / "train.py", "a") as f:
        f.write(f"# edit {version}\n")


def add_dependency(job: JobSpec) -> None:
    target = (JOBS_DIR / f"{job.dirname}.frozen.txt") if job.frozen is not None else (
        JOBS_DIR / job.dirname / "requirements.txt")
    with open(target, "a") as f:
        f.write(f"{job.added_dependency}\n")
