"""The `launchbuild` command: a thin typer layer over `launchbuild.api`.

Exit codes: 0 pass or warn; 1 error findings, or a build/verification failure;
2 bad input; 3 infrastructure unreachable (Docker engine, registry, package index, git).
"""

from __future__ import annotations

import enum
import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from launchbuild import __version__
from launchbuild.errors import LaunchbuildError

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


class Format(str, enum.Enum):
    rich = "rich"
    json = "json"
    junit = "junit"
    sarif = "sarif"
    github = "github"
    markdown = "markdown"


class ShowFormat(str, enum.Enum):
    rich = "rich"
    json = "json"


class Resolver(str, enum.Enum):
    uv = "uv"
    pip_tools = "pip-tools"


class Engine(str, enum.Enum):
    auto = "auto"
    buildkit = "buildkit"
    classic = "classic"
    kubernetes = "kubernetes"


def _stderr(message: str) -> None:
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
    """Turn our errors into one line on stderr and their exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _refuse_non_utf8_values(kwargs)
            return func(*args, **kwargs)
        except LaunchbuildError as exc:
            from rich.markup import escape

            from launchbuild.jobs.urls import redact_text

            if func.__name__ in ("check", "build"):  # the commands whose output is a report
                _report_of_failure(exc, kwargs)
            _log_tail(getattr(exc, "log_tail", ()))
            # Last line of defence: no URL credentials in any message, whoever raised it.
            _stderr(escape(redact_text(str(exc))))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _stderr("interrupted; nothing was left behind")
            raise typer.Exit(130) from None
        except RecursionError:
            # Last line of defence: parsers and walks are depth-capped (limits.py), so only a
            # nesting no cap foresaw gets here; it is the input's depth, never a crash to show.
            _stderr("the input is nested too deeply to process (flatten it; launchbuild caps nesting at 64 levels)")
            raise typer.Exit(2) from None

    return wrapper


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


# --- shared options ---------------------------------------------------------------------------

JobArg = typer.Argument(
    None,
    metavar="JOB",
    help="A directory, a code archive (.tar/.tar.gz/.zip), a git URL[@REF], image:REF, "
    "or a job spec JSON (wandb-job.json). Defaults to the current directory.",
    show_default=False,
)


def _opt(*names: str, help: str, **kw: Any) -> Any:
    return typer.Option(None, *names, help=help, show_default=False, **kw)


REF = _opt("--ref", help="Git commit, branch or tag (instead of URL@REF).")
SUBDIR = _opt("--subdir", help="Subdirectory of the source that holds the job.")
ENTRYPOINT = _opt("--entrypoint", help='Entrypoint command, e.g. "python train.py".')
REQUIREMENTS = _opt("--requirements", help="Requirements file (overrides detection).")
FROZEN = _opt("--frozen", help="The source run's package list (pip freeze output).")
RUN_METADATA = _opt("--run-metadata", help="The source run's metadata (wandb-metadata.json).")
QUEUE_CONFIG = _opt("--queue-config", help='Queue config JSON: {"builder": {"accelerator": {"base_image": ...}}}.')
PYTHON = _opt("--python", help="Target Python X.Y.")
BASE_IMAGE = _opt("--base-image", help="Accelerator base image; Python is installed into it with apt.")
PYTHON_BASE_IMAGE = _opt("--python-base-image", help="Base image when no accelerator image is given.")
GPU = typer.Option(
    None, "--gpu", help="Target GPU: a name (H100, T4, 'NVIDIA A100-SXM4-40GB'), sm_90 or 9.0; repeatable; 'auto' reads NVML."
)
DRIVER = _opt("--driver", help="Node NVIDIA driver version, e.g. 535.104.05.")
PLATFORM = typer.Option(None, "--platform", help="Target platform: linux/amd64 or linux/arm64 (default linux/amd64).", show_default=False)
FORMAT = typer.Option(None, "--format", "-f", help="Output format; repeat for several (each to its own file with --output).")
OUTPUT = _opt("--output", "-o", help="Write the report to FILE (with several formats: FILE.<ext> per format).")
IGNORE = typer.Option(None, "--ignore", help="Rule ID to ignore; repeatable.")
OFFLINE = typer.Option(None, "--offline/--online", help="Use caches only; never reach the network.", show_default=False)
STRICT = typer.Option(None, "--strict", help="Treat warnings as failures.", show_default=False)
QUIET = typer.Option(False, "--quiet", "-q", help="Print only the verdict and errors.")
VERBOSE = typer.Option(False, "--verbose", "-v", help="Print resolved options, evidence and the full environment.")
CONFIG = _opt("--config", help="Operator config TOML (default: $XDG_CONFIG_HOME/launchbuild/config.toml); "
              "may set every option, unlike a job's launchbuild.toml.")
CA_BUNDLE = _opt("--ca-bundle", help="CA bundle mounted into install steps only, as a build secret "
                 "(default: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT).")
EXTRA = typer.Option(None, "--extra", help="Optional-dependency extra of the job's project; repeatable.")
GROUP = typer.Option(None, "--group", help="Dependency group (PEP 735, Poetry, PDM, Pipfile dev); repeatable.")


class ProgressMode(str, enum.Enum):
    auto = "auto"
    tty = "tty"
    plain = "plain"
    quiet = "quiet"


PROGRESS = typer.Option(
    None, "--progress", envvar="LAUNCHBUILD_PROGRESS", show_default=False,
    help="auto (tty on a terminal, else plain), tty (live status), plain (a line per step with N/M and its "
    "own time, for CI logs), quiet.",
)


def _progress(mode: Optional[ProgressMode], *, quiet: bool, formats: Optional[List[Format]], output: Optional[Path],
              verbose: bool) -> Any:
    """An explicit --progress wins; else --quiet, or a machine format on stdout, is quiet."""
    from launchbuild import api

    if mode is None and (quiet or (formats and Format.rich not in formats and output is None)):
        return api.console_progress(quiet=True)
    return api.console_progress(mode=(mode or ProgressMode.auto).value, verbose=verbose)


def _flags(**kw: Any) -> dict[str, Any]:
    """Only what the user passed on the command line, as option-layer names."""
    return {k.replace("_", "-"): v for k, v in kw.items() if v not in (None, [], ())}


def _emit(report: Any, formats: Optional[List[Format]], output: Optional[Path], quiet: bool, verbose: bool) -> None:
    from launchbuild.report.formats import write_outputs

    write_outputs(
        report,
        [f.value for f in formats] if formats else [],
        output=output,
        quiet=quiet,
        verbose=verbose,
    )


# --- commands -----------------------------------------------------------------------------------


@app.command(epilog="Examples:\n\n  launchbuild check . --gpu H100 --driver 535.104.05\n\n"
             "  launchbuild check job/wandb-job.json --queue-config queue.json --format sarif -o lb.sarif\n\n"
             + EXIT_CODES_HELP)
@handled
def check(
    job: Optional[str] = JobArg,
    ref: Optional[str] = REF,
    subdir: Optional[str] = SUBDIR,
    entrypoint: Optional[str] = ENTRYPOINT,
    requirements: Optional[Path] = REQUIREMENTS,
    frozen: Optional[Path] = FROZEN,
    run_metadata: Optional[Path] = RUN_METADATA,
    queue_config: Optional[Path] = QUEUE_CONFIG,
    python: Optional[str] = PYTHON,
    base_image: Optional[str] = BASE_IMAGE,
    python_base_image: Optional[str] = PYTHON_BASE_IMAGE,
    gpu: Optional[List[str]] = GPU,
    driver: Optional[str] = DRIVER,
    platform: Optional[str] = PLATFORM,
    format: Optional[List[Format]] = FORMAT,
    output: Optional[Path] = OUTPUT,
    ignore: Optional[List[str]] = IGNORE,
    offline: Optional[bool] = OFFLINE,
    strict: Optional[bool] = STRICT,
    extra: Optional[List[str]] = EXTRA,
    group: Optional[List[str]] = GROUP,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
    config: Optional[Path] = CONFIG,
    progress: Optional[ProgressMode] = PROGRESS,
) -> None:
    """Pre-flight check a job before submission: base image, GPU, driver, CUDA and packages."""
    from launchbuild import api

    report = api.check(
        job,
        ref=ref, subdir=subdir, entrypoint=entrypoint, requirements=requirements, frozen=frozen,
        run_metadata=run_metadata, queue_config=queue_config,
        flags=_flags(python=python, base_image=base_image, python_base_image=python_base_image, gpu=gpu,
                     driver=driver, platform=platform, ignore=ignore,
                     offline=offline, strict=strict, extra=extra, group=group),
        config=config,
        progress=_progress(progress, quiet=quiet, formats=format, output=output, verbose=verbose),
    )
    _emit(report, format, output, quiet, verbose)
    raise typer.Exit(report.exit_code)


@app.command(epilog="Examples:\n\n  launchbuild build examples/demo --push 127.0.0.1:5000/team/demo\n\n"
             "  launchbuild build . --engine kubernetes --dry-run > build-job.yaml\n\n" + EXIT_CODES_HELP)
@handled
def build(
    job: Optional[str] = JobArg,
    ref: Optional[str] = REF,
    subdir: Optional[str] = SUBDIR,
    entrypoint: Optional[str] = ENTRYPOINT,
    requirements: Optional[Path] = REQUIREMENTS,
    frozen: Optional[Path] = FROZEN,
    run_metadata: Optional[Path] = RUN_METADATA,
    queue_config: Optional[Path] = QUEUE_CONFIG,
    python: Optional[str] = PYTHON,
    base_image: Optional[str] = BASE_IMAGE,
    python_base_image: Optional[str] = PYTHON_BASE_IMAGE,
    gpu: Optional[List[str]] = GPU,
    driver: Optional[str] = DRIVER,
    platform: Optional[str] = PLATFORM,
    format: Optional[List[Format]] = FORMAT,
    output: Optional[Path] = OUTPUT,
    ignore: Optional[List[str]] = IGNORE,
    offline: Optional[bool] = OFFLINE,
    strict: Optional[bool] = STRICT,
    push: Optional[str] = _opt("--push", help="Push the built image to REGISTRY/REPO (host:port works)."),
    engine: Optional[Engine] = typer.Option(None, "--engine", help="Build engine.", show_default=False),
    uid: Optional[str] = _opt("--uid", help="uid of the non-root user (default 1000)."),  # checked by the options layer: one line
    force: bool = typer.Option(False, "--force", help="Build even when check has errors, or the tag exists."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Rebuild even when the content tag exists."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --engine kubernetes: write the manifests, submit nothing."),
    extra: Optional[List[str]] = EXTRA,
    group: Optional[List[str]] = GROUP,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
    ca_bundle: Optional[str] = CA_BUNDLE,
    config: Optional[Path] = CONFIG,
    progress: Optional[ProgressMode] = PROGRESS,
) -> None:
    """Check, then build, then verify the job's image (tagged by content; skipped when it exists)."""
    from launchbuild import api

    report = api.build(
        job,
        ref=ref, subdir=subdir, entrypoint=entrypoint, requirements=requirements, frozen=frozen,
        run_metadata=run_metadata, queue_config=queue_config,
        flags=_flags(python=python, base_image=base_image, python_base_image=python_base_image, gpu=gpu,
                     driver=driver, platform=platform, ignore=ignore,
                     offline=offline, strict=strict, push=push, engine=engine.value if engine else None, uid=uid,
                     ca_bundle=ca_bundle, extra=extra, group=group),
        config=config, force=force, no_cache=no_cache, dry_run=dry_run,
        output=output if dry_run else None,
        progress=_progress(progress, quiet=quiet, formats=format, output=output, verbose=verbose),
    )
    if report is None:  # --dry-run wrote manifests
        return
    _emit(report, format, output, quiet, verbose)
    raise typer.Exit(report.exit_code)


