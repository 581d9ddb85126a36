"""`launchbuild data ...`: the typer sub-app. Light at import (typer only); the pipeline,
requests and jsonschema load when a data command runs, never on `launchbuild check`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import List, Optional

import typer

data_app = typer.Typer(help="Refresh and check the compatibility tables in data/ (see docs/data.md).", no_args_is_help=True)


def _data_dir(arg: Optional[Path]) -> Path:
    if arg is not None:
        return arg
    import launchbuild.data

    return Path(launchbuild.data.__file__).resolve().parent


def run_refresh(*, check: bool, only: List[str], fixtures: Optional[Path], record: Optional[Path],
                nvidia_dockerfiles: Optional[Path], nvidia_origin: Optional[str], data_dir: Optional[Path],
                cpython_release_cycle: Optional[Path] = None, cpython_origin: Optional[str] = None,
                budget_mb: int = 4096, today: Optional[str] = None, packages: List[str] | tuple[str, ...] = (), echo=typer.echo,
                source_dir: Optional[Path] = None) -> int:
    """The command body, callable from tests; returns the exit code."""
    from launchbuild.errors import BadInput
    from launchbuild.refresh import pipeline
    from launchbuild.refresh.http import FixtureFetcher, LiveFetcher, MissingFixture

    directory = _data_dir(data_dir)
    if not directory.is_dir():
        raise BadInput(f"--data-dir {directory}: " + ("is not a directory" if directory.exists() else "does not exist"),
                       hint="pass the folder that holds the tables (data/*.json), or leave --data-dir out for the "
                            "installed launchbuild/data")
    if budget_mb < 0:
        raise BadInput(f"--budget-mb {budget_mb}: must be 0 or more (the MiB the wheel measurement may read)")
    if check:
        problems = pipeline.check(directory)
        for p in problems:
            echo(p)
        echo("data check: ok" if not problems else f"data check: {len(problems)} problem(s)")
        return 1 if problems else 0
    if today is not None:
        try:
            datetime.date.fromisoformat(today)
        except ValueError:
            raise BadInput(f"--today {today}: not a YYYY-MM-DD date") from None
    if source_dir is not None and not source_dir.is_dir():
        raise BadInput(f"--source-dir {source_dir}: not a directory; pass a directory of repository snapshots (OWNER+NAME/...)")
    if fixtures is not None and not fixtures.is_dir():
        raise BadInput(f"--fixtures {fixtures}: not a directory of recorded responses")
    fetcher = FixtureFetcher(fixtures) if fixtures is not None else LiveFetcher(record=record)
    opts = pipeline.Options(
        data_dir=directory, fetcher=fetcher, today=today or datetime.date.today().isoformat(),
        only=tuple(only), source_dir=source_dir, nvidia_dockerfiles=nvidia_dockerfiles, nvidia_origin=nvidia_origin,
        cpython_release_cycle=cpython_release_cycle, cpython_origin=cpython_origin,
        budget_bytes=budget_mb * 1024 * 1024, packages=tuple(packages), log=echo,
    )
    try:
        lines = pipeline.refresh(opts)
    except MissingFixture as exc:
        # --fixtures replays recordings and reaches no host: a recording that is not there is
        # the given folder's gap (exit 2), not an unreachable infrastructure (exit 3).
        raise BadInput(exc.message, hint=exc.hint) from None
    for line in lines:
        echo(line)
    problems = pipeline.check(directory)
    for p in problems:
        echo(p)
    return 1 if problems else 0


@data_app.command("refresh")
def refresh(
    check: bool = typer.Option(False, "--check", help="Validate schema, provenance and order offline; change nothing."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Run one source: pypi, archs, nvidia-images, distros, cpython, gpus, cuda-archs, torch-builds, frameworks, wheel-libs, manual; repeatable."),
    source_dir: Optional[Path] = typer.Option(None, "--source-dir", help="Snapshots of the upstream repositories (DIR/OWNER+NAME/PATH or a git dir DIR/OWNER+NAME/repo), read instead of their pinned URLs."),
    fixtures: Optional[Path] = typer.Option(None, "--fixtures", "--offline", help="Read recorded responses from DIR instead of the network."),
    record: Optional[Path] = typer.Option(None, "--record", help="Save every response to DIR (to grow fixtures)."),
    nvidia_dockerfiles: Optional[Path] = typer.Option(None, "--nvidia-dockerfiles", help="Checkout (or bare git dir) of NVIDIA's container-images repository."),
    nvidia_origin: Optional[str] = typer.Option(None, "--nvidia-origin", help="Where that checkout came from, for the rows' source."),
    cpython_release_cycle: Optional[Path] = typer.Option(None, "--cpython-releases", "--cpython-release-cycle", help="python/peps' release_management/python-releases.toml, or an older copy of the devguide's include/release-cycle.json (told apart by suffix, else content)."),
    cpython_origin: Optional[str] = typer.Option(None, "--cpython-origin", help="Where that file came from (repo @ commit), for the rows' source."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Tables to write (default: the installed launchbuild/data)."),
    budget_mb: int = typer.Option(4096, "--budget-mb", help="Most MiB the wheel measurement may read."),
    today: Optional[str] = typer.Option(None, "--today", help="Date written as 'checked' (YYYY-MM-DD; default today)."),
    package: Optional[List[str]] = typer.Option(None, "--package", help="Limit pypi/archs/wheel-libs to this package; repeatable."),
) -> None:
    """Regenerate data/*.json from primary sources, or check them (--check)."""
    from launchbuild.cli_errors import handled

    code = handled(run_refresh)(check=check, only=only or [], fixtures=fixtures, record=record,
                                nvidia_dockerfiles=nvidia_dockerfiles, nvidia_origin=nvidia_origin, data_dir=data_dir,
                                cpython_release_cycle=cpython_release_cycle, cpython_origin=cpython_origin, budget_mb=budget_mb, today=today, packages=package or [],
                                source_dir=source_dir)
    raise typer.Exit(code)
