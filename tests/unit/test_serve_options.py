"""`launchbuild serve` takes its flags from the options table's serve scope (SERVE_OPTIONS):
the flags, help, types and defaults are generated from the rows, each row sets one typed
ServeConfig field, and none of them is ever a job option or a config-file key."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from launchbuild import cli
from launchbuild.errors import BadInput
from launchbuild.options import JOB_OPTION_NAMES, refuse_keys
from launchbuild.options import schema as option_schema
from launchbuild.options.table import BY_NAME, OPTIONS, SERVE, SERVE_OPTIONS, for_command
from launchbuild.service.config import ServeConfig


def _serve_params() -> dict[str, typing.Any]:
    command = typer.main.get_command(cli.app).commands[SERVE]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params}


def test_the_serve_command_has_one_parameter_per_row_in_table_order():
    params = _serve_params()
    assert [p.opts for p in params.values()] == [[o.flag] for o in SERVE_OPTIONS]
    for o in SERVE_OPTIONS:
        p = params[o.param_name]
        assert p.help == o.help.replace("[", "\\[")  # rich markup: shown as the row's text
        assert p.envvar is None and o.env_var is None  # the server reads no environment for them
        assert p.multiple is (o.kind is list)
        assert p.default == (None if o.default in (None, []) else o.default)
        assert p.show_default is (o.default not in (None, []))


# typer vendors click: the parameter types by class name. A path is converted by
# cli_params.path_value (a Path, or a usage error for an empty value).
_CLICK_TYPES = {str: "StringParamType", int: "IntParamType", float: "FloatParamType", bool: "BoolParamType",
                list: "StringParamType", Path: "FuncParamType"}


def test_each_row_has_its_real_type_and_sets_a_serveconfig_field_of_that_type_and_default():
    hints = typing.get_type_hints(ServeConfig)
    defaults = {f.name: f.default for f in dataclasses.fields(ServeConfig)}
    params = _serve_params()
    for o in SERVE_OPTIONS:
        assert o.field in hints, o.name
        want = {list: tuple[str, ...], Path: Path | None if o.default is None else Path}.get(o.kind, o.kind)
        if o.default is None and o.kind is not Path:
            want = o.kind | None
        assert hints[o.field] == want, (o.name, hints[o.field])
        assert defaults[o.field] == (tuple(o.default) if o.kind is list else o.default), o.name
        kind = params[o.param_name].type
        assert type(kind).__name__ == _CLICK_TYPES[o.kind], (o.name, kind)
        if o.kind is Path:
            assert kind.convert("st", None, None) == Path("st")


def test_the_command_line_becomes_a_typed_serveconfig(monkeypatch):
    import launchbuild.service as service

    seen: list[ServeConfig] = []
    monkeypatch.setattr(service, "serve", lambda config: seen.append(config) or 0)
    argv = ["serve", "--port", "0", "--check-cache-ttl", "1.5", "--shutdown-grace", "2", "--state-dir", "st",
            "--insecure-no-auth", "--allow-registry", "r1:5000", "--allow-registry", "r2", "--config", "op.toml"]
    result = CliRunner().invoke(cli.app, argv)
    assert result.exit_code == 0, result.output
    (config,) = seen
    assert config == ServeConfig(port=0, check_cache_ttl_s=1.5, shutdown_grace_s=2.0, state_dir=Path("st"),
                                 insecure_no_auth=True, allow_registries=("r1:5000", "r2"),
                                 operator_config=Path("op.toml"))
    assert isinstance(config.check_cache_ttl_s, float) and config.allow_git_hosts == ()
    CliRunner().invoke(cli.app, ["serve"])
    assert seen[1] == ServeConfig()  # no flags: ServeConfig's own defaults


@pytest.mark.parametrize("flag,value", [("--port", "eighty"), ("--check-cache-ttl", "soon"),
                                        ("--max-upload-bytes", "1.5"), ("--nope", "1")])
def test_a_bad_value_is_a_usage_error_before_anything_starts(monkeypatch, flag, value):
    import launchbuild.service as service

    monkeypatch.setattr(service, "serve", lambda config: pytest.fail("served with a bad flag"))
    result = CliRunner().invoke(cli.app, ["serve", flag, value])
    assert result.exit_code == 2 and flag in result.output


def test_server_settings_are_never_job_options_nor_config_keys():
    names = {o.name for o in SERVE_OPTIONS}
    assert not names & JOB_OPTION_NAMES
    assert not any(o.name in names and o.job_may_set for o in OPTIONS)
    assert not any(for_command(SERVE))  # no job-table row is carried by serve
    for who in option_schema.SCHEMA_FILES:
        props = option_schema.generate(who)["definitions"]["options"]["properties"]
        only_serve = names - set(BY_NAME)  # --config and --allow-index-host are job-command rows too
        assert not only_serve & set(props), who
    with pytest.raises(BadInput, match="state-dir"):
        refuse_keys({"state-dir": "/srv"}, "launchbuild.toml")


def test_the_options_reference_lists_the_server_settings():
    doc = option_schema.render_markdown()
    section = doc[doc.index("## Server settings"):]
    assert all(f"| `{o.flag}` |" in section and f"`{o.field}`" in section for o in SERVE_OPTIONS)


@pytest.mark.parametrize("changes,flag", [
    ({"port": 99999}, "--port"), ({"port": -1}, "--port"),  # an OverflowError from bind(): exit 1
    ({"host": ""}, "--host"),  # "" binds every interface
    ({"shutdown_grace_s": float("inf")}, "--shutdown-grace"), ({"check_cache_ttl_s": float("nan")}, "--check-cache-ttl"),
    ({"check_cache_ttl_s": -1.0}, "--check-cache-ttl"), ({"push_prefix": "bad ref"}, "--push-prefix"),
])
def test_a_server_setting_no_server_can_use_is_refused_at_start(tmp_path, changes, flag):
    tokens = tmp_path / "tokens"
    tokens.write_text("ci:abcdefgh\n")
    config = dataclasses.replace(ServeConfig(token_file=tokens, state_dir=tmp_path / "st"), **changes)
    with pytest.raises(BadInput) as err:
        config.validate()
    assert flag in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("where", ["directory", "no-parent"])
def test_an_address_file_that_cannot_be_written_is_refused_before_the_server_starts(tmp_path, where):
    """It was written only once the server was up: a traceback in the log, exit 3, and its
    .tmp file left behind."""
    from launchbuild.service.server import check_address_file

    path = {"directory": tmp_path, "no-parent": tmp_path / "none" / "addr.json"}[where]
    with pytest.raises(BadInput, match="--address-file"):
        check_address_file(path)
    assert not list(tmp_path.iterdir())
    # A writable one is left as it was: a reader waits for the file to appear with the address.
    check_address_file(tmp_path / "addr.json")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("flag", [o.flag for o in SERVE_OPTIONS if o.kind is Path])
def test_an_empty_path_flag_is_a_usage_error_not_the_working_directory(monkeypatch, flag):
    """`--state-dir ""` was Path(""), i.e. ".": the server kept its database in the working
    directory; `--token-file ""` read "." and said it is a directory."""
    import launchbuild.service as service

    monkeypatch.setattr(service, "serve", lambda config: pytest.fail(f"served with {config}"))
    result = CliRunner().invoke(cli.app, ["serve", flag, ""])
    assert result.exit_code == 2 and "is empty" in result.output, result.output


@pytest.mark.parametrize(("text", "words"), [
    (None, "not a file"),  # --config names no file
    ("gpu = [\n", "not valid TOML"),
    ("frobnicate = 1\n", "unknown launchbuild option 'frobnicate'"),
    ('allow-index-host = ["exa mple..com/x"]\n', "is not a host"),  # checked against the snapshot
])
def test_a_bad_operator_config_is_exit_2_and_leaves_no_state_directory(tmp_path, text, words):
    config = tmp_path / "op.toml"
    if text is not None:
        config.write_text(text)
    for state, existed in ((tmp_path / "state", False), (tmp_path / "kept", True)):
        if existed:
            state.mkdir()
        result = CliRunner().invoke(cli.app, ["serve", "--insecure-no-auth", "--port", "0", "--config", str(config),
                                              "--state-dir", str(state)])
        assert result.exit_code == 2 and words in result.output, result.output
        assert "Traceback" not in result.output
        assert state.is_dir() is existed  # one it made is removed; the operator's own is kept
