"""The `launchbuild` command: a thin typer layer over `launchbuild.api`.

Exit codes: 0 pass or warn; 1 error findings, or a build/verification failure;
2 bad input; 3 infrastructure unreachable (Docker engine, registry, package index, git).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import typer

from launchbuild import cli_errors
from launchbuild.cli_errors import print_error
from launchbuild.core.version import __version__
from launchbuild.cli_params import Given, choice_enum, job_command, serve_command, serve_settings, table_command
from launchbuild.errors import LaunchbuildError
from launchbuild.options.table import BY_NAME

EXIT_CODES_HELP = (
    "Exit codes: 0 pass or warn; 1 error findings or build/verify failure; "
    "2 bad input; 3 infrastructure unreachable."
)

app = typer.Typer(
    name="launchbuild",
    help="Pre-flight checks and reproducible image builds for GPU training jobs.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _report_of_failure(exc: LaunchbuildError, kwargs: dict[str, Any]) -> None:
    """A command that failed after its job was read still writes the formats it was asked
    for (`-f json -f junit -o DIR/r`): the findings so far and the failure. Only when some
    were asked for: a plain run keeps its one error line."""
    report = getattr(exc, "report", None)
    formats, output = kwargs.get("format"), kwargs.get("output")
    if report is None or kwargs.get("dry_run") or not (formats or output):
        return
    import io

    from launchbuild.report.formats import write_outputs

    try:
        write_outputs(report, [f.value if hasattr(f, "value") else f for f in formats or []], output=output,
                      quiet=True, verbose=bool(kwargs.get("verbose")), stderr=io.StringIO())
    except LaunchbuildError:
        pass  # the original error is the one to report


def handled(func: Callable[..., Any]) -> Callable[..., Any]:
    """cli_errors.handled, writing the asked-for report formats when check or build fails."""
    return cli_errors.handled(func, on_error=_report_of_failure)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"launchbuild {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Pre-flight checks and reproducible image builds for GPU training jobs."""


ShowFormat: Any = choice_enum(BY_NAME["show-format"])
IMAGE_ARG = typer.Argument(..., metavar="IMAGE", help="Image reference.")


# --- job commands: parameters generated from options/table.py (cli_params.py) ---------------------


def _progress(given: Given) -> Any:
    """An explicit --progress wins; else --quiet, or a machine format on stdout, is quiet."""
    from launchbuild.progress import for_cli
    from launchbuild.report.formats import OutputFormat

    formats = given.format or []
    if given.progress is None and (given.quiet or (formats and OutputFormat.RICH not in formats and given.output is None)):
        return for_cli("quiet")
    return for_cli(given.progress.value if given.progress else "auto", verbose=bool(given.verbose))


def _request(given: Given, *, leave_out: tuple[str, ...] = (), **extra: Any) -> Any:
    """The one frozen request the pipeline takes, from what the command line said."""
    from launchbuild.pipeline.request import JobRequest, from_config_names

    return JobRequest(given.job, **given.job_inputs(), options=from_config_names(given.flags(leave_out=leave_out)),
                      operator_config=given.config, **extra)


def _emit(report: Any, given: Given) -> None:
    from launchbuild.report.formats import write_outputs

    write_outputs(report, [f.value for f in given.format or []], output=given.output, quiet=bool(given.quiet),
                  verbose=bool(given.verbose))


def _show_json(given: Given) -> bool:
    return given.format is not None and given.format.value == "json"


@job_command(app, "check", wrap=handled, epilog="Examples:\n\n  launchbuild check . --gpu H100 --driver 535.104.05\n\n"
             "  launchbuild check job/wandb-job.json --queue-config queue.json --format sarif -o lb.sarif\n\n"
             + EXIT_CODES_HELP)
def check(given: Given) -> None:
    """Pre-flight check a job before submission: base image, GPU, driver, CUDA and packages."""
    from launchbuild import api

    report = api.check(_request(given), progress=_progress(given))
    _emit(report, given)
    raise typer.Exit(report.exit_code)


@job_command(app, "build", wrap=handled, epilog="Examples:\n\n  launchbuild build examples/demo --push 127.0.0.1:5000/team/demo\n\n"
             "  launchbuild build . --engine kubernetes --dry-run > build-job.yaml\n\n" + EXIT_CODES_HELP)
def build(given: Given) -> None:
    """Check, then build, then verify the job's image (tagged by content; skipped when it exists)."""
    from launchbuild import api

    report = api.build(_request(given), force=given.force, no_cache=given.no_cache, dry_run=given.dry_run,
                       output=given.output if given.dry_run else None, progress=_progress(given))
    if isinstance(report, api.Manifests):  # --dry-run: to -o FILE (written), else to stdout
        if report.written_to is None:
            sys.stdout.write(report.text)
        return
    _emit(report, given)
    raise typer.Exit(report.exit_code)


@job_command(app, "resolve", wrap=handled, epilog="Examples:\n\n  launchbuild resolve . --python 3.9 -o lock.txt\n\n"
             "  launchbuild resolve job/wandb-job.json --platform linux/arm64 --format json\n\n" + EXIT_CODES_HELP)
def resolve(given: Given) -> None:
    """Lock the job's Python environment for the TARGET Python and platform."""
    from launchbuild import api

    from launchbuild.report.tables import print_resolve

    result = api.resolve(_request(given, leave_out=("extra",), extras=tuple(given.extra or ())))
    print_resolve(result, output=given.output, as_json=_show_json(given), verbose=bool(given.verbose))
    from launchbuild.core.findings import Severity

    # An error finding beside a lock (LB310: the user's --hash pins match nothing locked; LB312:
    # the target is outside the job's requires-python) fails as `check` does: exit 1, not a pass.
    failed = result.lock is None or any(f.severity is Severity.ERROR for f in result.findings)
    raise typer.Exit(1 if failed else 0)


