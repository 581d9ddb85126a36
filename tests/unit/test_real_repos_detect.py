"""Real public repositories' dependency files (tests/fixtures/repos/<name>/, each with its
SOURCE URL): which input wins, what is read from it, and what is said about the rest.
Resolving them is tests/integration/test_real_repos_resolve.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from packaging.utils import canonicalize_name

from launchbuild.resolver.api import _pick_input
from launchbuild.resolver.discovery import discover
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
    assert loaded.python_pin is None  # `python>=3.9` is a range, not a pin: the Pythons it declares
    assert loaded.requires_python is not None and loaded.requires_python.value.startswith(">=")
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


# --- the second corpus: more real repositories, each form as their READMEs install them --------


@pytest.mark.parametrize("repo,skipped_paths,some", [
    ("stanford-alpaca", [], ["transformers", "torch", "sentencepiece", "rouge-score"]),
    ("clip", ["setup.py"], ["ftfy", "regex", "torch", "torchvision"]),  # setup.py reads requirements.txt
    ("peft", ["pyproject.toml", "setup.py"], ["accelerate", "bitsandbytes", "transformers"]),
    ("timm", ["pyproject.toml", "setup.cfg"], ["torch", "huggingface-hub", "safetensors"]),
    ("open-clip", ["pyproject.toml"], ["torch", "ftfy", "timm"]),
    ("groundingdino", ["setup.py", "environment.yaml"], ["supervision", "pycocotools", "addict"]),
    ("llama-recipes", ["pyproject.toml"], ["peft", "transformers", "faiss-gpu", "codeshield"]),
])
def test_second_corpus_requirements_files_win(repo, skipped_paths, some):
    loaded, skipped = winner(repo)
    assert (loaded.kind, loaded.path) == ("requirements", "requirements.txt")
    assert set(some) <= {canonicalize_name(n) for n in names(loaded)}
    assert [p for p, _ in skipped] == skipped_paths
    assert all(why == "lower precedence than requirements.txt (requirements)" for _, why in skipped)
    assert not loaded.findings and loaded.parsed.options.extra_index_urls == ()


def test_llama_recipes_markers_and_extras_are_kept_verbatim():
    loaded, _ = winner("llama-recipes")
    got = texts(loaded)
    assert "faiss-gpu; python_version < '3.11'" in got and "unstructured[pdf]" in got and "black[jupyter]" in got


def test_requirements_files_other_than_the_root_one_are_not_read():
    # open_clip's requirements-training.txt and timm's requirements-dev.txt are other installs
    # (training, tests): only requirements.txt is what `pip install -r requirements.txt` means.
    loaded, _ = winner("open-clip")
    assert loaded.parsed.files == ("requirements.txt",) and "webdataset" not in names(loaded)


@pytest.mark.parametrize("repo,extras_left", [
    ("litgpt", "extras not asked for: compiler, extra, test (add --extra NAME)"),
    ("trl", "extras not asked for: bco, deepspeed, dev, harbor, kernels, liger, math_verify, openreward, peft, "
            "quality, quantization, scikit, test, vllm, vlm (add --extra NAME)"),
])
def test_pep621_projects_with_a_build_system_are_their_own_project(repo, extras_left):
    loaded, skipped = winner(repo)
    assert (loaded.kind, loaded.path, loaded.own_project, loaded.project_file) == \
        ("pyproject", "pyproject.toml", ".", "pyproject.toml")
    assert skipped == [] and loaded.not_used == (extras_left,)


def test_an_asked_for_extra_leaves_the_not_used_list():
    from launchbuild.resolver.detectors.pyproject import ProjectInput

    loaded = ProjectInput(REPOS / "litgpt" / "pyproject.toml", REPOS / "litgpt", ("extra",)).load()
    assert loaded.extras == ("extra",) and loaded.not_used == ("extras not asked for: compiler, test (add --extra NAME)",)


@pytest.mark.parametrize("repo", ["mingpt", "segment-anything", "deepspeed"])
def test_setup_py_projects_go_to_the_build_backend(repo):
    loaded, skipped = winner(repo)
    assert (loaded.kind, loaded.project_file, loaded.own_project) == ("setup", "setup.py", ".")
    if repo in ("segment-anything", "deepspeed"):  # their setup.cfg is isort/flake8 settings only
        assert ("setup.cfg", "no [options] install_requires") in skipped
    if repo == "deepspeed":  # conda env of build tools only; no `-e .`, so setup.py keeps its rank
        assert ("environment.yml", "lower precedence than setup.py (setup)") in skipped


def test_latent_diffusion_environment_installs_the_project_so_it_outranks_setup_py():
    loaded, skipped = winner("latent-diffusion")
    assert (loaded.kind, loaded.path) == ("environment", "environment.yaml")
    assert skipped == [("setup.py", "lower precedence than environment.yaml (environment)")]
    assert loaded.python_pin.value == "3.8"
    got = texts(loaded)
    assert got[:3] == ["torch==1.7.0", "torchvision==0.8.1", "numpy==1.19.2"]
    assert "pytorch-lightning==1.4.2" in got and "transformers==4.3.1" in got
    assert [r.name for r in loaded.parsed.requirements if r.kind == "vcs"] == ["taming-transformers", "clip"]
    [own] = [r for r in loaded.parsed.requirements if r.kind == "path"]
    assert own.editable and Path(own.url).resolve() == (REPOS / "latent-diffusion").resolve()
    # cudatoolkit=11.0 beside pytorch=1.7.0 is PyTorch's pre-1.13 selector: torch 1.7.0+cu110.
    assert loaded.torch_build == "cu110"
    assert loaded.not_used == ("conda 'cudatoolkit=11.0': selects PyTorch's cu110 build: torch, torchvision, "
                               "torchaudio come from the torch wheel index's cu110/",)
    assert not loaded.findings


def test_private_gpt_poetry_extras_and_groups():
    from launchbuild.resolver.detectors.pyproject import ProjectInput

    path = REPOS / "private-gpt-poetry" / "pyproject.toml"
    base, skipped = winner("private-gpt-poetry")
    assert (base.kind, base.own_project, skipped) == ("pyproject", ".", [])
    assert "fastapi[all]>=0.115.0,<0.116" in texts(base) and "gradio" not in names(base)
    assert any(n.startswith("Poetry groups not asked for: dev") for n in base.not_used)
    # extras name their members by any spelling: `clickhouse_connect` is the `clickhouse-connect` dependency
    loaded = ProjectInput(path, path.parent, ("ui", "vector-stores-clickhouse"), ("dev",)).load()
    got = texts(loaded)
    assert {"gradio>=4.44.0,<5", "ffmpy>=0.4.0,<0.5", "clickhouse-connect>=0.7.19,<0.8", "pytest>=8,<9"} <= set(got)
    assert "torch>=2.4.1,<3" not in got and not any("groups not asked" in n for n in loaded.not_used)


def test_whisperx_uv_lock_wins_and_keeps_its_pytorch_indexes():
    loaded, skipped = winner("whisperx")
    assert (loaded.kind, loaded.path, loaded.own_project) == ("lock", "uv.lock", ".")
    assert skipped == [("pyproject.toml", "lower precedence than uv.lock (lock)")]
    assert "https://download.pytorch.org/whl/cu128" in loaded.extra_index_urls
    pins = [ln for ln in loaded.lock_body.splitlines() if ln and not ln[0].isspace()]
    # the lock's markers select the CUDA 12.8 torch on linux/amd64 (pip evaluates them in the image)
    assert any(p.startswith("torch==2.8.0+cu128 ; (platform_machine == 'AMD64' or platform_machine == 'x86_64')")
               for p in pins) and "ctranslate2" in loaded.lock_body
    # the project itself is installed from the copied code, never a path line in the lock
    assert not any(p.startswith(("-e", ".", "/", "whisperx")) for p in pins)


def test_vllm_requirements_folder_alone_is_an_error_finding_per_file():
    loaded, skipped = winner("vllm-requirements")
    assert loaded is None and skipped == []
    findings = no_input_findings(REPOS / "vllm-requirements", skipped)
    assert [(f.rule, f.message.split()[0]) for f in findings] == [
        ("LB307", "requirements/common.txt"), ("LB307", "requirements/cuda.txt")]


def test_vllm_cuda_requirements_follow_their_r_chain_and_index():
    from launchbuild.resolver.sources import RequirementsFile

    root = REPOS / "vllm-requirements"
    loaded = RequirementsFile(root / "requirements" / "cuda.txt", root).load()
    got = names(loaded)
    assert got.index("regex") < got.index("torch")  # -r common.txt first, in place
    assert {"transformers", "fastapi", "flashinfer-python", "nvidia-cutlass-dsl"} <= set(got)
    assert loaded.parsed.options.extra_index_urls == ("https://flashinfer.ai/whl/",)
    assert set(loaded.parsed.files) == {"requirements/cuda.txt", "requirements/common.txt"}


def test_stylegan3_environment_maps_ninja_and_holds_its_python_range():
    loaded, _ = winner("stylegan3")
    assert (loaded.kind, loaded.path, loaded.python_pin) == ("environment", "environment.yml", None)
    got = texts(loaded)
    assert got[:5] == ["numpy>=1.20", "click>=8.0", "pillow==8.3.1", "scipy==1.7.1", "torch==1.9.1"]
    assert "ninja==1.10.2" in got and "pyspng" in got  # ninja builds its custom CUDA ops at run time
    assert not loaded.findings and "python>=3.8 (the Pythons it declares)" in loaded.read
    assert (loaded.requires_python.value, loaded.requires_python.detail) == (">=3.8", "environment.yml python")


def test_taming_transformers_environment_installs_the_project_so_it_outranks_setup_py():
    loaded, skipped = winner("taming-transformers")
    assert (loaded.kind, loaded.path, loaded.python_pin.value) == ("environment", "environment.yaml", "3.8")
    assert skipped == [("setup.py", "lower precedence than environment.yaml (environment)")]
    assert "pytorch-lightning==1.0.8" in texts(loaded)
    assert [r.editable for r in loaded.parsed.requirements if r.kind == "path"] == [True]


def test_guided_diffusion_setup_py_wins_and_its_evaluations_requirements_are_elsewhere():
    loaded, skipped = winner("guided-diffusion")
    assert (loaded.kind, loaded.project_file, skipped) == ("setup", "setup.py", [])


def test_exported_conda_envs_map_their_python_packages_and_name_the_rest():
    from launchbuild.resolver.detectors.conda import CondaInput

    loaded = CondaInput(REPOS / "groundingdino" / "environment.yaml", REPOS / "groundingdino").load()
    got = {canonicalize_name(n) for n in names(loaded)}
    assert {"torch", "jinja2", "aiohttp", "idna", "contourpy", "transformers", "opencv-python"} <= got
    assert not any("cuda-" in f.message or "libcu" in f.message for f in loaded.findings)
    unmapped = {f.message.split("'")[1].split("=")[0] for f in loaded.findings}
    assert unmapped and all(f.rule == "LB309" for f in loaded.findings)
    assert {"aws-c-auth", "qt-main", "pywin32"} <= unmapped  # system and Windows libraries: named, not guessed
    deepspeed = CondaInput(REPOS / "deepspeed" / "environment.yml", REPOS / "deepspeed").load()
    assert texts(deepspeed) == ["torch", "torchvision", "torchaudio", "ninja", "py-cpuinfo", "certifi", "pydantic"]
    assert not deepspeed.findings and deepspeed.python_pin.value == "3.10"


def test_monai_requirements_win_over_its_setup_cfg_and_the_cfg_reads_extras():
    from launchbuild.resolver.detectors.setuptools_inputs import SetupCfgInput

    loaded, skipped = winner("monai")
    assert (loaded.kind, loaded.path, texts(loaded)) == ("requirements", "requirements.txt",
                                                         ["torch>=2.4.1, <2.7.0", "numpy>=1.24,<3.0"])
    assert [p for p, _ in skipped] == ["pyproject.toml", "setup.cfg", "setup.py"]
    cfg = SetupCfgInput(REPOS / "monai" / "setup.cfg", REPOS / "monai", ("all",)).load()
    got = texts(cfg)
    assert got[:2] == ["torch>=2.4.1, <2.7.0", "numpy>=1.24,<3.0"] and "pytorch-ignite==0.4.11" in got
    assert "cucim-cu12; platform_system == \"Linux\" and python_version >= '3.9' and python_version <= '3.10'" in got
    assert cfg.read == ("[options] install_requires: 2", "extra all: 41")


def test_monai_setup_cfg_python_requires_names_the_target(tmp_path):
    from launchbuild.jobs.model import CodeSource, Job
    from launchbuild.resolver.api import ResolveOptions, select_target

    src = REPOS / "monai"
    # MONAI's pyproject.toml has no [project]: setup.cfg's `python_requires = >= 3.9` is the constraint
    _, chosen = select_target(src, Job(source=CodeSource(src)), ResolveOptions(cache_dir=tmp_path))
    assert chosen.detail == "setup.cfg python_requires"


def test_unsloth_extras_are_validated_and_left_to_the_build_backend():
    from launchbuild.errors import BadInput
    from launchbuild.resolver.detectors.pyproject import ProjectInput

    path = REPOS / "unsloth" / "pyproject.toml"
    loaded = ProjectInput(path, path.parent, ("cu121-torch240",)).load()
    assert (loaded.own_project, loaded.project_file, loaded.extras) == (".", "pyproject.toml", ("cu121-torch240",))
    assert "cu121-torch240" not in loaded.not_used[0] and "huggingface" in loaded.not_used[0]
    with pytest.raises(BadInput, match="cu999"):
        ProjectInput(path, path.parent, ("cu999",)).load()


def test_lm_eval_dependency_groups_are_offered():
    loaded, _ = winner("lm-evaluation-harness")
    assert (loaded.kind, loaded.own_project) == ("pyproject", ".")
    assert loaded.not_used[-1] == "dependency groups not asked for: dev, dev1 (add --group NAME)"


def test_why_an_environment_outranks_what_it_installs_is_said():
    from launchbuild.resolver.detectors import reason_for

    assert reason_for("environment.yaml", REPOS / "latent-diffusion") == (
        "conda's environment, which installs setup.py too, so it ranks above it (--verbose shows the order)")
    assert reason_for("environment.yml", REPOS / "stylegan3").startswith("conda's environment, mapped to PyPI; the first")
