"""The real repositories' dependency files resolved end to end on PyPI: each case states the
packages its lock must hold, or the finding it must get. Hosts other than PyPI (github.com,
download.pytorch.org, huggingface.github.io) are unreachable from the test machine: those
cases must then be exit 3 naming the host, never an empty or partial environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.errors import InfraUnavailable
from launchbuild.jobs.model import CodeSource, Job
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.resolver.api import ResolveOptions, resolve

# Their setup.py / VCS / sdist builds run in the build sandbox (resolver/sandbox.py): a container.
pytestmark = [pytest.mark.network, pytest.mark.docker]
REPOS = Path(__file__).resolve().parent.parent / "fixtures" / "repos"


def run(name: str, tmp_path: Path, **kw):
    src = REPOS / name
    return resolve(src, Job(source=CodeSource(src)),
                   ResolveOptions(cache_dir=tmp_path / "cache", fetch_package_facts=False, **kw))


@pytest.mark.parametrize("repo,python,expected", [
    ("whisper", "3.11", {"numba", "numpy", "torch", "tiktoken", "triton", "more-itertools"}),
    ("transformers-text-classification", "3.11", {"accelerate", "datasets", "torch", "evaluate", "scikit-learn"}),
    ("yolov5", "3.11", {"torch", "torchvision", "ultralytics", "opencv-python", "pandas", "seaborn"}),
    ("nanochat", "3.11", {"torch", "transformers", "datasets", "tiktoken", "rustbpe"}),
])
def test_locks_hold_the_declared_packages(repo, python, expected, tmp_path):
    result = run(repo, tmp_path, python=Sourced(python, Origin.FLAG))
    assert result.lock is not None, result.findings
    got = {p.name for p in result.lock.packages}
    assert expected <= got, expected - got
    assert all(p.hashes for p in result.lock.packages)
    if repo == "nanochat":
        # The fixture is its pyproject alone (no src/nanochat): hatchling cannot build it, so the
        # project is not installed and LB311 says so; its dependencies are locked all the same.
        assert result.lock.version_of("torch") == "2.9.1" and result.lock.own_projects == ()
        assert [f.rule for f in result.findings] == ["LB311"]


def test_detectron2_needs_torch_to_build_and_says_so_first(tmp_path):
    result = run("detectron2", tmp_path)
    [finding] = [f for f in result.findings if f.rule == "LB301"]
    assert finding.message.startswith("ModuleNotFoundError: No module named 'torch'")
    assert result.lock is None


def test_nanogpt_gets_the_no_packages_info(tmp_path):
    result = run("nanogpt", tmp_path)
    assert result.lock is None and [f.rule for f in result.findings] == ["LB308"]


@pytest.mark.parametrize("repo,host", [
    ("stable-diffusion", "github.com"),  # -e git+https://github.com/openai/CLIP.git@main#egg=clip
    ("dinov2", "github.com"),  # git+https://github.com/facebookincubator/submitit
    ("axolotl", "huggingface.github.io"),  # --extra-index-url
])
def test_unreachable_sources_are_exit_3_naming_the_host(repo, host, tmp_path):
    try:
        result = run(repo, tmp_path)
    except InfraUnavailable as exc:
        assert host in str(exc) and exc.exit_code == 3
        return
    assert result.lock is not None and result.lock.packages  # only where the host is reachable


# --- the second corpus ------------------------------------------------------------------------


@pytest.mark.parametrize("repo,expected", [
    ("stanford-alpaca", {"transformers", "torch", "sentencepiece", "rouge-score", "openai", "wandb", "fire"}),
    ("clip", {"ftfy", "regex", "torch", "torchvision", "tqdm", "packaging"}),
    ("peft", {"accelerate", "bitsandbytes", "transformers", "safetensors", "datasets", "peft"}),
    ("timm", {"torch", "torchvision", "huggingface-hub", "safetensors", "pyyaml"}),
    ("open-clip", {"torch", "ftfy", "timm", "regex", "huggingface-hub"}),
    ("groundingdino", {"supervision", "pycocotools", "addict", "yapf", "opencv-python", "transformers"}),
])
def test_second_corpus_requirements_lock_the_declared_packages(repo, expected, tmp_path):
    result = run(repo, tmp_path, python=Sourced("3.11", Origin.FLAG))
    assert result.lock is not None and not result.findings, result.findings
    assert expected <= {p.name for p in result.lock.packages}
    assert all(p.hashes for p in result.lock.packages) and result.lock.own_projects == ()


def test_litgpt_is_its_own_project_with_its_dependencies_locked(tmp_path):
    result = run("litgpt", tmp_path, python=Sourced("3.11", Origin.FLAG))
    got = {p.name for p in result.lock.packages}
    assert {"lightning", "jsonargparse", "huggingface-hub", "tokenizers", "torch"} <= got
    assert result.lock.version_of("psutil") == "7.2.2"  # its `psutil==7.2.2` pin
    assert result.lock.own_projects == (".",) and "litdata" not in got  # `extra` not asked for


@pytest.mark.parametrize("repo,cause", [
    ("trl", "error: package directory 'trl' does not exist"),
    ("private-gpt-poetry", "No file/folder found for package private-gpt"),
])
def test_projects_whose_code_is_not_in_the_fixture_lock_their_dependencies_and_say_so(repo, cause, tmp_path):
    extras = ("ui",) if repo == "private-gpt-poetry" else ()
    result = run(repo, tmp_path, python=Sourced("3.11", Origin.FLAG), extras=extras)
    [finding] = result.findings
    assert finding.rule == "LB311" and cause in finding.message and result.lock.own_projects == ()
    got = {p.name for p in result.lock.packages}
    if repo == "private-gpt-poetry":  # ^ constraints translated, the ui extra honoured, none other
        assert {"fastapi", "injector", "llama-index-core", "gradio", "ffmpy"} <= got and "torch" not in got
        assert result.lock.version_of("fastapi").startswith("0.115.")
    else:
        assert {"accelerate", "datasets", "transformers"} <= got


def test_segment_anything_declares_nothing_and_says_the_image_has_only_the_project(tmp_path):
    result = run("segment-anything", tmp_path, python=Sourced("3.11", Origin.FLAG))
    assert result.lock.packages == () and result.lock.own_projects == (".",)
    [finding] = result.findings
    assert finding.rule == "LB308" and "besides the job's own project (.)" in finding.message


@pytest.mark.parametrize("repo,cause", [
    ("mingpt", "error: package directory 'mingpt' does not exist"),  # fixture: setup.py without mingpt/
    ("deepspeed", "ModuleNotFoundError: No module named 'op_builder'"),
])
def test_setup_py_builds_that_fail_state_their_cause_first(repo, cause, tmp_path):
    result = run(repo, tmp_path, python=Sourced("3.11", Origin.FLAG))
    [finding] = result.findings
    assert finding.rule == "LB301" and finding.message.startswith(cause) and result.lock is None


def test_whisperx_uv_lock_is_used_as_locked(tmp_path):
    result = run("whisperx", tmp_path, python=Sourced("3.11", Origin.FLAG))
    assert result.input_kind == "lock" and not result.findings
    assert result.lock.version_of("torch") == "2.8.0+cu128" and result.lock.own_projects == (".",)
    assert "https://download.pytorch.org/whl/cu128" in result.lock.index_urls
    assert all(p.hashes for p in result.lock.packages)


@pytest.mark.parametrize("repo,host,requirements", [
    ("latent-diffusion", "github.com", None),  # -e git+https://github.com/CompVis/taming-transformers
    ("vllm-requirements", "flashinfer.ai", "requirements/cuda.txt"),  # --extra-index-url in cuda.txt
])
def test_second_corpus_unreachable_sources_are_exit_3(repo, host, requirements, tmp_path):
    kw = {"requirements": REPOS / repo / requirements} if requirements else {}
    with pytest.raises(InfraUnavailable) as exc:
        run(repo, tmp_path, **kw)
    assert host in str(exc.value) and exc.value.exit_code == 3


def test_vllm_requirements_folder_alone_is_lb307_per_file(tmp_path):
    result = run("vllm-requirements", tmp_path)
    assert result.lock is None and [f.rule for f in result.findings] == ["LB307", "LB307"]


def test_unsloth_extras_lock_through_the_build_backend(tmp_path):
    result = run("unsloth", tmp_path, extras=("huggingface",))
    got = {p.name for p in result.lock.packages}
    assert {"unsloth-zoo", "transformers", "peft", "trl", "torch"} <= got
    assert [f.rule for f in result.findings] == ["LB311"]  # its version comes from the unsloth package itself


def test_unsloth_cuda_extra_needs_the_pytorch_host_and_says_so(tmp_path):
    with pytest.raises(InfraUnavailable) as exc:  # xformers @ https://download.pytorch.org/whl/cu121/...
        run("unsloth", tmp_path, python=Sourced("3.11", Origin.FLAG), extras=("cu121-torch240",))
    assert "download.pytorch.org" in str(exc.value) and exc.value.exit_code == 3


def test_lm_eval_group_includes_a_group_that_names_its_own_extras(tmp_path):
    result = run("lm-evaluation-harness", tmp_path, python=Sourced("3.11", Origin.FLAG), groups=("dev",))
    got = {p.name for p in result.lock.packages}
    assert {"pytest", "pytest-cov", "tenacity", "transformers", "accelerate", "peft"} <= got
    assert result.lock.own_projects == (".",) and not result.findings


def test_monai_locks_its_requirements_for_a_python_its_setup_cfg_allows(tmp_path):
    result = run("monai", tmp_path)
    assert result.lock.target.python == "3.13"  # the newest that `python_requires = >= 3.9` allows
    assert result.lock.version_of("torch").startswith(("2.4.", "2.5.", "2.6."))


@pytest.fixture
def empty_torch_index(tmp_path):
    """A torch wheel index of this machine's own with no packages (the real one is unreachable
    here): an environment's pytorch selector routes the torch family there, and every name falls
    through to PyPI, as it does for a build the real index does not have."""
    from tests.helpers_resolver import serve_directory

    (tmp_path / "torch-index" / "whl").mkdir(parents=True)
    with serve_directory(tmp_path / "torch-index") as base:
        yield f"{base}/whl"


def test_taming_transformers_environment_wins_and_its_old_sdist_fails_with_its_cause(tmp_path, empty_torch_index):
    # python=3.8.5 in environment.yaml is the target; cudatoolkit=10.2 beside pytorch selects cu102
    result = run("taming-transformers", tmp_path, torch_index_url=empty_torch_index)
    assert result.input_kind == "environment" and result.lock is None
    [finding] = result.findings
    assert finding.rule == "LB301" and finding.message.startswith(
        "ModuleNotFoundError: No module named 'pkg_resources': building albumentations==0.4.3 (from environment.yaml)")
    assert "Python 3.8" in finding.message


def test_stylegan3_conda_pin_of_torch_has_no_wheel_for_the_python_its_range_gives(tmp_path, empty_torch_index):
    result = run("stylegan3", tmp_path, torch_index_url=empty_torch_index)
    [finding] = result.findings
    assert finding.rule == "LB301" and "torch==1.9.1 (environment.yml:12)" in finding.message


def test_stylegan3_cudatoolkit_selector_reaches_for_the_torch_index_and_says_so_when_it_is_unreachable(tmp_path):
    with pytest.raises(InfraUnavailable, match="download.pytorch.org/whl/cu111"):
        run("stylegan3", tmp_path)


def test_guided_diffusion_setup_py_metadata_is_locked_and_the_project_installed(tmp_path):
    result = run("guided-diffusion", tmp_path, python=Sourced("3.11", Origin.FLAG))
    assert not result.findings and result.lock.own_projects == (".",)
    assert {"blobfile", "torch", "tqdm"} <= {p.name for p in result.lock.packages}
    assert "tensorflow" not in {p.name for p in result.lock.packages}  # evaluations/requirements.txt is not the job's
