"""Each real failure of compat-sources.md section 5 reproduced as the right rule with the
right evidence; the known-good combinations pass with no error."""

from __future__ import annotations

import pytest

from launchbuild.compat.catalog import evaluate
from launchbuild.core.findings import Severity
from tests.helpers_compat import REQUIRE_11_8_0, REQUIRE_12_1_1, ctx, cuda_image, python_image


def _only(findings, rule):
    hits = [f for f in findings if f.rule == rule]
    assert hits, f"{rule} not raised; got {[(f.rule, f.message) for f in findings]}"
    return hits


def _evidence(finding) -> dict[str, tuple[str, str]]:
    return {e.fact: (e.value, e.source) for e in finding.evidence}


def test_1_h100_with_torch_1_13_cu117():
    # pytorch#90761 / cog#1037: "H100 PCIe with CUDA capability sm_90 is not compatible ...
    # supports CUDA capabilities sm_37 sm_50 sm_60 sm_70 sm_75 sm_80 sm_86"
    findings, _ = evaluate(ctx(gpus=("NVIDIA H100 PCIe",), pins=("torch==1.13.1",)))
    (f,) = _only(findings, "LB203")
    assert f.severity is Severity.ERROR
    ev = _evidence(f)
    kernels, where = ev["torch 1.13.1 cu117 kernels"]
    assert "sm_80" in kernels and "sm_90" not in kernels and "compute_" not in kernels, kernels
    assert "data/wheel_archs.json" in where or where == "data/torch.json"
    assert ev["torch CUDA variant"][0] == "cu117" and "Requires-Dist of the PyPI x86_64 wheel" in ev["torch CUDA variant"][1]
    assert ev["gpu"][0] == "H100 PCIe (sm_90)"  # pci.ids: GH100 [H100 PCIe]
    assert "torch>=2.0 built for cu118" in f.fix


def test_2_rtx5090_with_torch_2_7_dev_cu124():
    # pytorch#167244: sm_120 not compatible; supports sm_50 ... sm_90 (driver 570.124.06)
    findings, _ = evaluate(
        ctx(gpus=("GeForce RTX 5090",), driver="570.124.06", pins=("torch==2.7.0.dev20250310+cu124",))
    )
    (f,) = _only(findings, "LB203")
    ev = _evidence(f)
    assert ev["torch CUDA variant"] == ("cu124", "lock")
    assert ev["torch 2.7.0.dev20250310+cu124 cu124 kernels"] == ("sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90", "data/torch.json")
    assert "cu128" in f.fix
    assert not [x for x in findings if x.rule == "LB204"]  # 570 runs CUDA 12 fine


def test_3_a100_with_torch_1_10_cu102_default():
    # cog#389: "A100-PCIE-40GB with CUDA capability sm_80 is not compatible ... sm_37 sm_50 sm_60 sm_70"
    findings, _ = evaluate(ctx(gpus=("A100-PCIE-40GB",), pins=("torch==1.10.1",)))
    (f,) = _only(findings, "LB203")
    assert _evidence(f)["torch 1.10.1 cu102 kernels"][0] == "sm_37 sm_50 sm_60 sm_70"
    assert "A100 PCIe 40GB (sm_80)" in f.message  # pci.ids: GA100 [A100 PCIe 40GB]


def test_4_cuda_11_image_on_pre_450_driver():
    # nvidia-docker#1442: "unsatisfied condition: cuda>=11.0" with a host driver older than 450.
    image = cuda_image("11.0.3", require="")  # legacy image: CUDA_VERSION only
    image = type(image)(**{**image.__dict__, "require_cuda": None})
    findings, _ = evaluate(ctx(image=image, gpus=("V100",), driver="440.33.01"))
    (f,) = _only(findings, "LB202")
    assert f.severity is Severity.ERROR
    assert "cuda>=11.0" in f.message
    ev = _evidence(f)
    assert ev["cuda_version"] == ("11.0.3 (implies cuda>=11.0)", "env CUDA_VERSION")
    assert ev["driver"] == ("440.33.01 (supports CUDA 10.2)", "flag")
    assert ">= 450.51.05" in f.fix


