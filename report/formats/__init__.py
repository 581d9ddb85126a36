"""Output formats: one small module per format behind `ReportFormat.render`, chosen by enum.

`render()` turns a Report into text; `write_outputs()` is what the CLI calls to put one or
several formats on stdout or into files; `write_github_step_summary()` appends the Markdown
rendering to the job summary page of a GitHub Actions run."""

from __future__ import annotations

import enum
import errno
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from launchbuild.errors import BadInput
from launchbuild.errors import inert_commands
from launchbuild.limits import printable, write_output
from launchbuild.report.formats.base import (
    RenderOptions,
    ReportFormat,
    RuleMeta,
    catalog_from,
    installed_information_uri,
    verdict_reason,
)
from launchbuild.report.model import Report

DEFAULT_WIDTH = 100


class OutputFormat(str, enum.Enum):
    RICH = "rich"
    JSON = "json"
    JUNIT = "junit"
    SARIF = "sarif"
    GITHUB = "github"
    MARKDOWN = "markdown"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: OutputFormat | str) -> OutputFormat:
        if isinstance(value, OutputFormat):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(f.value for f in cls)
            raise BadInput(f"unknown report format {value!r} in --format: use one of {choices}") from None

    def to_format(self) -> ReportFormat:
        # Imported here so `--format json` never pays for importing rich.
        if self is OutputFormat.RICH:
            from launchbuild.report.formats.terminal import RichFormat

            return RichFormat()
        if self is OutputFormat.JSON:
            from launchbuild.report.formats.json import JsonFormat

            return JsonFormat()
        if self is OutputFormat.JUNIT:
            from launchbuild.report.formats.junit import JunitFormat

            return JunitFormat()
        if self is OutputFormat.SARIF:
            from launchbuild.report.formats.sarif import SarifFormat

            return SarifFormat()
        if self is OutputFormat.GITHUB:
            from launchbuild.report.formats.github import GithubFormat

            return GithubFormat()
        from launchbuild.report.formats.markdown import MarkdownFormat

        return MarkdownFormat()

    @property
    def extension(self) -> str:
        return self.to_format().extension


def _stream_is_tty(stream: IO[str] | None) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def color_default(stream: IO[str] | None = None) -> bool:
    """Colour only for a terminal, never with NO_COLOR set (https://no-color.org: any value,
    even empty, turns colour off)."""
    if "NO_COLOR" in os.environ:
        return False
    return _stream_is_tty(stream if stream is not None else sys.stdout)


