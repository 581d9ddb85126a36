"""The rule fixes of issue #12, each on the measured tables (data/pypi_wheels.json,
data/wheel_archs.json, data/nvidia_cuda_images.json, data/distro_pythons.json, data/cpython.json)."""

from __future__ import annotations

import pytest

from launchbuild.compat import cuda, data, measured
from launchbuild.compat.catalog import RULES, evaluate
from launchbuild.core.findings import Severity
from launchbuild.core.imageref import parse_image_ref
from launchbuild.compat.facts.inspect import _with_table_pythons
from launchbuild.compat.facts.providers.inference import infer_facts
from launchbuild.errors import BadInput
from launchbuild.resolver import python_version
from launchbuild.resolver.model import PackageFacts
from tests.helpers_compat import ctx


def _img(ref):
    return _with_table_pythons(infer_facts(parse_image_ref(ref)))


def _run(rule_id, c):
    return [(f.severity.value, f.message) for f in RULES[rule_id].check(c)]


def _errors(c):
    findings, _ = evaluate(c)
    return {f.rule for f in findings if f.severity is Severity.ERROR}


@pytest.mark.parametrize("version,gpu", [("2.6.0", "RTX 5090"), ("2.5.1", "B200"), ("2.15.0", "V100"), ("2.15.0", "P100"),
                                         ("1.12.1", "A100"), ("1.11.0", "A100"), ("2.9.1", "GTX 1080 Ti")])
def test_missed_kernel_failures_are_found_from_the_wheels(version, gpu):
    got = _run("LB203", ctx(gpus=(gpu,), pins=(f"torch=={version}",), python="3.12" if version >= "2.9" else "3.10"))
    assert got and got[0][0] == "error", got


@pytest.mark.parametrize("version,gpu", [("2.7.1", "P100"), ("2.8.0", "RTX 5090"), ("2.15.0", "T4"), ("1.13.1", "A100")])
def test_supported_pairs_pass(version, gpu):
    assert _run("LB203", ctx(gpus=(gpu,), pins=(f"torch=={version}",), python="3.11")) == []


def test_pypi_torch_cuda_comes_from_its_requires_dist():
    assert measured.wheel("torch", "2.15.0", "linux/amd64").cuda == "13.2"
    assert measured.wheel("torch", "2.6.0+cu124", "linux/amd64").cuda == "12.4"  # local version ignored


def test_arm64_uses_aarch64_facts_pypi_torch_up_to_2_10_is_cpu_only():
    got = _run("LB207", ctx(gpus=("GH200",), pins=("torch==2.9.1",), python="3.12", platform="linux/arm64"))
    assert got and "CPU-only build on linux/arm64" in got[0][1]
    assert _run("LB207", ctx(gpus=("GH200",), pins=("torch==2.9.1",), python="3.12")) == []  # x86_64 wheel: CUDA 12.8
    assert _run("LB207", ctx(gpus=("GH200",), pins=("torch==2.15.0",), python="3.12", platform="linux/arm64")) == []


def test_tensorflow_2_18_has_no_sm_50_and_jax_on_cuda_13_needs_sm_75():
    assert _run("LB203", ctx(gpus=("M60",), pins=("tensorflow==2.20.0", "nvidia-cudnn-cu12==9.3.0.75"), python="3.12"))[0][0] == "error"
    assert _run("LB203", ctx(gpus=("M60",), pins=("tensorflow==2.16.2",), python="3.11")) == []  # sm_50 until 2.16
    assert _run("LB203", ctx(gpus=("M60",), pins=("tensorflow==2.17.1",), python="3.11"))  # build_info: sm_60 from 2.17
    got = _run("LB207", ctx(gpus=("GH200",), pins=("tensorflow==2.20.0",), python="3.12", platform="linux/arm64"))
    assert got and "CPU build" in got[0][1]
    jax13 = ("jax==0.10.2", "jaxlib==0.10.2", "jax-cuda13-plugin==0.10.2", "jax-cuda13-pjrt==0.10.2")
    assert "CUDA 13 needs compute capability >= 7.5" in _run("LB203", ctx(gpus=("V100",), pins=jax13, python="3.12"))[0][1]
    jax12 = ("jax==0.10.2", "jaxlib==0.10.2", "jax-cuda12-plugin==0.10.2", "jax-cuda12-pjrt==0.10.2")
    assert _run("LB203", ctx(gpus=("V100",), pins=jax12, python="3.12")) == []


