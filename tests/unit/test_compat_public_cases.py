"""Real setups from public issues, checked against the data the refresh pipeline produced.

Each case is (GPU, driver, image, lock) as the report gives it, with its URL. Failures must be
found (the rule IDs in `errors`); a fact the data lacks must be a finding (`warns`); known-good
setups (the fix a thread settled on, or a working control) must give no error at all, so false
errors are caught too. Images are read the way the check reads them offline: tag inference
over data/nvidia_cuda_images.json and data/distro_pythons.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from launchbuild.compat.catalog import evaluate
from launchbuild.core.findings import Severity
from launchbuild.core.imageref import parse_image_ref
from launchbuild.compat.facts.inspect import _with_table_pythons
from launchbuild.compat.facts.providers.inference import infer_facts
from tests.helpers_compat import ctx


@dataclass(frozen=True)
class Case:
    url: str
    gpu: str | None
    driver: str | None
    image: str | None
    pins: tuple[str, ...]
    python: str = "3.11"
    platform: str = "linux/amd64"
    errors: frozenset[str] = field(default_factory=frozenset)  # rules that must give an error
    warns: frozenset[str] = field(default_factory=frozenset)  # rules that must give at least a warning
    good: bool = False  # a known-good setup: no error at all
    absent: frozenset[str] = field(default_factory=frozenset)  # rules that must give no finding at all (false warnings)


def bad(url, gpu, driver, image, pins, *errors, python="3.11", platform="linux/amd64", warns=()):
    return Case(url, gpu, driver, image, tuple(pins), python, platform, frozenset(errors), frozenset(warns))


def unknown(url, gpu, driver, image, pins, *warns, python="3.11", good=False):
    return Case(url, gpu, driver, image, tuple(pins), python, warns=frozenset(warns), good=good)


def good(url, gpu, driver, image, pins, python="3.11", platform="linux/amd64"):
    return Case(url, gpu, driver, image, tuple(pins), python, platform, good=True)


CU121 = "nvidia/cuda:12.1.1-runtime-ubuntu22.04"
CU128 = "nvidia/cuda:12.8.1-runtime-ubuntu22.04"
# The data audit's sources: NVIDIA's container-images (a GitHub mirror at the commit it read) and JAX's install docs
AUDIT_MIRROR = "https://github.com/pranavmishra90/nvidia-container-images-cuda/blob/60a1c892"
AUDIT_JAX_DOCS = "https://github.com/jax-ml/jax/blob/cec06d11/docs/installation.md"
JAX13 = ["jax==0.10.2", "jaxlib==0.10.2", "jax-cuda13-plugin==0.10.2", "jax-cuda13-pjrt==0.10.2", "nvidia-cuda-runtime==13.5.37",
         "nvidia-cuda-nvcc==13.5.37", "nvidia-cublas==13.10.0.20", "nvidia-cudnn-cu13==9.28.1.4"]
TF220 = ["tensorflow==2.20.0", "nvidia-cuda-runtime-cu12==12.9.79", "nvidia-cudnn-cu12==9.28.0.42", "nvidia-cublas-cu12==12.9.3.13"]
CASES = [
    # ---- Blackwell (sm_120) with torch builds that stop at sm_90 -------------------------
    bad("https://github.com/Hellod035/LeggedLab/issues/26", "RTX 5090", "570.124.06", None, ["torch==2.6.0"], "LB203"),
    bad("https://github.com/pytorch/pytorch/issues/150733", "GeForce RTX 5090 D", "570.124.06", None, ["torch==2.6.0"], "LB203"),
    bad("https://github.com/FlyMyAI/flymyai-lora-trainer/issues/47", "RTX 5090", "570.124.06", None, ["torch==2.5.1"], "LB203"),
    bad("https://github.com/xorbitsai/inference/issues/3603", "RTX 5090", "570.124.06", None, ["torch==2.4.1"], "LB203"),
    bad("https://github.com/pBFSLab/DeepPrep/issues/233", "RTX 5090", "570.124.06", None, ["torch==2.0.1+cu118"], "LB203"),
    bad("https://github.com/lllyasviel/FramePack/issues/805", "RTX 5070 Ti", "570.124.06", None, ["torch==2.6.0+cu126"], "LB203"),
    bad("https://github.com/remsky/Kokoro-FastAPI/issues/306", "GeForce RTX 5060 Ti", "570.124.06", None, ["torch==2.6.0"], "LB203"),
    bad("https://github.com/RVC-Project/Retrieval-based-Voice-Conversion-WebUI/issues/2636", "RTX 5070 Ti", "575.57.08", None, ["torch==2.0.1+cu118"], "LB203"),
    bad("https://github.com/stemrollerapp/stemroller/issues/102", "RTX 5060 Ti", "575.57.08", None, ["torch==2.1.2+cu118"], "LB203"),
    bad("https://github.com/jianchang512/ChatTTS-ui/issues/290", "RTX 5070 Ti", "575.57.08", None, ["torch==2.2.2+cu118"], "LB203"),
    bad("https://github.com/IAHispano/Applio/issues/1006", "RTX 5090", "572.16", None, ["torch==2.4.1+cu124"], "LB203"),
    good("https://github.com/lmoe/wyoming-xtts/issues/1", "RTX 5060 Ti", "570.124.06", CU128, ["torch==2.7.0+cu128"]),
    good("https://github.com/lllyasviel/FramePack/issues/550", "RTX 5090", "570.124.06", CU128, ["torch==2.7.0+cu128"]),
    good("https://github.com/pytorch/pytorch/issues/153928", "RTX 5070 Ti", "575.57.08", None, ["torch==2.7.0+cu128"]),
    # ---- Hopper (sm_90) with torch 1.13 / cu117 ------------------------------------------
    bad("https://github.com/pytorch/pytorch/issues/90761", "NVIDIA H100 PCIe", "525.60.13", None, ["torch==1.13.1"], "LB203"),
    bad("https://github.com/PKU-YuanGroup/Open-Sora-Plan/issues/39", "NVIDIA H100 PCIe", "535.104.05", None, ["torch==1.13.1+cu117"], "LB203"),
    bad("https://github.com/guoqincode/Open-AnimateAnyone/issues/114", "NVIDIA H100 PCIe", "535.104.05", None, ["torch==1.13.1"], "LB203"),
    bad("https://github.com/pytorch/pytorch/issues/110153", "NVIDIA H100 PCIe", "535.104.05", None, ["torch==1.13.1"], "LB203"),
    bad("https://github.com/amithkk/stable-diffusion-k8s/issues/10", "NVIDIA H100 80GB HBM3", "535.104.05", None, ["torch==1.13.1+cu116"], "LB203"),
    good("https://github.com/mistralai/mistral-inference/pull/43", "NVIDIA H100 PCIe", "535.104.05", None, ["torch==2.2.0"]),
    # ---- Ampere with cu102 defaults ---------------------------------------------------------
    bad("https://github.com/andreimargeloiu/WPFS/issues/3", "A100-SXM4-80GB", "470.82.01", None, ["torch==1.10.1"], "LB203", python="3.9"),
    good("https://github.com/andreimargeloiu/WPFS/issues/3", "A100-SXM4-80GB", "470.82.01", None, ["torch==1.10.1+cu111"], python="3.9"),
    bad("https://github.com/AUTOMATIC1111/stable-diffusion-webui/issues/702", "A100-SXM4-40GB", "510.47.03", None, ["torch==1.12.1"], "LB203", python="3.10"),
    good("https://github.com/AUTOMATIC1111/stable-diffusion-webui/issues/702", "A100-SXM4-40GB", "510.47.03", None, ["torch==1.12.1+cu116"], python="3.10"),
    bad("https://github.com/sp-uhh/sgmse/issues/17", "NVIDIA A100-SXM4-80GB", "470.82.01", None, ["torch==1.11.0"], "LB203", python="3.8"),
    # ---- releases the data has no kernel facts for: a finding, never a silent pass ---------
    unknown("https://github.com/pytorch/pytorch/issues/57922", "A100-SXM4-40GB", "450.80.02", None, ["torch==1.8.1+cu102"], "LB211", python="3.8"),
    unknown("https://github.com/pytorch/pytorch/issues/52736", "RTX 3070", "460.32.03", None, ["torch==1.7.1"], "LB211", python="3.8"),
    unknown("https://github.com/BindsNET/bindsnet/issues/468", "RTX 3080", "460.32.03", None, ["torch==1.7.1"], "LB211", python="3.8"),
    unknown("https://github.com/MRzzm/DINet/issues/100", "RTX 3090", "470.82.01", None, ["torch==1.7.1+cu101"], "LB211", python="3.8"),
    unknown("https://github.com/PrateekMunjal/TorchAL/issues/4", "NVIDIA A100-PCIE-40GB", "470.82.01", None, ["torch==1.6.0"], "LB211", python="3.8"),
    # ---- Pascal/Volta on builds that dropped them -------------------------------------------
    bad("https://github.com/Kaggle/kaggle-cli/issues/1151", "Tesla P100", "570.124.06", None, ["torch==2.8.0"], "LB203"),
    good("https://github.com/Kaggle/kaggle-cli/issues/1151", "Tesla P100", "570.124.06", None, ["torch==2.7.1"]),  # cu126 still has sm_60
    good("https://github.com/Kaggle/kaggle-cli/issues/1151", "T4", "570.124.06", None, ["torch==2.8.0"]),
    bad("https://github.com/mmartial/ComfyUI-Nvidia-Docker/issues/61", "GTX 1080 Ti", "570.124.06", None, ["torch==2.8.0"], "LB203", python="3.12"),
    bad("https://github.com/Comfy-Org/ComfyUI/pull/16438", "V100", "580.65.06", None, ["torch==2.9.1+cu130"], "LB203", python="3.12"),
    bad("https://github.com/Comfy-Org/ComfyUI/pull/16438", "GTX 1080 Ti", "580.65.06", None, ["torch==2.11.0"], "LB203", python="3.12"),
    good("https://github.com/pytorch/pytorch/issues/144071", "Tesla V100-PCIE-32GB", "560.35.03", None, ["torch==2.6.0"]),
    good("https://github.com/kijai/ComfyUI-Hunyuan3DWrapper/issues/120", "GeForce RTX 2070 SUPER", "560.35.03", None, ["torch==2.6.0+cu126"]),
    bad("https://github.com/w-okada/voice-changer/issues/447", "GeForce GT 720", "470.82.01", None, ["torch==2.4.0+cu118"], "LB203"),
    # ---- JAX on CUDA 13 needs sm_75 --------------------------------------------------------
    bad("https://github.com/JuliaGPU/CUDA.jl/issues/3079", "Tesla V100-PCIE-32GB", "580.126.09", None,
        ["jax==0.8.0", "jaxlib==0.8.0", "jax-cuda13-plugin==0.8.0", "jax-cuda13-pjrt==0.8.0", "nvidia-cuda-runtime==13.0.96"], "LB203"),
    # ---- container start: NVIDIA_REQUIRE_CUDA against the driver --------------------------------
    bad("https://github.com/SyneRBI/PETRIC2/issues/27", None, "551.78", CU128, ["numpy==2.1.3"], "LB202"),
    bad("https://github.com/ggml-org/llama.cpp/issues/9665", "RTX 3090", "550.142", "nvidia/cuda:12.6.0-runtime-ubuntu22.04", ["numpy==2.1.3"], "LB202", warns=("LB211",)),
    bad("https://github.com/theroyallab/tabbyAPI/issues/324", "RTX 3090", "550.144.03", "nvidia/cuda:12.8.1-runtime-ubuntu24.04", ["numpy==2.1.3"], "LB202"),
    bad("https://github.com/remsky/Kokoro-FastAPI/issues/341", "RTX 4090", "535.104.05", CU128, ["numpy==2.1.3"], "LB202"),
    bad("https://github.com/NVIDIA/nvidia-container-toolkit/issues/152", "A100", "515.65.01", "nvidia/cuda:11.8.0-base-ubuntu22.04", ["numpy==1.26.4"], "LB202"),
    good("https://github.com/NVIDIA/nvidia-container-toolkit/issues/152", "A100", "470.82.01", "nvidia/cuda:11.8.0-base-ubuntu22.04", ["numpy==1.26.4"]),
    good("https://github.com/ggml-org/llama.cpp/issues/9665", "A100", "535.104.05", "nvidia/cuda:12.4.1-runtime-ubuntu22.04", ["numpy==2.1.3"]),
    # ---- the driver predates the GPU --------------------------------------------------------
    bad("https://github.com/NVIDIA/open-gpu-kernel-modules/issues/872", "RTX 5090", "550.120", None, ["numpy==2.1.3"], "LB212"),
    # ---- libraries: cuDNN, LD_LIBRARY_PATH, nvcc ---------------------------------------------
    bad("https://github.com/tensorflow/tensorflow/issues/60913", "RTX 3090", "550.54.15", "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04", ["tensorflow==2.18.0"], "LB209"),
    good("https://github.com/tensorflow/tensorflow/issues/60913", "RTX 3090", "550.54.15", CU121,
         ["tensorflow==2.18.0", "nvidia-cudnn-cu12==9.3.0.75", "nvidia-cuda-runtime-cu12==12.5.82"]),
    Case("https://github.com/infiniflow/ragflow/issues/4466", "RTX 4090", "570.124.06", CU128,
         ("torch==2.5.1", "nvidia-cusparse-cu12==12.3.1.170", "nvidia-nvjitlink-cu12==12.4.127"), warns=frozenset({"LB210"})),
    bad("https://github.com/Dao-AILab/flash-attention/issues/1229", None, None, "python:3.10-slim", ["torch==2.0.1", "flash-attn==2.6.3"], "LB303", python="3.10"),
    bad("https://github.com/Dao-AILab/flash-attention/issues/1736", None, None, "python:3.12-slim", ["torch==2.7.1", "flash-attn==2.8.0.post2"], "LB303", python="3.12"),
    # ---- torch on linux/arm64: PyPI's aarch64 wheels up to 2.10 carry no CUDA ------------------
    Case("https://github.com/NVIDIA/open-gpu-kernel-modules/issues/774", "GH200", "560.35.03", None, ("torch==2.9.1",),
         "3.12", "linux/arm64", warns=frozenset({"LB207"})),
    # ---- second pass over public reports (GPU names as nvidia-smi prints them) ------------------
    # Blackwell consumer and notebook parts on builds that stop at sm_90
    bad("https://github.com/pytorch/pytorch/issues/180101", "NVIDIA GeForce RTX 5080", None, None, ["torch==2.7.0.dev20250310+cu124"], "LB203", python="3.12"),
    # (the torch of that month's portable build; the fix given was the cu128 nightly)
    bad("https://github.com/Comfy-Org/ComfyUI/issues/7380", "RTX 5070", None, None, ["torch==2.6.0+cu126"], "LB203", python="3.12"),
    bad("https://github.com/lllyasviel/FramePack/issues/702", "NVIDIA GeForce RTX 5080", None, None, ["torch==2.6.0+cu126"], "LB203", python="3.10"),
    bad("https://github.com/lllyasviel/Fooocus/issues/3953", "NVIDIA GeForce RTX 5070", None, None, ["torch==2.1.0+cu121"], "LB203", python="3.10"),
    bad("https://github.com/deepseek-ai/DeepSeek-VL2/issues/59", "NVIDIA GeForce RTX 5090", None, None, ["torch==2.0.1"], "LB203", python="3.10"),
    # Hopper on cu117
    bad("https://github.com/HazyResearch/hyena-dna/issues/76", "NVIDIA H100 80GB HBM3", None, None, ["torch==1.13.0+cu117"], "LB203", python="3.8"),
    # Pascal/Volta on cu128 builds (2.7.x and 2.11+ cu128 have no sm_70; 2.10 cu128 and cu126 do)
    bad("https://github.com/index-tts/index-tts/issues/815", "Tesla P100-PCIE-16GB", None, None, ["torch==2.8.0+cu128"], "LB203", python="3.12"),
    bad("https://github.com/EutropicAI/vs-playground/pull/59", "Tesla V100-SXM2-32GB", None, None, ["torch==2.7.1+cu128"], "LB203", python="3.12"),
    bad("https://github.com/pytorch/pytorch/issues/182250", "Tesla V100-SXM2-32GB", None, None, ["torch==2.11.0+cu128"], "LB203", python="3.12"),
    good("https://github.com/pytorch/pytorch/issues/182250", "Tesla V100-SXM2-32GB", None, None, ["torch==2.11.0+cu126"], python="3.12"),
    good("https://github.com/pytorch/pytorch/issues/182250", "Tesla V100-SXM2-32GB", None, None, ["torch==2.10.0+cu128"], python="3.12"),
    # a notebook GPU on a CUDA 11.4 driver with cu121 wheels
    bad("https://github.com/lllyasviel/Fooocus/issues/1313", "NVIDIA GeForce RTX 3050 Laptop GPU", "470.86", None, ["torch==2.1.0+cu121"], "LB204", python="3.10"),
    # CUDA 10.2 wheels on an R418 driver (CUDA 10.1): before CUDA 11 there is no minor-version compatibility
    bad("https://github.com/daniilidis-group/neural_renderer/issues/121", None, "418.87.01", None, ["torch==1.7.1+cu102"], "LB204", python="3.8"),
    good("https://github.com/daniilidis-group/neural_renderer/issues/121", None, "440.33.01", None, ["torch==1.7.1+cu102"], python="3.8"),
    # JAX: Kepler is below every CUDA build's minimum; Volta on CUDA 12 works
    bad("https://github.com/jax-ml/jax/issues/15961", "Tesla K80", "470.182.03", "nvidia/cuda:11.8.0-cudnn8-devel-ubuntu18.04",
        ["jax==0.4.9", "jaxlib==0.4.9+cuda11.cudnn86"], "LB203", python="3.8"),
    good("https://github.com/jax-ml/jax/issues/20722", "V100", None, None, ["jax==0.4.26", "jaxlib==0.4.26+cuda12.cudnn89"]),
    # Error 804: a consumer GPU on an image that needs forward compatibility; the fix was a newer driver
    bad("https://github.com/oobabooga/textgen/issues/4407", "NVIDIA GeForce GTX 1050 Ti", "525.125.06", "nvidia/cuda:12.1.1-devel-ubuntu22.04", ["numpy==1.26.4"], "LB202"),
    good("https://github.com/oobabooga/textgen/issues/4407", "NVIDIA GeForce GTX 1050 Ti", "535.113.01", "nvidia/cuda:12.1.1-devel-ubuntu22.04", ["numpy==1.26.4"]),
    # TensorFlow on Blackwell: no sm_120 cubins, only compute_90 PTX for the driver to JIT
    unknown("https://github.com/tensorflow/tensorflow/issues/101746", "NVIDIA GeForce RTX 5080 Laptop GPU", "581.29", None, ["tensorflow==2.20.0"], "LB203"),
    # old drivers against old images: a known minimum is a verdict, an unknown one is a finding
    Case("https://github.com/wanjohiryan/Arc3dia/issues/63", None, "390.157", "nvidia/cuda:10.0-base-ubuntu14.04", ("numpy==1.19.5",), "3.6",
         warns=frozenset({"LB202"})),
    Case("https://github.com/wanjohiryan/Arc3dia/issues/63", None, "390.157", "nvidia/cuda:9.1-base-ubuntu17.04", ("numpy==1.19.5",), "3.6",
         warns=frozenset({"LB211"}), good=True),
    # Debian trixie's packaged driver (CUDA 12.4) against a CUDA 12.9 image, and the 12.2 image that fixed it
    Case("https://github.com/henrygd/beszel/pull/1103", None, "550.163.01", "nvidia/cuda:12.9.1-base-ubuntu22.04", ("numpy==2.1.3",),
         warns=frozenset({"LB202"})),
    good("https://github.com/henrygd/beszel/pull/1103", None, "550.163.01", "nvidia/cuda:12.2.2-base-ubuntu22.04", ["numpy==2.1.3"]),
    # H800 (pci.ids: GH100 [H800], sm_90) on torch 1.11+cu113, whose build script stops at sm_86 (pytorch/builder
    # release/1.11 manywheel/build_cuda.sh): no kernels. L20 (AD102) is known; torch 1.6 has no arch data: unknown
    bad("https://github.com/ml4bio/Dense-Homolog-Retrieval/issues/28", "NVIDIA H800", None, None, ["torch==1.11.0+cu113"], "LB203", python="3.8"),
    unknown("https://github.com/drinkingcoder/FlowFormer-Official/issues/49", "NVIDIA L20", None, None, ["torch==1.6.0"], "LB211", python="3.7"),
    # releases without measured kernels: unknown, never a silent pass
    unknown("https://github.com/nelson-liu/pytorch-manylinux-binaries/issues/13", "Tesla K80", None, None, ["torch==2.7.1+cu118"], "LB211", python="3.12"),
    unknown("https://github.com/hemerson1/offline-glucose/issues/2", "NVIDIA A100-SXM4-80GB", None, None, ["torch==1.7.1+cu101"], "LB211", python="3.8"),
    unknown("https://github.com/open-mmlab/mmcv/issues/1558", "NVIDIA GeForce RTX 3090", None, None, ["torch==1.6.0+cu101"], "LB211", python="3.8"),
    # Blackwell data-center and Grace/Jetson boards
    bad("https://github.com/ovg-project/kvcached/issues/111", "NVIDIA B200", None, None, ["torch==2.7.1"], "LB203"),
    Case("https://github.com/pytorch/pytorch/issues/168065", "NVIDIA GB200", None, None, ("torch==2.9.1",), "3.12", "linux/arm64",
         warns=frozenset({"LB207"})),
    Case("https://github.com/pinokiocomputer/pinokio/issues/1027", "Jetson AGX Orin", None, None, ("torch==2.9.1",), "3.10", "linux/arm64",
         warns=frozenset({"LB207"})),
    # vllm releases no row measured: its own kernels may lack the GPU (pre-Volta, or sm_120 in 0.9.2)
    unknown("https://github.com/vllm-project/vllm/issues/19542", "NVIDIA GeForce GTX 1080 Ti", None, None, ["torch==2.7.0+cu126", "vllm==0.9.1"], "LB211", python="3.10"),
    unknown("https://github.com/vllm-project/vllm/issues/16307", "Tesla P100-PCIE-16GB", "535.183.01", None, ["torch==2.5.1+cu124", "vllm==0.7.3"], "LB211", python="3.12"),
    unknown("https://github.com/vllm-project/vllm/issues/20748", "sm_120", None, None, ["torch==2.7.0+cu128", "vllm==0.9.2"], "LB211", python="3.12"),
    # Python the image's apt does not offer (deadsnakes dropped 3.10 for focal)
    bad("https://github.com/deadsnakes/issues/issues/328", None, None, "nvidia/cuda:11.4.3-runtime-ubuntu20.04", ["numpy==1.26.4"], "LB102", python="3.10"),
    good("https://github.com/jax-ml/jax/issues/21121", None, "550.54.15", None, ["jax==0.4.26", "jaxlib==0.4.26", "jax-cuda12-plugin==0.4.26", "jax-cuda12-pjrt==0.4.26"], python="3.10"),
    # tensorflow[and-cuda] 2.14 pins CUDA 11.8 wheels (nvidia-*-cu11; 2.15 on: -cu12); TF <= 2.13 has no [and-cuda] and
    # loads only the system CUDA, so torch's nvidia-*-cu12 wheels do not give TF 2.11 its CUDA 11 on a slim image
    good("https://pypi.org/project/tensorflow/2.14.1/", "A100", "535.104.05", "python:3.10-slim",
         ["tensorflow==2.14.1", "nvidia-cuda-runtime-cu11==11.8.89", "nvidia-cudnn-cu11==8.7.0.84", "nvidia-cublas-cu11==11.11.3.6"], python="3.10"),
    bad("https://pypi.org/project/tensorflow/2.11.1/", "A100", "535.104.05", "python:3.10-slim",
        ["tensorflow==2.11.1", "torch==2.1.2", "nvidia-cuda-runtime-cu12==12.1.105", "nvidia-cudnn-cu12==8.9.2.26"], "LB205", python="3.10"),
    # TensorFlow 2.4 loads the system CUDA 11.0 / cuDNN 8: a CUDA 10.1 base fails, an 11.0 cuDNN 8 one is the fix
    bad("https://github.com/deepchem/deepchem/issues/2467", "Tesla V100-SXM2-16GB", None, "nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04", ["tensorflow==2.4.1"], "LB205", python="3.7"),
    good("https://github.com/deepchem/deepchem/issues/2467", "Tesla V100-SXM2-16GB", None, "nvidia/cuda:11.0.3-cudnn8-runtime-ubuntu18.04", ["tensorflow==2.4.1"], python="3.8"),
    # flash-attn builds its kernels at install, for Ampere and newer; no wheel to measure: unknown
    unknown("https://github.com/microsoft/MInference/issues/51", "Tesla V100S-PCIE-32GB", "470.57.02", None, ["flash-attn==2.6.0.post1"], "LB211", python="3.10"),
    good("https://github.com/Googolxx/STF/issues/1", "NVIDIA A100-PCIE-40GB", None, None, ["torch==1.8.1+cu111"], python="3.8"),
    good("https://github.com/CompVis/latent-diffusion/issues/102", "NVIDIA GeForce RTX 3090", None, None, ["torch==1.12.0+cu116"], python="3.8"),
    # ---- models the GPU table now takes from pci.ids (each with its chip's CC) ---------------
    # Pascal GTX 1070 Ti (GP104, sm_61) on torch 2.8's PyPI build (cu128: sm_70+); the cu126 build is the fix
    bad("https://github.com/rishikanthc/Scriberr/issues/273", "NVIDIA GeForce GTX 1070 Ti", "570.124.06", None, ["torch==2.8.0"], "LB203", python="3.10"),
    good("https://github.com/rishikanthc/Scriberr/issues/273", "NVIDIA GeForce GTX 1070 Ti", "570.124.06", None, ["torch==2.8.0+cu126"], python="3.10"),
    # Tesla M10 is GM107, compute capability 5.0 (it was inferred 5.2 from the M40/M60): no sm_5x in cu128
    bad("https://github.com/ollama/ollama/issues/9398", "Tesla M10", "570.124.06", None, ["torch==2.8.0"], "LB203"),
    good("https://github.com/ollama/ollama/issues/9398", "Tesla M10", "550.54.15", None, ["torch==2.5.1"]),
    # A800 (GA100, 8.0, a data-center part) on driver 535.86.10 with a CUDA 12.2 image
    good("https://github.com/dexmal/dexbotic/issues/41", "NVIDIA A800-SXM4-80GB", "535.86.10", "nvidia/cuda:12.2.2-runtime-ubuntu22.04", ["numpy==1.26.4"]),
    # jax[cuda12-local] 0.6: the plugin's nvidia-cudnn pin says 9.8; a cuDNN 9.5.1 image fails to initialise cuDNN
    bad("https://github.com/jax-ml/jax/issues/29315", "A100", "560.35.03", "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04",
        ["jax==0.6.1", "jaxlib==0.6.1", "jax-cuda12-plugin==0.6.1", "jax-cuda12-pjrt==0.6.1"], "LB209"),
    # ---- the data audit of 2026-12 (docs/data.md): each case with the primary source the audit read ----------
    # torch 2.5 cu124 has no PTX (release/2.5 reverted +PTX before 2.5.0); 2.6 cu124 neither: no Blackwell kernels
    bad("https://github.com/pytorch/builder/pull/2008", "RTX 5090", "570.124.06", CU128, ["torch==2.5.1"], "LB203"),
    bad("https://github.com/pytorch/builder/pull/2008", "B200", "570.133.20", CU128, ["torch==2.5.1"], "LB203"),
    bad("https://github.com/pytorch/pytorch/pull/141142", "RTX 5090", "570.124.06", CU128, ["torch==2.6.0"], "LB203"),
    bad("https://github.com/pytorch/pytorch/pull/141142", "B200", "570.133.20", CU128, ["torch==2.6.0"], "LB203"),
    # torch 2.15: no cu126 build, the cu132 default starts at sm_75 (Maxwell/Pascal/Volta dropped)
    bad("https://github.com/pytorch/pytorch/pull/196249", "P100", "580.95.05", None, ["torch==2.15.0"], "LB203", python="3.12"),
    bad("https://github.com/pytorch/pytorch/pull/196249", "V100", "580.95.05", None, ["torch==2.15.0"], "LB203", python="3.12"),
    good("https://pypi.org/project/torch/2.15.0/#files", "Jetson Thor", "580.95.05", None, ["torch==2.15.0"], python="3.12", platform="linux/arm64"),
    # torch 1.13.1 has cp311 wheels; 1.11/1.12's PyPI default is cu102 (sm_37-sm_70)
    good("https://pypi.org/project/torch/1.13.1/#files", "A100", "535.104.05", None, ["torch==1.13.1"], python="3.11"),
    bad("https://github.com/pytorch/builder/blob/release/1.12/manywheel/build_cuda.sh", "A100", "535.104.05", None, ["torch==1.12.1"], "LB203", python="3.10"),
    bad("https://github.com/pytorch/builder/blob/release/1.11/manywheel/build_cuda.sh", "A100", "535.104.05", None, ["torch==1.11.0"], "LB203", python="3.9"),
    # CUDA 13.3/13.4 (R610/R615): NVIDIA's release notes are not reachable to the refresh, so the driver is unknown, not an error
    unknown("https://docs.nvidia.com/cuda/archive/13.3.0/cuda-toolkit-release-notes/index.html", "H100", "610.43.02",
            "nvidia/cuda:13.3.1-runtime-ubuntu24.04", ["numpy==2.1.3"], "LB211", python="3.12", good=True),
    unknown("https://docs.nvidia.com/cuda/archive/13.3.0/cuda-toolkit-release-notes/index.html", "H100", "615.71.09",
            "nvidia/cuda:13.4.1-runtime-ubuntu24.04", ["numpy==2.1.3"], "LB211", python="3.12", good=True),
    # ... and a driver the data knows is older than the image's CUDA still fails on a GPU without forward compatibility
    bad("https://docs.nvidia.com/cuda/archive/13.3.0/cuda-toolkit-release-notes/index.html", "RTX 4090", "595.71.05",
        "nvidia/cuda:13.3.1-runtime-ubuntu24.04", ["numpy==2.1.3"], "LB202", python="3.12", warns=("LB211",)),
    # NVIDIA_REQUIRE_CUDA of 12.8.1-13.0.0 and ubuntu24.04 images lists older branches (forward compatibility on data-center GPUs)
    good(f"{AUDIT_MIRROR}/dist/12.8.1/ubuntu2204/base/Dockerfile", "H100", "535.104.05", CU128, ["numpy==2.1.3"]),
    good(f"{AUDIT_MIRROR}/dist/13.0.0/ubuntu2204/base/Dockerfile", "H100", "570.133.20", "nvidia/cuda:13.0.0-runtime-ubuntu22.04", ["numpy==2.1.3"]),
    good(f"{AUDIT_MIRROR}/dist/12.6.3/ubuntu2404/base/Dockerfile", "H100", "535.104.05", "nvidia/cuda:12.6.3-runtime-ubuntu24.04", ["numpy==2.1.3"], python="3.12"),
    good(f"{AUDIT_MIRROR}/dist/12.6.3/ubuntu2204/base/Dockerfile", "H100", "535.104.05", "nvidia/cuda:12.6.3-runtime-ubuntu22.04", ["numpy==2.1.3"]),
    bad(f"{AUDIT_MIRROR}/dist/13.0.0/ubuntu2204/base/Dockerfile", "RTX 4090", "570.133.20", "nvidia/cuda:13.0.0-runtime-ubuntu22.04", ["numpy==2.1.3"], "LB202"),
    # torch's pip wheels load their own CUDA (DT_RPATH): an older runtime image's toolkit is not used
    good("https://github.com/pytorch/builder/pull/1150", "RTX 5090", "570.124.06", "nvidia/cuda:12.4.1-runtime-ubuntu22.04", ["torch==2.8.0"]),
    good("https://github.com/pytorch/builder/pull/1150", "H100", "570.124.06", "nvidia/cuda:11.7.1-runtime-ubuntu22.04", ["torch==2.8.0"]),
    # linux/arm64: PyPI's aarch64 torch up to 2.10 is CPU-only; cu130 aarch64 has sm_110 (Thor) and drops sm_75
    Case("https://pypi.org/project/torch/2.9.1/#files", "GH200", None, None, ("torch==2.9.1",), "3.12", "linux/arm64", warns=frozenset({"LB207"})),
    Case("https://pypi.org/project/torch/2.9.1/#files", "sm_75", None, None, ("torch==2.9.1",), "3.12", "linux/arm64", warns=frozenset({"LB207"})),
    good("https://github.com/pytorch/pytorch/pull/161257", "Jetson Thor", "580.00", None, ["torch==2.11.0"], python="3.12", platform="linux/arm64"),
    bad("https://github.com/pytorch/pytorch/pull/161257", "sm_75", "580.95.05", None, ["torch==2.11.0"], "LB203", python="3.12", platform="linux/arm64"),
    # nvidia-smi's CUDA version is per driver branch: an R580 driver below 580.65.06 is CUDA 13.0, not 12.9
    good("https://github.com/NVIDIA/gpu-operator/issues/2620", "H100", "580.00", "nvidia/cuda:13.0.0-runtime-ubuntu22.04", ["numpy==2.1.3"]),
    # JAX: CUDA 13 needs SM >= 7.5 and driver >= 580; a *-local install needs the plugin's cuDNN (9.8) from the image
    bad(AUDIT_JAX_DOCS, "V100", "580.95.05", None, JAX13, "LB203", python="3.12"),
    bad(AUDIT_JAX_DOCS, "A100", "570.133.20", None, JAX13, "LB204", python="3.12"),
    bad("https://github.com/jax-ml/jax/commit/db6581db2e", "A100", None, "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04",
        ["jax==0.10.2", "jaxlib==0.10.2", "jax-cuda12-plugin==0.10.2", "jax-cuda12-pjrt==0.10.2"], "LB209"),
    # TensorFlow 2.18+: sm_60,sm_70,sm_80,sm_89,compute_90, no sm_5x
    bad("https://github.com/tensorflow/tensorflow/blob/master/.bazelrc", "M60", "550.54.15", None, TF220, "LB203", python="3.12"),
    # RTX PRO Blackwell Server Editions are Data Center GPUs (forward compatibility); the Workstation Edition is not;
    # and a driver before Blackwell (R535) cannot drive either
    good("https://developer.nvidia.com/cuda-gpus", "NVIDIA RTX PRO 6000 Blackwell Server Edition", "570.133.20",
         "nvidia/cuda:13.0.0-runtime-ubuntu22.04", ["numpy==2.1.3"]),
    good("https://developer.nvidia.com/cuda-gpus", "NVIDIA RTX PRO 4500 Blackwell Server Edition", "570.133.20",
         "nvidia/cuda:13.0.0-runtime-ubuntu22.04", ["numpy==2.1.3"]),
    bad("https://developer.nvidia.com/cuda-gpus", "NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "570.133.20",
        "nvidia/cuda:13.0.0-runtime-ubuntu22.04", ["numpy==2.1.3"], "LB202"),
    bad("https://developer.nvidia.com/cuda-gpus", "NVIDIA RTX PRO 6000 Blackwell Server Edition", "535.104.05",
        "nvidia/cuda:12.4.1-runtime-ubuntu22.04", ["numpy==2.1.3"], "LB212"),
    # CUDA 13 libraries dropped the -cuNN suffix: nvidia-cublas 13 is a pip CUDA library too (LB210 on a 13.0 image)
    Case("https://pypi.org/project/nvidia-cublas/", "H100", "580.95.05", "nvidia/cuda:13.0.0-runtime-ubuntu24.04",
         ("torch==2.11.0", "nvidia-cublas==13.1.0.3", "nvidia-cuda-runtime==13.0.96"), "3.12", warns=frozenset({"LB210"})),
    # CUDA 13.0's nvcc targets sm_88
    good("https://github.com/galaxyproject/KegAlign/pull/38", "sm_88", "580.95.05", "nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04",
         ["jax==0.10.2", "jaxlib==0.10.2", "jax-cuda13-plugin==0.10.2", "jax-cuda13-pjrt==0.10.2"], python="3.12"),
    # CuPy's per-minor packages load the system CUDA their name says (the PyPI page: "You need to install CUDA Toolkit 11.7")
    bad("https://pypi.org/project/cupy-cuda117/", "A100", "470.82.01", "python:3.10-slim", ["cupy-cuda117==10.6.0"], "LB205", python="3.10"),
    unknown("https://pypi.org/project/cupy-cuda100/", "V100", "470.82.01", None, ["cupy-cuda100==9.6.0"], "LB211", python="3.9"),
    # soundfile's manylinux wheels (0.12 on) carry their own libsndfile (_soundfile_data/libsndfile_<arch>.so, read
    # from the wheels listed on the files page): no apt package. 0.12.1 has no aarch64 manylinux wheel, so pip takes
    # the pure wheel there, which loads the system libsndfile
    Case("https://pypi.org/project/soundfile/0.13.1/#files", None, None, "python:3.11-slim", ("soundfile==0.13.1",),
         good=True, absent=frozenset({"LB304"})),
    Case("https://pypi.org/project/soundfile/0.13.1/#files", None, None, "python:3.11-slim", ("soundfile==0.13.1",),
         platform="linux/arm64", good=True, absent=frozenset({"LB304"})),
    Case("https://pypi.org/project/soundfile/0.12.1/#files", None, None, "python:3.11-slim", ("soundfile==0.12.1",),
         platform="linux/arm64", warns=frozenset({"LB304"})),
]


def _image(reference: str | None):
    if reference is None:
        return None
    facts = infer_facts(parse_image_ref(reference))
    assert facts is not None, reference
    return _with_table_pythons(facts)


@pytest.mark.parametrize("case", CASES, ids=[f"{i:03d}-{c.url.split('://')[1]}" for i, c in enumerate(CASES)])
def test_public_case(case):
    image = _image(case.image)
    c = ctx(image=image, gpus=(case.gpu,) if case.gpu else (), driver=case.driver, pins=case.pins, python=case.python,
            accelerator=bool(image and image.cuda_version), platform=case.platform)
    findings, _ = evaluate(c)
    got = [(f.rule, f.severity) for f in findings]
    errors = {r for r, s in got if s is Severity.ERROR}
    seen = {r for r, s in got if s in (Severity.ERROR, Severity.WARNING)}
    assert case.errors <= errors, (case.url, [(f.rule, f.message) for f in findings])
    assert case.warns <= seen, (case.url, [(f.rule, f.message) for f in findings])
    if case.good:
        assert not errors, (case.url, [(f.rule, f.message) for f in findings if f.severity is Severity.ERROR])
    assert not case.absent & {r for r, _ in got}, (case.url, [(f.rule, f.message) for f in findings if f.rule in case.absent])


def test_the_table_is_big_enough_and_mixes_failures_with_known_good_setups():
    assert len(CASES) >= 40
    assert sum(c.good for c in CASES) >= 10
    # Public reports on GitHub; the data audit's cases cite the primary source it read (PyPI, NVIDIA's pages)
    assert all(c.url.startswith(("https://github.com/", "https://pypi.org/project/", "https://docs.nvidia.com/", "https://developer.nvidia.com/"))
               for c in CASES)
