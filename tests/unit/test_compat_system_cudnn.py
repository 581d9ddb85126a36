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


def _unknown_cudnn(c):
    return [msg for sev, msg, _ in _run("LB211", c) if "cuDNN" in msg]


def test_an_image_cudnn_of_unknown_version_is_unknown_for_jax_local_not_a_pass():
    # A '-cudnn-' tag the data has no row for: some cuDNN, version unknown. LB209 cannot judge
    # it, so LB211 names it for jax[cuda12-local] as it does for TensorFlow.
    image = cuda_image("12.6.3", cudnn="present")
    pins = ("jax==0.10.2", "jax-cuda12-plugin==0.10.2", "jax-cuda12-pjrt==0.10.2")
    assert _run("LB209", ctx(image=image, gpus=("H100",), pins=pins)) == []
    (msg,) = _unknown_cudnn(ctx(image=image, gpus=("H100",), pins=pins))
    assert "jax-cuda12-plugin 0.10.2" in msg and "9.8" in msg


def test_a_major_only_cudnn_tag_is_unknown_for_a_jaxlib_built_against_a_minor():
    # '-cudnn8-': cuDNN 8.x of unknown minor; jaxlib +cudnn89 needs 8.9 or newer.
    image = cuda_image("12.2.2", cudnn="8")
    pins = ("jax==0.4.23", "jaxlib==0.4.23+cuda12.cudnn89")
    assert _run("LB209", ctx(image=image, gpus=("A100",), pins=pins)) == []
    (msg,) = _unknown_cudnn(ctx(image=image, gpus=("A100",), pins=pins))
    assert "jaxlib 0.4.23+cuda12.cudnn89" in msg and "8.9" in msg


def test_a_known_cudnn_or_a_bundled_one_leaves_nothing_unknown():
    pins = ("jax==0.4.23", "jaxlib==0.4.23+cuda12.cudnn89")
    assert _unknown_cudnn(ctx(image=cuda_image("12.2.2", cudnn="8.9.6.50"), gpus=("A100",), pins=pins)) == []
    assert _unknown_cudnn(ctx(image=cuda_image("13.0.2", cudnn="present"), gpus=("H100",), pins=JAX13_WITH_CUDA, python="3.12")) == []
