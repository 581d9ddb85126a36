"""Real public repositories' dependency files (tests/fixtures/repos/<name>/, each with its
SOURCE URL): which input wins, what is read from it, and what is said about the rest.
Resolving them is tests/integration/test_real_repos_resolve.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.resolver.api import _pick_input
from launchbuild.resolver.sources import discover
from launchbuild.resolver.special import no_input_findings

REPOS = Path(__file__).resolve().parent.parent / "fixtures" / "repos"


def winner(name: str):
    candidates = discover(REPOS / name)
    return _pick_input(candidates)


def names(loaded) -> list[str]:
    return [r.name for r in loaded.parsed.requirements]


def texts(loaded) -> list[str]:
    return [r.text for r in loaded.parsed.requirements]


def test_every_fixture_names_its_source():
    for repo in REPOS.iterdir():
        assert (repo / "SOURCE").read_text().startswith("https://github.com/"), repo


@pytest.mark.parametrize("repo,kind,path,some", [
    ("yolov5", "requirements", "requirements.txt", ["torch", "torchvision", "ultralytics", "urllib3"]),
    ("transformers-text-classification", "requirements", "requirements.txt", ["accelerate", "torch", "evaluate"]),
    ("axolotl", "requirements", "requirements.txt", ["flash-attn", "transformers", "axolotl-contribs-lgpl"]),
    ("whisper", "requirements", "requirements.txt", ["numba", "triton", "tiktoken"]),
])
def test_requirements_files(repo, kind, path, some):
    loaded, skipped = winner(repo)
    assert (loaded.kind, loaded.path) == (kind, path)
    assert set(some) <= set(names(loaded))
    if repo == "whisper":  # its pyproject.toml is tool settings only, and a lower rank anyway
        assert skipped == [("pyproject.toml", "lower precedence than requirements.txt (requirements)")]
    if repo == "axolotl":
        assert loaded.parsed.options.extra_index_urls == ("https://huggingface.github.io/autogptq-index/whl/cu118/",)


def test_stable_diffusion_environment_keeps_conda_pins_and_maps_pytorch():
    loaded, _ = winner("stable-diffusion")
    assert (loaded.kind, loaded.path) == ("environment", "environment.yaml")
    got = texts(loaded)
    assert got[:3] == ["torch==1.11.0", "torchvision==0.12.0", "numpy==1.19.2"]
    assert "transformers==4.19.2" in got and "kornia==0.6.0" in got
    assert loaded.python_pin is None  # `python>=3.9` is a range, not a pin
    assert any("cudatoolkit" in n for n in loaded.not_used)
    vcs = [r for r in loaded.parsed.requirements if r.kind == "vcs"]
    assert [r.name for r in vcs] == ["clip", "taming-transformers", "k-diffusion", "gfpgan"]
    assert not loaded.findings


def test_dinov2_conda_yaml():
    loaded, _ = winner("dinov2")
    assert (loaded.kind, loaded.path) == ("environment", "conda.yaml")
    assert loaded.python_pin.value == "3.9"
    got = texts(loaded)
    assert got[:8] == ["torch==2.0.0", "torchvision==0.15.0", "omegaconf", "hydra-core", "torchmetrics==0.10.3",
                       "fvcore", "iopath", "xformers==0.0.18"]
    assert "cuml-cu11" in got and any(r.kind == "vcs" for r in loaded.parsed.requirements)
    assert loaded.parsed.options.extra_index_urls == ("https://pypi.nvidia.com",)
    assert any("pytorch-cuda" in n for n in loaded.not_used)


def test_llava_pyproject_is_its_own_buildable_project():
    loaded, _ = winner("llava")
    assert (loaded.kind, loaded.path, loaded.own_project) == ("pyproject", "pyproject.toml", ".")
    assert loaded.project_file == "pyproject.toml" and loaded.project_copy == "tree"


def test_nanochat_uv_sources_and_indexes_are_honoured():
    loaded, _ = winner("nanochat")
    assert loaded.project_file == "pyproject.toml" and loaded.own_project == "."
    assert loaded.extra_index_urls == ("https://download.pytorch.org/whl/cpu", "https://download.pytorch.org/whl/cu128")
    assert any("dependency groups not asked for: dev" in n for n in loaded.not_used)


def test_detectron2_setup_py_goes_to_the_build_backend():
    loaded, _ = winner("detectron2")
    assert (loaded.kind, loaded.project_file, loaded.project_copy, loaded.own_project) == ("setup", "setup.py", "tree", ".")


def test_nanogpt_has_no_dependency_file():
    loaded, skipped = winner("nanogpt")
    assert loaded is None and skipped == []
    [finding] = no_input_findings(REPOS / "nanogpt", skipped)
    assert finding.rule == "LB308"
