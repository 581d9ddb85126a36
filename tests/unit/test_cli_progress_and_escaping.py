"""The CLI's --progress choice, and foreign text in its tables printed as written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from launchbuild.cli import Format, ProgressMode, _progress, app
from launchbuild.progress import PlainProgress, Progress

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_progress_choice():
    assert isinstance(_progress(ProgressMode.plain, quiet=False, formats=[Format.json], output=None, verbose=False),
                      PlainProgress)  # explicit wins
    assert type(_progress(None, quiet=False, formats=[Format.json], output=None, verbose=False)) is Progress
    assert type(_progress(None, quiet=True, formats=None, output=None, verbose=False)) is Progress
    assert type(_progress(ProgressMode.quiet, quiet=False, formats=None, output=None, verbose=False)) is Progress
    # JSON into files: stderr is free for progress (a CI log).
    assert isinstance(_progress(None, quiet=False, formats=[Format.json], output=Path("r"), verbose=False),
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
