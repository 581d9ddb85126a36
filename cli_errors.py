"""How a command ends on our errors: one line on stderr and the error's exit code, never a
traceback. Shared by `launchbuild` (cli.py) and its `data` sub-app (refresh/command.py), so
neither imports the other.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable

import typer

from launchbuild.errors import LaunchbuildError


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, a queue agent stopping a check): unwound as Ctrl-C is, so
    every temp dir, probe container and half-built tag is cleaned up on the way out; exit 143."""


def terminate_as_interrupt() -> None:
    """From now on SIGTERM raises Terminated in the main thread. Once: a second SIGTERM during
    the clean-up is ignored (SIGKILL still ends the process)."""
    import signal

    def handler(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


def print_error(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR"))).print(
        f"[bold red]error:[/] {message}", markup=True, soft_wrap=True
    )


def _log_tail(lines: Any, keep: int = 15) -> None:
    """A failed build's last lines, so the cause is on screen without re-running."""
    lines = [line for line in lines or () if line.strip()][-keep:]
    if not lines:
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))
    console.print("[dim]--- last lines of the build log ---[/]")
    from launchbuild.limits import clip

    for line in lines:
        console.print(f"[dim]{escape(clip(line, 4000))}[/]")  # foreign text: escaped, bounded


def _refuse_non_utf8_values(kwargs: dict[str, Any]) -> None:
    """Option values (not paths: JOB and Path options may name files with any bytes) that
    hold non-UTF-8 bytes (lone surrogates in argv) would reach a Dockerfile, a report or a
    registry; refuse them as one line instead of a crash further down."""
    from launchbuild.errors import BadInput

    for name, value in kwargs.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if name != "job" and any(isinstance(v, str) and any("\ud800" <= ch <= "\udfff" for ch in v) for v in values):
            raise BadInput(f"--{name.replace('_', '-')}: the value is not valid UTF-8", hint="pass it as UTF-8 text")


def handled(func: Callable[..., Any], on_error: Callable[[LaunchbuildError, dict[str, Any]], None] | None = None
            ) -> Callable[..., Any]:
    """Turn our errors into one line on stderr and their exit code; never a traceback.
    `on_error` runs first for `check` and `build` (the CLI writes the report of the failure)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _refuse_non_utf8_values(kwargs)
            return func(*args, **kwargs)
        except LaunchbuildError as exc:
            from rich.markup import escape

            from launchbuild.jobs.urls import redact_text

            if on_error is not None and func.__name__ in ("check", "build"):  # commands whose output is a report
                on_error(exc, kwargs)
            _log_tail(getattr(exc, "log_tail", ()))
            # Last line of defence: no URL credentials in any message, whoever raised it.
            print_error(escape(redact_text(str(exc))))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            print_error(f"{'terminated' if terminated else 'interrupted'}; nothing was left behind")
            raise typer.Exit(143 if terminated else 130) from None
        except RecursionError:
            # Last line of defence: parsers and walks are depth-capped (limits.py), so only a
            # nesting no cap foresaw gets here; it is the input's depth, never a crash to show.
            print_error("the input is nested too deeply to process (flatten it; launchbuild caps nesting at 64 levels)")
            raise typer.Exit(2) from None

    return wrapper
