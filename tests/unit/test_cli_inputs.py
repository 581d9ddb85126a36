"""Bad environment inputs through the CLI: exit 2, one line naming the file and what to do,
no traceback; before any lock is attempted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

_BUILDABLE = '[build-system]\nrequires = ["setuptools"]\n[project]\nname = "j"\nversion = "1"\n'
CASES = {
    "unknown-group": ({"pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = []\n'
                                         '[dependency-groups]\ndev = ["pytest"]\n'}, ["--group", "docs"],
                      "dependency group 'docs' is not in pyproject.toml"),
    "unknown-extra": ({"pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = ["six"]\n'},
                      ["--extra", "gpu"], "extra 'gpu' is not in [project.optional-dependencies]"),
    "pipfile-lock-json": ({"Pipfile.lock": "{not json"}, [], "Pipfile.lock is not valid JSON"),
    "uv-lock-alone": ({"uv.lock": "version = 1\n"}, [], "uv.lock has no pyproject.toml beside it"),
    "poetry-caret": ({"pyproject.toml": '[tool.poetry]\nname = "p"\n[tool.poetry.dependencies]\nsix = "^abc"\n'}, [],
                     "version 'abc' in six in pyproject.toml is not a valid version"),
    "pylock-version": ({"pylock.toml": 'lock-version = "2.0"\npackages = []\n'}, [], "only 1.x is understood"),
    "pipfile-python": ({"Pipfile": '[packages]\nsix = "*"\n[requires]\npython_version = "three"\n'}, [],
                       "python_version 'three' in Pipfile is not X.Y"),
    "group-on-requirements": ({"requirements.txt": "six\n"}, ["--group", "dev"],
                              "--group dev: requirements.txt (requirements) has no dependency groups"),
    "extra-on-pipfile": ({"Pipfile": '[packages]\nsix = "*"\n'}, ["--extra", "gpu"],
                         "--extra gpu: Pipfile (pipfile) has no extras"),
    "setup-cfg-syntax": ({"setup.cfg": "[options\ninstall_requires = six\n"}, [], "setup.cfg is not a valid setup.cfg"),
    # A project the backend reads itself (a build system, uv sources) gets the checks of every
    # other input's lines: uv read the `file:` path on the host and expanded `${HOME}` there.
    "project-file-dep-outside": ({"pyproject.toml": _BUILDABLE + 'dependencies = ["x @ file:///etc"]\n'}, [],
                                 "local requirement 'x @ file:///etc' is outside the job's source tree"),
    "project-variable": ({"pyproject.toml": _BUILDABLE + 'dependencies = ["x @ https://h.invalid/${HOME}/x-1-py3-none-any.whl"]\n'},
                         [], "pyproject.toml:6: a variable reference"),
    "uv-source-absolute": ({"pyproject.toml": '[project]\nname = "j"\nversion = "1"\ndependencies = ["x"]\n'
                                              '[tool.uv.sources]\nx = { path = "/etc" }\n'}, [],
                           "[tool.uv.sources] x: path source '/etc' is an absolute path"),
    "uv-source-dotdot": ({"pyproject.toml": _BUILDABLE + 'dependencies = ["x"]\n[tool.uv.sources]\nx = { path = "../x" }\n'}, [],
                         "[tool.uv.sources] x: path source '../x' leads outside the job's source tree"),
    "uv-source-variable": ({"pyproject.toml": '[project]\nname = "j"\nversion = "1"\ndependencies = ["x"]\n'
                                              '[tool.uv.sources]\nx = { git = "https://${GH_TOKEN}@h.invalid/x.git" }\n'}, [],
                           "[tool.uv.sources] x: a variable reference"),
    "dependency-line-break": ({"pyproject.toml": '[project]\nname = "j"\nversion = "1"\n'
                                                 'dependencies = ["https://h.invalid/x-1-py3-none-any.whl ; os_name == \'posix\'\\n-r /etc/hostname"]\n'},
                              [], "holds a line break or a control character"),
    "pipfile-source-line-break": ({"Pipfile": '[[source]]\nurl = "https://h.invalid/simple\\n--find-links /etc"\n[packages]\nsix = "*"\n'},
                                  [], "[[source]] in Pipfile: URL"),
    "pylock-marker-line-break": ({"pylock.toml": 'lock-version = "1.0"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
                                                 'marker = "os_name == \'posix\'\\n--index-url https://h.invalid/simple"\n'
                                                 f'wheels = [{{hashes = {{sha256 = "{"a" * 64}"}}}}]\n'},
                                 [], "six in pylock.toml: marker"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_environment_input_is_one_line_exit_2(case, tmp_path):
    files, flags, expected = CASES[case]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = CliRunner().invoke(app, ["resolve", str(tmp_path), "--offline", *flags], env={"NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("what", ["directory", "device", "missing"])
@pytest.mark.parametrize("flag", ["--requirements", "--frozen"])
def test_an_explicit_input_file_that_is_not_a_file_says_what_it_is(what, flag, tmp_path):
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "requirements.txt").write_text("six\n")
    given = {"directory": tmp_path / "job", "device": "/dev/null", "missing": tmp_path / "nope.txt"}[what]
    result = CliRunner().invoke(app, ["resolve", str(tmp_path / "job"), "--offline", flag, str(given)],
                                env={"NO_COLOR": "1"})
    line = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2
    assert str(given) in line
    if what == "missing":
        assert "not exist" in line or "not found" in line, line
    else:  # it is there: not "does not exist", which sends the user hunting for a typo
        assert "exist" not in line and "not found" not in line, line


@pytest.mark.parametrize("command", ["dockerfile", "build"])
@pytest.mark.parametrize("origin", ["LAUNCHBUILD_CA_BUNDLE", "config", "--ca-bundle"])
def test_a_bad_ca_bundle_is_named_where_it_was_set(tmp_path, monkeypatch, command, origin):
    """The bundle reached the builder as a bare value, so a bad LAUNCHBUILD_CA_BUNDLE or
    operator-config value was blamed on '--ca-bundle', a flag the user never passed."""
    job = tmp_path / "job"
    job.mkdir()
    (job / "train.py").write_text("print(1)\n")
    bad = str(tmp_path)  # a directory, not a bundle
    args = [command, str(job), "--entrypoint", "python train.py", "--offline"]
    env = {"NO_COLOR": "1", "SSL_CERT_FILE": "", "REQUESTS_CA_BUNDLE": "", "PIP_CERT": ""}
    if origin == "LAUNCHBUILD_CA_BUNDLE":
        env[origin] = bad
    elif origin == "config":
        (tmp_path / "ops.toml").write_text(f'ca-bundle = "{bad}"\n')
        args += ["--config", str(tmp_path / "ops.toml")]
    else:
        args += ["--ca-bundle", bad]
    result = CliRunner().invoke(app, args, env=env)
    line = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    expected = {"config": f"{tmp_path / 'ops.toml'}: ca-bundle"}.get(origin, origin)
    assert f"from {expected} is not a file" in line, line


def _path_flags(command):
    from launchbuild.options.table import for_command

    return [o.flag for o in for_command(command) if o.kind is Path]


@pytest.mark.parametrize("command,flag", [(c, f) for c in ("check", "build", "resolve", "dockerfile", "show")
                                          for f in _path_flags(c)])
def test_an_empty_path_flag_is_a_usage_error_naming_the_flag(tmp_path, command, flag):
    """`--config "$CFG"` with CFG unset was Path(""), i.e. ".": the error named '.' (the
    working directory), or a folder was taken where a file was meant."""
    (tmp_path / "requirements.txt").write_text("six\n")
    result = CliRunner().invoke(app, [command, str(tmp_path), flag, ""], env={"NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    assert "is empty" in result.output and flag in result.output, result.output
