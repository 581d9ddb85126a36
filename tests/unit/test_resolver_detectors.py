"""The input detectors: each form read into requirement lines (or a lock), what was read and
what was not used, the precedence, and the findings when nothing could be read. Pure parts
are property-tested."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from launchbuild.errors import BadInput
from launchbuild.jobs.fetch import unwrap_single_folder
from launchbuild.resolver import detectors
from launchbuild.resolver.build_errors import build_failure_finding, is_build_failure, last_exception, scrub
from launchbuild.resolver.detectors.conda import CondaInput, conda_to_pep508, mapping_table
from launchbuild.resolver.detectors.constraints import poetry_to_pep440, python_marker
from launchbuild.resolver.detectors.locks import for_target, pylock_body
from launchbuild.resolver.detectors.pipfile import PipfileInput, pipfile_lock_body
from launchbuild.resolver.detectors.pyproject import ProjectInput
from launchbuild.resolver.detectors.setuptools_inputs import SetupCfgInput, SetupPyInput
from launchbuild.resolver.model import Target
from launchbuild.resolver.discovery import discover
from launchbuild.resolver.special import no_input_findings


def texts(loaded):
    return [r.text for r in loaded.parsed.requirements]


# --- Poetry constraints ---------------------------------------------------------------------


@pytest.mark.parametrize("poetry,pep440", [
    ("^1.2.3", ">=1.2.3,<2"), ("^0.2.3", ">=0.2.3,<0.3"), ("^0.0.3", ">=0.0.3,<0.0.4"), ("^0", ">=0,<1"),
    ("^1.2", ">=1.2,<2"), ("~1.2.3", ">=1.2.3,<1.3"), ("~1.2", ">=1.2,<1.3"), ("~1", ">=1,<2"),
    ("*", ""), ("1.2.*", "==1.2.*"), ("1.2.3", "==1.2.3"), (">=1.2 <2", ">=1.2,<2"), (">=1,<2", ">=1,<2"),
    ("~=1.4", "~=1.4"), ("!=1.5", "!=1.5"), ("^2.0.0rc1", ">=2.0.0rc1,<3"),
])
def test_poetry_constraints_in_pep440(poetry, pep440):
    assert poetry_to_pep440(poetry, "pyproject.toml") == (pep440, None)


def test_an_or_keeps_the_last_alternative_and_says_so():
    spec, note = poetry_to_pep440("^1.0 || ^2.0", "x")
    assert spec == ">=2.0,<3" and "no 'or'" in note and "^2.0" in note


def test_python_constraint_becomes_a_marker():
    assert python_marker("^3.8", "x") == "python_version >= '3.8' and python_version < '4'"
    assert python_marker("*", "x") is None


@pytest.mark.parametrize("bad", ["^", "^abc", ">>1", "1.2 foo"])
def test_unreadable_constraints_are_bad_input(bad):
    with pytest.raises(BadInput):
        poetry_to_pep440(bad, "pyproject.toml")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=3), st.sampled_from(["^", "~"]))
def test_caret_and_tilde_admit_the_base_and_refuse_the_bump(parts, op):
    base = ".".join(map(str, parts))
    spec, _ = poetry_to_pep440(op + base, "x")
    s = SpecifierSet(spec)
    assert Version(base) in s
    if op == "^":
        i = next((k for k, p in enumerate(parts) if p != 0), len(parts) - 1)
    else:
        i = 0 if len(parts) == 1 else 1
    bumped = parts[: i + 1]
    bumped[-1] += 1
    assert Version(".".join(map(str, bumped))) not in s


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_constraint_parser_raises_only_bad_input(text):
    try:
        spec, _ = poetry_to_pep440(text, "x")
        SpecifierSet(spec)
    except BadInput:
        pass


# --- conda ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,expected", [
    ("numpy=1.23.1", ("numpy", "==1.23.1")), ("pytorch=1.12.1=py3.10_cuda11.3_cudnn8", ("pytorch", "==1.12.1")),
    ("numpy=1.23", ("numpy", "==1.23.*")), ("conda-forge::numpy>=1.2,<2", ("numpy", ">=1.2,<2")),
    ("numpy 1.2.*", ("numpy", "==1.2.*")), ("numpy", ("numpy", "")), ("NumPy==1.2.3", ("numpy", "==1.2.3")),
])
def test_conda_match_specs(spec, expected):
    assert conda_to_pep508(spec, "environment.yml")[:2] == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_conda_spec_parser_raises_only_bad_input(text):
    try:
        conda_to_pep508(text, "environment.yml")
    except BadInput:
        pass


def test_conda_table_is_sourced_and_maps_pytorch_to_torch():
    table = mapping_table()
    assert table["source"] and table["retrieved"]
    assert table["map"]["pytorch"] == "torch" and table["map"]["py-opencv"] == "opencv-python"
    assert "cudatoolkit" in table["not_pypi"]


def test_environment_yml_keeps_conda_pins_of_pypi_packages(tmp_path):
    (tmp_path / "environment.yml").write_text(
        "name: ldm\nchannels: [pytorch, defaults]\ndependencies:\n  - python=3.8.5\n  - pip=20.3\n"
        "  - cudatoolkit=11.3\n  - pytorch=1.11.0\n  - torchvision=0.12.0\n  - numpy=1.19.2\n  - weirdthing=1.0\n"
        "  - pip:\n    - albumentations==0.4.3\n    - numpy==1.19.5\n")
    loaded = CondaInput(tmp_path / "environment.yml", tmp_path).load()
    assert texts(loaded) == ["torch==1.11.0", "torchvision==0.12.0", "albumentations==0.4.3", "numpy==1.19.5"]
    assert loaded.python_pin.value == "3.8"
    assert [r.location.line for r in loaded.parsed.requirements][:2] == [7, 8]
    assert any("cudatoolkit" in n for n in loaded.not_used)
    assert any("the pip section names numpy" in n for n in loaded.not_used)
    [finding] = loaded.findings
    assert finding.rule == "LB309" and "weirdthing" in finding.message and finding.location.line == 10


# --- pyproject ------------------------------------------------------------------------------


def test_pep621_extras_groups_and_self_references(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Proj"\nversion = "1"\ndependencies = ["requests>=2"]\n'
        '[project.optional-dependencies]\ngpu = ["torch"]\nviz = ["rich"]\nall = ["proj[gpu,viz]"]\n'
        '[dependency-groups]\nlint = ["ruff"]\ndev = ["pytest", {include-group = "lint"}]\n')
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path, ("all",), ("dev",)).load()
    assert texts(loaded) == ["requests>=2", "torch", "rich", "pytest", "ruff"]
    assert loaded.read[0] == "[project].dependencies: 1"
    with pytest.raises(BadInput, match="known groups: dev, lint"):
        ProjectInput(tmp_path / "pyproject.toml", tmp_path, (), ("docs",)).load()
    with pytest.raises(BadInput, match="known extras"):
        ProjectInput(tmp_path / "pyproject.toml", tmp_path, ("nope",)).load()
    not_used = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load().not_used
    assert any("extras not asked for: all, gpu, viz" in n for n in not_used)


def test_pdm_dev_dependencies_are_groups(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\ndependencies = ["attrs"]\n'
        '[tool.pdm.dev-dependencies]\ntest = ["pytest>=7"]\n')
    assert texts(ProjectInput(tmp_path / "pyproject.toml", tmp_path, (), ("test",)).load()) == ["attrs", "pytest>=7"]


def test_poetry_dependencies_translated(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "p"\nversion = "0.1.0"\n'
        '[tool.poetry.dependencies]\npython = "^3.9"\nrequests = "^2.28"\n'
        'uvicorn = {version = "~0.20", extras = ["standard"]}\n'
        'tomli = {version = "^2.0", python = "<3.11"}\n'
        'boto3 = {version = "*", optional = true}\n'
        'mylib = {git = "https://example.org/mylib.git", tag = "v1.0"}\n'
        '[tool.poetry.extras]\naws = ["boto3"]\n'
        '[tool.poetry.group.dev.dependencies]\npytest = "^7.0"\n')
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load()
    assert texts(loaded) == ["requests>=2.28,<3", "uvicorn[standard]>=0.20,<0.21",
                             "tomli>=2.0,<3 ; python_version < '3.11'", "mylib @ git+https://example.org/mylib.git@v1.0"]
    assert any("boto3" in n and "--extra" in n for n in loaded.not_used)
    assert any("dev" in n and "--group" in n for n in loaded.not_used)
    full = ProjectInput(tmp_path / "pyproject.toml", tmp_path, ("aws",), ("dev",)).load()
    assert "boto3" in texts(full) and "pytest>=7.0,<8" in texts(full)
    assert loaded.parsed.requirements[0].location.line == 6


def test_uv_sources_and_dynamic_dependencies_go_to_the_backend(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "nc"\nversion = "0.1"\ndependencies = ["six"]\n'
        '[project.optional-dependencies]\ngpu = ["torch>=2.8"]\n'
        '[[tool.uv.index]]\nname = "pytorch-cu128"\nurl = "https://download.pytorch.org/whl/cu128"\nexplicit = true\n'
        '[tool.uv.sources]\ntorch = [{ index = "pytorch-cu128", extra = "gpu" }]\n')
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path, ("gpu",)).load()
    assert loaded.project_file == "pyproject.toml" and loaded.project_copy == "file"
    assert loaded.extra_index_urls == ("https://download.pytorch.org/whl/cu128",)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "d"\nversion = "1"\ndynamic = ["dependencies"]\n')
    assert ProjectInput(tmp_path / "pyproject.toml", tmp_path).load().project_copy == "tree"


def test_tool_only_pyproject_is_skipped_for_the_next_detector(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n[tool.black]\nline-length = 100\n')
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup(name='x', install_requires=['six'])\n")
    assert "tool settings only" in ProjectInput(tmp_path / "pyproject.toml", tmp_path).unusable_reason()
    kinds = [type(s).__name__ for s, _ in discover(tmp_path)]
    assert kinds == ["ProjectInput", "SetupPyInput"]
    loaded = SetupPyInput(tmp_path / "setup.py", tmp_path).load()
    assert loaded.project_file == "setup.py" and loaded.project_copy == "tree"


# --- setup.cfg, Pipfile ------------------------------------------------------------------------


def test_setup_cfg_install_requires_is_read_statically(tmp_path):
    (tmp_path / "setup.cfg").write_text(
        "[metadata]\nname = x\n[options]\ninstall_requires =\n    numpy>=1.20\n    # a comment\n    tqdm\n"
        "[options.extras_require]\ntest = pytest\n")
    loaded = SetupCfgInput(tmp_path / "setup.cfg", tmp_path, ("test",)).load()
    assert texts(loaded) == ["numpy>=1.20", "tqdm", "pytest"]
    assert loaded.parsed.requirements[0].location.line == 5
    (tmp_path / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n")
    assert SetupCfgInput(tmp_path / "setup.cfg", tmp_path).unusable_reason() == "no [options] install_requires"


def test_pipfile_packages_sources_and_python(tmp_path):
    (tmp_path / "Pipfile").write_text(
        '[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n'
        '[packages]\nrequests = "*"\nflask = ">=2"\nuvicorn = {version = "==0.20", extras = ["standard"]}\n'
        '[dev-packages]\npytest = "*"\n[requires]\npython_version = "3.10"\n')
    loaded = PipfileInput(tmp_path / "Pipfile", tmp_path).load()
    assert texts(loaded) == ["requests", "flask>=2", "uvicorn[standard]==0.20"]
    assert loaded.python_pin.value == "3.10" and loaded.parsed.options.index_url == "https://pypi.org/simple"
    assert "pytest" in texts(PipfileInput(tmp_path / "Pipfile", tmp_path, ("dev",)).load())


# --- locks ---------------------------------------------------------------------------------


PYLOCK = {
    "lock-version": "1.0", "created-by": "test",
    "packages": [
        {"name": "idna", "version": "3.10", "marker": "python_version < '3.12'", "index": "https://pypi.org/simple",
         "wheels": [{"url": "https://x/idna-3.10-py3-none-any.whl", "hashes": {"sha256": "a" * 64}}],
         "sdist": {"url": "https://x/idna-3.10.tar.gz", "hashes": {"sha256": "b" * 64}}},
        {"name": "six", "version": "1.17.0", "wheels": [{"hashes": {"sha256": "c" * 64}}]},
        {"name": "mine", "vcs": {"type": "git", "url": "https://example.org/mine.git", "commit-id": "abc"}},
    ],
}


def test_pylock_becomes_the_internal_lock_and_names_what_it_cannot_hash():
    body, findings, indexes = pylock_body(PYLOCK, "pylock.toml")
    assert body.splitlines()[:4] == ["idna==3.10 ; python_version < '3.12' \\", f"    --hash=sha256:{'a' * 64} \\",
                                     f"    --hash=sha256:{'b' * 64}", "    # via pylock.toml"]
    assert "six==1.17.0 \\" in body
    [finding] = findings
    assert finding.rule == "LB305" and "mine" in finding.message
    assert for_target(body, Target("3.12")).count("==") == 1
    assert for_target(body, Target("3.11")).count("==") == 2
    with pytest.raises(BadInput, match="lock-version"):
        pylock_body({"lock-version": "2.0", "packages": []}, "pylock.toml")


def test_pipfile_lock_entries_keep_hashes_and_markers():
    data = {"_meta": {"sources": [{"url": "https://pypi.org/simple"}]},
            "default": {"six": {"version": "==1.17.0", "hashes": ["sha256:aa", "sha256:bb"]},
                        "tomli": {"version": "==2.0.1", "hashes": ["sha256:cc"], "markers": "python_version < '3.11'"},
                        "mine": {"git": "https://example.org/mine.git", "ref": "abc"}},
            "develop": {"pytest": {"version": "==8.0.0", "hashes": ["sha256:dd"]}}}
    body, findings = pipfile_lock_body(data, "Pipfile.lock", ())
    assert "six==1.17.0 \\" in body and "pytest" not in body and "tomli==2.0.1 ; python_version < '3.11'" in body
    assert [f.rule for f in findings] == ["LB305"]
    assert "pytest==8.0.0" in pipfile_lock_body(data, "Pipfile.lock", ("dev",))[0]


def test_pipfile_lock_as_a_detected_input(tmp_path):
    (tmp_path / "Pipfile.lock").write_text(json.dumps({"_meta": {"requires": {"python_version": "3.10"}},
                                                        "default": {"six": {"version": "==1.17.0", "hashes": ["sha256:aa"]}}}))
    (tmp_path / "Pipfile").write_text('[packages]\nsix = "*"\n')
    (tmp_path / "requirements.txt").write_text("six\n")
    found = [type(s).__name__ for s, _ in discover(tmp_path)]
    assert found == ["PipfileLockInput", "RequirementsFile", "PipfileInput"]
    loaded = found and discover(tmp_path)[0][0].load()
    assert loaded.lock_body.startswith("six==1.17.0") and loaded.python_pin.value == "3.10"


# --- precedence and silence ------------------------------------------------------------------------


def test_detector_order_is_the_documented_precedence(tmp_path):
    for name in ("uv.lock", "pylock.toml", "Pipfile.lock", "requirements.txt", "requirements.in", "pyproject.toml",
                 "Pipfile", "setup.cfg", "setup.py", "environment.yml", "conda.yaml", "requirements.frozen.txt"):
        (tmp_path / name).write_text("")
    found = [type(s).__name__ for s, _ in discover(tmp_path)]
    assert found == ["UvLockInput", "PylockInput", "PipfileLockInput", "RequirementsFile", "RequirementsFile",
                     "ProjectInput", "PipfileInput", "SetupCfgInput", "SetupPyInput", "CondaInput", "CondaInput",
                     "RunPackageList"]
    assert detectors.PRECEDENCE.startswith("uv.lock > pylock.toml")


def test_a_dependency_file_nothing_reads_is_an_error_naming_it(tmp_path):
    (tmp_path / "requirements-gpu.txt").write_text("torch\n")
    (tmp_path / "conda-lock.yml").write_text("x: 1\n")
    (tmp_path / "train.py").write_text("print(1)\n")
    findings = no_input_findings(tmp_path, [])
    assert [(f.rule, f.severity.value, f.location.path) for f in findings] == [
        ("LB307", "error", "conda-lock.yml"), ("LB307", "error", "requirements-gpu.txt")]


def test_no_dependency_file_at_all_is_an_info(tmp_path):
    (tmp_path / "train.py").write_text("print(1)\n")
    [finding] = no_input_findings(tmp_path, [])
    assert finding.rule == "LB308" and finding.severity.value == "info"
    assert "no third-party packages" in finding.message
    (tmp_path / "requirements.txt").write_text("# nothing\n")
    [finding] = no_input_findings(tmp_path, [("requirements.txt", "lists no packages")])
    assert finding.rule == "LB308" and "requirements.txt: lists no packages" in finding.message


def test_an_archive_folder_is_unwrapped(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "__MACOSX").mkdir()
    assert unwrap_single_folder(tmp_path) == tmp_path / "proj"
    (tmp_path / "train.py").write_text("")
    assert unwrap_single_folder(tmp_path) == tmp_path


# --- build-backend failures ---------------------------------------------------------------------------

UV_STDERR = """\
  × Failed to build `demo @ file:///tmp/launchbuild-uv-abc123/project`
  ├─▶ The build backend returned an error
  ╰─▶ Call to `setuptools.build_meta:__legacy__.prepare_metadata_for_build_wheel` failed (exit status: 1)

      [stderr]
      Traceback (most recent call last):
        File "<string>", line 14, in <module>
        File "/tmp/launchbuild-uv-abc123/project/setup.py", line 1, in <module>
      ModuleNotFoundError: No module named 'pkg_resources'

      hint: This usually indicates a problem with the package or the build environment.