def test_torch_1_13_1_on_python_3_11_is_fine_and_2_15_on_3_10_is_not():
    assert _run("LB306", ctx(pins=("torch==1.13.1",), python="3.11")) == []
    got = _run("LB306", ctx(pins=("torch==2.15.0",), python="3.10"))
    assert got and "3.11, 3.12, 3.13, 3.14, 3.15" in got[0][1]


def test_forward_compatibility_per_os_flavour_and_gpu_class():
    for ref in ("nvidia/cuda:12.8.1-runtime-ubuntu22.04", "nvidia/cuda:12.6.3-runtime-ubuntu24.04"):
        assert _run("LB202", ctx(image=_img(ref), gpus=("H100",), driver="535.104.05")) == [], ref
    server = _run("LB202", ctx(image=_img("nvidia/cuda:12.4.1-runtime-ubuntu22.04"), gpus=("NVIDIA RTX PRO 6000 Blackwell Server Edition",), driver="535.104.05"))
    assert server == []
    consumer = _run("LB202", ctx(image=_img("nvidia/cuda:12.4.1-runtime-ubuntu22.04"), gpus=("RTX 4090",), driver="535.104.05"))
    assert consumer and consumer[0][0] == "error"
    jetson = _run("LB202", ctx(image=_img("nvidia/cuda:12.4.1-runtime-ubuntu22.04"), gpus=("Jetson Orin",), driver="535.104.05"))
    assert jetson == []


def test_drivers_of_cuda_13_3_and_later_are_unknown_not_13_2():
    img = _img("nvidia/cuda:13.3.1-runtime-ubuntu24.04")
    c = ctx(image=img, gpus=("H100",), driver="610.43.02")
    assert _run("LB202", c) == []
    findings, _ = evaluate(c)
    lb211 = [f.message for f in findings if f.rule == "LB211"]
    assert any("newer than the data" in m for m in lb211) and any("CUDA 13.3.1" in m for m in lb211)
    assert cuda.driver_cuda(data.parse_version("580.00")) == (13, 0)  # R580 reports 13.0 even below 580.65.06


def test_cudnn8_tag_counts_as_cudnn():
    img = _img("nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04")
    assert img.cudnn_version == "8.9.6.50"
    got = _run("LB209", ctx(image=img, gpus=("A100",), pins=("tensorflow==2.18.0",)))
    assert got and "has no cuDNN" not in got[0][1] and "9.3" in got[0][1]
    major_only = _img("nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04")
    assert major_only.cudnn_version == "8" and _run("LB209", ctx(image=major_only, gpus=("A100",), pins=("tensorflow==2.18.0",)))


def test_lb201_only_when_something_uses_the_image_toolkit():
    img = _img("nvidia/cuda:12.4.1-runtime-ubuntu22.04")
    assert _run("LB201", ctx(image=img, gpus=("RTX 5090",), pins=("torch==2.8.0",))) == []
    assert _run("LB201", ctx(image=img, gpus=("RTX 5090",), pins=("cupy-cuda12x==13.3.0",)))[0][0] == "error"
    devel = _img("nvidia/cuda:12.4.1-devel-ubuntu22.04")
    assert _run("LB201", ctx(image=devel, gpus=("RTX 5090",), pins=("torch==2.8.0",)))[0][0] == "warning"


