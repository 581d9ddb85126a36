"""Fixed reports for the report-format tests: built by hand, every sub-object filled, no
clocks, so each format's output is byte-for-byte stable (goldens in tests/fixtures/report/)."""

from __future__ import annotations

import os
from pathlib import Path

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.findings import Evidence, Finding, Location, Severity
from launchbuild.core.fixes import ChangeBaseImage
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.report.formats.base import RuleMeta
from launchbuild.report.model import Report, TargetSummary
from launchbuild.builder.model import BuildSummary, VerificationResult
from launchbuild.resolver.model import CleaningAction, Lock, LockedPackage, ResolveResult, Target

FIXTURES = Path(__file__).parent / "fixtures"
GOLDENS = FIXTURES / "report"
SARIF_SCHEMA = FIXTURES / "sarif-schema" / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = Path(__file__).resolve().parents[1] / "report" / "schemas" / "report-v1.schema.json"

# Rule metadata for renderers under test: a stand-in for the catalog so the goldens don't
# change when the real catalog's wording does. Shaped like catalog entries.
RULES = {
    "LB101": RuleMeta("LB101", "Accelerator image is not Debian-compatible", Severity.ERROR,
                      "Python is installed into accelerator images with apt-get.", "Use a Debian or Ubuntu based image."),
    "LB201": RuleMeta("LB201", "CUDA toolkit cannot target the GPU", Severity.ERROR,
                      "The image's CUDA toolkit has no code generation for the GPU's compute capability.",
                      "Use a CUDA image whose toolkit supports the GPU."),
    "LB202": RuleMeta("LB202", "Driver too old for the image's CUDA", Severity.ERROR,
                      "NVIDIA_REQUIRE_CUDA or CUDA_VERSION needs a newer driver.", "Upgrade the driver or use an older CUDA image."),
    "LB203": RuleMeta("LB203", "Framework build has no kernels for the GPU", Severity.ERROR,
                      "The framework wheel ships neither SASS nor PTX for the GPU.", "Pin a framework build that supports the GPU."),
    "LB302": RuleMeta("LB302", "No wheel for the target", Severity.WARNING,
                      "The package builds from source on the target and needs a compiler.", "Pin a version with a wheel."),
    "LB304": RuleMeta("LB304", "System libraries missing from the image", Severity.WARNING,
                      "A package loads shared libraries the image lacks.", "apt-get install the listed packages."),
    "LB401": RuleMeta("LB401", "Entrypoint script not found", Severity.ERROR,
                      "The entrypoint names a file the source does not contain.", "Fix --entrypoint."),
    "LB402": RuleMeta("LB402", "Secrets or bulky folders in the build context", Severity.WARNING,
                      "These files would be copied into the image.", "Add them to .dockerignore."),
    "LB403": RuleMeta("LB403", "No entrypoint", Severity.INFO,
                      "No entrypoint was given anywhere.", "Pass --entrypoint."),
}

DIGEST = "sha256:" + "3f" * 32