"""


def test_lb301_for_a_build_states_the_cause_first_without_temp_paths():
    assert is_build_failure(UV_STDERR)
    assert last_exception(UV_STDERR) == "ModuleNotFoundError: No module named 'pkg_resources'"
    f = build_failure_finding(UV_STDERR, "setup.py", Target("3.11"), "uv", None)
    assert f.rule == "LB301" and f.message.startswith("ModuleNotFoundError: No module named 'pkg_resources'")
    assert "/tmp/" not in f.message


def test_scrub_drops_credentials():
    assert scrub("fetch https://user:tok3n@host.example/x failed") == "fetch https://***@host.example/x failed"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=", min_size=1,
               max_size=16))
def test_scrub_never_keeps_a_password(secret):
    out = scrub(f"x https://me:{secret}@h.example/p y")
    assert f":{secret}@" not in out and "https://***@h.example/p" in out


_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                        max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["lock-version", "packages", "x"]), _JSONISH, max_size=3))
def test_pylock_reader_raises_only_bad_input(data):
    try:
        pylock_body(data, "pylock.toml")
    except BadInput:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["_meta", "default", "develop"]), _JSONISH, max_size=3))
def test_pipfile_lock_reader_raises_only_bad_input(data):
    try:
        pipfile_lock_body(data, "Pipfile.lock", ("dev",))
    except BadInput:
        pass


_TOMLISH = st.recursive(st.booleans() | st.integers() | st.text(max_size=10),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
                        max_leaves=15)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "project": st.fixed_dictionaries({}, optional={"name": _TOMLISH, "dependencies": _TOMLISH,
                                                   "optional-dependencies": _TOMLISH, "dynamic": _TOMLISH}),
    "dependency-groups": _TOMLISH,
    "build-system": _TOMLISH,
    "tool": st.fixed_dictionaries({}, optional={
        "poetry": st.fixed_dictionaries({}, optional={"dependencies": _TOMLISH, "group": _TOMLISH,
                                                      "extras": _TOMLISH, "dev-dependencies": _TOMLISH}),
        "pdm": st.fixed_dictionaries({}, optional={"dev-dependencies": _TOMLISH}),
        "uv": st.fixed_dictionaries({}, optional={"sources": _TOMLISH, "index": _TOMLISH}),
    }),
}), st.lists(st.text(min_size=1, max_size=5), max_size=2))
def test_pyproject_reader_raises_only_bad_input(tmp_path_factory, data, wanted):
    from launchbuild.resolver.detectors import pyproject as pp

    src = pp.ProjectInput(tmp_path_factory.mktemp("p") / "pyproject.toml", None, tuple(wanted), tuple(wanted))
    try:
        if pp.dialect(data) == "poetry":
            pp._poetry(src, data, "", "pyproject.toml")
        else:
            pp._pep621(src, data, "", "pyproject.toml")
    except BadInput:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=10), _TOMLISH)
def test_pipfile_entry_reader_raises_only_bad_input(tmp_path_factory, name, spec):
    from launchbuild.resolver.detectors.pipfile import _entry

    try:
        _entry(name, spec, "Pipfile", "", tmp_path_factory.mktemp("pf"))
    except BadInput:
        pass


def test_a_nested_dependency_file_is_mentioned_not_an_error(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "requirements.txt").write_text("sphinx\n")
    (tmp_path / "requirements").mkdir()
    [finding] = no_input_findings(tmp_path, [])
    assert finding.rule == "LB308" and "also found, not read: docs/requirements.txt" in finding.message
    (tmp_path / "requirements" / "base.txt").write_text("six\n")
    [finding] = no_input_findings(tmp_path, [])
    assert finding.rule == "LB307" and finding.location.path == "requirements/base.txt"


def test_root_variants_beside_the_winner_are_listed_as_not_read(tmp_path):
    from launchbuild.resolver.special import unread_beside

    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    assert unread_beside(tmp_path, discover(tmp_path)) == [
        ("requirements-dev.txt", "not read: no input form reads this name (pass --requirements FILE to use it)")]


def test_lb301_names_the_package_whose_build_failed():
    stderr = ("  × Failed to build `flash-attn==2.5.8`\n  ├─▶ The build backend returned an error\n"
              "      [stderr]\n      ModuleNotFoundError: No module named 'torch'\n")
    f = build_failure_finding(stderr, "requirements.txt", Target("3.11"), "uv", None)
    assert f.message.startswith("ModuleNotFoundError: No module named 'torch': building flash-attn==2.5.8 "
                                "(from requirements.txt) failed")


def test_uv_lock_under_a_relative_source_dir_is_exported(tmp_path, monkeypatch):
    # `check ./job`: uv ran with cwd=job and --project job, i.e. job/job, and found no project.
    import shutil
    from pathlib import Path

    from launchbuild.resolver.detectors.locks import UvLockInput

    golden = Path(__file__).resolve().parent.parent / "fixtures" / "inputs" / "uv-lock"
    shutil.copytree(golden, tmp_path / "job")
    monkeypatch.chdir(tmp_path)
    loaded = UvLockInput(Path("job") / "uv.lock", Path("job")).load()
    assert loaded.lock_body and "==" in loaded.lock_body and not loaded.findings


@pytest.mark.parametrize("python,expected", [("~3.10", "3.10"), ("^3.12", "3.13"), (">=3.9,<3.11", "3.10"),
                                             (">=3.11,<3.12", "3.11")])
def test_poetry_python_constraint_is_the_projects_requires_python(python, expected, tmp_path):
    # poetry-core writes `python = ...` as Requires-Python: an image outside it cannot install the project.
    from launchbuild.jobs.model import CodeSource, Job
    from launchbuild.resolver.api import ResolveOptions, select_target

    (tmp_path / "pyproject.toml").write_text(
        f'[tool.poetry]\nname = "p"\n[tool.poetry.dependencies]\npython = "{python}"\nrequests = "^2.31"\n')
    target, chosen = select_target(tmp_path, Job(source=CodeSource(tmp_path)), ResolveOptions(cache_dir=tmp_path / "c"))
    assert target.python == expected and "tool.poetry" in chosen.detail
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load()
    assert any("requires-python" in n for n in loaded.not_used) and "python" not in texts(loaded)[0]


def test_pep621_requires_python_wins_over_a_poetry_python(tmp_path):
    from launchbuild.jobs.model import CodeSource, Job
    from launchbuild.resolver.api import ResolveOptions, select_target

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.9,<3.10"\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\n')
    target, _ = select_target(tmp_path, Job(source=CodeSource(tmp_path)), ResolveOptions(cache_dir=tmp_path / "c"))
    assert target.python == "3.9"


@pytest.mark.parametrize("own_line", ["- -e .", "- .", "- --editable ./", "- -e .  # the package"])
def test_an_environment_that_installs_the_project_outranks_its_setup_py(own_line, tmp_path):
    # latent-diffusion: setup.py lists torch, numpy, tqdm; environment.yaml pins those, a dozen
    # more and `-e .` itself. The setup.py alone would drop the environment.
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup(name='p', install_requires=['torch'])\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\ndependencies = ["torch"]\n')
    (tmp_path / "environment.yml").write_text(
        f"dependencies:\n  - python=3.10\n  - pip\n  - pip:\n    - einops==0.3.0\n    {own_line}\n")
    found = [type(s).__name__ for s in detectors.detected(tmp_path)]
    assert found == ["CondaInput", "ProjectInput", "SetupPyInput"]
    (tmp_path / "requirements.txt").write_text("einops\n")  # a requirements file still ranks first
    assert [type(s).__name__ for s in detectors.detected(tmp_path)][:2] == ["RequirementsFile", "CondaInput"]


@pytest.mark.parametrize("pip_line", ["- ./libs/x", "- -e ./other", "- numpy", "- pip=23"])
def test_an_environment_without_the_project_keeps_its_rank(pip_line, tmp_path):
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup(name='p')\n")
    (tmp_path / "environment.yml").write_text(f"dependencies:\n  - pip\n  - pip:\n    {pip_line}\n")
    assert [type(s).__name__ for s in detectors.detected(tmp_path)] == ["SetupPyInput", "CondaInput"]


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.sampled_from(["  - numpy=1.2", "  - pip:", "    - .", "    - -e .", "    - ./x", "    - .venv",
                                 "# - -e .", "    - -e ..", "name: x"]), max_size=6))
def test_own_project_scan_matches_only_the_root_directory(lines, tmp_path_factory):
    from launchbuild.resolver.detectors.conda import installs_own_project

    path = tmp_path_factory.mktemp("env") / "environment.yml"
    path.write_text("\n".join(lines) + "\n")
    assert installs_own_project(path) == any(ln.strip() in ("- .", "- -e .") for ln in lines)


def test_included_requirements_files_are_shown_relative_to_the_job(tmp_path):
    # vLLM's requirements/cuda.txt does `-r common.txt`: the included file was listed by its host path.
    from launchbuild.resolver.sources import RequirementsFile

    (tmp_path / "req").mkdir()
    (tmp_path / "req" / "cuda.txt").write_text("-r common.txt  # shared\ntorch==2.4.0\n")
    (tmp_path / "req" / "common.txt").write_text("# tokenizers\nregex\n-c pins.txt\n")
    (tmp_path / "req" / "pins.txt").write_text("regex<2030  # pinned\n")
    loaded = RequirementsFile(tmp_path / "req" / "cuda.txt", tmp_path).load()
    assert loaded.parsed.files == ("req/cuda.txt", "req/common.txt", "req/pins.txt")
    assert {loc.path for loc, _ in loaded.parsed.comments} == {"req/cuda.txt", "req/common.txt", "req/pins.txt"}
    assert str(tmp_path) not in repr(loaded)


MINGPT_STDERR = """\
  × Failed to build `mingpt @ file:///tmp/launchbuild-x/projects/p0`
  ├─▶ The build backend returned an error
  ╰─▶ Call to `setuptools.build_meta:__legacy__.get_requires_for_build_wheel` failed (exit status: 1)

      [stdout]
      running egg_info
      writing top-level names to minGPT.egg-info/top_level.txt

      [stderr]
      error: package directory 'mingpt' does not exist