def test_5_rebuilt_11_8_image_on_515_driver():
    # nvidia-container-toolkit#152: 11.8 tags rebuilt without the r450/r510/r515 branches.
    image = cuda_image("11.8.0", require=REQUIRE_11_8_0)
    findings, _ = evaluate(ctx(image=image, gpus=("A100",), driver="515.65.01"))
    (f,) = _only(findings, "LB202")
    assert f.severity is Severity.ERROR
    assert "cuda>=11.8" in f.message
    assert _evidence(f)["require_cuda"] == (REQUIRE_11_8_0, "env NVIDIA_REQUIRE_CUDA")
    assert ">= 520.61.05" in f.fix


def test_6_cu12_torch_on_470_driver():
    # Fooocus#1313: "The NVIDIA driver on your system is too old (found version 11040)".
    findings, _ = evaluate(ctx(gpus=("RTX 3090",), driver="470.86", pins=("torch==2.1.0",)))
    (f,) = _only(findings, "LB204")
    assert f.severity is Severity.ERROR
    ev = _evidence(f)
    assert ev["driver"] == ("470.86 (supports CUDA 11.4)", "flag")
    assert ev["torch"][1].startswith("Requires-Dist of the PyPI x86_64 wheel of 2.1.2")  # same minor, measured
    assert ev["CUDA 12.x minimum driver"][0] == "525.60.13"
    assert "cu118" in f.fix


def test_7_cupy_cuda11x_on_old_driver():
    # cupy#9252: "CUDA driver version is insufficient for CUDA runtime version".
    image = cuda_image("11.8.0")
    findings, _ = evaluate(ctx(image=image, gpus=("V100",), driver="418.87.01", pins=("cupy-cuda11x==13.3.0",)))
    (f,) = _only(findings, "LB204")
    assert "cupy-cuda11x" in f.message and "450.80.02" in f.message
    assert [x.rule for x in findings if x.severity is Severity.ERROR].count("LB202") == 1  # the image too


def test_8_ptx_from_newer_toolkit_on_older_12x_driver():
    # ctransformers#87: CUDA error 222 "the provided PTX was compiled with an unsupported toolchain"
    # on driver 525.125.06: minor-version compatibility does not cover PTX JIT. TF 2.18 reaches
    # Hopper only through compute_90 PTX built with CUDA 12.5.
    pins = ("tensorflow==2.18.0", "nvidia-cuda-runtime-cu12==12.5.82", "nvidia-cudnn-cu12==9.3.0.75")
    findings, _ = evaluate(ctx(gpus=("H100",), driver="525.125.06", pins=pins))
    (f,) = _only(findings, "LB204")
    assert f.severity is Severity.WARNING
    assert "PTX" in f.message and "555.42.02" in f.fix
    assert not [x for x in findings if x.severity is Severity.ERROR]


def test_9_ld_library_path_shadows_pip_cuda_wheels():
    # pytorch#111469: "libcusparse.so.12: undefined symbol: __nvJitLinkAddData_12_1"
    image = cuda_image("12.1.1", devel=True, env=(("LD_LIBRARY_PATH", "/usr/local/cuda/lib64:/usr/local/nvidia/lib64"),))
    pins = ("torch==2.1.0", "nvidia-cusparse-cu12==12.1.0.106", "nvidia-nvjitlink-cu12==12.3.52")
    findings, _ = evaluate(ctx(image=image, gpus=("A100",), driver="535.104.05", pins=pins))
    (f,) = _only(findings, "LB210")
    assert "/usr/local/cuda/lib64" in f.message
    assert _evidence(f)["env"][0].startswith("LD_LIBRARY_PATH=")


def test_10_tensorflow_cudnn_newer_than_image():
    # Kaggle/docker-python#1435: "Loaded runtime CuDNN library: 9.0.0 but source was compiled with: 9.3.0"
    image = cuda_image("12.3.2", cudnn="9.0.0.312")
    findings, _ = evaluate(ctx(image=image, gpus=("T4",), driver="560.35.03", pins=("tensorflow==2.18.0",)))
    (f,) = _only(findings, "LB209")
    assert f.severity is Severity.ERROR
    ev = _evidence(f)
    assert ev["cudnn_version"] == ("9.0.0.312", "env NV_CUDNN_VERSION")
    assert ev["tensorflow 2.18 cuDNN"] == ("9.3", "data/tensorflow.json")
    (g,) = _only(findings, "LB205")  # and its CUDA 12.5 is newer than the image's 12.3
    assert g.severity is Severity.WARNING