@job_command(app, "dockerfile", wrap=handled,
             epilog="Examples:\n\n  launchbuild dockerfile . --base-image nvidia/cuda:12.1.1-runtime-ubuntu22.04\n\n" + EXIT_CODES_HELP)
def dockerfile(given: Given) -> None:
    """Print the Dockerfile launchbuild would build for the job (deterministic)."""
    from launchbuild import api

    text = api.dockerfile(_request(given))
    if given.output:
        from launchbuild.limits import write_output

        write_output(given.output, text, "Dockerfile")
    else:
        sys.stdout.write(text)


@table_command(app, "inspect", wrap=handled, argument=("image", IMAGE_ARG, str),
               epilog="Examples:\n\n  launchbuild inspect nvidia/cuda:12.1.1-runtime-ubuntu22.04\n\n"
               "  launchbuild inspect 127.0.0.1:5000/team/base:1 --format json\n\n" + EXIT_CODES_HELP)
def inspect(given: Given) -> None:
    """Print the fact sheet of a base image: OS, apt, arch, Pythons, CUDA, cuDNN, driver requirement."""
    from launchbuild import api
    from launchbuild.report.tables import print_facts

    facts = api.inspect(given.image, platform=given.platform or "linux/amd64", offline=bool(given.offline))
    print_facts(facts, as_json=_show_json(given))


@table_command(app, "rules", wrap=handled, epilog="Examples:\n\n  launchbuild rules\n\n  launchbuild rules --format json")
def rules(given: Given) -> None:
    """List the rule catalog: stable IDs, severities, titles and fixes."""
    from launchbuild import api
    from launchbuild.report.tables import print_rules

    print_rules(api.rules(), as_json=_show_json(given))


@job_command(app, "show", wrap=handled,
             epilog="Examples:\n\n  launchbuild show job/wandb-job.json --queue-config queue.json -v\n\n" + EXIT_CODES_HELP)
def show(given: Given) -> None:
    """Show the job as understood: source, entrypoint, Python, base image, and where each came from."""
    from launchbuild import api
    from launchbuild.report.tables import print_job

    print_job(api.show(_request(given)), as_json=_show_json(given), verbose=bool(given.verbose))


@serve_command(app, epilog="Examples:\n\n  launchbuild serve --token-file tokens.txt --state-dir /var/lib/launchbuild\n\n"
               "  launchbuild serve --insecure-no-auth --port 0 --address-file addr.json\n\n" + EXIT_CODES_HELP, wrap=handled)
def serve(given: Given) -> None:
    """Serve check and build over HTTP for queue agents (see docs/service.md)."""
    from launchbuild.service import ServeConfig, serve as run_server  # the web stack loads only here

    raise typer.Exit(run_server(ServeConfig(**serve_settings(given))))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"launchbuild {__version__}")


# `launchbuild data refresh|...`: the data pipeline (issue #12). Its module imports typer only.
from launchbuild.refresh.command import data_app  # noqa: E402

app.add_typer(data_app, name="data")


def main() -> None:
    # A lone surrogate (from argv, a file name, foreign JSON) must never crash an output
    # path: whatever cannot be encoded is written as a backslash escape instead.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
    cli_errors.terminate_as_interrupt()
    try:
        code = app(prog_name="launchbuild", standalone_mode=False)
    except LaunchbuildError as exc:  # raised outside a command (e.g. while parsing)
        from rich.markup import escape

        from launchbuild.jobs.urls import redact_text

        print_error(escape(redact_text(str(exc))))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        sys.exit(143 if isinstance(exc, cli_errors.Terminated) else 130)
    except typer.Abort:
        sys.exit(130)
    except _CLICK_ERROR as exc:
        sys.exit(_usage_error(exc))
    except Exception as exc:  # a bug of ours: still one line, never a traceback in a CI log
        if os.environ.get("LAUNCHBUILD_TRACEBACK"):
            raise
        sys.exit(_internal_error(exc))
    sys.exit(code if isinstance(code, int) else 0)


def _internal_error(exc: Exception) -> int:
    """An exception no stage turned into a launchbuild error: one redacted, bounded line that
    says it is ours, exit 1. LAUNCHBUILD_TRACEBACK=1 re-raises it with the traceback."""
    from rich.markup import escape

    from launchbuild.jobs.urls import redact_text
    from launchbuild.limits import one_line

    print_error(escape(one_line(f"internal error: {type(exc).__name__}: {redact_text(str(exc))} "
                            "(a bug in launchbuild: rerun with LAUNCHBUILD_TRACEBACK=1 and report it)")))
    return 1


# typer's (vendored) click exception base: usage errors such as a bad --format value.
_CLICK_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _usage_error(exc: Exception) -> int:
    """A usage error as one bounded line, like every other error (typer's box is many lines
    and echoes a hostile value in full); no arguments at all still prints the help."""
    from rich.markup import escape

    from launchbuild.limits import one_line

    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        typer.echo(ctx.get_help())
        return 2
    where = f"see '{ctx.command_path} --help'" if ctx is not None else "see 'launchbuild --help'"
    print_error(escape(one_line(f"{exc.format_message()} ({where})")))  # type: ignore[attr-defined]
    return int(getattr(exc, "exit_code", 2))


if __name__ == "__main__":  # pragma: no cover
    main()