error: The build backend returned an error
"""


def test_a_setuptools_error_line_is_the_cause_when_there_is_no_exception():
    # minGPT's setup.py without its package dir: setuptools exits with `error: ...`, no traceback.
    assert last_exception(MINGPT_STDERR) == "error: package directory 'mingpt' does not exist"
    f = build_failure_finding(MINGPT_STDERR, "setup.py", Target("3.11"), "uv", None)
    assert f.message.startswith("error: package directory 'mingpt' does not exist: building setup.py failed")
    assert "/tmp/" not in f.message


def test_uvs_own_error_line_is_never_the_cause():
    assert last_exception("error: The build backend returned an error\n  cause: x\n") is None
    assert last_exception("      [stdout]\n      error: printed by the setup.py\n") is None


def test_conda_cuda_component_families_are_not_used_with_why_not_lb309(tmp_path):
    # An exported env from the nvidia channel lists dozens: cuda-cudart, libcublas, libnpp, ...
    (tmp_path / "environment.yml").write_text(
        "dependencies:\n  - cuda-cudart=11.8.89=0\n  - libcublas-dev=11.11.3.6=0\n  - libnpp=11.8.0.86=0\n"
        "  - cuda-python=12.3\n  - ninja=1.10.2\n  - py-cpuinfo\n  - python-tzdata=2023.3\n  - tzdata=2023c\n")
    loaded = CondaInput(tmp_path / "environment.yml", tmp_path).load()
    assert texts(loaded) == ["cuda-python==12.3.*", "ninja==1.10.2", "py-cpuinfo", "tzdata==2023.3.*"]
    assert not loaded.findings
    assert sum("the CUDA toolkit" in n for n in loaded.not_used) == 3
    assert any(n.startswith("conda 'tzdata=2023c': a system package") for n in loaded.not_used)


def test_every_conda_table_row_is_well_formed():
    table = mapping_table()
    assert not set(table["map"]) & set(table["not_pypi"])  # a name is one or the other
    assert all(isinstance(v, str) and v for v in table["map"].values())
    # an exact row wins over a family prefix: cuda-python is a PyPI distribution
    assert table["map"]["cuda-python"] == "cuda-python" and "cuda-" in table["not_pypi_prefixes"]


def test_a_conda_python_range_is_the_pythons_the_job_declares(tmp_path):
    # Dropped once (the target then came from the default whatever the range said): it is held
    # like requires-python now, so the target follows it and an overriding --python is LB312.
    (tmp_path / "environment.yml").write_text("dependencies:\n  - python >= 3.8\n  - numpy>=1.20\n")
    loaded = CondaInput(tmp_path / "environment.yml", tmp_path).load()
    assert loaded.python_pin is None and texts(loaded) == ["numpy>=1.20"]
    assert (loaded.requires_python.value, loaded.requires_python.detail) == (">=3.8", "environment.yml python")
    assert "python>=3.8 (the Pythons it declares)" in loaded.read and not loaded.not_used


@pytest.mark.parametrize("line, pin, declared", [
    ("conda-forge::python=3.10", "3.10", None),
    ("conda-forge::python>=3.9,<3.12", None, ">=3.9,<3.12"),
    ("python >=3.10, <3.13", None, ">=3.10,<3.13"),
    ("python", None, None),
])
def test_conda_python_lines_with_channels_and_spaces(tmp_path, line, pin, declared):
    (tmp_path / "environment.yml").write_text(f"dependencies:\n  - {line}\n  - numpy\n")
    loaded = CondaInput(tmp_path / "environment.yml", tmp_path).load()
    assert (loaded.python_pin.value if loaded.python_pin else None) == pin
    assert (loaded.requires_python.value if loaded.requires_python else None) == declared


def test_a_conda_python_range_pip_cannot_read_is_bad_input(tmp_path):
    (tmp_path / "environment.yml").write_text("dependencies:\n  - python >=3.8,<3.10|>=3.12\n  - numpy\n")
    with pytest.raises(BadInput, match=r"python range 'python >=3.8,<3.10\|>=3.12' in environment.yml"):
        CondaInput(tmp_path / "environment.yml", tmp_path).load()


def test_pipfile_allow_prereleases_and_python_full_version_are_honoured(tmp_path):
    # Both were read by pipenv and silently dropped here: a pre-release pin then did not resolve,
    # and the image's Python came from the default instead of the Pipfile.
    (tmp_path / "Pipfile").write_text(
        '[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n\n[packages]\ntorch = "==2.6.0"\n'
        '[requires]\npython_full_version = "3.10.4"\n\n[pipenv]\nallow_prereleases = true\n')
    loaded = PipfileInput(tmp_path / "Pipfile", tmp_path).load()
    assert loaded.parsed.options.pre and loaded.python_pin.value == "3.10"
    assert "[pipenv] allow_prereleases: pre-releases allowed" in loaded.read
    (tmp_path / "Pipfile").write_text('[packages]\nx = "*"\n[requires]\npython_version = "3.9"\n'
                                      'python_full_version = "3.9.18"\n[pipenv]\nallow_prereleases = false\n')
    loaded = PipfileInput(tmp_path / "Pipfile", tmp_path).load()
    assert not loaded.parsed.options.pre and loaded.python_pin.value == "3.9"


def test_poetry_platform_becomes_a_sys_platform_marker(tmp_path):
    # A Poetry list form with a linux and a darwin torch wheel: without the marker, two conflicting torches.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "p"\npackage-mode = false\n[tool.poetry.dependencies]\npython = "^3.9"\ntorch = [\n'
        '  { platform = "linux", url = "https://download.pytorch.org/whl/cu113/torch-1.11.0%2Bcu113-cp39-cp39-linux_x86_64.whl" },\n'
        '  { platform = "darwin", url = "https://download.pytorch.org/whl/cpu/torch-1.11.0-cp39-none-macosx_11_0_arm64.whl" },\n'
        ']\nuvloop = { version = "^0.19", platform = "linux || darwin", python = ">=3.10" }\n')
    got = texts(ProjectInput(tmp_path / "pyproject.toml", tmp_path).load())
    assert got[0].endswith("linux_x86_64.whl ; sys_platform == 'linux'")
    assert got[1].endswith("arm64.whl ; sys_platform == 'darwin'")
    assert got[2] == "uvloop>=0.19,<0.20 ; python_version >= '3.10' and (sys_platform == 'linux' or sys_platform == 'darwin')"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["linux", "darwin", "win32", "cygwin", "freebsd8"]), min_size=1, max_size=3, unique=True),
       st.sampled_from(["linux", "darwin", "win32", "cygwin", "freebsd8", "aix"]))
def test_poetry_platform_marker_admits_exactly_its_platforms(platforms, here):
    from packaging.markers import Marker

    from launchbuild.resolver.detectors.pyproject import _platform_marker

    marker = Marker(_platform_marker(" || ".join(platforms), "x"))
    assert marker.evaluate({"sys_platform": here}) == (here in platforms)


@pytest.mark.parametrize("bad", ["linux; rm", "", "linux ||"])
def test_an_unreadable_poetry_platform_is_bad_input(bad):
    from launchbuild.resolver.detectors.pyproject import _platform_marker

    with pytest.raises(BadInput):
        _platform_marker(bad, "torch in pyproject.toml")


@pytest.mark.parametrize("python_requires,expected", [(">= 3.9", "3.13"), (">=3.9, <3.11", "3.10"), ("~=3.10.0", "3.10")])
def test_setup_cfg_python_requires_constrains_the_target(python_requires, expected, tmp_path):
    # MONAI's setup.cfg says `python_requires = >= 3.9`; it was read for nothing, like Poetry's python.
    from launchbuild.jobs.model import CodeSource, Job
    from launchbuild.resolver.api import ResolveOptions, select_target

    (tmp_path / "setup.cfg").write_text(f"[metadata]\nname = p\n[options]\npython_requires = {python_requires}\n"
                                        "install_requires =\n    numpy\n")
    target, chosen = select_target(tmp_path, Job(source=CodeSource(tmp_path)), ResolveOptions(cache_dir=tmp_path / "c"))
    assert (target.python, chosen.detail) == (expected, "setup.cfg python_requires")


def test_a_setup_cfg_configparser_cannot_read_constrains_nothing(tmp_path):
    from launchbuild.resolver.detectors.setuptools_inputs import setup_cfg_python_requires

    (tmp_path / "setup.cfg").write_text("[flake8]\nmax-line = 1\n[flake8]\n")  # a duplicate section
    assert setup_cfg_python_requires(tmp_path / "setup.cfg") is None


@pytest.mark.parametrize("include", ["- -r requirements.txt", "- --requirement requirements.txt",
                                     "- -r ./requirements.txt", "- -r 'requirements.txt'"])
def test_an_environment_that_includes_the_requirements_file_outranks_it(include, tmp_path):
    # requirements.txt winning alone dropped the environment's conda pins and its python=.
    (tmp_path / "requirements.txt").write_text("transformers==4.40.0\n")
    (tmp_path / "environment.yml").write_text(
        f"dependencies:\n  - python=3.10\n  - numpy=1.24\n  - pip\n  - pip:\n    {include}\n    - einops\n")
    assert [type(s).__name__ for s in detectors.detected(tmp_path)] == ["CondaInput", "RequirementsFile"]
    loaded = CondaInput(tmp_path / "environment.yml", tmp_path).load()
    assert texts(loaded) == ["numpy==1.24.*", "transformers==4.40.0", "einops"] and loaded.python_pin.value == "3.10"


def test_an_environment_including_another_file_keeps_its_rank(tmp_path):
    (tmp_path / "requirements.txt").write_text("transformers\n")
    (tmp_path / "requirements-conda.txt").write_text("einops\n")
    (tmp_path / "environment.yml").write_text("dependencies:\n  - pip:\n    - -r requirements-conda.txt\n")
    assert [type(s).__name__ for s in detectors.detected(tmp_path)] == ["RequirementsFile", "CondaInput"]


def test_a_file_url_include_is_read_like_a_path(tmp_path):
    # conda's docs write `- -r file:requirements.txt`; it was "does not exist".
    from launchbuild.resolver.sources import RequirementsFile

    (tmp_path / "requirements.txt").write_text("transformers==4.40.0\n")
    (tmp_path / "environment.yml").write_text("dependencies:\n  - python=3.10\n  - pip:\n    - -r file:requirements.txt\n")
    assert [type(s).__name__ for s in detectors.detected(tmp_path)] == ["CondaInput", "RequirementsFile"]
    assert texts(CondaInput(tmp_path / "environment.yml", tmp_path).load()) == ["transformers==4.40.0"]
    (tmp_path / "outer.txt").write_text("-r file:///etc/passwd\n")  # still confined to the job
    with pytest.raises(BadInput):
        RequirementsFile(tmp_path / "outer.txt", tmp_path).load()


def test_poetry_sources_become_extra_indexes(tmp_path):
    # `torchvision = {source = "pytorch"}` with its [[tool.poetry.source]] was "not routed": the
    # lock took PyPI's default CUDA build instead of the named index.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "p"\npackage-mode = false\n[tool.poetry.dependencies]\npython = "^3.10"\n'
        'torchvision = { version = "^0.17", source = "pytorch" }\nnumpy = "^1.26"\n'
        '[tool.poetry.group.dev.dependencies]\npytest = { version = "^8", source = "mirror" }\n'
        '[[tool.poetry.source]]\nname = "pytorch"\nurl = "https://download.pytorch.org/whl/cu121"\npriority = "explicit"\n'
        '[[tool.poetry.source]]\nname = "mirror"\nurl = "https://mirror.example/simple"\npriority = "explicit"\n'
        '[[tool.poetry.source]]\nname = "extra"\nurl = "https://extra.example/simple"\npriority = "supplemental"\n'
        '[[tool.poetry.source]]\nname = "PyPI"\npriority = "primary"\n')
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load()
    assert loaded.parsed.options.extra_index_urls == ("https://download.pytorch.org/whl/cu121",
                                                      "https://extra.example/simple")
    assert any("'mirror'" in n and "explicit, and no asked-for dependency names it" in n for n in loaded.not_used)
    with_dev = ProjectInput(tmp_path / "pyproject.toml", tmp_path, (), ("dev",)).load()
    assert "https://mirror.example/simple" in with_dev.parsed.options.extra_index_urls


@pytest.mark.parametrize("sources,match", [
    ('[tool.poetry]\nsource = "x"\n', "not an array of tables"),
    ('[[tool.poetry.source]]\nname = "x"\nurl = "ftp://host/simple"\n', "URL"),
])
def test_unreadable_poetry_sources_are_bad_input(sources, match, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        sources.replace("[tool.poetry]\n", "[tool.poetry]\nname = \"p\"\n") if sources.startswith("[tool.poetry]")
        else '[tool.poetry]\nname = "p"\n' + sources)
    with (tmp_path / "pyproject.toml").open("a") as f:
        f.write('[tool.poetry.dependencies]\nnumpy = "*"\n')
    with pytest.raises(BadInput, match=match):
        ProjectInput(tmp_path / "pyproject.toml", tmp_path).load()


@pytest.mark.parametrize("spec,expected", [
    ("pytorch[version='>=1.12',build=*cuda*]", ("pytorch", ">=1.12")),  # MatchSpec brackets
    ('numpy[version=">=1.2,<2"]', ("numpy", ">=1.2,<2")),
    ("numpy[version=1.24.*, build_number=2]", ("numpy", "==1.24.*")),
    ("pytorch[build=*cuda*]", ("pytorch", "")),
    ("pytorch==2.1.0=py3.10_cuda12.1_cudnn8_0", ("pytorch", "==2.1.0")),  # == with a build string
    ("numpy>=1.2 ,<2", ("numpy", ">=1.2,<2")),  # the upper bound was cut at the space
])
def test_conda_match_spec_forms_real_envs_use(spec, expected):
    assert conda_to_pep508(spec, "environment.yml")[:2] == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=3), st.sampled_from([
    "{n}={v}", "{n}={v}=py310h1234_0", "{n}=={v}", "{n}=={v}=cuda_0", "{n} {v}.*", "{n}>={v}", "{n}>={v} ,<99",
    "{n}[version='>={v}',build=*cuda*]", "conda-forge::{n}={v}", "{n} {v} h1234_0"]))
def test_conda_specs_translate_to_pep440_that_admits_the_version(parts, form):
    from packaging.specifiers import SpecifierSet

    version = ".".join(map(str, parts))
    name, specifier, _ = conda_to_pep508(form.format(n="numpy", v=version), "environment.yml")
    assert name == "numpy" and version in SpecifierSet(specifier)


def test_a_conda_version_pep440_cannot_read_is_unpinned_and_said(tmp_path):
    (tmp_path / "environment.yml").write_text("dependencies:\n  - python-tzdata=2023c\n  - numpy=1.24\n")
    loaded = CondaInput(tmp_path / "environment.yml", tmp_path).load()
    assert texts(loaded) == ["tzdata", "numpy==1.24.*"]
    assert "version '==2023c.*' is not a PEP 440 version; tzdata is unpinned" in loaded.not_used[0]


def test_a_file_url_to_a_project_in_the_job_is_the_jobs_own_project(tmp_path):
    # Poetry's `mylib = {path = "libs/mylib", develop = true}` and Pipfile's path entries become
    # `mylib @ file:///job/libs/mylib`: that was LB305 "not a project in the job".
    from launchbuild.core.findings import Location
    from launchbuild.resolver.own_project import split_local_projects
    from launchbuild.resolver.requirements import parse_requirement

    (tmp_path / "job" / "libs" / "mylib").mkdir(parents=True)
    (tmp_path / "job" / "libs" / "mylib" / "pyproject.toml").write_text('[project]\nname = "mylib"\nversion = "1"\n')
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "setup.py").write_text("")
    job = tmp_path / "job"
    inside = parse_requirement(f"mylib[fast] @ {(job / 'libs' / 'mylib').as_uri()}", Location("pyproject.toml", 6))
    outside = parse_requirement(f"other @ {(tmp_path / 'elsewhere').as_uri()}", Location("pyproject.toml", 7))
    keep, projects = split_local_projects((inside, outside), job)
    assert keep == (outside,)  # outside the job: LB305 says why
    [(_, path, rel, line)] = projects
    assert (rel, line.extras, path) == ("libs/mylib", ("fast",), (job / "libs" / "mylib").resolve())
    (tmp_path / "job" / "Pipfile").write_text('[packages]\nmylib = {path = "./libs/mylib", editable = true}\n')
    pip_line = PipfileInput(job / "Pipfile", job).load().parsed.requirements[0]
    assert split_local_projects((pip_line,), job)[1][0][2] == "libs/mylib"


def test_pipfile_marker_keys_become_markers(tmp_path):
    # pipenv's `sys_platform = "== 'win32'"` was dropped: pywin32 then had to resolve for linux.
    from packaging.markers import Marker

    (tmp_path / "Pipfile").write_text(
        "[packages]\npywin32 = {version = \"*\", sys_platform = \"== 'win32'\"}\n"
        "uvloop = {version = \">=0.19\", os_name = \"!= 'nt'\", markers = \"python_version >= '3.10'\"}\nsix = \"*\"\n")
    lines = PipfileInput(tmp_path / "Pipfile", tmp_path).load().parsed.requirements
    assert [r.text for r in lines] == ["pywin32 ; sys_platform == 'win32'",
                                       "uvloop>=0.19 ; (python_version >= '3.10') and os_name != 'nt'", "six"]
    linux = {"sys_platform": "linux", "os_name": "posix", "python_version": "3.11"}
    assert [Marker(r.marker).evaluate(linux) if r.marker else True for r in lines] == [False, True, True]


@pytest.mark.parametrize("value", ["win32", "== win32", "== 'a' or 1", 3])
def test_an_unreadable_pipfile_marker_key_is_bad_input(value, tmp_path):
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    (tmp_path / "Pipfile").write_text(f'[packages]\npywin32 = {{version = "*", sys_platform = {shown}}}\n')
    with pytest.raises(BadInput, match="sys_platform of package 'pywin32'"):
        PipfileInput(tmp_path / "Pipfile", tmp_path).load()


def test_poetry_allow_prereleases_is_said_not_dropped(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.poetry]\nname = "p"\npackage-mode = false\n'
                                             '[tool.poetry.dependencies]\ndatasets = { version = "^2.2", allow-prereleases = true }\n')
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load()
    assert texts(loaded) == ["datasets>=2.2,<3"]
    assert any(n.startswith("datasets: allow-prereleases has no per-package form") for n in loaded.not_used)


@pytest.mark.parametrize("url", ["https://pypi.org/simple\n--find-links /etc", "https://evil host/simple",
                                 "file:///etc", "https://${PIP_TOKEN}@idx.example/simple"])
def test_a_pipfile_source_url_is_held_to_the_index_url_rules(tmp_path, url):
    # [[source]] urls became the backend's --index-url line as written: a line break in one
    # wrote `--find-links /etc` into the input and the lock.
    (tmp_path / "Pipfile").write_text(f"[[source]]\nurl = {json.dumps(url)}\nname = \"x\"\n[packages]\nsix = \"*\"\n")
    with pytest.raises(BadInput, match=r"\[\[source\]\] in Pipfile: URL"):
        PipfileInput(tmp_path / "Pipfile", tmp_path).load()


@pytest.mark.parametrize("meta", [[1], {"requires": "3.11"}, {"sources": "https://pypi.org/simple"},
                                  {"sources": [{"url": "https://evil host/simple"}]}])
def test_a_malformed_pipfile_lock_meta_is_bad_input(tmp_path, meta):
    from launchbuild.resolver.detectors.pipfile import PipfileLockInput

    (tmp_path / "Pipfile.lock").write_text(json.dumps({"_meta": meta, "default": {}}))
    with pytest.raises(BadInput, match="Pipfile.lock"):
        PipfileLockInput(tmp_path / "Pipfile.lock", tmp_path).load()


def test_an_index_url_a_lock_names_is_held_to_the_index_url_rules():
    # uv.lock registries, pylock `index`, [[tool.uv.index]]: refused at resolve (exit 2), not
    # first by the build plan after a passing check.
    from launchbuild.resolver.boundary import take_input_credentials
    from launchbuild.resolver.requirements import ParsedRequirements
    from launchbuild.resolver.sources import LoadedInput

    loaded = LoadedInput("lock", "pylock.toml", ParsedRequirements(), extra_index_urls=("https://evil host/simple",))
    with pytest.raises(BadInput, match="pylock.toml: index URL"):
        take_input_credentials(loaded)


def test_a_uv_path_source_copies_the_tree_and_is_installed_as_the_jobs_own_project(tmp_path):
    # `x = { path = "libs/x" }` was compiled from a copy of pyproject.toml alone (uv found no
    # libs/x), and uv's unhashed `libs/x` entry was 'cannot read lock entry', exit 1.
    from launchbuild.resolver.special import _path_source_entries

    (tmp_path / "libs" / "x").mkdir(parents=True)
    (tmp_path / "libs" / "x" / "setup.py").write_text("from setuptools import setup\nsetup(name='x')\n")
    (tmp_path / "libs" / "data").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "j"\nversion = "1"\ndependencies = ["x"]\n'
                                             '[tool.uv.sources]\nx = { path = "libs/x" }\n')
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load()
    assert loaded.project_copy == "tree"
    body = ("libs/x\n    # via j (pyproject.toml)\n"
            f"six==1.17.0 \\\n    --hash=sha256:{'a' * 64}\n    # via x\n")
    kept, projects, findings = _path_source_entries(body, loaded)
    assert projects == ("libs/x",) and findings == ()
    assert kept == f"six==1.17.0 \\\n    --hash=sha256:{'a' * 64}\n    # via x\n"
    _, projects, findings = _path_source_entries("-e ./libs/data\n    # via j\n", loaded)
    assert projects == () and [f.rule for f in findings] == ["LB305"]


def test_a_utf8_bom_is_read_past_in_setup_cfg_and_pipfile_lock(tmp_path):
    from launchbuild.resolver.detectors.pipfile import PipfileLockInput

    (tmp_path / "setup.cfg").write_bytes(b"\xef\xbb\xbf[options]\ninstall_requires =\n    six\n")
    cfg = SetupCfgInput(tmp_path / "setup.cfg", tmp_path)
    assert cfg.unusable_reason() is None and texts(cfg.load()) == ["six"]
    (tmp_path / "Pipfile.lock").write_bytes(b"\xef\xbb\xbf" + json.dumps(
        {"default": {"six": {"version": "==1.17.0", "hashes": ["sha256:" + "a" * 64]}}}).encode())
    assert "six==1.17.0" in PipfileLockInput(tmp_path / "Pipfile.lock", tmp_path).load().lock_body


def test_an_environment_of_only_unknown_conda_names_says_which_when_skipped(tmp_path):
    # Skipped as empty, its LB309 findings were dropped with it: the report never named them.
    (tmp_path / "environment.yml").write_text("dependencies:\n  - python=3.11\n  - weirdthing=1.0\n  - cudatoolkit\n")
    loaded = CondaInput(tmp_path / "environment.yml", tmp_path).load()
    assert loaded.empty_reason.endswith("(no known PyPI name: weirdthing=1.0)")


def test_a_pep621_relative_path_dependency_is_the_projects_whatever_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n'
                                             'dependencies = ["lib @ file:./libs/lib", "six"]\n')
    monkeypatch.chdir("/")
    lines = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load().parsed.requirements
    lib = next(r for r in lines if r.name == "lib")
    assert lib.kind == "path" and lib.url == (tmp_path / "libs" / "lib").as_uri()


# ---- environment.yml's PyTorch selector ----------------------------------------------------

from hypothesis import given, strategies as st  # noqa: E402

from launchbuild.resolver.detectors.conda import torch_build_label  # noqa: E402


@pytest.mark.parametrize("specs, want", [
    (["pytorch=2.1.0", "pytorch-cuda=11.8"], ("cu118", "pytorch-cuda=11.8")),
    (["pytorch::pytorch-cuda==12.1"], ("cu121", "pytorch::pytorch-cuda==12.1")),
    (["pytorch", "cudatoolkit=11.3.1"], ("cu113", "cudatoolkit=11.3.1")),
    (["pytorch-gpu", "cudatoolkit=11.3"], ("cu113", "cudatoolkit=11.3")),
    (["cudatoolkit=11.3"], (None, None)),  # no pytorch: the CUDA runtime for something else
    (["pytorch", "cpuonly"], ("cpu", "cpuonly")),
    (["pytorch", "pytorch-cuda=12.1", "cudatoolkit=11.3"], ("cu121", "pytorch-cuda=12.1")),
    (["pytorch", "pytorch-cuda"], ("", "pytorch-cuda")),
    (["pytorch", "pytorch-cuda>=11"], ("", "pytorch-cuda>=11")),
    (["numpy=1.26", "pytorch=2.1"], (None, None)),
])
def test_the_pytorch_selector_names_the_wheel_indexs_build(specs, want):
    assert torch_build_label(specs, "environment.yml") == want


_SPEC = st.from_regex(r"[a-z][a-z0-9_.-]{0,20}(=[0-9]{1,2}(\.[0-9]{1,2}){0,2}(\.\*)?)?", fullmatch=True)


@given(st.lists(_SPEC, max_size=6))
def test_a_selector_label_is_a_wheel_index_folder_or_nothing(specs):
    import re

    label, spec = torch_build_label(specs, "environment.yml")
    assert (label is None) == (spec is None)
    assert label is None or label == "" or re.fullmatch(r"cu\d{2,4}|cpu", label)
    assert spec is None or spec in specs


# ---- Poetry and Pipfile entries located at their own key -----------------------------------

from launchbuild.resolver.detectors.base import key_line  # noqa: E402

_POETRY = """[tool.poetry]
name = "torch-trainer"
description = "trains torch models; needs numpy"