def test_11_jax_built_against_newer_cudnn():
    # gcbfplus#1: "Found cuDNN version 8600, but JAX was built against version 8906"
    image = cuda_image("12.0.1", cudnn="8.6.0.163")
    pins = ("jax==0.4.7", "jaxlib==0.4.7+cuda12.cudnn89")
    findings, _ = evaluate(ctx(image=image, gpus=("A100",), driver="535.104.05", pins=pins))
    (f,) = _only(findings, "LB209")
    assert _evidence(f)["jaxlib build cuDNN"][0] == "8.9"
    assert "8.6.0.163" in f.message


def test_12_kepler_gt720():
    # voice-changer#447: "GeForce GT 720 which is of cuda capability 3.5 ... minimum ... is 3.7"
    image = cuda_image("12.4.1")
    findings, _ = evaluate(ctx(image=image, gpus=("GeForce GT 720",), driver="470.82.01", pins=("torch==2.4.0+cu118",)))
    lb203 = _only(findings, "LB203")
    assert "sm_35" in lb203[0].message
    # torch cu118 wheels bring their own CUDA: the image's 12.4 toolkit (no sm_35) is not used.
    assert not [f for f in findings if f.rule == "LB201"]


def test_inferred_facts_are_marked_inferred():
    image = cuda_image("11.8.0", require=REQUIRE_11_8_0, provider="inferred")
    findings, _ = evaluate(ctx(image=image, gpus=("A100",), driver="515.65.01"))
    (f,) = _only(findings, "LB202")
    assert f.inferred and _evidence(f)["require_cuda"][1] == "inferred"


def test_facts_guessed_from_the_tag_are_a_visible_unknown_not_a_pass():
    # Nothing read the image: a job whose every rule passes on the guess must not read as a PASS.
    attempts = (("docker", "no Docker engine answers"), ("registry", "registry docker.io is unreachable"))
    image = cuda_image("12.1.1", require=REQUIRE_12_1_1, provider="inferred", architecture=None, attempts=attempts)
    findings, _ = evaluate(ctx(image=image, gpus=("H100",), driver="535.104.05"))
    (f,) = [f for f in findings if f.rule == "LB211" and "only guessed from its tag" in f.message]
    assert f.severity.value == "warning" and "architecture" in f.message
    assert {e.fact: e.value for e in f.evidence}["provider docker"] == "no Docker engine answers"
    # The same image read by the engine (or a registry): its facts are facts, nothing to say.
    findings, _ = evaluate(ctx(image=cuda_image("12.1.1", require=REQUIRE_12_1_1), gpus=("H100",), driver="535.104.05"))
    assert not [f for f in findings if "only guessed" in f.message]


@pytest.mark.parametrize(
    "case",
    [
        # H100 + torch 2.4 (cu124) + driver 550 + CUDA 12.4 image
        dict(image=cuda_image("12.4.1", cudnn="9.1.0.70"), gpus=("H100",), driver="550.54.15", pins=("torch==2.4.1+cu124",)),
        dict(image=cuda_image("12.4.1"), gpus=("NVIDIA H100 80GB HBM3",), driver="550.90.07", pins=("torch==2.4.0",)),
        # T4 + tensorflow[and-cuda] 2.18 + driver 560
        dict(
            image=cuda_image("12.6.3"),
            gpus=("Tesla T4",),
            driver="560.35.03",
            pins=("tensorflow==2.18.0", "nvidia-cuda-runtime-cu12==12.5.82", "nvidia-cudnn-cu12==9.3.0.75", "nvidia-cublas-cu12==12.5.3.2"),
        ),
        dict(
            image=python_image("3.11"),
            gpus=("T4",),
            driver="560.35.03",
            pins=("tensorflow==2.18.0", "nvidia-cuda-runtime-cu12==12.5.82", "nvidia-cudnn-cu12==9.3.0.75"),
        ),
        # the real 12.1.1 string with a 535 driver
        dict(image=cuda_image("12.1.1", require=REQUIRE_12_1_1), gpus=("A100",), driver="535.104.05", pins=("torch==2.1.0",)),
    ],
)
def test_known_good_combinations_have_no_findings(case):
    findings, checked = evaluate(ctx(**case))
    assert [(f.rule, f.message) for f in findings if f.severity is not Severity.INFO] == []
    assert "LB202" in checked and "LB203" in checked
