"""The CLI through typer's runner: every command's happy path that needs no Docker or
network, and its bad-input paths (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild import __version__
from launchbuild.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1", **(env or {})})


def assert_bad_input(result, *needles: str) -> None:
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    # Plain progress lines ("==> ...", no TTY here) are progress, not errors.
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("==> ")]
    assert len(lines) == 1, output
    assert lines[0].startswith("error:")
    for needle in needles:
        assert needle in output, output


def test_version_flag_and_command():
    assert invoke("--version").output.strip() == f"launchbuild {__version__}"
    assert invoke("version").output.strip() == f"launchbuild {__version__}"


def test_help_lists_every_command_and_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("check", "build", "resolve", "dockerfile", "inspect", "rules", "show", "version"):
        assert command in result.output
    assert "Exit codes" in result.output


def test_rules_json_is_the_catalog():
    result = invoke("rules", "--format", "json")
    assert result.exit_code == 0
    rules = json.loads(result.output)
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids)
    assert {"LB101", "LB104", "LB201", "LB202", "LB203", "LB301", "LB305", "LB401", "LB402"} <= set(ids)
    assert all(r["severity"] in ("error", "warning", "info") and r["title"] and r["help"] for r in rules)


def test_rules_rich_table():
    result = invoke("rules")
    assert result.exit_code == 0
    assert "LB203" in result.output


def test_show_job_spec_json_says_where_each_setting_came_from():
    result = invoke("show", str(EXAMPLES / "from-run" / "wandb-job.json"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entrypoint"]["value"] == ["python3.11", "train.py"]
    assert data["entrypoint"]["origin"] == "job spec"
    assert data["python"]["value"] == "3.11"
    assert data["frozen_requirements"].endswith("requirements.frozen.txt")


def test_show_flag_overrides_queue_config(tmp_path: Path):
    queue = tmp_path / "queue.json"
    queue.write_text(json.dumps({"builder": {"cuda": {"base_image": "nvidia/cuda:11.8.0-runtime-ubuntu22.04"}}}))
    result = invoke("show", str(EXAMPLES / "demo"), "--queue-config", str(queue), "--format", "json")
    assert json.loads(result.output)["accelerator_base_image"]["origin"] == "queue config"
    result = invoke("show", str(EXAMPLES / "demo"), "--queue-config", str(queue), "--format", "json",
                    "--base-image", "nvidia/cuda:12.4.1-runtime-ubuntu22.04")
    image = json.loads(result.output)["accelerator_base_image"]
    assert (image["value"], image["origin"]) == ("nvidia/cuda:12.4.1-runtime-ubuntu22.04", "flag")


def test_show_rich():
    result = invoke("show", str(EXAMPLES / "from-run" / "wandb-job.json"))
    assert result.exit_code == 0, result.output
    assert "train.py" in result.output and "job spec" in result.output


def test_inspect_offline_infers_well_known_tags():
    result = invoke("inspect", "nvidia/cuda:12.1.1-devel-ubuntu22.04", "--offline", "--format", "json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.output)
    assert facts["provider"] == "inferred"
    assert facts["cuda_version"].startswith("12.1")
    assert facts["has_nvcc"] is True


def test_check_on_facts_inferred_from_the_tag_warns_instead_of_passing(tmp_path: Path, monkeypatch):
    # --offline with no cached sheet: the image's facts are the tag's guesses (as with no engine
    # and no registry): LB211 says so and the verdict is a warning, never a PASS.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "train.py").write_text("print(1)\n")
    result = invoke("check", str(tmp_path / "job"), "--offline", "--python", "3.11", "--entrypoint", "python train.py",
                    "--base-image", "nvidia/cuda:12.1.1-runtime-ubuntu22.04", "--gpu", "H100",
                    "--driver", "535.104.05", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["verdict"] == "warn"
    assert any(f["rule"] == "LB211" and "only guessed from its tag" in f["message"] for f in report["findings"])


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("show", "/nonexistent/job"), ("/nonexistent/job",)),
        (("show", "image:bad ref"), ("image",)),
        (("inspect", "not a valid ref"), ("not a valid ref",)),
        (("check", str(EXAMPLES / "demo"), "--gpu", "Z9000"), ("Z9000",)),
        (("check", str(EXAMPLES / "demo"), "--driver", "five.hundred"), ("five.hundred",)),
        (("check", str(EXAMPLES / "demo"), "--ignore", "LB999"), ("LB999",)),
        (("check", str(EXAMPLES / "demo"), "--python", "3.x"), ("3.x",)),
        (("check", str(EXAMPLES / "demo"), "--format", "json", "--format", "junit"), ("--output",)),
        (("build", str(EXAMPLES / "h100-old-torch")), ("entrypoint",)),
        (("dockerfile", "image:python:3.11-slim"), ("image job",)),
        (("resolve", "image:python:3.11-slim"), ("image job",)),
        (("build", str(EXAMPLES / "demo"), "--dry-run"), ("--dry-run",)),
        (("check", str(EXAMPLES / "demo"), "--platform", "linux/sparc"), ("linux/sparc",)),
        (("inspect", "debian:12", "--platform", "windows/amd64"), ("windows/amd64",)),
        (("resolve", str(EXAMPLES / "demo"), "--platform", "arm"), ("arm",)),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needles):
    assert_bad_input(invoke(*args), *needles)


def test_malformed_job_spec(tmp_path: Path):
    spec = tmp_path / "wandb-job.json"
    spec.write_text('{"source_type": "repo", "source": {')
    assert_bad_input(invoke("show", str(spec)), str(spec))


def test_unknown_source_type(tmp_path: Path):
    spec = tmp_path / "wandb-job.json"
    spec.write_text(json.dumps({"source_type": "notebook", "source": {}}))
    assert_bad_input(invoke("show", str(spec)), "notebook")


def test_bad_config_file_option(tmp_path: Path):
    (tmp_path / "launchbuild.toml").write_text('gpus = ["H100"]\n')
    (tmp_path / "train.py").write_text("print('hi')\n")
    assert_bad_input(invoke("check", str(tmp_path)), "gpus")


def test_env_option_of_wrong_type(tmp_path: Path):
    (tmp_path / "train.py").write_text("print('hi')\n")
    assert_bad_input(invoke("check", str(tmp_path), env={"LAUNCHBUILD_UID": "root"}), "LAUNCHBUILD_UID")


def test_resolve_with_an_error_finding_beside_its_lock_exits_1(tmp_path: Path):
    # The lock was written and the exit was 0 with LB312 (or LB310) printed: a CI step running
    # `resolve -o lock.txt` took an error for a pass, where `check` fails the same job.
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\nrequires-python = ">=3.12"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
        f'wheels = [{{hashes = {{sha256 = "{"a" * 64}"}}}}]\n')
    result = invoke("resolve", str(tmp_path), "--python", "3.11", "--offline",
                    env={"LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.exit_code == 1, result.output
    assert "six==1.17.0" in result.output and "LB312" in result.output
    ok = invoke("resolve", str(tmp_path), "--python", "3.12", "--offline",
                env={"LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")})
    assert ok.exit_code == 0, ok.output


def test_resolve_json_carries_its_findings(tmp_path: Path):
    # A machine reading `resolve -f json` saw the lock but not the LB312 beside it.
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\nrequires-python = ">=3.12"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
        f'wheels = [{{hashes = {{sha256 = "{"a" * 64}"}}}}]\n')
    env = {"LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "resolve.json"
    result = invoke("resolve", str(tmp_path), "--python", "3.11", "--offline", "-f", "json", "-o", str(out), env=env)
    assert result.exit_code == 1, result.output
    document = json.loads(out.read_text())
    assert [f["rule"] for f in document["findings"]] == ["LB312"] and document["findings"][0]["severity"] == "error"
    assert document["lock"]["package_count"] == 1
    invoke("resolve", str(tmp_path), "--python", "3.12", "--offline", "-f", "json", "-o", str(out), env=env)
    assert json.loads(out.read_text())["findings"] == []


def test_inspect_json_never_prints_the_image_env(monkeypatch):
    """`inspect -f json` printed the image's whole ENV (HF_TOKEN=..., an index URL with its
    password), which the check report leaves out on purpose."""
    from launchbuild import api
    from launchbuild.compat.image_facts import ImageFacts

    facts = ImageFacts(reference="team/private:1", provider="docker", cuda_version="12.1.1",
                       env=(("HF_TOKEN", "hf_s3cr3tVALUE"), ("PIP_INDEX_URL", "https://u:pw-s3cr3t@idx.example/simple"),
                            ("CUDA_VERSION", "12.1.1")),
                       fact_sources=(("cuda_version", "env CUDA_VERSION"),))
    monkeypatch.setattr(api, "inspect", lambda *a, **k: facts)
    for args in (("--format", "json"), ()):
        result = invoke("inspect", "team/private:1", *args)
        assert result.exit_code == 0, result.output
        assert "s3cr3t" not in result.output
    doc = json.loads(invoke("inspect", "team/private:1", "--format", "json").output)
    assert doc["cuda_version"] == "12.1.1" and ["cuda_version", "env CUDA_VERSION"] in doc["fact_sources"]
