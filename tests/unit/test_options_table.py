"""Options declared once (options/table.py): the CLI, the environment names, the config-file
schema and the trust boundary are generated from it, and every `--flag` a message names exists."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import typer

from launchbuild import cli
from launchbuild.cli_params import choice_enum, flag_names
from launchbuild.options import JOB_OPTION_NAMES, OPERATOR_OPTION_NAMES, SPECS_BY_NAME
from launchbuild.options import schema as option_schema
from launchbuild.options.table import BY_NAME, JOB_COMMANDS, LAYERED, OPTIONS, TABLE_COMMANDS, Setter, for_command

ROOT = Path(__file__).resolve().parents[2]


def _click_commands() -> dict[str, object]:
    root = typer.main.get_command(cli.app)
    found: dict[str, object] = {}

    def walk(command, path: str) -> None:
        found[path] = command
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(root, "")
    return found


def _cli_flags() -> set[str]:
    flags: set[str] = {"--help"}  # click adds it to every command
    for command in _click_commands().values():
        for param in getattr(command, "params", ()):
            flags |= {o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")}
    return flags


def test_the_trust_boundary_is_exactly_the_documented_one():
    # docs/SECURITY.md, "Job options": what a job's own config may set. Nothing else, ever.
    assert JOB_OPTION_NAMES == {"python", "entrypoint", "platform", "base-image", "python-base-image",
                                "gpu", "driver", "ignore", "strict", "extra", "group", "bytecode"}
    assert OPERATOR_OPTION_NAMES == set(SPECS_BY_NAME) - JOB_OPTION_NAMES
    assert {n for n in OPERATOR_OPTION_NAMES if n.startswith("kubernetes-")} >= {
        "kubernetes-registry-secret", "kubernetes-insecure-registry", "kubernetes-service-account",
        "kubernetes-resources", "kubernetes-node-selector", "kubernetes-toleration", "kubernetes-ca-configmap"}
    # Command inputs (files the operator names, output choices) are not config keys at all.
    assert all(o.name not in SPECS_BY_NAME for o in OPTIONS if o.setter is Setter.CLI)


def test_every_layered_option_has_its_environment_name_and_config_key():
    for option in LAYERED:
        assert option.env_var == "LAUNCHBUILD_" + option.name.upper().replace("-", "_")
        assert SPECS_BY_NAME[option.name] is option


_ARGUMENT = {**{c: {"job"} for c in JOB_COMMANDS}, "inspect": {"image"}, "rules": set()}


@pytest.mark.parametrize("command", TABLE_COMMANDS)
def test_each_job_command_has_exactly_the_table_rows_for_it(command):
    click_command = _click_commands()[command]
    params = {p.name: p for p in click_command.params}
    rows = for_command(command)
    assert set(params) == _ARGUMENT[command] | {o.param_name for o in rows}
    for option in rows:
        param = params[option.param_name]
        assert option.flag in param.opts
        assert param.help and param.help.replace("\\[", "[") == option.help
        if option.short:
            assert option.short in param.opts
        if option.negative:
            assert option.negative in param.secondary_opts
        if option.choices:
            assert list(param.type.choices) == list(option.choices)
        # Layered options are read from LAUNCHBUILD_* by the options layer, never by typer.
        assert (param.envvar is None) == (option.layered or option.env_var is None)
        if option.setter is Setter.CLI and option.env_var:
            assert param.envvar == option.env_var


def _flags_of(command: str) -> list[tuple[str, ...]]:
    click_command = _click_commands()[command]
    return [(*p.opts, *p.secondary_opts) for p in click_command.params]


def test_inspect_and_rules_take_their_flags_from_the_table_and_keep_them():
    """The flags (and their order) these commands had before the table generated them."""
    assert _flags_of("inspect") == [("image",), ("--platform",), ("--offline",),
                                    ("--format", "-f")]
    assert _flags_of("rules") == [("--format", "-f")]
    inspect = {p.name: p for p in _click_commands()["inspect"].params}
    assert inspect["platform"].help == BY_NAME["platform"].help  # the job commands' help for the same flag
    assert inspect["format"].help == BY_NAME["show-format"].help
    assert inspect["offline"].envvar is None and not inspect["offline"].secondary_opts  # no --online here


def test_serve_keeps_its_own_flags():
    """serve's flags are the server's settings (ServeConfig), rows of the table's own serve scope
    (tests/unit/test_serve_options.py): the same flags as before they were generated."""
    flags = {o for opts in _flags_of("serve") for o in opts}
    assert flags == {"--host", "--port", "--token-file", "--insecure-no-auth", "--state-dir",
                     "--max-concurrent-checks", "--max-concurrent-builds", "--check-queue-size",
                     "--build-queue-size", "--max-upload-bytes", "--push-prefix", "--check-cache-ttl",
                     "--shutdown-grace", "--address-file", "--config", "--allow-git-host", "--allow-registry",
                     "--allow-index-host"}


def test_inspect_offline_and_format_reach_the_api(monkeypatch):
    from typer.testing import CliRunner

    from launchbuild import api

    seen: list[tuple] = []

    def fake_inspect(image, *, platform, offline):
        seen.append((image, platform, offline))
        raise api.BadInput("captured")

    monkeypatch.setattr(api, "inspect", fake_inspect)
    result = CliRunner().invoke(cli.app, ["inspect", "img:1", "--offline", "--platform", "linux/arm64", "-f", "json"])
    assert result.exit_code == 2 and "captured" in result.output, result.output
    result = CliRunner().invoke(cli.app, ["inspect", "img:2"])
    assert seen == [("img:1", "linux/arm64", True), ("img:2", "linux/amd64", False)]


def test_given_reads_absent_parameters_as_none_and_refuses_typos():
    from launchbuild.cli_params import Given

    given = Given("resolve", {"job": "x", "python": "3.11", "extra": ["a"], "resolver": None})
    assert given.progress is None and given.python == "3.11"
    assert given.flags(leave_out=("extra",)) == {"python": "3.11"}
    with pytest.raises(AttributeError):
        given.pythn  # noqa: B018 - the attribute access itself must raise


def test_the_report_format_choices_are_the_report_formats_own_enum():
    from launchbuild.report.formats import OutputFormat

    assert choice_enum(BY_NAME["format"]) is OutputFormat
    progress = choice_enum(BY_NAME["progress"])
    from launchbuild.progress import Mode

    assert [m.value for m in progress] == [m.value for m in Mode]


def test_the_checked_in_config_schemas_are_the_generated_ones():
    for who, path in option_schema.SCHEMA_FILES.items():
        assert path.read_text(encoding="utf-8") == option_schema.render(who), (
            f"{path.name} is stale: run python -m launchbuild.options.schema")


def test_the_options_reference_is_the_generated_one():
    doc = ROOT / "docs" / "options.md"
    assert doc.read_text(encoding="utf-8") == option_schema.render_markdown(), (
        "docs/options.md is stale: run python -m launchbuild.options.schema")
    for option in OPTIONS:
        assert f"`{option.name}`" in doc.read_text() or f"`{option.flag}`" in doc.read_text()


def test_the_schemas_accept_the_options_and_refuse_the_rest():
    jsonschema = pytest.importorskip("jsonschema")
    operator = option_schema.generate("operator")
    job = option_schema.generate("job")
    good = {"gpu": ["H100"], "python": "3.11", "strict": True}
    jsonschema.validate(good, operator)
    jsonschema.validate({"tool": {"launchbuild": good}}, job)
    jsonschema.validate({"kubernetes-timeout": 600, "engine": "kubernetes"}, operator)
    for bad, schema in (({"gpus": ["H100"]}, job), ({"push": "r.example/x"}, job), ({"uid": "root"}, operator),
                        ({"engine": "podman"}, operator), ({"tool": {"launchbuild": {"uid": 0}}}, job)):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


# --- every --flag a message names exists -----------------------------------------------------

_TOKEN = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_SKIP = {"tests", "bench", "scripts", "examples", "docs", ".venv", "build"}
# Message-carrying calls: error classes, findings, and the hint/fix/message/help keywords.
_MESSAGE_KEYWORDS = {"hint", "fix", "message", "help"}


def _is_message_call(name: str) -> bool:
    return name == "Finding" or (name[:1].isupper() and name.endswith(("Error", "Input", "Unavailable", "Failed")))


def _message_strings(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        parts: list[ast.AST] = [node] if _is_message_call(name) else []
        parts += [k.value for k in node.keywords if k.arg in _MESSAGE_KEYWORDS]
        for part in parts:
            for sub in ast.walk(part):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield node.lineno, sub.value


def _foreign_flags() -> set[str]:
    """Requirements-file syntax (what a job writes; messages quote it): the resolver's own list."""
    from launchbuild.resolver import requirement_options

    return set(requirement_options.VALUE_OPTIONS.values()) | set(requirement_options.FLAG_OPTIONS)