@app.command(epilog="Examples:\n\n  launchbuild resolve . --python 3.9 -o lock.txt\n\n"
             "  launchbuild resolve job/wandb-job.json --platform linux/arm64 --format json\n\n" + EXIT_CODES_HELP)
@handled
def resolve(
    job: Optional[str] = JobArg,
    ref: Optional[str] = REF,
    subdir: Optional[str] = SUBDIR,
    requirements: Optional[Path] = REQUIREMENTS,
    frozen: Optional[Path] = FROZEN,
    run_metadata: Optional[Path] = RUN_METADATA,
    queue_config: Optional[Path] = QUEUE_CONFIG,
    python: Optional[str] = PYTHON,
    platform: Optional[str] = PLATFORM,
    resolver: Optional[Resolver] = typer.Option(None, "--resolver", help="Lock backend.", show_default=False),
    extra: Optional[List[str]] = EXTRA,
    group: Optional[List[str]] = GROUP,
    output: Optional[Path] = OUTPUT,
    format: Optional[ShowFormat] = typer.Option(None, "--format", "-f", help="json for the structured result."),
    offline: Optional[bool] = OFFLINE,
    verbose: bool = VERBOSE,
    config: Optional[Path] = CONFIG,
) -> None:
    """Lock the job's Python environment for the TARGET Python and platform."""
    from launchbuild import api

    result = api.resolve(
        job, ref=ref, subdir=subdir, requirements=requirements, frozen=frozen, run_metadata=run_metadata,
        queue_config=queue_config, extras=tuple(extra or ()),
        flags=_flags(python=python, platform=platform,
                     resolver=resolver.value if resolver else None, offline=offline, group=group),
        config=config,
    )
    api.emit_resolve(result, output=output, as_json=format is ShowFormat.json, verbose=verbose)
    raise typer.Exit(1 if result.lock is None else 0)