def test_lb303_only_when_no_wheel_exists_for_the_target():
    img = _img("nvidia/cuda:12.4.1-runtime-ubuntu22.04")
    version = next(v for v in measured.known_versions("xformers", "linux/amd64")
                   if "3.12" in measured.wheel("xformers", v, "linux/amd64").pythons or measured.wheel("xformers", v, "linux/amd64").abi3)
    assert _run("LB303", ctx(image=img, pins=("torch==2.8.0", f"xformers=={version}"), python="3.12")) == []
    indexed = (PackageFacts("xformers", "0.0.1", has_target_wheel=False),)
    assert _run("LB303", ctx(image=img, pins=("xformers==0.0.1",), packages=indexed))
    assert _run("LB303", ctx(image=img, pins=("flash-attn==2.8.3",)))[0][0] == "error"


def test_per_gpu_minimum_driver():
    assert "LB212" in _errors(ctx(gpus=("H100",), driver="470.82.01"))
    assert "LB212" not in _errors(ctx(gpus=("A100",), driver="470.82.01"))


def test_ubuntu_18_04_and_26_04_pythons_come_from_their_archives():
    old = _img("nvidia/cuda:11.4.3-runtime-ubuntu18.04") if infer_facts(parse_image_ref("nvidia/cuda:11.4.3-runtime-ubuntu18.04")) else None
    assert data.apt_pythons("ubuntu", "18.04")[0] == "3.6" and data.apt_pythons("ubuntu", "26.04") == ("3.14",)
    assert old is not None and "3.11" not in old.apt_pythons
    got = _run("LB102", ctx(image=old, python="3.11", accelerator=True))
    assert got and got[0][0] == "error"
    resolute = _img("ubuntu:26.04")
    assert _run("LB102", ctx(image=resolute, python="3.11", accelerator=True))[0][0] == "error"
    assert _run("LB102", ctx(image=resolute, python="3.14", accelerator=True)) == []


def test_unknown_distribution_is_a_finding():
    img = _img("ubuntu:28.04")
    findings, _ = evaluate(ctx(image=img, python="3.12", accelerator=True))
    assert any(f.rule == "LB211" and "ubuntu 28.04" in f.message for f in findings)


def test_python_input_accepts_known_cpythons_and_warns_on_end_of_life():
    assert python_version.normalize("3.8", "--python") == "3.8"
    assert python_version.normalize("3.14", "--python") == "3.14"
    with pytest.raises(BadInput, match="3.99"):
        python_version.normalize("3.99", "--python")
    assert [s for s, _ in _run("LB213", ctx(python="3.8"))] == ["warning"]
    assert _run("LB213", ctx(python="3.14")) == []


def test_unknown_torch_release_is_a_finding_naming_the_fix():
    findings, _ = evaluate(ctx(gpus=("A100",), pins=("torch==1.8.1+cu102",), python="3.8"))
    lb211 = [f for f in findings if f.rule == "LB211"]
    assert lb211 and "launchbuild data refresh" in lb211[0].fix
    assert any("checked" in e.value for e in lb211[0].evidence)  # the data's age is stated
    # no verdict from guessed kernels: at most the warning that CUDA 10.2 cannot compile sm_80
    assert all(f.severity.value == "warning" and "CUDA 10.2" in f.message for f in findings if f.rule == "LB203")


def test_cuda_13_unsuffixed_runtime_wheels_count_as_cuda_13():
    pins = ("nvidia-cuda-runtime==13.0.96", "nvidia-cublas==13.1.0.3")
    got = _run("LB204", ctx(driver="575.57.08", pins=pins))
    assert got and "CUDA 13" in got[0][1]
    assert _run("LB204", ctx(driver="580.65.06", pins=pins)) == []
    img = _img("nvidia/cuda:12.8.1-runtime-ubuntu22.04")  # LD_LIBRARY_PATH=/usr/local/cuda/lib64
    assert _run("LB210", ctx(image=img, pins=pins))


def test_a_plus_cu_variant_of_the_pypi_build_uses_its_measurement_and_pythons():
    # 2.5.1+cu124 is the PyPI default build: no PTX (torch.json's build row says compute_90).
    got = _run("LB203", ctx(gpus=("RTX 5090",), pins=("torch==2.5.1+cu124",)))
    assert got and got[0][0] == "error"
    assert _run("LB306", ctx(pins=("torch==1.13.1+cu117",), python="3.11")) == []
    assert _run("LB306", ctx(pins=("torch==1.13.1+cu116",), python="3.11")) == []  # same release, same Pythons
    assert _run("LB203", ctx(gpus=("RTX 5090",), pins=("torch==2.7.0+cu128",))) == []  # another variant: its table row


