"""The packages that load the image's own cuDNN (LB209, LB211): TensorFlow without [and-cuda],
a jaxlib built against a cuDNN, and jax[cudaNN-local] of every CUDA major."""

from __future__ import annotations

from launchbuild.compat.catalog import RULES
from tests.helpers_compat import ctx, cuda_image

JAX13_LOCAL = ("jax==0.10.2", "jax-cuda13-plugin==0.10.2", "jax-cuda13-pjrt==0.10.2")
JAX13_WITH_CUDA = JAX13_LOCAL + ("nvidia-cudnn-cu13==9.12.0.46", "nvidia-cuda-runtime==13.0.96")


def _run(rule_id, c):
    return [(f.severity.value, f.message, f.fixes) for f in RULES[rule_id].check(c)]


def test_jax_cuda13_local_on_an_older_image_cudnn_is_lb209():
    # jax-cuda13-plugin 0.10.2 pins nvidia-cudnn-cu13 >= 9.12 under [with-cuda]; without that
    # wheel it loads the image's cuDNN 9.5 and refuses it at start-up.
    found = _run("LB209", ctx(image=cuda_image("13.0.2", cudnn="9.5.1.17"), gpus=("H100",), pins=JAX13_LOCAL, python="3.12"))
    assert [(sev, "jax-cuda13-plugin 0.10.2" in msg and "9.12" in msg) for sev, msg, _ in found] == [("error", True)]
    # The bundled-CUDA fix keeps the plugin's CUDA major.
    assert any(getattr(f, "extra", "") == "cuda13" for f in found[0][2])


def test_jax_cuda13_local_on_an_image_without_cudnn_is_lb209():
    found = _run("LB209", ctx(image=cuda_image("13.0.2"), gpus=("H100",), pins=JAX13_LOCAL, python="3.12"))
    assert [sev for sev, _, _ in found] == ["error"]


def test_jax_cuda13_with_its_cudnn_wheel_needs_no_image_cudnn():
    assert _run("LB209", ctx(image=cuda_image("13.0.2"), gpus=("H100",), pins=JAX13_WITH_CUDA, python="3.12")) == []
    assert _run("LB209", ctx(image=cuda_image("13.0.2", cudnn="9.13.0.50"), gpus=("H100",), pins=JAX13_LOCAL, python="3.12")) == []
