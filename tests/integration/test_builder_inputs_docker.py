"""Real builds on the test engine for the input forms that change what the image does: the
job's own project (`-e .[extra]` and a setup.py-only job) installed from the copied code,
a Poetry job, and an undeclared import that must fail the build and leave no tag.

Kept to three tiny builds (six, idna) on the stand-in python image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

pytestmark = [pytest.mark.docker, pytest.mark.network]

SETUP_PY = ("from setuptools import setup\n"
            "setup(name='demo', version='0.1', packages=['demo'], install_requires=['six>=1.16'],\n"
            "      extras_require={'net': ['idna']})\n")


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def build(job: Path, standin_images, *extra: str) -> tuple[int, dict, str]:
    out = job.parent / f"{job.name}-report.json"
    result = CliRunner().invoke(app, ["build", str(job), "--python-base-image", standin_images["python"],
                                      "--entrypoint", "python train.py", "--format", "json", "-o", str(out), *extra],
                                env={"NO_COLOR": "1"})
    report = json.loads(out.read_text()) if out.is_file() else {}
    return result.exit_code, report, result.output


def checks(report: dict) -> dict[str, tuple[bool, str]]:
    return {v["check"]: (v["passed"], v["detail"]) for v in report["build"]["verification"]}


def run_image(docker_client, tag: str, code: str) -> str:
    return docker_client.containers.run(tag, entrypoint=["python", "-c", code], remove=True, working_dir="/",
                                        network_mode="none").decode()


def test_editable_own_project_with_an_extra_is_installed_from_the_copied_code(tmp_path, standin_images, docker_client):
    job = write(tmp_path / "own", {
        "setup.py": SETUP_PY, "demo/__init__.py": "VALUE = 42\n", "requirements.txt": "-e .[net]\n",
        "train.py": "import demo, six, idna\nprint(demo.VALUE)\n"})
    code, report, output = build(job, standin_images)
    assert code == 0, output
    assert report["environment"]["lock"]["package_count"] == 2  # six and idna, not the project
    lock_text = "\n".join(p["name"] for p in report["environment"]["lock"]["packages"])
    assert "demo" not in lock_text
    got = checks(report)
    assert got["imports"][0] and got["entrypoint imports"][0], got
    tag = report["build"]["tag"]
    try:
        out = run_image(docker_client, tag, "import demo, importlib.metadata as m, os;"
                        "print(demo.VALUE, m.version('demo'), demo.__file__.startswith('/opt/venv'),"
                        " os.path.exists('/app/demo.egg-info'), os.path.exists('/app/build'))")
        assert out.split() == ["42", "0.1", "True", "False", "False"]  # a real, non-editable install
        # The project's step compiled the project (builder/layer_bytecode.py --newer-than), and
        # left no stamp behind; the lock's packages have theirs from their own install step.
        out = run_image(docker_client, tag, "import demo, six, glob, os, importlib.util as u;"
                        "print(os.path.exists(u.cache_from_source(demo.__file__)),"
                        " os.path.exists(u.cache_from_source(six.__file__)),"
                        " glob.glob('/tmp/launchbuild-project*'))")
        assert out.split() == ["True", "True", "[]"]
    finally:
        docker_client.images.remove(tag, force=True)


def test_poetry_job(tmp_path, standin_images, docker_client):
    job = write(tmp_path / "poetry", {
        "pyproject.toml": '[tool.poetry]\nname = "p"\nversion = "0.1.0"\npackage-mode = false\n'
                          '[tool.poetry.dependencies]\npython = "^3.10"\nsix = "^1.16"\n',
        "train.py": "import six\nprint(six.__version__)\n"})
    code, report, output = build(job, standin_images)
    assert code == 0, output
    assert report["environment"]["input_kind"] == "pyproject"
    assert [p["name"] for p in report["environment"]["lock"]["packages"]] == ["six"]
    docker_client.images.remove(report["build"]["tag"], force=True)


def test_setup_py_only_job_with_an_undeclared_import_fails_and_leaves_no_tag(tmp_path, standin_images, docker_client):
    # asynctest 0.13 imports asyncio.coroutine, gone in Python 3.11: it installs, then fails on import.
    job = write(tmp_path / "setuponly", {
        "setup.py": SETUP_PY.replace("['six>=1.16']", "['six>=1.16', 'asynctest==0.13.0']"), "demo/__init__.py": "",
        "train.py": "import demo\nimport six\nimport yaml  # not declared anywhere\n"})
    code, report, output = build(job, standin_images, "--extra", "net")
    assert code == 1, output
    assert report["environment"]["input_kind"] == "setup"
    assert {p["name"] for p in report["environment"]["lock"]["packages"]} == {"six", "idna", "asynctest"}
    got = checks(report)
    passed, detail = got["imports"]
    assert not passed and "import asynctest (asynctest) failed" in detail and "six" not in detail
    passed, detail = got["entrypoint imports"]
    assert not passed and "import yaml (train.py:3)" in detail
    # A failed verification lists no tag at all (nothing was tagged), and the engine holds none
    # under this job's repository.
    assert report["build"]["tag"] in (None, "")
    assert not docker_client.images.list(name="launchbuild/setuponly")
