"""The CLI's --progress choice, and foreign text in its tables printed as written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from launchbuild.cli import _progress, app
from launchbuild.cli_params import Given, choice_enum
from launchbuild.options.table import BY_NAME
from launchbuild.progress import PlainProgress, Progress
from launchbuild.report.formats import OutputFormat

ProgressMode = choice_enum(BY_NAME["progress"])


def given(mode, *, quiet, formats, output, verbose=False) -> Given:
    return Given("check", {"progress": mode, "quiet": quiet, "format": formats, "output": output, "verbose": verbose})

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_progress_choice():
    assert isinstance(_progress(given(ProgressMode.plain, quiet=False, formats=[OutputFormat.JSON], output=None)),
                      PlainProgress)  # explicit wins
    assert type(_progress(given(None, quiet=False, formats=[OutputFormat.JSON], output=None))) is Progress
    assert type(_progress(given(None, quiet=True, formats=None, output=None))) is Progress
    assert type(_progress(given(ProgressMode.quiet, quiet=False, formats=None, output=None))) is Progress
    # JSON into files: stderr is free for progress (a CI log).
    assert isinstance(_progress(given(None, quiet=False, formats=[OutputFormat.JSON], output=Path("r"))),
                      PlainProgress)


def test_show_prints_foreign_text_as_written():
    result = CliRunner().invoke(app, ["show", str(EXAMPLES / "demo"), "--entrypoint", "python train.py [stage-0 3/7] [bold]x[/]"],
                                env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "python train.py [stage-0 3/7] [bold]x[/]" in result.output


def test_plain_progress_through_the_cli_is_marked():
    result = CliRunner().invoke(app, ["check", str(EXAMPLES / "demo"), "--offline", "--progress", "plain", "-q"],
                                env={"COLUMNS": "250", "NO_COLOR": "1"})
    lines = result.output.splitlines()
    assert any(line.startswith("==> reading job") or line.startswith("==> fetching source") for line in lines), result.output


def test_resolve_prints_the_job_s_text_on_stderr_without_escapes_or_markup(tmp_path: Path):
    """`resolve` writes its findings and skip reasons to stderr itself (not through a report
    format): a conda name in the job's environment.yml quoted there must not drive the terminal."""
    (tmp_path / "environment.yml").write_text(
        'name: x\ndependencies:\n  - "libfoo\\e]0;pwned\\a\\e[2J[bold]b[/bold]"\n  - python=3.11\n')
    result = CliRunner().invoke(app, ["resolve", str(tmp_path), "-v"], env={"COLUMNS": "400", "NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    assert "libfoo" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "libfoo\\x1b]0;pwned\\x07\\x1b[2J[bold]b[/bold]" in result.output
