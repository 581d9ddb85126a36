"""Target Python selection: every source, its precedence, and its bad values; LB312 when a
higher-precedence source contradicts the job's requires-python. Plus run metadata."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from launchbuild.core.fixes import Advice, SetOption
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.errors import BadInput
from launchbuild.jobs.model import CodeSource, Job
from launchbuild.resolver.api import ResolveOptions, resolve
from launchbuild.resolver.metadata import read_run_metadata
from launchbuild.resolver.python_version import (
    DEFAULT_PYTHON, SUPPORTED_PYTHONS, from_requires_python, normalize, outside_requires_python, select_python,
)


@pytest.mark.parametrize(
    "raw, xy",
    [("3.10", "3.10"), ("3.10.4", "3.10"), ("python-3.10.4", "3.10"), ("python3.12", "3.12"),
     (" 3.9 ", "3.9"), ("cpython-3.13.0", "3.13"), ("3.11.0rc1", "3.11")],
)
def test_normalize_accepts(raw, xy):
    assert normalize(raw, "x") == xy


@pytest.mark.parametrize("raw", ["python:3.10", "3", "three", "3.x", "system", "2.7", "3.7", "4.0", "3.10-slim", ""])
def test_normalize_rejects_with_bad_input(raw):
    with pytest.raises(BadInput) as err:
        normalize(raw, "runtime.txt")
    assert "runtime.txt" in str(err.value)


@pytest.mark.parametrize(
    "spec, xy",
    [(">=3.10", "3.13"), (">=3.8,<3.12", "3.11"), ("~=3.9.0", "3.9"), ("==3.10.*", "3.10"),
     (">=3.10.2,<3.11", "3.10"), ("<3.10", "3.9")],
)
def test_requires_python_picks_the_highest_supported(spec, xy):
    assert from_requires_python(spec, "pyproject.toml") == xy


@pytest.mark.parametrize("spec, today, xy", [
    (">=3.14", "2026-12-03", "3.14"), ("==3.15.*", "2026-12-03", "3.15"), (">=3.15", "2026-12-03", "3.15"),
    (">3.14", "2026-12-03", "3.14"), (">=3.14.99", "2026-12-03", "3.14"), (">=3.15.0", "2026-12-03", "3.15"), ("<3.9", "2026-12-03", "3.8"), (">=3.16", "2027-10-06", "3.16")])
def test_a_range_beyond_the_preferred_pythons_gets_the_oldest_released_one_it_allows(spec, today, xy):
    # `--python 3.14` is accepted (normalize), so a job that declares >=3.14 must not be refused.
    assert from_requires_python(spec, "pyproject.toml", today=today) == xy


@pytest.mark.parametrize("spec, fragment", [(">=banana", "malformed"), (">=3.16", "allows none"), ("<3.8", "allows none"),
                                            ("==3.15.*", "allows none")])
def test_requires_python_bad_values(spec, fragment):
    # 3.16 is not out on this date, nor 3.15 a month before its first release.
    today = "2026-09-01" if "3.15" in spec else "2026-12-03"
    with pytest.raises(BadInput, match=fragment) as err:
        from_requires_python(spec, "pyproject.toml", today=today)
    if fragment == "allows none":
        assert "3.16" not in str(err.value).split("Pythons", 1)[1]


def write(d, name, text):
    (d / name).write_text(text)
    return d


def test_order_explicit_beats_everything(tmp_path):
    write(tmp_path, ".python-version", "3.9\n")
    got = select_python("3.12", Sourced("3.10", Origin.JOB_SPEC, "job"), tmp_path, ">=3.9", ("3.11",))
    assert got == Sourced("3.12", Origin.FLAG, "--python")


def test_order_job_runtime_then_files(tmp_path):
    write(tmp_path, ".python-version", "3.9.18\n")
    write(tmp_path, "runtime.txt", "python-3.10.4\n")
    assert select_python(None, "3.12.1", tmp_path, ">=3.9").origin is Origin.JOB_SPEC
    got = select_python(None, None, tmp_path, ">=3.9")
    assert got.value == "3.9" and got.detail == ".python-version"
    (tmp_path / ".python-version").unlink()
    got = select_python(None, None, tmp_path, ">=3.9")
    assert got.value == "3.10" and got.detail == "runtime.txt"


def test_order_requires_python_then_run_metadata_then_image_then_default(tmp_path):
    assert select_python(None, None, tmp_path, ">=3.9,<3.12", ("3.13",), run_metadata_python="3.10").value == "3.11"
    got = select_python(None, None, tmp_path, None, ("3.13",), run_metadata_python="3.10.12")
    assert (got.value, got.origin) == ("3.10", Origin.RUN_METADATA)
    got = select_python(None, None, tmp_path, None, ("2.7", "3.12"))
    assert (got.value, got.origin) == ("3.12", Origin.INFERRED)
    got = select_python(None, None, None, None)
    assert (got.value, got.origin) == (DEFAULT_PYTHON, Origin.DEFAULT)


def test_environment_pin_sits_between_runtime_txt_and_requires_python(tmp_path):
    env = Sourced("3.10", Origin.SOURCE_FILE, "environment.yml")
    assert select_python(None, None, tmp_path, ">=3.12", environment_python=env).value == "3.10"
    write(tmp_path, "runtime.txt", "3.12")
    assert select_python(None, None, tmp_path, None, environment_python=env).value == "3.12"


@pytest.mark.parametrize(
    "filename, content",
    [(".python-version", "python:3.10\n"), (".python-version", "system\n"), ("runtime.txt", "python-3\n"),
     ("runtime.txt", "ruby-3.2\n"), (".python-version", "3.6.15\n")],
)
def test_bad_file_values_name_the_file(tmp_path, filename, content):
    write(tmp_path, filename, content)
    with pytest.raises(BadInput) as err:
        select_python(None, None, tmp_path, None)
    assert filename in str(err.value)


@pytest.mark.parametrize("explicit", ["3.x", "py3.11", "3.11-slim"])
def test_bad_explicit_and_job_runtime(explicit):
    with pytest.raises(BadInput, match="--python"):
        select_python(explicit, None, None, None)
    with pytest.raises(BadInput, match="job"):
        select_python(None, Sourced(explicit, Origin.JOB_SPEC, "job spec"), None, None)


def test_comment_and_blank_lines_in_python_version(tmp_path):
    write(tmp_path, ".python-version", "# pyenv\n\n3.12.1\n")
    assert select_python(None, None, tmp_path, None).value == "3.12"


def test_empty_python_version_file_falls_through(tmp_path):
    write(tmp_path, ".python-version", "\n")
    assert select_python(None, None, tmp_path, None).origin is Origin.DEFAULT


# --- run metadata -------------------------------------------------------------------------

def meta(tmp_path, data):
    p = tmp_path / "wandb-metadata.json"
    p.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return p


def test_run_metadata_reads_wandb_fields(tmp_path):
    m = read_run_metadata(meta(tmp_path, {"python": "CPython 3.10.12", "cuda": "12.1", "gpu": "NVIDIA A100-SXM4-80GB",
                                          "gpu_count": 8, "os": "Linux"}))
    assert (m.python, m.python_full, m.cuda, m.gpu, m.gpu_count) == (
        "3.10", "CPython 3.10.12", "12.1", "NVIDIA A100-SXM4-80GB", 8)


def test_run_metadata_missing_fields_are_none(tmp_path):
    m = read_run_metadata(meta(tmp_path, {}))
    assert (m.python, m.cuda, m.gpu, m.gpu_count) == (None, None, None, None)


@pytest.mark.parametrize(
    "data, fragment",
    [("{not json", "not valid JSON"), ("[1, 2]", "not a JSON object"), ({"python": 3.1}, "'python'"),
     ({"python": "unknown"}, "'python'"), ({"python": "2.7.18"}, "unsupported"), ({"cuda": "twelve"}, "'cuda'"),
     ({"gpu_count": -1}, "'gpu_count'"), ({"gpu_count": True}, "'gpu_count'"), ({"gpu": 5}, "'gpu'")],
)
def test_run_metadata_bad_values(tmp_path, data, fragment):
    with pytest.raises(BadInput) as err:
        read_run_metadata(meta(tmp_path, data))
    assert fragment in str(err.value) and "wandb-metadata.json" in str(err.value)


def test_run_metadata_missing_file(tmp_path):
    with pytest.raises(BadInput, match="cannot read"):
        read_run_metadata(tmp_path / "nope.json")


def test_a_requires_python_range_takes_the_fixed_base_images_python_when_in_range():
    from launchbuild.resolver.python_version import select_python

    picked = select_python(None, None, None, ">=3.10", image_pythons=("3.11.2",))
    assert picked.value == "3.11" and "met by the base image's Python" in picked.describe()
    # Out of range: the image cannot serve it, the range's newest is the target (LB102 then says so).
    assert select_python(None, None, None, ">=3.12", image_pythons=("3.11",)).value == "3.13"
    # No image Python known (a python:{python}-slim template): the newest the range allows.
    assert select_python(None, None, None, ">=3.10").value == "3.13"
    assert select_python(None, None, None, ">=3.9,<3.12", image_pythons=("2.7", "3.9", "3.10")).value == "3.10"
    # An image whose only Python is newer than the preferred ones is still that image's Python.
    picked = select_python(None, None, None, ">=3.10", image_pythons=("3.14.0",))
    assert picked.value == "3.14" and "met by the base image's Python" in picked.describe()
    assert select_python(None, None, None, ">=3.14").value == "3.14"


# --- LB312: a target Python from a higher-precedence source, outside the job's own range -------------

# A job with no third-party dependency: resolve() reads it and locks nothing, so no index is asked.
_DECLARES = {
    "pep621": ("pyproject.toml", '[project]\nname = "x"\nversion = "0.1"\nrequires-python = ">=3.12"\n',
               "pyproject.toml requires-python"),
    "poetry": ("pyproject.toml", '[tool.poetry]\nname = "x"\nversion = "0.1"\n[tool.poetry.dependencies]\n'
               'python = "^3.12"\n', "pyproject.toml [tool.poetry.dependencies] python"),
    "setup.cfg": ("setup.cfg", "[metadata]\nname = x\n[options]\npython_requires = >=3.12\n",
                  "setup.cfg python_requires"),
}


def _lb312(result):
    return [f for f in result.findings if f.rule == "LB312"]


@pytest.mark.parametrize("form", sorted(_DECLARES))
def test_a_flag_python_outside_the_jobs_declared_range_is_lb312_with_the_nearest_allowed_python(tmp_path, form):
    name, text, where = _DECLARES[form]
    (tmp_path / name).write_text(text)
    result = resolve(tmp_path, Job(source=CodeSource(tmp_path)), ResolveOptions(python="3.11", cache_dir=tmp_path / "c"))
    [finding] = _lb312(result)
    assert finding.location.path == name and where in finding.message and "3.11" in finding.message
    assert finding.fixes == (SetOption("python", "3.12"), Advice(f"widen {where} to include 3.11"))


@pytest.mark.parametrize("pin_file, text", [(".python-version", "3.10\n"), ("runtime.txt", "python-3.10.4\n")])
def test_a_pinned_file_that_contradicts_requires_python_is_lb312_naming_that_file(tmp_path, pin_file, text):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.1"\nrequires-python = ">=3.11,<3.13"\n')
    (tmp_path / pin_file).write_text(text)
    [finding] = _lb312(resolve(tmp_path, Job(source=CodeSource(tmp_path)), ResolveOptions(cache_dir=tmp_path / "c")))
    assert pin_file in finding.message and finding.fixes[0] == SetOption("python", "3.11")


def test_a_python_inside_the_range_or_chosen_from_it_is_no_finding(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.1"\nrequires-python = ">=3.10"\n')
    job = Job(source=CodeSource(tmp_path))
    assert _lb312(resolve(tmp_path, job, ResolveOptions(python="3.11", cache_dir=tmp_path / "c"))) == []
    assert _lb312(resolve(tmp_path, job, ResolveOptions(cache_dir=tmp_path / "c"))) == []


def test_a_range_no_supported_python_meets_offers_only_widening():
    finding = outside_requires_python(Sourced("3.11", Origin.FLAG, "--python"),
                                      Sourced(">=3.99", Origin.SOURCE_FILE, "pyproject.toml requires-python"))
    assert finding.fixes == (Advice("widen pyproject.toml requires-python to include 3.11"),)


def test_a_malformed_range_is_bad_input_even_when_the_python_is_given():
    with pytest.raises(BadInput, match="malformed requires-python '>=3.x' in pyproject.toml requires-python"):
        outside_requires_python(Sourced("3.11", Origin.FLAG, "--python"),
                                Sourced(">=3.x", Origin.SOURCE_FILE, "pyproject.toml requires-python"))


_CLAUSES = st.tuples(st.sampled_from([">=", "<=", ">", "<", "==", "!=", "~="]),
                     st.sampled_from(["3.8", "3.9", "3.10", "3.10.2", "3.11", "3.12", "3.13", "3.14", "4"]))


@given(st.lists(_CLAUSES, min_size=1, max_size=3), st.sampled_from(SUPPORTED_PYTHONS))
def test_lb312_is_reported_exactly_when_the_range_excludes_the_python(clauses, xy):
    spec = ",".join(op + v for op, v in clauses)
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        return  # "~=4" is not a specifier: the malformed case above covers it
    finding = outside_requires_python(Sourced(xy, Origin.FLAG, "--python"),
                                      Sourced(spec, Origin.SOURCE_FILE, "pyproject.toml requires-python"))
    inside = any(specifier.contains(f"{xy}.{patch}") for patch in (0, 99))
    assert (finding is None) == inside
    if finding is not None and isinstance(finding.fixes[0], SetOption):
        assert any(specifier.contains(f"{finding.fixes[0].value}.{patch}") for patch in (0, 99))


_PYLOCK = ('lock-version = "1.0"\ncreated-by = "test"\nrequires-python = ">=3.12"\n[[packages]]\nname = "six"\n'
           'version = "1.17.0"\n[[packages.wheels]]\nname = "six-1.17.0-py2.py3-none-any.whl"\n'
           'url = "https://files.example.invalid/six-1.17.0-py2.py3-none-any.whl"\n'
           'hashes = {sha256 = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"}\n')


def test_a_lock_files_requires_python_chooses_the_target_and_contradicting_it_is_lb312(tmp_path):
    from launchbuild.resolver.api import select_target

    (tmp_path / "pylock.toml").write_text(_PYLOCK)
    job = Job(source=CodeSource(tmp_path))
    _, chosen = select_target(tmp_path, job, ResolveOptions(cache_dir=tmp_path / "c"))
    assert (chosen.value, chosen.detail) == ("3.13", "pylock.toml requires-python")
    [finding] = _lb312(resolve(tmp_path, job, ResolveOptions(python="3.11", cache_dir=tmp_path / "c", offline=True)))
    assert finding.location.path == "pylock.toml" and finding.fixes[0] == SetOption("python", "3.12")


def test_the_findings_location_is_the_whole_file_name_even_with_spaces():
    finding = outside_requires_python(Sourced("3.11", Origin.FLAG, "--python"),
                                      Sourced(">=3.12", Origin.SOURCE_FILE, "sub dir/pylock.toml requires-python"))
    assert finding.location.path == "sub dir/pylock.toml"


# --- LB312 from an input's own Python pin (environment.yml python=, Pipfile [requires]) ----------------


def _pipfile_lock(python_version: str) -> str:
    return json.dumps({"_meta": {"requires": {"python_version": python_version}},
                       "default": {"six": {"version": "==1.17.0", "hashes": [
                           "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"]}}})


def test_a_flag_python_that_overrides_a_pipfile_locks_python_version_is_lb312(tmp_path):
    (tmp_path / "Pipfile.lock").write_text(_pipfile_lock("3.12"))
    job = Job(source=CodeSource(tmp_path))
    [finding] = _lb312(resolve(tmp_path, job, ResolveOptions(python="3.11", cache_dir=tmp_path / "c", offline=True)))
    assert finding.location.path == "Pipfile.lock" and "Pipfile.lock [requires] python_version" in finding.message
    assert finding.fixes[0] == SetOption("python", "3.12")
    # Followed (no --python: the pin chooses the target) or met, it is no finding.
    assert _lb312(resolve(tmp_path, job, ResolveOptions(cache_dir=tmp_path / "c", offline=True))) == []
    assert _lb312(resolve(tmp_path, job, ResolveOptions(python="3.12", cache_dir=tmp_path / "c", offline=True))) == []


def test_a_python_version_file_that_contradicts_the_pin_is_lb312_naming_the_pins_file(tmp_path):
    (tmp_path / "Pipfile.lock").write_text(_pipfile_lock("3.10"))
    (tmp_path / ".python-version").write_text("3.12\n")
    [finding] = _lb312(resolve(tmp_path, Job(source=CodeSource(tmp_path)),
                               ResolveOptions(cache_dir=tmp_path / "c", offline=True)))
    assert ".python-version" in finding.message and finding.location.path == "Pipfile.lock"
    assert finding.fixes[0] == SetOption("python", "3.10")


@pytest.mark.parametrize("detail, where, path", [
    ("environment.yml", "environment.yml python", "environment.yml"),
    ("envs/gpu env.yml", "envs/gpu env.yml python", "envs/gpu env.yml"),
    ("Pipfile [requires]", "Pipfile [requires] python_version", "Pipfile"),
])
def test_a_pin_is_the_one_release_line_it_names(detail, where, path):
    from launchbuild.resolver.python_version import pin_as_range

    declared = pin_as_range(Sourced("3.12", Origin.SOURCE_FILE, detail))
    assert declared.value == "==3.12.*" and declared.detail == where
    assert outside_requires_python(Sourced("3.12", Origin.FLAG, "--python"), declared) is None
    finding = outside_requires_python(Sourced("3.13", Origin.FLAG, "--python"), declared)
    assert finding.location.path == path and finding.fixes == (
        SetOption("python", "3.12"), Advice(f"change {where} to 3.13"))
    assert pin_as_range(None) is None


def test_an_environment_files_python_range_chooses_the_target_and_a_flag_outside_it_is_lb312(tmp_path):
    from launchbuild.resolver.api import select_target

    (tmp_path / "environment.yml").write_text("dependencies:\n  - python>=3.12,<3.14\n  - pip:\n    - six\n")
    job = Job(source=CodeSource(tmp_path))
    _, chosen = select_target(tmp_path, job, ResolveOptions(cache_dir=tmp_path / "c"))
    assert (chosen.value, chosen.detail) == ("3.13", "environment.yml python")
    _, chosen = select_target(tmp_path, job, ResolveOptions(cache_dir=tmp_path / "c", image_pythons=("3.12",)))
    assert chosen.value == "3.12"  # the base image's own Python, inside the range
    _, flagged = select_target(tmp_path, job, ResolveOptions(python="3.11", cache_dir=tmp_path / "c"))
    finding = outside_requires_python(flagged, Sourced(">=3.12,<3.14", Origin.SOURCE_FILE, "environment.yml python"))
    assert finding.location.path == "environment.yml" and finding.fixes == (
        SetOption("python", "3.12"), Advice("widen environment.yml python to include 3.11"))


_CONDA_OPS = st.sampled_from(["", "=", "==", ">=", "<", "<=", ">", "!=", "~=", " ", " >= ", "|"])
_CONDA_VERSIONS = st.sampled_from(["3", "3.8", "3.10", "3.12.1", "3.x", "3.10.*", "", "banana"])


@given(st.lists(st.tuples(_CONDA_OPS, _CONDA_VERSIONS), min_size=1, max_size=3), st.booleans())
def test_a_conda_python_line_is_a_pin_a_range_or_bad_input_never_both_or_a_crash(parts, channel):
    from launchbuild.resolver.sources import conda_python_pin, conda_python_range

    spec = ("conda-forge::" if channel else "") + "python" + ",".join(op + v for op, v in parts)
    unchanneled = spec.split("::")[-1]
    results = []
    for reader in (conda_python_pin, conda_python_range):
        try:
            results.append(reader(unchanneled, "environment.yml"))
        except BadInput as exc:
            assert "environment.yml" in exc.message and "\n" not in exc.message
            results.append("bad")
    pin, declared = results
    assert not (isinstance(pin, Sourced) and isinstance(declared, Sourced))
    if isinstance(declared, Sourced):
        SpecifierSet(declared.value)  # what select_python and LB312 read
        assert declared.detail == "environment.yml python"
    if isinstance(pin, Sourced):
        assert pin.value in SUPPORTED_PYTHONS or pin.value.startswith("3.")
