"""Bad environment inputs through the CLI: exit 2, one line naming the file and what to do,
no traceback; before any lock is attempted."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

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
