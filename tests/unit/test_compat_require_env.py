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
