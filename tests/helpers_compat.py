"""Hand-built CheckContexts for the compat rule tests (ImageFacts/Lock are plain values)."""

from __future__ import annotations

from launchbuild.compat.context import CheckContext
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.compat.target import parse_driver, parse_gpu
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.resolver.model import Lock, LockedPackage, PackageFacts, Target

# The real 12.1.1 ubuntu22.04 x86_64 string (compat-sources.md section 3.1; brands 470 and 525).
_BRANDS = ("tesla", "unknown", "nvidia", "nvidiartx", "quadro", "quadrortx", "geforce", "geforcertx", "titan", "titanrtx")
REQUIRE_12_1_1 = "cuda>=12.1 " + " ".join(
    f"brand={b},driver>={br},driver<{br + 1}" for br in (470, 525) for b in _BRANDS
)
# 11.8.0 after the Nov 2023 rebuild: only the 470 branch is left.
REQUIRE_11_8_0 = "cuda>=11.8 " + " ".join(f"brand={b},driver>=470,driver<471" for b in _BRANDS)


def cuda_image(
    cuda: str = "12.4.1",
    cudnn: str | None = None,
    *,
    require: str | None = None,
    devel: bool = False,
    provider: str = "docker",
    env: tuple[tuple[str, str], ...] = (),
    **kw,
) -> ImageFacts:
    major_minor = ".".join(cuda.split(".")[:2])
    values = dict(
        reference=f"nvidia/cuda:{cuda}-{'cudnn-' if cudnn else ''}{'devel' if devel else 'runtime'}-ubuntu22.04",
        provider=provider,
        os_id="ubuntu",
        os_id_like=("debian",),
        os_version="22.04",
        has_apt=True,
        architecture="amd64",
        apt_pythons=("3.10", "3.11"),
        cuda_version=cuda,
        cudnn_version=cudnn,
        require_cuda=require if require is not None else f"cuda>={major_minor}",
        has_nvcc=devel,
        env=env,
        fact_sources=(("cuda_version", "env CUDA_VERSION"), ("require_cuda", "env NVIDIA_REQUIRE_CUDA"), ("cudnn_version", "env NV_CUDNN_VERSION")),
    )
    values.update(kw)
    return ImageFacts(**values)


def python_image(py: str = "3.11", **kw) -> ImageFacts:
    values = dict(
        reference=f"python:{py}-slim",
        provider="docker",
        os_id="debian",
        os_version="12",
        has_apt=True,
        architecture="amd64",
        pythons=(py,),
        has_nvcc=False,
    )
    values.update(kw)
    return ImageFacts(**values)


def lock(*pins: str, python: str = "3.11", variants: tuple[tuple[str, str], ...] = ()) -> Lock:
    packages = tuple(LockedPackage(p.split("==")[0], p.split("==")[1]) for p in pins)
    return Lock(
        packages=packages,
        text="\n".join(pins),
        target=Target(python),
        backend="uv",
        input_hash="test",
        cuda_variants=variants,
    )


def ctx(
    *,
    image: ImageFacts | None = None,
    gpus: tuple[str, ...] = (),
    driver: str | None = None,
    pins: tuple[str, ...] = (),
    python: str = "3.11",
    accelerator: bool | None = None,
    variants: tuple[tuple[str, str], ...] = (),
    packages: tuple[PackageFacts, ...] = (),
    **kw,
) -> CheckContext:
    return CheckContext(
        image=image,
        accelerator_image=accelerator if accelerator is not None else bool(image and image.cuda_version),
        python=Sourced(python, Origin.FLAG, "--python"),
        gpus=tuple(parse_gpu(g) for g in gpus),
        driver=parse_driver(driver) if driver else None,
        lock=lock(*pins, python=python, variants=variants) if pins or variants else None,
        packages=packages,
        **kw,
    )


def rules_of(findings) -> list[tuple[str, str]]:
    return [(f.rule, f.severity.value) for f in findings]