@app.command(epilog="Examples:\n\n  launchbuild dockerfile . --base-image nvidia/cuda:12.1.1-runtime-ubuntu22.04\n\n" + EXIT_CODES_HELP)
@handled
def dockerfile(
    job: Optional[str] = JobArg,
    ref: Optional[str] = REF,
    subdir: Optional[str] = SUBDIR,
    entrypoint: Optional[str] = ENTRYPOINT,
    requirements: Optional[Path] = REQUIREMENTS,
    frozen: Optional[Path] = FROZEN,
    queue_config: Optional[Path] = QUEUE_CONFIG,
    python: Optional[str] = PYTHON,
    base_image: Optional[str] = BASE_IMAGE,
    python_base_image: Optional[str] = PYTHON_BASE_IMAGE,
    platform: Optional[str] = PLATFORM,
    uid: Optional[str] = _opt("--uid", help="uid of the non-root user (default 1000)."),  # checked by the options layer: one line
    offline: Optional[bool] = OFFLINE,
    output: Optional[Path] = OUTPUT,
    ca_bundle: Optional[str] = CA_BUNDLE,
    config: Optional[Path] = CONFIG,
    extra: Optional[List[str]] = EXTRA,
    group: Optional[List[str]] = GROUP,
) -> None:
    """Print the Dockerfile launchbuild would build for the job (deterministic)."""
    from launchbuild import api

    text = api.dockerfile(
        job, ref=ref, subdir=subdir, entrypoint=entrypoint, requirements=requirements, frozen=frozen,
        queue_config=queue_config,
        flags=_flags(python=python, base_image=base_image, python_base_image=python_base_image,
                     platform=platform, uid=uid, offline=offline, ca_bundle=ca_bundle, extra=extra, group=group),
        config=config,
    )
    if output:
        from launchbuild.limits import write_output

        write_output(output, text, "Dockerfile")
    else:
        sys.stdout.write(text)