def test_an_image_the_data_does_not_know_is_a_warning_on_gpus_that_could_use_forward_compat():
    img = _img("nvidia/cuda:13.0.1-runtime-ubuntu24.04")  # newer than the mirror the data came from
    assert img.require_cuda is None
    dc = _run("LB202", ctx(image=img, gpus=("H100",), driver="570.124.06"))
    assert dc and dc[0][0] == "warning" and "not in the data" in dc[0][1]
    consumer = _run("LB202", ctx(image=img, gpus=("RTX 4090",), driver="570.124.06"))
    assert consumer and consumer[0][0] == "error"  # forward compatibility never helps a GeForce


def _lb211(c):
    return [f.message for f in RULES["LB211"].check(c)]


@pytest.mark.parametrize("pins,gpu,python", [
    (("onnxruntime-gpu==1.16.3",), "K80", "3.10"),  # its CUDA provider: sm_52-sm_80 + compute_52, nothing for sm_37
    (("onnxruntime-gpu==1.19.2",), "A100", "3.10"),  # a row with no GPU code found in the libraries read
    (("torch==2.7.1", "xformers==0.0.30"), "GTX 1080 Ti", "3.12"),  # only the FlashAttention-3 library was read: sm_90
    # architecture-specific cubins run on exactly their CC: sm_100a is not code for a B300 (sm_103),
    # nor sm_120a for a GB10 (sm_121); the reader once folded them into sm_100 and sm_120
    (("onnxruntime-gpu==1.27.0",), "B300 SXM6 AC", "3.12"),
    (("onnxruntime-gpu==1.29.0",), "GB10", "3.12"),
])
def test_a_measurement_that_does_not_cover_the_gpu_is_unknown_not_a_pass(pins, gpu, python):
    got = [m for m in _lb211(ctx(gpus=(gpu,), pins=pins, python=python)) if pins[-1].split("==")[0] in m]
    assert got, pins


@pytest.mark.parametrize("pins,gpu,python", [
    (("onnxruntime-gpu==1.16.3",), "A100", "3.10"),
    (("torch==2.8.0", "vllm==0.14.1"), "H100", "3.12"),  # FlashMLA's sm_90a: exactly an H100's CC
    (("torch==2.8.0", "vllm==0.14.1"), "B300 SXM6 AC", "3.12"),  # its sm_100f (family) code runs on sm_103
    (("onnxruntime-gpu==1.27.0",), "B200", "3.12"),  # sm_100a on sm_100
    (("jax==0.10.2", "jaxlib==0.10.2", "jax-cuda13-plugin==0.10.2", "jax-cuda13-pjrt==0.10.2"), "V100", "3.12"),  # LB203's
])
def test_a_measurement_that_covers_the_gpu_settles_it(pins, gpu, python):
    assert not [m for m in _lb211(ctx(gpus=(gpu,), pins=pins, python=python)) if "measured" in m and pins[-1].split("==")[0] in m]


def test_a_driver_newer_than_the_data_is_an_unknown_only_for_what_it_could_not_judge():
    newer = "610.43.02"

    def driver_unknowns(c):
        return [f for f in evaluate(c)[0] if f.rule == "LB211" and "newer than the data" in f.message]

    # Everything the job needs is at or below the newest row: that driver runs it.
    assert not driver_unknowns(ctx(image=_img("nvidia/cuda:12.4.1-runtime-ubuntu22.04"), gpus=("H100",), driver=newer,
                                   pins=("torch==2.5.1+cu124",), python="3.11"))
    assert not driver_unknowns(ctx(gpus=("H100",), driver=newer, pins=("numpy==2.1.3",)))
    # An image CUDA above the newest row is not judged: the unknown stays.
    assert driver_unknowns(ctx(image=_img("nvidia/cuda:13.3.1-runtime-ubuntu24.04"), gpus=("H100",), driver=newer))