def fixed_report(*, strict: bool = False, verification_passes: bool = False) -> Report:
    """A failing check-and-build of an old-torch job on an H100: errors, warnings and an info,
    inferred and read facts, a cleaned environment, and a build whose verification failed."""
    findings = (
        Finding(
            rule="LB203",
            severity=Severity.ERROR,
            title="Framework build has no kernels for the GPU",
            message="torch 1.12.1+cu113 ships kernels up to sm_86 and no PTX; the H100 is sm_90",
            fix="pin torch>=2.0.1 built for cu118 or later, e.g. torch==2.4.1 (cu121)",
            evidence=(
                Evidence("torch", "1.12.1+cu113", "lock"),
                Evidence("torch arch list", "sm_37 sm_50 sm_60 sm_70 sm_75 sm_80 sm_86", "data/torch.json"),
                Evidence("gpu compute capability", "9.0 (H100)", "flag"),
            ),
            location=Location("requirements.txt", 3),
        ),
        Finding(
            rule="LB201",
            severity=Severity.ERROR,
            title="CUDA toolkit cannot target the GPU",
            message="CUDA 11.7.1 can target up to sm_87; the H100 needs sm_90 (CUDA >= 11.8)",
            fix="use nvidia/cuda:12.4.1-runtime-ubuntu22.04",
            fixes=(ChangeBaseImage("nvidia/cuda:12.4.1-runtime-ubuntu22.04"),),
            evidence=(
                Evidence("cuda_version", "11.7.1", "inferred"),
                Evidence("gpu compute capability", "9.0 (H100)", "flag"),
            ),
        ),
        Finding(
            rule="LB304",
            severity=Severity.WARNING,
            title="System libraries missing from the image",
            message="opencv-python loads libGL.so.1, which the image lacks",
            fix="add apt packages: libgl1 libglib2.0-0",
            evidence=(Evidence("opencv-python", "4.10.0.84", "lock"),),
            location=Location("requirements.txt", 5),
        ),
        Finding(
            rule="LB402",
            severity=Severity.WARNING,
            title="Secrets or bulky folders in the build context",
            message="would copy .env (1 KiB) and wandb/ (2.3 GiB) into the image",
            fix="add .env and wandb/ to .dockerignore",
            evidence=(Evidence(".env", "1 KiB", "source scan"), Evidence("wandb/", "2.3 GiB", "source scan")),
        ),
        Finding(
            rule="LB302",
            severity=Severity.INFO,
            title="No wheel for the target",
            message="antlr4-python3-runtime 4.9.3 has no wheel | builds from the sdist (pure Python, no compiler needed)",
            fix="nothing to do; pin a release with a wheel to skip the build step",
            evidence=(Evidence("antlr4-python3-runtime", "4.9.3", "lock"),),
        ),
    )
    lock = Lock(
        packages=(
            LockedPackage("torch", "1.12.1+cu113", ("sha256:" + "a1" * 32,), ("-r requirements.txt",),
                          Location("requirements.txt", 3)),
            LockedPackage("numpy", "1.26.4", ("sha256:" + "b2" * 32,), ("torch",)),
            LockedPackage("opencv-python", "4.10.0.84", ("sha256:" + "c3" * 32,), ("-r requirements.txt",),
                          Location("requirements.txt", 5)),
            LockedPackage("antlr4-python3-runtime", "4.9.3", ("sha256:" + "d4" * 32,), ("omegaconf",)),
            LockedPackage("typing-extensions", "4.12.2", ("sha256:" + "e5" * 32,), ("torch",)),
        ),
        text="torch==1.12.1+cu113\n",
        target=Target(python="3.10", platform="linux/amd64", glibc="2.35"),
        backend="uv",
        input_hash="sha256:" + "0c" * 32,
        index_urls=("http://127.0.0.1:8631/simple",),
        cuda_variants=(("torch", "cu113"),),
    )
    environment = ResolveResult(
        input_kind="requirements",
        input_path="requirements.txt",
        skipped_inputs=(("environment.yml", "requirements.txt takes precedence"),),
        cleaning=(
            CleaningAction("pkg-resources==0.0.0", "dropped", "an Ubuntu pip artefact, not on any index",
                           Location("requirements.txt", 7)),
            CleaningAction("mkl-fft @ file:///croot/mkl_fft_1695", "dropped", "a conda build path; conda-only package",
                           Location("requirements.txt", 8)),
            CleaningAction("torch==1.12.1+cu113", "rerouted", "local version +cu113: served by the local index"),
        ),
        lock=lock,
        cache_hit=True,
        requirements_text="torch==1.12.1+cu113\n",
    )
    image = ImageFacts(
        reference="nvidia/cuda:11.7.1-runtime-ubuntu22.04",
        provider="inferred",
        os_id="ubuntu",
        os_id_like=("debian",),
        os_version="22.04",
        os_codename="jammy",
        has_apt=True,
        glibc="2.35",
        architecture="amd64",
        pythons=(),
        apt_pythons=("3.10", "3.11"),
        cuda_version="11.7.1",
        cudnn_version=None,
        has_nvcc=False,
        end_of_life=True,
    )
    build = BuildSummary(
        tag="127.0.0.1:5055/team/train:lb-5e1f0c2a9b7d",
        skipped=False,
        reason="no image with this content hash yet",
        duration_s=83.4,
        size_bytes=3_221_225_472,
        digest=DIGEST,
        pushed="127.0.0.1:5055/team/train:lb-5e1f0c2a9b7d",
        engine="buildkit",
        verification=(
            VerificationResult("python version", True, "3.10.12"),
            VerificationResult("pip check", True, "No broken requirements found."),
            VerificationResult("locked versions", True, "5 of 5 match"),
            VerificationResult("entrypoint", verification_passes, "" if verification_passes else "train.py: not found in /app"),
            VerificationResult("non-root user", True, "uid 1000"),
        ),
    )
    target = TargetSummary(
        image=Sourced("nvidia/cuda:11.7.1-runtime-ubuntu22.04", Origin.QUEUE_CONFIG, "queue.json"),
        python=Sourced("3.10", Origin.RUN_METADATA, "wandb-metadata.json"),
        platform=Sourced("linux/amd64", Origin.DEFAULT),
        gpus=(Sourced("H100", Origin.FLAG, "--gpu"),),
        driver=Sourced("535.104.05", Origin.FLAG, "--driver"),
        entrypoint=Sourced(("python", "train.py", "--lr", "3e-4"), Origin.JOB_SPEC, "wandb-job.json"),
    )
    return Report(
        job="examples/h100-old-torch",
        target=target,
        findings=findings,
        rules_checked=tuple(sorted(RULES)),
        environment=environment,
        image=image,
        build=build,
        ignored=("LB101",),
        strict=strict,
        duration_s=1.25,
        notes=("image facts were inferred from the tag: no Docker engine or registry answered",),
    )


def passing_report() -> Report:
    """A clean check with no build: the PASS path, with sparse fields."""
    return Report(
        job=".",
        target=TargetSummary(python=Sourced("3.11", Origin.SOURCE_FILE, ".python-version")),
        rules_checked=("LB101", "LB102", "LB401"),
        environment=ResolveResult(input_kind="none", input_path=None),
    )


def warning_report(strict: bool = False) -> Report:
    return Report(
        job="job.json",
        target=TargetSummary(),
        findings=(
            Finding("LB402", Severity.WARNING, "Secrets or bulky folders in the build context",
                    "would copy .env into the image", "add .env to .dockerignore"),
        ),
        rules_checked=("LB402",),
        strict=strict,
    )


def golden(name: str, text: str) -> None:
    """Compare with tests/fixtures/report/<name>; UPDATE_GOLDENS=1 rewrites it instead."""
    path = GOLDENS / name
    if os.environ.get("UPDATE_GOLDENS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDENS=1 and review the diff"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden; if intended, rerun with UPDATE_GOLDENS=1"