@app.command(epilog="Examples:\n\n  launchbuild inspect nvidia/cuda:12.1.1-runtime-ubuntu22.04\n\n"
             "  launchbuild inspect 127.0.0.1:5000/team/base:1 --format json\n\n" + EXIT_CODES_HELP)
@handled
def inspect(
    image: str = typer.Argument(..., metavar="IMAGE", help="Image reference."),
    platform: Optional[str] = PLATFORM,
    offline: bool = typer.Option(False, "--offline", help="Use the fact cache and tag inference only."),
    format: Optional[ShowFormat] = typer.Option(None, "--format", "-f", help="json for machines."),
) -> None:
    """Print the fact sheet of a base image: OS, apt, arch, Pythons, CUDA, cuDNN, driver requirement."""
    from launchbuild import api

    facts = api.inspect(image, platform=platform or "linux/amd64", offline=offline)
    api.emit_facts(facts, as_json=format is ShowFormat.json)


@app.command(epilog="Examples:\n\n  launchbuild rules\n\n  launchbuild rules --format json")
@handled
def rules(
    format: Optional[ShowFormat] = typer.Option(None, "--format", "-f", help="json for machines."),
) -> None:
    """List the rule catalog: stable IDs, severities, titles and fixes."""
    from launchbuild import api

    api.emit_rules(as_json=format is ShowFormat.json)


@app.command(epilog="Examples:\n\n  launchbuild show job/wandb-job.json --queue-config queue.json -v\n\n" + EXIT_CODES_HELP)
@handled
def show(
    job: Optional[str] = JobArg,
    ref: Optional[str] = REF,
    subdir: Optional[str] = SUBDIR,
    entrypoint: Optional[str] = ENTRYPOINT,
    frozen: Optional[Path] = FROZEN,
    run_metadata: Optional[Path] = RUN_METADATA,
    queue_config: Optional[Path] = QUEUE_CONFIG,
    python: Optional[str] = PYTHON,
    base_image: Optional[str] = BASE_IMAGE,
    python_base_image: Optional[str] = PYTHON_BASE_IMAGE,
    format: Optional[ShowFormat] = typer.Option(None, "--format", "-f", help="json for machines."),
    verbose: bool = VERBOSE,
    config: Optional[Path] = CONFIG,
) -> None:
    """Show the job as understood: source, entrypoint, Python, base image, and where each came from."""
    from launchbuild import api

    api.show(
        job, ref=ref, subdir=subdir, entrypoint=entrypoint, frozen=frozen, run_metadata=run_metadata,
        queue_config=queue_config,
        flags=_flags(python=python, base_image=base_image, python_base_image=python_base_image),
        config=config, as_json=format is ShowFormat.json, verbose=verbose,
    )


