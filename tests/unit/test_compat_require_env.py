"""LB202 reads the image's requirement variables as the NVIDIA container runtime does
(nvidia-container-toolkit internal/config/image/cuda_image.go)."""

from __future__ import annotations

import dataclasses

import pytest

from launchbuild.compat.catalog import RULES
from tests.helpers_compat import ctx, cuda_image


def _lb202(image, **kw):
    return [f.severity.value for f in RULES["LB202"].check(ctx(image=image, gpus=("H100",), driver="535.104.05", **kw))]


@pytest.mark.parametrize("value", ["1", "t", "T", "true", "TRUE", "True"])
def test_disable_require_that_go_parses_as_true_skips_the_check(value):
    image = dataclasses.replace(cuda_image("12.4.1"), env=(("NVIDIA_DISABLE_REQUIRE", value),))
    assert _lb202(image) == []


@pytest.mark.parametrize("value", ["yes", "on", "y", " true", "tRuE", "", "0", "false"])
def test_disable_require_that_go_does_not_parse_as_true_leaves_the_check_on(value):
    # strconv.ParseBool refuses these (or says false): the runtime checks the requirement, and
    # driver 535 (CUDA 12.2) does not satisfy cuda>=12.4.
    image = dataclasses.replace(cuda_image("12.4.1"), env=(("NVIDIA_DISABLE_REQUIRE", value),))
    assert _lb202(image) == ["error"]


def _with_env(*pairs):
    return dataclasses.replace(cuda_image("12.4.1"), env=pairs)


def test_every_nvidia_require_variable_must_hold_not_only_cuda():
    # cuda>=12.4 holds on driver 550, but the image also requires a driver of the 560 branch:
    # nvidia-container-cli gets both and refuses the container.
    image = _with_env(("NVIDIA_REQUIRE_DRIVER", "driver>=560"))
    findings = list(RULES["LB202"].check(ctx(image=image, gpus=("H100",), driver="550.54.15")))
    assert [(f.severity.value, "NVIDIA_REQUIRE_DRIVER" in f.message) for f in findings] == [("error", True)]
    assert any(getattr(fix, "minimum", "") == "560" for fix in findings[0].fixes)


def test_an_arch_requirement_is_held_to_the_target_gpu():
    image = _with_env(("NVIDIA_REQUIRE_ARCH", "arch>=8.0"))
    def on(gpu):
        return [f.severity.value for f in RULES["LB202"].check(ctx(image=image, gpus=(gpu,), driver="550.54.15"))]

    assert on("V100") == ["error"]
    assert on("A100") == []


def test_jetpack_requirements_are_not_the_runtime_s_and_a_met_one_passes():
    met = _with_env(("NVIDIA_REQUIRE_DRIVER", "driver>=550"), ("NVIDIA_REQUIRE_JETPACK", "csv-mounts=all"),
                    ("NVIDIA_REQUIRE_JETPACK_HOST_MOUNTS", ""))
    assert [f.severity.value for f in RULES["LB202"].check(ctx(image=met, gpus=("H100",), driver="550.54.15"))] == []
