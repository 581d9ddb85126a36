"""The typer parameters of the job commands, generated from `options/table.py`.

Each job command (`check`, `build`, `resolve`, `dockerfile`, `show`) is written as a body that
takes one `Given` (what the command line said); `job_command` gives it the signature typer
reads: the JOB argument, then every table row that names the command, with the row's flag,
help, type and choices. So a new option is one table row, and the flag, its help, its enum,
its environment variable and the config schema follow from it. `inspect` and `rules` take
their flags the same way (`table_command`, with their own argument or none). `serve` takes the
server's settings (`SERVE_OPTIONS`, a scope of the table that is never a job's) through
`serve_command`, with their real types and defaults; `serve_settings` gives ServeConfig's
keywords from them.
"""

from __future__ import annotations

import enum
import importlib
import inspect
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional

import typer

from launchbuild.options.table import OPTIONS, SERVE, SERVE_OPTIONS, Option, ServeOption, for_command

JOB_ARG = typer.Argument(
    None,
    metavar="JOB",
    help="A directory, a code archive (.tar/.tar.gz/.zip), a git URL[@REF], image:REF, "
    "or a job spec JSON (wandb-job.json). Defaults to the current directory.",
    show_default=False,
)
# The api keywords that describe which job is meant (not options: they are never layered).
JOB_INPUTS = ("ref", "subdir", "entrypoint", "requirements", "frozen", "run_metadata", "queue_config")

_ENUMS: dict[str, type[enum.Enum]] = {}
_PARAM_NAMES = frozenset(o.param_name for o in OPTIONS)


def path_value(value: Any) -> Path:
    """A path flag's value, less one trap: an empty one (`--config "$CFG"` with CFG unset)
    would be Path(""), which is "." — the working directory read as the config file, used as
    the state dir, or named '.' in the error. A usage error instead (one line, exit 2)."""
    if isinstance(value, Path):
        return value
    if not str(value).strip():
        raise typer.BadParameter("is empty: give a path, or leave the option out")
    return Path(value)


path_value.__name__ = "path"  # typer names the metavar after the parser: "<path>", as before


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def choice_enum(option: Option) -> type[enum.Enum] | None:
    """The enum typer shows and checks for a row with choices: the owner's enum when one
    exists (report formats), else one made from the row's choices."""
    if option.enum_from:
        module, name = option.enum_from.split(":")
        found: type[enum.Enum] = getattr(importlib.import_module(module), name)
        return found
    if not option.choices:
        return None
    if option.name not in _ENUMS:
        members = {c.replace("-", "_"): c for c in option.choices}
        made: type[enum.Enum] = enum.Enum(_camel(option.name), members, type=str)  # type: ignore[misc,assignment]
        _ENUMS[option.name] = made
    return _ENUMS[option.name]


def _annotation(option: Option) -> Any:
    choice = choice_enum(option)
    if option.kind is list:
        return Optional[List[choice or str]]  # type: ignore[misc]
    if option.kind is bool:
        return Optional[bool] if option.layered else bool
    if option.kind is int:
        return Optional[str]  # the options layer checks it: a bad value is one line, not typer's box
    if option.kind is Path:
        return Optional[Path]
    return Optional[choice or str]  # type: ignore[misc]


def _parameter(option: Option) -> inspect.Parameter:
    names = [option.flag + (f"/{option.negative}" if option.negative else "")]
    if option.short:
        names.append(option.short)
    default: Any = False if option.kind is bool and not option.layered else None
    envvar = option.env_var if not option.layered else None  # layered rows: the options layer reads env
    # The app renders help as rich markup: a literal "[/DIR]" must not read as a closing tag.
    info = typer.Option(default, *names, help=option.help.replace("[", "\\["), show_default=False, envvar=envvar,
                        rich_help_panel=option.panel, parser=path_value if option.kind is Path else None)
    return inspect.Parameter(option.param_name, inspect.Parameter.KEYWORD_ONLY, default=info,
                             annotation=_annotation(option))


def flag_names() -> frozenset[str]:
    """Every `--flag` a job command accepts (positive and negative forms)."""
    names = {o.flag for o in OPTIONS if o.commands}
    names |= {o.negative for o in OPTIONS if o.commands and o.negative}
    return frozenset(names)