def test_every_flag_a_message_names_is_a_real_cli_option():
    real = _cli_flags()
    assert flag_names() <= real  # the table's flags are what the CLI has
    allowed = real | _foreign_flags()
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in _SKIP:
            continue
        for line, text in _message_strings(ast.parse(path.read_text(encoding="utf-8"))):
            wrong += [f"{rel}:{line}: {tok}" for tok in _TOKEN.findall(text) if tok not in allowed]
    assert not wrong, "messages name flags that do not exist:\n" + "\n".join(sorted(set(wrong)))


@pytest.mark.parametrize("name", sorted(OPERATOR_OPTION_NAMES))
def test_the_refusal_of_an_operator_option_names_only_real_ways_to_set_it(name):
    from launchbuild.errors import BadInput
    from launchbuild.options import refuse_keys

    with pytest.raises(BadInput) as err:
        refuse_keys({name: "x"}, "launchbuild.toml")
    text = str(err.value)
    assert set(_TOKEN.findall(text)) <= _cli_flags(), text
    assert SPECS_BY_NAME[name].env_var in text


def test_the_scan_finds_a_made_up_flag():
    # The scanner itself: a hint naming a flag that does not exist is caught.
    tree = ast.parse('raise BadInput("x", hint="use --backend uv")\nFinding(fix="pass --gpu")\n')
    tokens = {tok for _, text in _message_strings(tree) for tok in _TOKEN.findall(text)}
    assert tokens == {"--backend", "--gpu"}
    assert "--backend" not in _cli_flags() and "--gpu" in _cli_flags()


def test_schema_descriptions_are_the_help_texts():
    data = json.loads(option_schema.SCHEMA_FILES["operator"].read_text())
    props = data["definitions"]["options"]["properties"]
    assert list(props) == [o.name for o in LAYERED]
    assert all(props[o.name]["description"] == o.help for o in LAYERED)