def width_default(stream: IO[str] | None = None) -> int:
    if _stream_is_tty(stream if stream is not None else sys.stdout):
        import shutil

        return max(60, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def render(
    report: Report,
    fmt: OutputFormat | str = OutputFormat.RICH,
    *,
    verbose: bool = False,
    quiet: bool = False,
    color: bool | None = None,
    plain: bool | None = None,
    width: int | None = None,
    rules: Mapping[str, Any] | Sequence[Any] | None = None,
    tool_version: str | None = None,
    information_uri: str | None = None,
) -> str:
    """Render `report` as text. `color`/`plain`/`width` default to what stdout can show;
    `rules` defaults to the real catalog (`launchbuild.compat.registry.ALL_RULES`)."""
    fmt = OutputFormat.parse(fmt)
    if tool_version is None:
        from launchbuild.core.version import __version__

        tool_version = __version__
    tty = _stream_is_tty(sys.stdout)
    options = RenderOptions(
        verbose=verbose,
        quiet=quiet,
        color=color_default() if color is None else color,
        plain=(not tty) if plain is None else plain,
        width=width or width_default(),
        rules=None if rules is None else catalog_from(rules),
        tool_version=tool_version,
        # Only SARIF shows it, and reading it parses the installed metadata (importlib.metadata).
        information_uri=information_uri if information_uri is not None or fmt is not OutputFormat.SARIF
        else installed_information_uri(),
    )
    if quiet and fmt is OutputFormat.RICH:
        from launchbuild.report.formats.quiet import plain_quiet

        text = plain_quiet(report, options)  # the same characters, without importing rich
        if text is not None:
            return inert_commands(text)
    text = fmt.to_format().render(report, options)
    # Only the github format writes workflow commands (its encoding keeps job text off a line's
    # start); in every other format a line that would read as one is a job's text: made inert.
    return text if fmt is OutputFormat.GITHUB else inert_commands(text)


def write_github_step_summary(report: Report, *, verbose: bool = False) -> Path | None:
    """Append the Markdown report to $GITHUB_STEP_SUMMARY when running in GitHub Actions;
    returns the file written, or None when the variable is unset."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    text = render(report, OutputFormat.MARKDOWN, verbose=verbose, color=False, plain=True)
    data = (text + "\n").encode("utf-8", "backslashreplace")
    try:
        # O_NONBLOCK: a FIFO nobody reads (or /dev/stdin) fails at once (ENXIO) instead of
        # hanging the CI step for ever after the report was printed.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0), 0o666)
        os.set_blocking(fd, True)
        with os.fdopen(fd, "ab") as fh:
            fh.write(data)
    except OSError as exc:
        reason = "a FIFO that no process reads" if exc.errno == errno.ENXIO else exc.strerror or str(exc)
        raise BadInput(
            f"cannot append the job summary to GITHUB_STEP_SUMMARY={printable(target)}: {reason}; "
            "unset it or point it at a writable file"
        ) from None
    return path


def output_paths(output: Path, formats: Sequence[OutputFormat]) -> dict[OutputFormat, Path]:
    """One file per format: FILE itself for a single format, else FILE.<ext> per format
    (a known extension on FILE is replaced rather than doubled)."""
    if len(formats) == 1:
        return {formats[0]: output}
    known = {f".{f.extension}" for f in OutputFormat} | {".sarif", ".xml", ".json", ".md", ".txt"}
    stem = output.with_suffix("") if output.suffix in known else output
    paths: dict[OutputFormat, Path] = {}
    for f in formats:
        ext = f.extension
        # rich and github both render text: keep their files apart.
        if ext == "txt":
            ext = f"{f.value}.txt"
        paths[f] = stem.with_name(f"{stem.name}.{ext}")
    return paths


def write_outputs(
    report: Report,
    formats: Sequence[OutputFormat | str],
    *,
    output: Path | None = None,
    quiet: bool = False,
    verbose: bool = False,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> dict[OutputFormat, Path]:
    """Render each requested format (rich when none) to stdout or to files.

    Without --output only one format can own stdout; with it, files are written and a
    one-line verdict goes to stderr so a person running it still sees the outcome."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    chosen: list[OutputFormat] = []
    for f in formats or [OutputFormat.RICH]:
        parsed = OutputFormat.parse(f)
        if parsed not in chosen:
            chosen.append(parsed)
    if output is None and len(chosen) > 1:
        names = " ".join(f"--format {f.value}" for f in chosen)
        raise BadInput(f"{names} would all print to stdout: add --output FILE to write one file per format")

    written: dict[OutputFormat, Path] = {}
    if output is None:
        fmt = chosen[0]
        tty = _stream_is_tty(out)
        out.write(
            render(
                report,
                fmt,
                verbose=verbose,
                quiet=quiet,
                color=color_default(out) if fmt is OutputFormat.RICH else False,
                plain=not tty,
                width=width_default(out),
            )
        )
    else:
        if not str(output) or not Path(output).name:
            raise BadInput(f"--output {str(output)!r} names no file", hint="pass a file path, e.g. -o report.json")
        paths = output_paths(output, chosen)
        for fmt, path in paths.items():
            text = render(report, fmt, verbose=verbose, quiet=quiet, color=False, plain=True, width=DEFAULT_WIDTH)
            # A lone surrogate (a non-UTF-8 byte in an argument or file name) is written as a
            # backslash escape: a report is always written, never a crash. A FIFO nobody reads,
            # a directory or an unwritable place is one BadInput line (limits.write_output).
            write_output(path, text, f"{fmt.value} report", errors="backslashreplace")
            written[fmt] = path
        if not quiet or report.verdict.value == "fail":
            where = ", ".join(printable(str(p)) for p in written.values())  # a newline in a path forges no line
            err.write(f"launchbuild: {report.verdict.value.upper()} ({verdict_reason(report)}); wrote {where}\n")
    if OutputFormat.GITHUB in chosen:
        write_github_step_summary(report, verbose=verbose)
    return written


__all__ = [
    "OutputFormat",
    "RenderOptions",
    "ReportFormat",
    "RuleMeta",
    "color_default",
    "output_paths",
    "render",
    "write_github_step_summary",
    "write_outputs",
]