class Given:
    """What one command line said, by parameter name (absent parameters read as None)."""

    def __init__(self, command: str, values: Mapping[str, Any]) -> None:
        self.command = command
        self.values = dict(values)

    def __getattr__(self, name: str) -> Any:
        # A parameter some job command has reads as None where this one lacks it; any other
        # name is a typo in the CLI, not a missing flag.
        if name not in self.values and name not in _PARAM_NAMES:
            raise AttributeError(name)
        return self.values.get(name)

    def flags(self, *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
        """Only the layered options the user passed, by option name (enum members as values)."""
        out: dict[str, Any] = {}
        for option in for_command(self.command):
            if not option.layered or option.to_api or option.name in leave_out:
                continue
            value = _plain(self.values.get(option.param_name))
            if value not in (None, [], ()):
                out[option.name] = value
        return out

    def job_inputs(self) -> dict[str, Any]:
        """The api keywords naming the job (`ref=`, `subdir=`, ...) this command declares."""
        declared = {o.param_name for o in for_command(self.command)}
        return {name: self.values.get(name) for name in JOB_INPUTS if name in declared}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def job_command(app: typer.Typer, name: str, *, epilog: str,
                wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Callable[[Callable[[Given], Any]], Any]:
    """Register `body(given)` as command `name`: the JOB argument, then the table's parameters for it."""
    return table_command(app, name, epilog=epilog, wrap=wrap, argument=("job", JOB_ARG, Optional[str]))


def table_command(app: typer.Typer, name: str, *, epilog: str | None,
                  wrap: Callable[[Callable[..., Any]], Callable[..., Any]],
                  argument: tuple[str, Any, Any] | None = None) -> Callable[[Callable[[Given], Any]], Any]:
    """Register `body(given)` as command `name` with `argument` (its name, typer.Argument and
    annotation; None: no argument) and the table's parameters for the command."""

    params = []
    if argument is not None:
        arg_name, arg_info, arg_type = argument
        params.append(inspect.Parameter(arg_name, inspect.Parameter.KEYWORD_ONLY, default=arg_info,
                                        annotation=arg_type))
    params += [_parameter(o) for o in for_command(name)]
    return _registrar(app, name, params, epilog=epilog, wrap=wrap)


def _registrar(app: typer.Typer, name: str, params: list[inspect.Parameter], *, epilog: str | None,
               wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Callable[[Callable[[Given], Any]], Any]:
    """A decorator registering `body(given)` as command `name`, whose signature (what typer
    reads) is `params`: every generated command goes through here."""

    def register(body: Callable[[Given], Any]) -> Callable[..., Any]:
        def command(**values: Any) -> Any:
            return body(Given(name, values))

        command.__name__ = command.__qualname__ = name
        command.__doc__ = body.__doc__
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name=name, epilog=epilog)(wrap(command))
        return body

    return register


def _serve_parameter(option: ServeOption) -> inspect.Parameter:
    """A server setting as typer reads it: its own type and default, the default shown in
    --help unless it is "not set" (None, or no entries of a repeatable flag)."""
    unset = option.default in (None, [])
    annotation: Any = Optional[List[str]] if option.kind is list else Optional[option.kind] if unset else option.kind
    info = typer.Option(None if unset else option.default, option.flag, help=option.help.replace("[", "\\["),
                        show_default=not unset, envvar=option.env_var,
                        parser=path_value if option.kind is Path else None)
    return inspect.Parameter(option.param_name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)


def serve_command(app: typer.Typer, *, epilog: str,
                  wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Callable[[Callable[[Given], Any]], Any]:
    """Register `body(given)` as `serve`, with a parameter per SERVE_OPTIONS row."""

    return _registrar(app, SERVE, [_serve_parameter(o) for o in SERVE_OPTIONS], epilog=epilog, wrap=wrap)


def serve_settings(given: Given) -> dict[str, Any]:
    """ServeConfig's keywords from a `serve` command line: each row's value under its field, as
    typer parsed it (int, float, bool, Path); a repeatable flag is a tuple (() when not given)."""
    out: dict[str, Any] = {}
    for option in SERVE_OPTIONS:
        value = given.values.get(option.param_name)
        out[option.field] = tuple(value or ()) if option.kind is list else value
    return out