[tool.poetry.dependencies]
python = "^3.10"
pytorch-lightning = "2.1"
"torch" = "2.1.0"
numpy.version = "1.26"

[tool.poetry.group.dev.dependencies]
pytest = "*"

[tool.poetry.dependencies.six]
version = "1.16"
"""


@pytest.mark.parametrize("key, line", [("torch", 8), ("numpy", 9), ("pytest", 12), ("six", 14), ("python", 6)])
def test_a_poetry_dependency_is_located_at_its_key_in_a_dependency_table(key, line):
    from launchbuild.resolver.detectors.pyproject import _poetry_dependency_table

    assert key_line(_POETRY, key, _poetry_dependency_table) == line


def test_a_pipfile_package_is_located_in_its_category_not_in_a_source():
    text = ('[[source]]\nname = "pypi"\nurl = "https://i.example/simple"\n\n[packages]\nrequests = "*"\n'
            'name = "==1.0"\n\n[dev-packages]\npytest = "*"\n')
    category = lambda t: len(t) == 1 and t[0] not in ("source", "requires", "pipenv", "scripts")  # noqa: E731
    assert key_line(text, "name", category) == 7
    assert key_line(text, "pytest", category) == 10
    assert key_line(text, "absent-key", category) is None


@given(st.text(max_size=300), st.text(min_size=1, max_size=12))
def test_key_line_never_raises_and_names_a_line_of_the_text(text, key):
    line = key_line(text, key, lambda t: True)
    assert line is None or 1 <= line <= max(1, len(text.splitlines()) + 1)


def test_poetry_and_pipfile_requirements_carry_their_keys_lines(tmp_path):
    from launchbuild.resolver.detectors.pipfile import PipfileInput
    from launchbuild.resolver.detectors.pyproject import ProjectInput

    (tmp_path / "pyproject.toml").write_text(_POETRY.replace('numpy.version = "1.26"\n', ""))
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path, (), ("dev",)).load()
    lines = {r.name: r.location.line for r in loaded.parsed.requirements}
    assert lines["torch"] == 8 and lines["pytest"] == 11 and lines["pytorch-lightning"] == 7
    (tmp_path / "Pipfile").write_text('[packages]\nrequests-toolbelt = "*"\nrequests = "*"\n')
    piped = PipfileInput(tmp_path / "Pipfile", tmp_path).load()
    assert {r.name: r.location.line for r in piped.parsed.requirements}["requests"] == 3