@app.command(epilog="Examples:\n\n  launchbuild serve --token-file tokens.txt --state-dir /var/lib/launchbuild\n\n"
             "  launchbuild serve --insecure-no-auth --port 0 --address-file addr.json\n\n" + EXIT_CODES_HELP)
@handled
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8642, "--port", help="Port to listen on; 0 picks a free one (see --address-file)."),
    token_file: Optional[Path] = _opt("--token-file", help="Bearer tokens, one name:token per line."),
    insecure_no_auth: bool = typer.Option(False, "--insecure-no-auth", help="Serve without tokens (loopback only)."),
    state_dir: Path = typer.Option(Path(".launchbuild-serve"), "--state-dir", help="Where build records (SQLite) live."),
    max_concurrent_checks: int = typer.Option(2, "--max-concurrent-checks", help="Checks run at once."),
    max_concurrent_builds: int = typer.Option(1, "--max-concurrent-builds", help="Builds run at once."),
    check_queue_size: int = typer.Option(64, "--check-queue-size", help="Checks that may wait; past that, 429."),
    build_queue_size: int = typer.Option(16, "--build-queue-size", help="Builds that may wait; past that, 429."),
    max_upload_bytes: int = typer.Option(64 * 1024 * 1024, "--max-upload-bytes", help="Largest request body; past it, 413."),
    push_prefix: Optional[str] = _opt("--push-prefix", help="Builds may push only under REGISTRY/PREFIX/ (none: no push)."),
    check_cache_ttl: float = typer.Option(300.0, "--check-cache-ttl", help="Seconds an exact check result is reused; 0 disables."),
    shutdown_grace: float = typer.Option(20.0, "--shutdown-grace", help="Seconds SIGTERM waits for in-flight work."),
    address_file: Optional[Path] = _opt("--address-file", help="Write {host, port, url, pid} as JSON here once listening."),
    config: Optional[Path] = _opt("--config", help="Operator config TOML applied to every request (default: "
                                  "$XDG_CONFIG_HOME/launchbuild/config.toml); read once at start."),
    allow_git_host: Optional[List[str]] = _opt("--allow-git-host", help="Git hosts a request may clone from; "
                                               "repeatable (none given: any host)."),
    allow_registry: Optional[List[str]] = _opt("--allow-registry", help="Registries (HOST[:PORT]) a request's images "
                                               "may come from; repeatable (none given: any)."),
    allow_index_host: Optional[List[str]] = _opt("--allow-index-host", help="Package hosts (HOST[:PORT]) a job's "
                                                 "dependency files may name; repeatable (none given: any)."),
) -> None:
    """Serve check and build over HTTP for queue agents (see docs/service.md)."""
    from launchbuild.service import ServeConfig, serve as run_server  # the web stack loads only here

    raise typer.Exit(run_server(ServeConfig(
        host=host, port=port, token_file=token_file, insecure_no_auth=insecure_no_auth, state_dir=state_dir,
        max_concurrent_checks=max_concurrent_checks, max_concurrent_builds=max_concurrent_builds,
        check_queue_size=check_queue_size, build_queue_size=build_queue_size, max_upload_bytes=max_upload_bytes,
        push_prefix=push_prefix, check_cache_ttl_s=check_cache_ttl, shutdown_grace_s=shutdown_grace,
        address_file=address_file, operator_config=config, allow_git_hosts=tuple(allow_git_host or ()),
        allow_registries=tuple(allow_registry or ()), allow_index_hosts=tuple(allow_index_host or ()),
    )))


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
    try:
        code = app(prog_name="launchbuild", standalone_mode=False)
    except LaunchbuildError as exc:  # raised outside a command (e.g. while parsing)
        from rich.markup import escape

        from launchbuild.jobs.urls import redact_text

        _stderr(escape(redact_text(str(exc))))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
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

    _stderr(escape(one_line(f"internal error: {type(exc).__name__}: {redact_text(str(exc))} "
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
    _stderr(escape(one_line(f"{exc.format_message()} ({where})")))  # type: ignore[attr-defined]
    return int(getattr(exc, "exit_code", 2))


if __name__ == "__main__":  # pragma: no cover
    main()
