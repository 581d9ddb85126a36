"""The options layer: config-file parsing, the precedence engine over Origin, "did you mean"
for unknown keys, wrong types, a job naming an operator option, and the Kubernetes options."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from launchbuild.cli import app
from launchbuild.errors import BadInput
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.precedence import RANK, strongest
from launchbuild.options import JOB_OPTION_NAMES, OPERATOR_OPTION_NAMES, SPECS_BY_NAME, resolve_options
from launchbuild.options import schema as option_schema
from launchbuild.options.table import LAYERED

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
runner = CliRunner()


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # JSON spells str, int and lists of str as valid TOML, but for DEL (bare in JSON, not in TOML).
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _write(path: Path, table: dict) -> Path:
    path.write_text("".join(f'"{k}" = {_toml(v)}\n' for k, v in table.items()), encoding="utf-8")
    return path


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip() and not ln.startswith("==> ")]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def _job(tmp_path: Path, config: str | None = None) -> Path:
    job = tmp_path / "job"
    job.mkdir()
    (job / "train.py").write_text("print('hi')\n")
    if config is not None:
        (job / "launchbuild.toml").write_text(config)
    return job


# --- error paths through the CLI: one line, exit 2 -----------------------------------------------


def test_an_unknown_key_in_a_jobs_config_says_did_you_mean(tmp_path):
    job = _job(tmp_path, 'gpus = ["H100"]\n')
    line = one_error_line(runner.invoke(app, ["check", str(job), "--offline"], env={"NO_COLOR": "1"}))
    assert "unknown launchbuild option 'gpus'" in line and "did you mean 'gpu'?" in line


def test_an_unknown_key_in_the_operator_config_says_did_you_mean(tmp_path):
    config = _write(tmp_path / "ops.toml", {"enigne": "classic"})
    line = one_error_line(runner.invoke(app, ["show", str(_job(tmp_path)), "--config", str(config)],
                                        env={"NO_COLOR": "1"}))
    assert "unknown launchbuild option 'enigne'" in line and "did you mean 'engine'?" in line


def test_a_key_beside_the_tool_table_of_a_jobs_config_is_refused_not_ignored(tmp_path):
    # Only [tool.launchbuild] is read from a file that has it: "python" here went silently unread.
    job = _job(tmp_path, 'python = "3.10"\n[tool.launchbuild]\nentrypoint = "python train.py"\n')
    line = one_error_line(runner.invoke(app, ["check", str(job), "--offline"], env={"NO_COLOR": "1"}))
    assert "launchbuild.toml: 'python' is outside [tool.launchbuild]" in line and "move 'python' into" in line


def test_a_key_beside_the_tool_table_of_the_operator_config_is_refused(tmp_path):
    config = tmp_path / "ops.toml"
    config.write_text('engine = "classic"\n[tool.launchbuild]\nplatform = "linux/amd64"\n')
    line = one_error_line(runner.invoke(app, ["show", str(_job(tmp_path)), "--config", str(config)],
                                        env={"NO_COLOR": "1"}))
    assert "'engine' is outside [tool.launchbuild]" in line and "ops.toml" in line


def test_either_form_alone_is_read(tmp_path):
    for text in ('entrypoint = "python train.py"\n', '[tool.launchbuild]\nentrypoint = "python train.py"\n',
                 '[tool.launchbuild]\nentrypoint = "python train.py"\n[tool.other]\nx = 1\n'):
        source = tmp_path / f"job{hash(text) & 0xffff}"
        source.mkdir()
        (source / "launchbuild.toml").write_text(text)
        options = resolve_options({}, source_dir=source, env={})
        assert options["entrypoint"] == "python train.py" and options.values["entrypoint"].origin is Origin.CONFIG_FILE


def test_an_unknown_key_far_from_every_option_gets_no_guess(tmp_path):
    job = _job(tmp_path, 'zzzzqqq = 1\n')
    line = one_error_line(runner.invoke(app, ["check", str(job), "--offline"], env={"NO_COLOR": "1"}))
    assert "'zzzzqqq'" in line and "did you mean" not in line


@pytest.mark.parametrize(("table", "needles"), [
    ({"uid": "root"}, ("'uid'", "whole number")),
    ({"strict": "maybe"}, ("'strict'", "boolean")),
    ({"gpu": 3}, ("'gpu'", "list of strings")),
    ({"kubernetes-timeout": 0}, ("'kubernetes-timeout'", "between 1 and")),
    ({"resolver": "pip-tool"}, ("'resolver'", "did you mean 'pip-tools'?")),
])
def test_a_wrong_type_in_the_operator_config_is_one_line(tmp_path, table, needles):
    config = _write(tmp_path / "ops.toml", table)
    line = one_error_line(runner.invoke(app, ["show", str(_job(tmp_path)), "--config", str(config)],
                                        env={"NO_COLOR": "1"}))
    for needle in needles:
        assert needle in line


def test_a_wrong_choice_from_the_environment_names_the_variable(tmp_path):
    line = one_error_line(runner.invoke(app, ["show", str(_job(tmp_path))],
                                        env={"NO_COLOR": "1", "LAUNCHBUILD_ENGINE": "bildkit"}))
    assert "LAUNCHBUILD_ENGINE" in line and "did you mean 'buildkit'?" in line


def test_a_wrong_type_in_a_jobs_config_is_one_line(tmp_path):
    job = _job(tmp_path, 'strict = "maybe"\n')
    line = one_error_line(runner.invoke(app, ["check", str(job), "--offline"], env={"NO_COLOR": "1"}))
    assert "'strict'" in line and "launchbuild.toml" in line


@pytest.mark.parametrize("name", sorted(n for n in OPERATOR_OPTION_NAMES if n.startswith("kubernetes-")))
def test_a_job_cannot_set_a_kubernetes_option(tmp_path, name):
    value = {list: ["a=b"], bool: True, int: 60, str: "x"}[SPECS_BY_NAME[name].kind]
    job = _job(tmp_path, f'"{name}" = {_toml(value)}\n')
    line = one_error_line(runner.invoke(app, ["check", str(job), "--offline"], env={"NO_COLOR": "1"}))
    assert f"'{name}' is an operator option" in line and "nothing from this file was applied" in line


# --- the precedence engine ------------------------------------------------------------------------

_origins = st.sampled_from(list(Origin))


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.tuples(_origins, st.integers(0, 9))), max_size=8))
def test_strongest_is_the_highest_origin_and_the_later_on_a_tie(raw):
    candidates = [None if c is None else Sourced(c[1], c[0]) for c in raw]
    best = strongest(*candidates)
    given_ = [c for c in candidates if c is not None]
    if not given_:
        assert best is None
        return
    top = max(RANK[c.origin] for c in given_)
    assert RANK[best.origin] == top
    assert best is [c for c in given_ if RANK[c.origin] == top][-1]


def test_the_origin_order_is_the_documented_one():
    # docs/SECURITY.md: defaults < operator config < the job's own config < LAUNCHBUILD_* < flags;
    # the job spec and queue config sit between the operator config and the job's config file.
    order = [Origin.DEFAULT, Origin.OPERATOR_CONFIG, Origin.QUEUE_CONFIG, Origin.JOB_SPEC, Origin.CONFIG_FILE,
             Origin.ENV, Origin.FLAG]
    assert [RANK[o] for o in order] == sorted(RANK[o] for o in order)


_value_for = {
    str: st.sampled_from(["3.10", "3.11", "linux/arm64", "uv", "buildkit", "ns-a"]),
    list: st.lists(st.sampled_from(["H100", "T4", "LB213"]), min_size=1, max_size=2),
    bool: st.booleans(),
    int: st.integers(1, 5000),
}


@st.composite
def _layers(draw):
    spec = draw(st.sampled_from(LAYERED))
    if spec.choices:
        value = st.sampled_from(spec.choices)
    elif spec.host_path:  # absolute: a relative one is relative to the operator config (tested apart)
        value = st.sampled_from(["/etc/ssl/a.pem", "/opt/b.pem"])
    else:
        value = _value_for[spec.kind]
    chosen = {}
    for layer in ("operator", "job", "env", "flag"):
        if layer == "job" and not spec.job_may_set:
            continue
        if draw(st.booleans()):
            chosen[layer] = draw(value)
    return spec, chosen


@SETTINGS
@given(_layers())
def test_resolve_options_takes_the_highest_layer_and_says_where_it_came_from(case):
    spec, chosen = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        operator = _write(root / "ops.toml", {spec.name: chosen["operator"]}) if "operator" in chosen else None
        source = root / "job"
        source.mkdir()
        if "job" in chosen:
            _write(source / "launchbuild.toml", {spec.name: chosen["job"]})
        env = {}
        if "env" in chosen:
            value = chosen["env"]
            env[spec.env_var] = ",".join(value) if isinstance(value, list) else _toml(value).strip('"')
        flags = {spec.name: chosen["flag"]} if "flag" in chosen else {}
        got = resolve_options(flags, source_dir=source, env=env, operator_config=operator).values[spec.name]
    origin_of = {"operator": Origin.OPERATOR_CONFIG, "job": Origin.CONFIG_FILE, "env": Origin.ENV, "flag": Origin.FLAG}
    if not chosen:
        assert (got.value, got.origin) == (spec.default, Origin.DEFAULT)
        return
    top = max(chosen, key=lambda layer: RANK[origin_of[layer]])
    assert got.origin is origin_of[top]
    assert got.value == chosen[top]


# --- config-file parsing (property): never anything but one BadInput line; the schema agrees ---

_keys = st.sampled_from(sorted(SPECS_BY_NAME) + ["bogus", "gpus", "enigne"])
_any_value = st.one_of(st.text(max_size=8), st.booleans(), st.integers(-3, 99999),
                       st.lists(st.text(max_size=4), max_size=2))


@SETTINGS
@given(st.dictionaries(_keys, _any_value, max_size=4))
def test_operator_config_parsing_agrees_with_its_schema(table):
    jsonschema = pytest.importorskip("jsonschema")
    valid = jsonschema.Draft7Validator(option_schema.generate("operator")).is_valid(table)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "ops.toml", table)
        try:
            options = resolve_options({}, env={}, operator_config=path)
        except BadInput as exc:
            assert "\n" not in str(exc)
            # What the schema accepts, the parser accepts (the parser also takes "yes", "2" etc.,
            # as LAUNCHBUILD_* variables spell them); an unknown key is refused by both.
            assert not valid, (table, str(exc))
            unknown = [k for k in table if k not in SPECS_BY_NAME]
            if unknown:
                assert "unknown launchbuild option" in str(exc)
            return
    assert all(k in SPECS_BY_NAME for k in table)
    for key, value in table.items():
        spec = SPECS_BY_NAME[key]
        assert options.values[key].origin is Origin.OPERATOR_CONFIG
        if spec.host_path or (isinstance(value, str) and spec.kind in (bool, int)):
            continue  # relative to the file; "yes" / "12" spelled as text
        if spec.kind is list and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        assert options[key] == value


@SETTINGS
@given(st.dictionaries(_keys, _any_value, max_size=3), st.dictionaries(_keys, _any_value, max_size=3))
def test_a_config_with_a_tool_table_agrees_with_its_schema(beside, inside):
    """Top-level keys beside [tool.launchbuild]: refused by both the parser and the schema."""
    jsonschema = pytest.importorskip("jsonschema")
    beside.pop("tool", None)
    for who, read in (("operator", lambda p: resolve_options({}, env={}, operator_config=p)),
                      ("job", lambda p: resolve_options({}, source_dir=p.parent, env={}))):
        document = {**beside, "tool": {"launchbuild": inside}}
        valid = jsonschema.Draft7Validator(option_schema.generate(who)).is_valid(document)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / ("ops.toml" if who == "operator" else "launchbuild.toml")
            path.write_text("".join(f'"{k}" = {_toml(v)}\n' for k, v in beside.items()) + "[tool.launchbuild]\n"
                            + "".join(f'"{k}" = {_toml(v)}\n' for k, v in inside.items()), encoding="utf-8")
            try:
                read(path)
            except BadInput as exc:
                assert "\n" not in str(exc) and not valid, (who, document, str(exc))
                if beside:  # a job's operator option is refused first, wherever it stands
                    assert "is outside [tool.launchbuild]" in str(exc) or "is an operator option" in str(exc)
                continue
        assert not beside and valid, (who, document)


@SETTINGS
@given(st.dictionaries(_keys, _any_value, max_size=4))
def test_job_config_parsing_refuses_all_but_job_options(table):
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp)
        _write(source / "launchbuild.toml", table)
        try:
            options = resolve_options({}, source_dir=source, env={})
        except BadInput as exc:
            assert "\n" not in str(exc)
            return
    assert set(table) <= JOB_OPTION_NAMES
    assert all(options.values[k].origin is Origin.CONFIG_FILE for k in table)


# --- the Kubernetes options reach the cluster build's options -------------------------------------


def _kube(flags: dict, env: dict | None = None):
    from launchbuild.options.kubernetes import build_options

    options = resolve_options(flags, env=env or {})
    return build_options(options, destination="registry.example:5000/team/job:lb-1", platform="linux/amd64",
                         dockerfile="Dockerfile")


def test_every_kubernetes_option_reaches_the_build_options():
    from launchbuild.builder import kubernetes as k8s

    kube = _kube({
        "kubernetes-namespace": "ml-builds", "kubernetes-registry-secret": "registry-push",
        "kubernetes-insecure-registry": True, "kubernetes-ca-configmap": "corp-ca", "kubernetes-ca-key": "root.pem",
        "kubernetes-service-account": "builder", "kubernetes-storage-secret": "store",
        "kubernetes-cache-repo": "registry.example:5000/team/cache", "kubernetes-resources": ["cpu-request=2",
                                                                                             "memory-limit=16Gi"],
        "kubernetes-node-selector": ["pool=builds"], "kubernetes-toleration": ["dedicated=builds:NoSchedule"],
        "kubernetes-timeout": "600", "kubernetes-ttl-after-finished": "0", "kubernetes-builder": "buildkit",
        "kubernetes-builder-image": "buildkit:pinned", "kubernetes-fetch-image": "aws:pinned",
        "kubernetes-context-store": "pvc:ctx/dir", "kubernetes-uv-image": "uv:pinned", "kubernetes-verify": False,
        "kubernetes-verify-timeout": "90", "kubernetes-promote-image": "crane:pinned",
        "kubernetes-context-store-path": "/mnt/ctx", "kubernetes-context-uploader": "upload-ctx {archive} {url}",
    })
    assert (kube.namespace, kube.registry_secret, kube.insecure_registry, kube.ca_configmap, kube.ca_key) == (
        "ml-builds", "registry-push", True, "corp-ca", "root.pem")
    assert (kube.service_account, kube.storage_secret, kube.cache_repo) == (
        "builder", "store", "registry.example:5000/team/cache")
    assert (kube.resources.cpu_request, kube.resources.memory_limit, kube.resources.memory_request) == ("2", "16Gi", "2Gi")
    assert kube.node_selector == (("pool", "builds"),)
    assert kube.tolerations == (k8s.Toleration.parse("dedicated=builds:NoSchedule"),)
    assert (kube.timeout_s, kube.ttl_after_finished_s, kube.builder, kube.context_store) == (600, 0, "buildkit", "pvc:ctx/dir")
    assert (kube.builder_image, kube.fetch_image) == ("buildkit:pinned", "aws:pinned")
    assert (kube.uv_image, kube.verify, kube.verify_timeout_s, kube.promote_image) == ("uv:pinned", False, 90, "crane:pinned")
    assert (kube.context_store_path, kube.context_uploader) == ("/mnt/ctx", ("upload-ctx", "{archive}", "{url}"))
    job = k8s.render_job(kube)
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "builder" and pod["nodeSelector"] == {"pool": "builds"}
    assert {v["name"] for v in pod["volumes"]} >= {"registry-auth", "ca-bundle"}


def test_the_defaults_are_the_builders_defaults():
    from launchbuild.builder import kubernetes as k8s

    kube = _kube({})
    default = k8s.KubernetesBuildOptions(destination=kube.destination, context_store="configmap",
                                         platform="linux/amd64")
    assert kube == default


def test_a_ca_variable_in_the_shell_mounts_no_configmap(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    kube = _kube({}, env={"SSL_CERT_FILE": str(bundle), "REQUESTS_CA_BUNDLE": str(bundle), "PIP_CERT": str(bundle)})
    assert kube.ca_configmap is None
    assert kube.ca_configmap is None and _kube({"kubernetes-ca-configmap": "corp-ca"}).ca_configmap == "corp-ca"


@pytest.mark.parametrize(("flags", "needles"), [
    ({"kubernetes-resources": ["cpu-requests=2"]}, ("unknown resource 'cpu-requests'", "did you mean 'cpu-request'?")),
    ({"kubernetes-resources": ["gpu=1"]}, ("unknown resource 'gpu'", "use one of cpu-request")),
    ({"kubernetes-resources": ["cpu-request"]}, ("'cpu-request'", "NAME=QUANTITY")),
    ({"kubernetes-node-selector": ["pool"]}, ("'pool'", "KEY=VALUE")),
    ({"kubernetes-timeout": "soon"}, ("'kubernetes-timeout'", "whole number")),
])
def test_bad_kubernetes_values_are_one_line(flags, needles):
    with pytest.raises(BadInput) as err:
        _kube(flags)
    assert "\n" not in str(err.value) and all(n in str(err.value) for n in needles), str(err.value)


# --- `show` of a local directory reads the job's own config, as `check` does --------------------


def test_show_of_a_directory_says_what_its_own_config_sets(tmp_path):
    job = _job(tmp_path, 'python = "3.11"\ngpu = ["H100"]\nentrypoint = "python train.py"\n')
    result = runner.invoke(app, ["show", str(job), "--format", "json"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["python"]["value"], data["python"]["origin"]) == ("3.11", "config file")
    assert data["entrypoint"]["value"] == ["python", "train.py"]
    verbose = runner.invoke(app, ["show", str(job), "-v"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert verbose.exit_code == 0, verbose.output
    gpu_row = next(ln for ln in verbose.output.splitlines() if ln.strip().startswith("gpu "))
    assert "H100" in gpu_row and "config file" in gpu_row


def test_show_of_a_directory_refuses_an_operator_option_in_its_config(tmp_path):
    job = _job(tmp_path, 'push = "registry.invalid/team/x"\n')
    line = one_error_line(runner.invoke(app, ["show", str(job)], env={"NO_COLOR": "1"}))
    assert "'push' is an operator option" in line and "launchbuild.toml" in line


# --- a bad gpu / driver / platform / ignore is named where it was set, not as a flag -------------

_BAD_TARGET = {"gpu": ["garbage-gpu"], "driver": "R535", "platform": "arm", "ignore": ["LB999"]}


@pytest.mark.parametrize("name", sorted(_BAD_TARGET))
@pytest.mark.parametrize("layer", ["job config", "operator config", "environment"])
def test_a_bad_target_value_names_the_file_and_key_or_the_variable(tmp_path, name, layer):
    value = _BAD_TARGET[name]
    env = {"NO_COLOR": "1"}
    args = ["check", "--offline"]
    if layer == "job config":
        job = _job(tmp_path, f'"{name}" = {_toml(value)}\n')
        expected = "launchbuild.toml: " + name
    elif layer == "operator config":
        job = _job(tmp_path)
        args += ["--config", str(_write(tmp_path / "ops.toml", {name: value}))]
        expected = "ops.toml: " + name
    else:
        job = _job(tmp_path)
        env[SPECS_BY_NAME[name].env_var] = ",".join(value) if isinstance(value, list) else value
        expected = SPECS_BY_NAME[name].env_var
    line = one_error_line(runner.invoke(app, [*args, str(job)], env=env))
    assert expected in line and f"--{name}" not in line, line


def test_a_bad_target_flag_is_still_named_as_the_flag(tmp_path):
    line = one_error_line(runner.invoke(app, ["check", str(_job(tmp_path)), "--offline", "--driver", "R535"],
                                        env={"NO_COLOR": "1"}))
    assert "--driver 'R535'" in line


@pytest.mark.parametrize("name", sorted(o.name for o in LAYERED if o.kind is str and not o.choices))
@pytest.mark.parametrize("blank", ["", "  ", "\t"])
def test_a_blank_text_option_is_refused_wherever_it_is_set(tmp_path, name, blank):
    """`build --push "$REPO"` with REPO unset built, pushed nothing and passed: an empty value
    read as "not set" downstream. A flag or a config file that sets one says so; an empty
    LAUNCHBUILD_* variable still counts as unset."""
    spec = SPECS_BY_NAME[name]
    with pytest.raises(BadInput, match=f"option '{name}' is empty") as err:
        resolve_options({name: blank}, env={})
    assert spec.flag in str(err.value) and "\n" not in str(err.value)
    path = _write(tmp_path / "ops.toml", {name: blank})
    with pytest.raises(BadInput, match=f"option '{name}' is empty"):
        resolve_options({}, env={}, operator_config=path)
    assert resolve_options({}, env={spec.env_var: ""})[name] == spec.default
