"""Every input form resolved end to end: real PyPI (tiny packages), uv's real `export` of a
real uv.lock, a build backend run in isolation, and a local index on 127.0.0.1 for
`[tool.uv.sources]`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from launchbuild.jobs.model import CodeSource, Job
from launchbuild.resolver.api import ResolveOptions, resolve
from tests.helpers_resolver import build_wheel, serve_directory

pytestmark = pytest.mark.network


def run(src: Path, cache: Path, **kw):
    return resolve(src, Job(source=CodeSource(src)), ResolveOptions(cache_dir=cache, fetch_package_facts=False, **kw))


def pins(result) -> dict[str, str]:
    return {p.name: p.version for p in result.lock.packages}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


SETUP_PY = ("from setuptools import setup\n"
            "setup(name='demo', version='0.1', install_requires=['six>=1.16'], extras_require={'net': ['idna']})\n")


@pytest.mark.docker  # the build backend runs in the build sandbox
def test_setup_py_metadata_from_the_backend_same_lock_from_any_directory(tmp_path):
    locks = []
    for where in ("a/checkout", "b/elsewhere"):
        src = tmp_path / where
        write(src, "setup.py", SETUP_PY)
        result = run(src, tmp_path / f"cache-{len(locks)}", extras=("net",))
        assert result.input_kind == "setup" and set(pins(result)) == {"six", "idna"}
        assert all(p.hashes for p in result.lock.packages)
        assert not any(p.name.endswith(".egg-info") for p in src.iterdir()), "the job's tree was written to"
        locks.append(result.lock.text)
    assert locks[0] == locks[1]  # no host path, no temp dir in the lock
    assert str(tmp_path) not in locks[0] and "/tmp/" not in locks[0]


@pytest.mark.docker  # the build backend runs in the build sandbox
def test_a_failing_build_backend_is_lb301_with_its_cause_first(tmp_path):
    src = tmp_path / "src"
    write(src, "setup.py", "import launchbuild_no_such_module_xyz\n")
    result = run(src, tmp_path / "cache")
    [finding] = [f for f in result.findings if f.rule == "LB301"]
    assert finding.message.startswith("ModuleNotFoundError: No module named 'launchbuild_no_such_module_xyz'")
    assert str(tmp_path) not in finding.message and result.lock is None


def test_poetry_project_with_group(tmp_path):
    src = tmp_path / "src"
    write(src, "pyproject.toml",
          '[tool.poetry]\nname = "p"\nversion = "0.1.0"\n[tool.poetry.dependencies]\npython = "^3.9"\n'
          'six = "~1.16"\n[tool.poetry.group.dev.dependencies]\niniconfig = "^2.0"\n')
    got = pins(run(src, tmp_path / "cache", groups=("dev",)))
    assert got["six"].startswith("1.16.") and got["iniconfig"].startswith("2.")


def test_uv_lock_is_used_as_locked_for_the_target(tmp_path):
    import uv

    src = tmp_path / "src"
    write(src, "pyproject.toml",
          '[project]\nname = "ul"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
          'dependencies = ["six==1.16.0", "idna==3.7; python_version < \'3.12\'"]\n'
          '[dependency-groups]\ndev = ["iniconfig==2.0.0"]\n')
    subprocess.run([uv.find_uv_bin(), "lock", "--no-config", "-q"], cwd=src, check=True)
    write(src, "requirements.txt", "six==1.17.0\n")  # a lock outranks it
    result = run(src, tmp_path / "cache", python=None, platform="linux/amd64")
    assert result.input_kind == "lock" and result.input_path == "uv.lock"
    assert ("requirements.txt", "lower precedence than uv.lock (lock)") in result.skipped_inputs
    by_python = {}
    from launchbuild.core.sourced import Origin, Sourced

    for py in ("3.11", "3.12"):
        r = run(src, tmp_path / "cache", python=Sourced(py, Origin.FLAG))
        by_python[py] = pins(r)
    assert by_python["3.11"] == {"six": "1.16.0", "idna": "3.7"}
    assert by_python["3.12"] == {"six": "1.16.0"}  # the marker is false there
    with_dev = run(src, tmp_path / "cache", python=Sourced("3.11", Origin.FLAG), groups=("dev",))
    assert pins(with_dev)["iniconfig"] == "2.0.0"


def test_environment_yml_conda_pins_and_python(tmp_path):
    src = tmp_path / "src"
    write(src, "environment.yml", "name: e\ndependencies:\n  - python=3.10\n  - six=1.16.0\n  - cudatoolkit=11.3\n"
                                  "  - pip\n  - pip:\n    - idna==3.7\n")
    result = run(src, tmp_path / "cache")
    assert result.lock.target.python == "3.10"
    assert pins(result) == {"six": "1.16.0", "idna": "3.7"}


def test_uv_sources_route_a_package_to_its_index(tmp_path):
    index = tmp_path / "index"
    build_wheel(index / "tinypkg", "tinypkg", "1.0")
    with serve_directory(index) as url:
        src = tmp_path / "src"
        write(src, "pyproject.toml",
              '[project]\nname = "nc"\nversion = "0.1"\ndependencies = ["six==1.16.0"]\n'
              '[project.optional-dependencies]\ngpu = ["tinypkg"]\n'
              f'[[tool.uv.index]]\nname = "local"\nurl = "{url}/"\nexplicit = true\n'
              '[tool.uv.sources]\ntinypkg = [{ index = "local", extra = "gpu" }]\n')
        result = run(src, tmp_path / "cache", extras=("gpu",))
    assert pins(result) == {"six": "1.16.0", "tinypkg": "1.0"}
    assert f"{url}/" in result.lock.index_urls  # the image installs from the same index


@pytest.mark.docker  # the build backend runs in the build sandbox
def test_a_uv_path_source_in_the_job_is_locked_and_installed_as_its_own_project(tmp_path):
    # Only pyproject.toml was copied for uv (it found no libs/lib), and uv's `libs/lib` entry
    # then failed the lock as 'cannot read lock entry'.
    src = tmp_path / "src"
    write(src, "libs/lib/setup.py", "from setuptools import setup\nsetup(name='lib', version='1.0', install_requires=['six==1.16.0'])\n")
    write(src, "pyproject.toml", '[project]\nname = "nc"\nversion = "0.1"\ndependencies = ["lib"]\n'
                                 '[tool.uv.sources]\nlib = { path = "libs/lib" }\n')
    result = run(src, tmp_path / "cache")
    assert pins(result) == {"six": "1.16.0"}
    assert result.lock.own_projects == ("libs/lib",) and str(tmp_path) not in result.lock.text


def test_pipfile_and_requirements_in(tmp_path):
    src = tmp_path / "pipenv"
    write(src, "Pipfile", '[packages]\nsix = "==1.16.0"\n[requires]\npython_version = "3.10"\n')
    result = run(src, tmp_path / "cache")
    assert result.lock.target.python == "3.10" and pins(result) == {"six": "1.16.0"}
    src = tmp_path / "pip-tools"
    write(src, "requirements.in", "six==1.16.0\n")
    assert pins(run(src, tmp_path / "cache")) == {"six": "1.16.0"}
    shutil.rmtree(tmp_path / "cache")


@pytest.mark.docker  # the build backend runs in the build sandbox
def test_a_git_job_with_editable_own_project_gives_the_same_lock_and_dockerfile_every_checkout(tmp_path):
    """Each fetch of a git job lands in a new temp dir: nothing of it may reach the lock or the
    Dockerfile, or the content tag would change on every run."""
    from typer.testing import CliRunner

    from launchbuild.cli import app

    repo = tmp_path / "repo"
    write(repo, "setup.py", SETUP_PY)
    write(repo, "requirements.txt", "-e .[net]\n")
    write(repo, "train.py", "import six\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    url = f"file://{repo}"
    outputs = []
    for _ in range(2):
        env = {"NO_COLOR": "1", "LAUNCHBUILD_CACHE_DIR": str(tmp_path / f"cache-{len(outputs)}"),
               "SSL_CERT_FILE": "", "REQUESTS_CA_BUNDLE": "", "PIP_CERT": ""}
        lock = CliRunner().invoke(app, ["resolve", url], env=env)
        dockerfile = CliRunner().invoke(app, ["dockerfile", url, "--entrypoint", "python train.py"], env=env)
        assert lock.exit_code == 0 and dockerfile.exit_code == 0, lock.output + dockerfile.output
        outputs.append((lock.stdout, dockerfile.stdout))
    assert outputs[0] == outputs[1]
    lock_text, dockerfile_text = outputs[0]
    assert "six==" in lock_text and "idna==" in lock_text
    assert "launchbuild-src-" not in lock_text + dockerfile_text and str(tmp_path) not in lock_text
    assert "uv pip install --python /opt/venv/bin/python --no-deps" in dockerfile_text


def test_extra_and_group_from_launchbuild_toml_and_an_explicit_frozen_wins(tmp_path):
    from typer.testing import CliRunner

    from launchbuild.cli import app

    src = tmp_path / "proj"
    write(src, "pyproject.toml", '[project]\nname = "g"\nversion = "0.1"\ndependencies = ["six==1.16.0"]\n'
                                 '[project.optional-dependencies]\nnet = ["idna==3.7"]\n'
                                 '[dependency-groups]\ntest = ["iniconfig==2.0.0"]\n')
    write(src, "launchbuild.toml", 'extra = ["net"]\ngroup = ["test"]\n')
    env = {"NO_COLOR": "1", "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")}
    result = CliRunner().invoke(app, ["resolve", str(src)], env=env)
    assert result.exit_code == 0, result.output
    assert all(f"{n}==" in result.stdout for n in ("six", "idna", "iniconfig"))

    (src / "launchbuild.toml").unlink()  # a run's package list has no extras or groups (that is bad input)
    write(src, "requirements.txt", "six==1.17.0\n")
    write(tmp_path / "run", "requirements.frozen.txt", "six==1.16.0\n")
    result = CliRunner().invoke(app, ["resolve", str(src), "--frozen", str(tmp_path / "run" / "requirements.frozen.txt"),
                                      "-v"], env=env)
    assert result.exit_code == 0, result.output
    assert "six==1.16.0" in result.stdout
    said = " ".join(result.stderr.split())
    assert "skipped requirements.txt: lower precedence than" in said and "named explicitly" in said


@pytest.mark.docker  # the build backend runs in the build sandbox
def test_a_buildable_looking_project_that_does_not_build_is_lb311_and_not_installed(tmp_path):
    pyproject = ('[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                 '[project]\nname = "{name}"\nversion = "0.1"\ndependencies = ["six==1.16.0"]\n')
    flat = tmp_path / "flat"
    write(flat, "pyproject.toml", pyproject.format(name="flat"))
    write(flat, "data/__init__.py", "")
    write(flat, "models/__init__.py", "")
    result = run(flat, tmp_path / "cache")
    assert result.lock.own_projects == () and pins(result) == {"six": "1.16.0"}
    [finding] = result.findings
    assert finding.rule == "LB311" and "Multiple top-level packages discovered in a flat-layout" in finding.message
    good = tmp_path / "good"
    write(good, "pyproject.toml", pyproject.format(name="good"))
    write(good, "good/__init__.py", "")
    result = run(good, tmp_path / "cache")
    assert result.lock.own_projects == (".",) and not result.findings


@pytest.mark.docker  # the build backend runs in the build sandbox
def test_a_backend_run_leaves_nothing_in_the_hosts_temp_dir(tmp_path, monkeypatch):
    """uv and the build backends it runs write files to TMPDIR (uv-setuptools-*.lock): each
    compile and project build gets a TMPDIR inside its own temp dir, removed after."""
    import tempfile

    host_tmp = tmp_path / "host-tmp"
    host_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(host_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    src = tmp_path / "src"
    write(src, "setup.py", SETUP_PY)
    result = run(src, tmp_path / "cache")
    assert result.lock is not None and "six" in pins(result)
    project = tmp_path / "project"
    write(project, "pyproject.toml", '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                                     '[project]\nname = "own"\nversion = "1.0"\ndependencies = ["six"]\n')
    write(project, "own/__init__.py", "")
    assert run(project, tmp_path / "cache2").lock is not None
    assert sorted(p.name for p in host_tmp.iterdir()) == []


SIX_SDIST = "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"


@pytest.mark.parametrize("name, text", [
    ("pylock.toml", 'lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "six"\nversion = "1.16.0"\n'
     'sdist = { name = "six-1.16.0.tar.gz", url = "https://files.example/six-1.16.0.tar.gz", '
     f'hashes = {{ sha256 = "{SIX_SDIST}" }} }}\n'),
    ("requirements.txt", f"six==1.16.0 --hash=sha256:{SIX_SDIST}\n"),
])
def test_a_lock_that_allows_only_the_sdist_is_said_to_build_from_source(tmp_path, name, text):
    """The index has six's wheel for every target, but --require-hashes installs only what the
    lock's hashes allow: the image builds the sdist, and LB302 says so."""
    from launchbuild.compat.rules.packages import no_wheel
    from launchbuild.compat.context import CheckContext

    src = tmp_path / "src"
    write(src, name, text)
    result = resolve(src, Job(source=CodeSource(src)), ResolveOptions(cache_dir=tmp_path / "cache"))
    assert result.lock is not None, result.findings
    six = {p.name: p for p in result.packages}["six"]
    assert six.has_target_wheel is False and six.wheel_not_locked and six.has_sdist
    found = list(no_wheel(CheckContext(packages=result.packages)))
    assert found and "allow only its sdist" in found[0].message
