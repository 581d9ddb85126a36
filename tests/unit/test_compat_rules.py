"""Per-rule tables: each rule fires on the facts it names and stays quiet otherwise."""

from __future__ import annotations

import dataclasses

import pytest

from launchbuild.compat.catalog import RULES, evaluate
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.compat.facts.source_scan import EntrypointTarget, SourceFacts, SourceItem
from launchbuild.resolver.model import PackageFacts
from tests.helpers_compat import ctx, cuda_image, python_image

BUSYBOX = ImageFacts(reference="launchbuild-test/busybox:latest", provider="docker", has_apt=False, architecture="amd64")


def _run(rule_id, c):
    return [(f.severity.value, f.message) for f in RULES[rule_id].check(c)]


def _img(base, **changes):
    return dataclasses.replace(base, **changes)


CASES = [
    # (id, context, expected severities)
    ("LB101", ctx(image=BUSYBOX, accelerator=True), ["error"]),
    ("LB101", ctx(image=BUSYBOX, accelerator=False), []),
    ("LB101", ctx(image=cuda_image("12.4.1")), []),
    ("LB102", ctx(image=cuda_image("12.4.1"), python="3.12"), ["error"]),
    ("LB102", ctx(image=cuda_image("12.4.1"), python="3.11"), []),
    ("LB102", ctx(image=_img(cuda_image("12.4.1"), apt_pythons=None), python="3.12"), ["error"]),  # distro table
    ("LB102", ctx(image=_img(cuda_image("12.4.1"), apt_pythons=None, os_version="24.04"), python="3.12"), []),
    ("LB102", ctx(image=python_image("3.10"), python="3.11"), ["error"]),
    ("LB102", ctx(image=python_image("3.11"), python="3.11"), []),
    ("LB103", ctx(image=_img(cuda_image("12.4.1"), architecture="arm64")), ["error"]),
    ("LB103", ctx(image=cuda_image("12.4.1"), platform="linux/amd64"), []),
    ("LB104", ctx(image_error="nvidia/cuda:12.99-runtime: manifest unknown"), ["error"]),
    ("LB104", ctx(), []),
    # A musl (Alpine) Python base image takes no manylinux wheel; an Alpine accelerator is LB101's.
    ("LB105", ctx(image=python_image("3.11", os_id="alpine", os_version="3.20"), pins=("numpy==1.26.4",)), ["error"]),
    ("LB105", ctx(image=python_image("3.11", os_id="postmarketos", os_id_like=("alpine",))), ["error"]),
    ("LB105", ctx(image=python_image("3.11", os_id="alpine"), image_job=True), []),
    ("LB105", ctx(image=python_image("3.11")), []),
    ("LB105", ctx(image=_img(BUSYBOX, os_id="alpine"), accelerator=True), []),
    # LB201 only where something uses the image's own toolkit (TF without [and-cuda], cupy, jax-local, nvcc builds).
    ("LB201", ctx(image=cuda_image("11.7.1"), gpus=("H100",), pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB201", ctx(image=cuda_image("12.4.1"), gpus=("K80",), pins=("cupy-cuda12x==13.3.0",)), ["error"]),
    ("LB201", ctx(image=cuda_image("12.4.1"), gpus=("RTX 5090",), pins=("jax==0.4.35", "jax-cuda12-plugin==0.4.35")), ["error"]),
    ("LB201", ctx(image=cuda_image("12.8.1"), gpus=("B300",), pins=("cupy-cuda12x==13.3.0",)), ["warning"]),
    ("LB201", ctx(image=cuda_image("13.0.2"), gpus=("V100",), pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB201", ctx(image=cuda_image("11.7.1"), gpus=("H100",)), []),  # nothing uses the toolkit
    # A driver newer than the data: an unknown only when something the job needs is newer too.
    ("LB211", ctx(image=cuda_image("13.3.1"), gpus=("H100",), driver="610.43.02"), ["warning", "warning"]),  # + the image
    ("LB211", ctx(image=cuda_image("12.4.1"), gpus=("H100",), driver="610.43.02", pins=("numpy==2.1.3",)), []),
    ("LB211", ctx(image=cuda_image("13.3.1"), gpus=("H100",)), ["warning"]),  # CUDA 13.3 minimum driver unknown
    ("LB211", ctx(gpus=("H100",), driver="550.54.15", pins=("torch==2.4.0",)), []),
    ("LB212", ctx(gpus=("H100",), driver="470.82.01"), ["error"]),  # Hopper needs a driver newer than R470
    ("LB212", ctx(gpus=("RTX 5090",), driver="550.54.15"), ["error"]),
    ("LB212", ctx(gpus=("H100",), driver="535.104.05"), []),
    ("LB212", ctx(gpus=("V100",), driver="470.82.01"), []),
    ("LB213", ctx(python="3.8"), ["warning"]),  # CPython 3.8: end of life 2024-10-07 (devguide)
    ("LB213", ctx(python="3.13"), []),
    ("LB214", ctx(gpus=("H100",)), ["info"]),  # the age of the data is stated whenever a GPU is targeted
    ("LB214", ctx(), []),
    ("LB201", ctx(image=cuda_image("12.4.1"), gpus=("RTX 5090",), pins=("torch==2.8.0",)), []),  # torch brings its CUDA
    ("LB201", ctx(image=cuda_image("12.4.1"), gpus=("RTX 5090",), pins=("tensorflow==2.18.0", "nvidia-cudnn-cu12==9.3.0.75")), []),  # [and-cuda]
    ("LB201", ctx(image=cuda_image("12.4.1"), gpus=("H100", "L4", "T4")), []),
    ("LB201", ctx(image=python_image(), gpus=("H100",)), []),
    ("LB202", ctx(image=cuda_image("12.4.1"), gpus=("H100",), driver="535.104.05"), ["error"]),
    ("LB202", ctx(image=cuda_image("12.4.1"), gpus=("H100",), driver="550.54.15"), []),
    ("LB202", ctx(image=cuda_image("12.4.1"), gpus=("H100",)), []),  # no driver: nothing to compare
    ("LB202", ctx(image=_img(cuda_image("12.4.1"), env=(("NVIDIA_DISABLE_REQUIRE", "true"),)), driver="470.82.01"), []),
    ("LB202", ctx(image=_img(cuda_image("12.1.1"), require_cuda="cuda>=12.1 brand=tesla,driver>=470,driver<471"), gpus=("RTX 4090",), driver="470.82.01"), ["error"]),  # consumer: forward compat never works
    ("LB202", ctx(image=_img(cuda_image("12.1.1"), require_cuda="cuda>=12.1 brand=tesla,driver>=470,driver<471"), gpus=("sm_86",), driver="470.82.01"), ["warning"]),  # class unknown
    ("LB202", ctx(image=_img(cuda_image("12.1.1"), require_cuda="cuda>=12.1 brand=tesla,driver>=470,driver<471"), gpus=("A100",), driver="470.82.01"), []),
    ("LB202", ctx(image=_img(cuda_image("12.1.1"), require_cuda="cuda>=12.1 brand"), driver="470.82.01"), ["warning"]),  # malformed
    ("LB203", ctx(gpus=("H100",), pins=("torch==2.0.1+cu117",)), ["error"]),
    ("LB203", ctx(gpus=("H100",), pins=("torch==2.0.1+cu118",)), []),
    ("LB203", ctx(gpus=("RTX 5090",), pins=("torch==2.7.0+cu128",)), []),
    ("LB203", ctx(gpus=("RTX 5090",), pins=("torch==2.7.0",)), ["error"]),  # PyPI default cu126
    ("LB203", ctx(gpus=("V100",), pins=("torch==2.11.0+cu128",)), ["error"]),  # Volta dropped
    ("LB203", ctx(gpus=("V100",), pins=("torch==2.11.0+cu126",)), []),
    ("LB203", ctx(gpus=("B200",), pins=("torch==2.7.0",), variants=(("torch", "cu128"),)), []),
    ("LB203", ctx(gpus=("K80",), pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB203", ctx(gpus=("K80",), pins=("jax==0.4.35", "jax-cuda12-plugin==0.4.35")), ["error"]),
    ("LB203", ctx(gpus=("T4",), pins=("torch==2.4.0+cpu",)), []),  # CPU build: LB207's job
    ("LB204", ctx(driver="535.104.05", pins=("torch==2.11.0",)), ["error"]),  # PyPI 2.11 -> CUDA 13 -> 580
    ("LB204", ctx(driver="580.65.06", pins=("torch==2.11.0",)), []),
    ("LB204", ctx(driver="470.82.01", pins=("nvidia-cublas-cu12==12.1.3.1",)), ["error"]),
    ("LB204", ctx(driver="525.60.13", pins=("nvidia-cublas-cu12==12.4.5.8",)), []),
    ("LB204", ctx(driver="450.51.06", pins=("torch==2.0.1+cu118",)), ["error"]),  # 11.x minor compat starts at 450.80.02
    ("LB204", ctx(driver="450.80.02", pins=("torch==2.0.1+cu118",)), []),
    # no minor-version compatibility before CUDA 11: a 10.2 runtime needs the 10.2 driver (Table 3: >= 440.33)
    ("LB204", ctx(driver="418.87.01", pins=("torch==1.12.1",)), ["error"]),  # PyPI 1.12 is cu102
    ("LB204", ctx(driver="418.87.01", pins=("torch==1.12.1+cu102",)), ["error"]),
    ("LB204", ctx(driver="440.33.01", pins=("torch==1.12.1",)), []),
    ("LB204", ctx(driver="418.87.01", pins=("cupy-cuda102==9.6.0",)), ["error"]),  # the name says 10.2
    ("LB204", ctx(driver="550.54.15", gpus=("H100",), pins=("tensorflow==2.18.0", "nvidia-cudnn-cu12==9.3.0.75")), ["warning"]),  # PTX needs 555
    ("LB204", ctx(pins=("torch==2.11.0",)), []),  # no driver given
    ("LB205", ctx(image=cuda_image("11.8.0"), gpus=("A100",), pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB205", ctx(image=cuda_image("12.5.1", "9.3.0.75"), gpus=("A100",), pins=("tensorflow==2.18.0",)), []),
    ("LB205", ctx(image=python_image(), gpus=("A100",), pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB205", ctx(image=python_image(), gpus=("A100",), pins=("tensorflow==2.18.0", "nvidia-cudnn-cu12==9.3.0.75")), []),
    ("LB205", ctx(image=cuda_image("12.4.1"), pins=("cupy-cuda11x==13.3.0",)), ["error"]),
    ("LB205", ctx(image=cuda_image("12.4.1"), pins=("cupy-cuda12x==13.3.0",)), []),
    ("LB206", ctx(pins=("torch==2.1.0+cu118", "jax==0.4.35", "jax-cuda12-plugin==0.4.35")), ["error"]),
    ("LB206", ctx(pins=("nvidia-cublas-cu11==11.11.3.6", "nvidia-cudnn-cu12==9.1.0.70")), ["error"]),
    ("LB206", ctx(pins=("torch==2.4.0", "nvidia-cudnn-cu12==9.1.0.70", "cupy-cuda12x==13.3.0")), []),
    ("LB207", ctx(gpus=("A100",), pins=("torch==2.4.0+cpu",)), ["warning"]),
    ("LB207", ctx(gpus=("A100",), pins=("tensorflow-cpu==2.18.0",)), ["warning"]),
    ("LB207", ctx(gpus=("A100",), pins=("jax==0.4.35", "jaxlib==0.4.35")), ["warning"]),
    ("LB207", ctx(gpus=("A100",), pins=("jax==0.4.35", "jaxlib==0.4.35", "jax-cuda12-plugin==0.4.35")), []),
    ("LB207", ctx(pins=("torch==2.4.0+cpu",)), []),  # no GPU targeted
    ("LB208", ctx(image=_img(cuda_image("11.7.1"), end_of_life=True)), ["warning"]),
    ("LB208", ctx(image=cuda_image("12.4.1")), []),
    ("LB209", ctx(image=cuda_image("12.5.1", "9.1.0.70"), pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB209", ctx(image=cuda_image("12.5.1", "8.9.7.29"), pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB209", ctx(image=cuda_image("12.5.1", "9.5.1.17"), pins=("tensorflow==2.18.0",)), []),
    ("LB209", ctx(image=cuda_image("12.5.1"), pins=("tensorflow==2.18.0",)), ["error"]),  # no cuDNN at all
    ("LB209", ctx(image=cuda_image("12.5.1", "8.9.7.29"), pins=("jax==0.4.35", "jax-cuda12-plugin==0.4.35")), ["error"]),
    ("LB210", ctx(image=cuda_image("12.1.1", devel=True, env=(("LD_LIBRARY_PATH", "/usr/local/cuda/lib64"),)), pins=("nvidia-cudnn-cu12==9.1.0.70",)), ["warning"]),
    ("LB210", ctx(image=cuda_image("12.1.1", env=(("LD_LIBRARY_PATH", "/usr/local/nvidia/lib:/usr/local/nvidia/lib64"),)), pins=("nvidia-cudnn-cu12==9.1.0.70",)), []),
    ("LB302", ctx(pins=("pkg==1.0",), packages=(PackageFacts("pkg", "1.0", has_target_wheel=False, has_sdist=True),)), ["warning"]),
    ("LB302", ctx(pins=("pkg==1.0",), packages=(PackageFacts("pkg", "1.0", has_target_wheel=False, has_sdist=False),)), ["error"]),
    ("LB302", ctx(pins=("pkg==1.0",), packages=(PackageFacts("pkg", "1.0", has_target_wheel=True, has_sdist=True),)), []),
    ("LB302", ctx(pins=("pkg==1.0",), packages=(PackageFacts("pkg", "1.0"),)), []),  # unknown (offline)
    ("LB303", ctx(image=cuda_image("12.4.1"), pins=("flash-attn==2.6.3",)), ["error"]),
    ("LB303", ctx(image=cuda_image("12.4.1", devel=True), pins=("flash-attn==2.6.3",)), []),
    ("LB303", ctx(image=python_image(), pins=("flash-attn==2.6.3",)), ["error"]),
    ("LB303", ctx(image=_img(cuda_image("12.4.1"), has_nvcc=None), pins=("flash-attn==2.6.3",)), ["warning"]),
    ("LB304", ctx(pins=("opencv-python==4.10.0.84",)), ["warning"]),
    ("LB304", ctx(pins=("numpy==2.1.0",)), []),
    ("LB306", ctx(python="3.8", pins=("numpy==2.1.0",), packages=(PackageFacts("numpy", "2.1.0", requires_python=">=3.10"),)), ["error"]),
    ("LB306", ctx(python="3.8", pins=("pkg==1.0",), packages=(PackageFacts("pkg", "1.0", requires_python=">=3.8.1"),)), []),
    ("LB306", ctx(python="3.13", pins=("torch==2.4.0",)), ["error"]),
    ("LB306", ctx(python="3.12", pins=("torch==2.4.0",)), []),
    ("LB306", ctx(python="3.13", pins=("tensorflow==2.18.0",)), ["error"]),
    ("LB306", ctx(python="3.12", pins=("tensorflow==2.18.0",)), []),
    ("LB401", ctx(source=SourceFacts("/src", EntrypointTarget("script", "train.py", False, "python")), entrypoint=("python", "train.py")), ["error"]),
    ("LB401", ctx(source=SourceFacts("/src", EntrypointTarget("script", "train.py", True, "python")), entrypoint=("python", "train.py")), []),
    ("LB401", ctx(source=SourceFacts("/src", EntrypointTarget("module", "torch.distributed.run", None, "python"))), []),
    ("LB402", ctx(source=SourceFacts("/src", secrets=(SourceItem(".env", "environment file", 10),), bulky=(SourceItem(".git", "history", 3 << 20),))), ["error", "warning"]),
    ("LB402", ctx(source=SourceFacts("/src", secrets=(SourceItem(".env", "environment file", 10, copied=False),))), ["warning"]),
    ("LB402", ctx(source=SourceFacts("/src")), []),
    ("LB403", ctx(source=SourceFacts("/src")), ["info"]),
    ("LB403", ctx(source=SourceFacts("/src"), is_build=True), ["error"]),
    ("LB403", ctx(source=SourceFacts("/src"), entrypoint=("python", "train.py")), []),
    ("LB403", ctx(), []),  # prebuilt image job: no source, no entrypoint needed
]


@pytest.mark.parametrize("rule_id,c,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_table(rule_id, c, expected):
    got = _run(rule_id, c)
    assert [s for s, _ in got] == expected, got


def test_every_compat_rule_has_a_firing_and_a_quiet_case():
    fired = {rid for rid, _, exp in CASES if exp}
    quiet = {rid for rid, _, exp in CASES if not exp}
    own = {rid for rid, r in RULES.items() if r.check is not None}
    assert own <= fired and own - {"LB104"} <= quiet | {"LB104"}


def test_lb204_for_plain_torch_2_11_names_cuda_13_and_580():
    (f,) = RULES["LB204"].check(ctx(driver="550.54.15", pins=("torch==2.11.0",)))
    assert "CUDA 13" in f.message and "580" in f.message and "whl/cu12" in f.fix


def test_lb304_lists_apt_packages():
    (f,) = RULES["LB304"].check(ctx(pins=("opencv-python==4.10.0.84",)))
    assert "libgl1 libglib2.0-0" in f.fix and "opencv-python-headless" in f.fix


def test_evaluate_on_an_empty_context_reports_nothing():
    findings, checked = evaluate(ctx())
    assert findings == () and len(checked) == len(RULES)


def test_lb105_an_alpine_python_tag_read_from_its_name_is_musl():
    from launchbuild.compat.facts.providers.inference import infer_facts
    from launchbuild.core.imageref import parse_image_ref

    image = infer_facts(parse_image_ref("python:3.11-alpine3.20"))
    assert [sev for sev, _ in _run("LB105", ctx(image=image, pins=("torch==2.4.0",)))] == ["error"]
    assert _run("LB105", ctx(image=infer_facts(parse_image_ref("python:3.11-slim-bookworm")), pins=("torch==2.4.0",))) == []
