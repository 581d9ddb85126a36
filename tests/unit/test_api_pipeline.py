"""The public API over pipeline/: one frozen JobRequest in, values out, nothing printed.

- every entry point returns a value and writes nothing to stdout or stderr (the CLI's
  tables live in report/tables.py);
- the CLI and the service build equal JobRequests for the same job and options;
- a Python base image named outright is inspected once per check.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import launchbuild
from launchbuild import api
from launchbuild.cli import app
from launchbuild.errors import BadInput
from launchbuild.options import SPECS_BY_NAME
from launchbuild.pipeline.request import JobRequest, from_config_names, option_identifier
from launchbuild.progress import Progress

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CUDA = "nvidia/cuda:12.4.1-runtime-ubuntu22.04"


@pytest.fixture
def code_job(tmp_path: Path, monkeypatch) -> Path:
    """A code job with no requirements: checks offline, resolves to 'no input', no network."""
    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path / "cache"))
    job = tmp_path / "job"
    job.mkdir()
    (job / "train.py").write_text("print('hi')\n")
    return job


def _offline(job: Path | str, **options) -> JobRequest:
    return JobRequest(str(job), entrypoint="python train.py", options={"python": "3.11", "offline": True, **options})


# --- the API never prints ----------------------------------------------------------------------


def test_api_never_prints(code_job: Path, capfd) -> None:
    """capfd: neither Python's streams nor the file descriptors (a child tool's output) get
    a byte from any entry point; each returns its value instead."""
    report = api.check(_offline(code_job, gpu=["H100"], driver="535.104.05"))
    assert report.job and report.rules_checked
    image_report = api.check(JobRequest(f"image:{CUDA}", options={"offline": True, "gpu": ["H100"]}))
    assert image_report.target.image is not None and image_report.target.image.value == CUDA
    result = api.resolve(_offline(code_job))
    assert result.lock is None and result.input_kind == "none"
    text = api.dockerfile(_offline(code_job, python_base_image="python:3.11-slim"))
    assert text.startswith("FROM ") or "\nFROM " in text
    view = api.show(JobRequest(str(EXAMPLES / "from-run" / "wandb-job.json")))
    assert view.data["entrypoint"]["value"] == ["python3.11", "train.py"]
    assert view.options["platform"] == "linux/amd64"
    facts = api.inspect("nvidia/cuda:12.1.1-devel-ubuntu22.04", offline=True)
    assert facts.cuda_version and facts.cuda_version.startswith("12.1")
    rules = api.rules()
    assert [r.id for r in rules] == sorted(r.id for r in rules) and len(rules) > 20
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


PUSH = "registry.example.com:5000/team/job"
REGISTRY_DIGEST = "sha256:" + "6" * 64


class _RegistryOnlyDocker:
    """A fake docker SDK client whose engine lacks the base and whose registry has it: the
    base is not local-only (no LB404) and its digest comes from the registry."""

    class images:  # noqa: N801  (the SDK's attribute name)
        @staticmethod
        def get(ref):
            from docker.errors import ImageNotFound

            raise ImageNotFound(f"no such image: {ref}")

        @staticmethod
        def get_registry_data(ref):
            return type("RegistryData", (), {"id": REGISTRY_DIGEST})()


@pytest.fixture
def cluster_dry_run(code_job: Path, monkeypatch) -> JobRequest:
    """A Kubernetes dry run of the code job; the local engine is the fake above (no Docker)."""
    pytest.importorskip("docker")
    from launchbuild.builder import engine as eng

    monkeypatch.setattr(eng, "docker_client", lambda timeout=60: _RegistryOnlyDocker())
    return _offline(code_job, base_image=CUDA, gpu=["H100"], driver="550.54.14", engine="kubernetes", push=PUSH)


def test_a_kubernetes_dry_run_returns_its_manifests_and_prints_nothing(cluster_dry_run: JobRequest, tmp_path: Path,
                                                                       capfd) -> None:
    import yaml

    manifests = api.build(cluster_dry_run, dry_run=True)
    assert isinstance(manifests, api.Manifests) and manifests.written_to is None
    configmap, job = yaml.safe_load_all(manifests.text)
    assert (configmap["kind"], job["kind"]) == ("ConfigMap", "Job")
    assert job["metadata"]["annotations"]["launchbuild.io/destination"].startswith(PUSH + ":lb-")
    out = tmp_path / "job.yaml"
    written = api.build(cluster_dry_run, dry_run=True, output=out)
    assert isinstance(written, api.Manifests) and written.written_to == out
    assert out.read_text() == written.text == manifests.text  # content-derived: the same job, the same text
    assert capfd.readouterr() == ("", "")


def test_the_cli_prints_the_dry_runs_manifests_unless_given_output(cluster_dry_run: JobRequest, tmp_path: Path) -> None:
    args = ["build", cluster_dry_run.job, "--entrypoint", "python train.py", "--python", "3.11", "--offline",
            "--base-image", CUDA, "--gpu", "H100", "--driver", "550.54.14", "--engine", "kubernetes", "--push", PUSH,
            "--dry-run"]
    expected = api.build(cluster_dry_run, dry_run=True)
    assert isinstance(expected, api.Manifests)
    printed = CliRunner().invoke(app, args, env={"NO_COLOR": "1"})
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == expected.text  # `... --dry-run > job.yaml` takes exactly the manifests
    out = tmp_path / "job.yaml"
    written = CliRunner().invoke(app, [*args, "-o", str(out)], env={"NO_COLOR": "1"})
    assert written.exit_code == 0 and written.stdout == "", written.output
    assert out.read_text() == expected.text


def test_build_refuses_on_errors_as_a_report_and_prints_nothing(code_job: Path, capfd) -> None:
    """An old driver for the image (LB202) stops the build before any engine is asked."""
    report = api.build(_offline(code_job, base_image=CUDA, gpu=["H100"], driver="515.65.01"))
    assert report is not None and report.build is None and report.exit_code == 1
    assert "LB202" in {f.rule for f in report.findings}
    assert any(n.startswith("build refused: check found errors") for n in report.notes)
    assert capfd.readouterr() == ("", "")


def test_gpu_auto_takes_the_gpus_and_driver_from_nvml(monkeypatch) -> None:
    from launchbuild.compat.facts import nvml

    monkeypatch.setattr(nvml, "local_gpus", lambda: (["NVIDIA H100 80GB HBM3"], "550.54.14"))
    report = api.check(JobRequest(f"image:{CUDA}", options={"offline": True, "gpu": ["auto"]}))
    assert [(g.value, g.detail) for g in report.target.gpus] == [("NVIDIA H100 80GB HBM3", "NVML")]
    assert report.target.driver is not None and (report.target.driver.value, report.target.driver.detail) == \
        ("550.54.14", "NVML")
    # A driver given outright outranks the one NVML reports.
    report = api.check(JobRequest(f"image:{CUDA}", options={"offline": True, "gpu": ["auto"], "driver": "535.104.05"}))
    assert report.target.driver is not None and report.target.driver.value == "535.104.05"


@pytest.mark.parametrize("gpus", [["H100", "auto"], ["AUTO", "T4"]])
def test_gpu_auto_beside_named_gpus_says_so(monkeypatch, gpus) -> None:
    """'auto' next to a name was read as a GPU model: "unknown GPU model; did you mean DRIVE PX
    2 AutoChauffeur?"."""
    from launchbuild.compat.facts import nvml
    from launchbuild.errors import BadInput

    monkeypatch.setattr(nvml, "local_gpus", lambda: pytest.fail("NVML read for a mixed list"))
    with pytest.raises(BadInput, match="cannot be combined with named GPUs") as err:
        api.check(JobRequest(f"image:{CUDA}", options={"offline": True, "gpu": gpus}))
    assert "AutoChauffeur" not in str(err.value) and "--gpu" in str(err.value)


def test_progress_goes_through_the_interface_only(code_job: Path, capfd) -> None:
    """What a check shows while it runs reaches the Progress it was given, not the streams."""
    phases: list[str] = []

    class Recording(Progress):
        def phase(self, title):  # type: ignore[override]
            phases.append(title)
            return super().phase(title)

    api.check(_offline(code_job), progress=Recording())
    assert phases[0] == "fetching source" and any(p.startswith("inspecting ") for p in phases)
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("base, inspected", [
    ("python:3.11-slim", ["python:3.11-slim"]),  # named outright: read once, before the resolver
    ("python:{python}-slim", ["python:3.11-slim"]),  # a template: read once, after it
])
def test_python_base_image_is_inspected_once(code_job: Path, monkeypatch, base: str, inspected: list[str]) -> None:
    from launchbuild.compat.facts import inspect as inspect_mod

    real = inspect_mod.inspect_image
    calls: list[str] = []

    def counting(ref, **kw):
        calls.append(ref)
        return real(ref, **kw)

    monkeypatch.setattr(inspect_mod, "inspect_image", counting)
    report = api.check(_offline(code_job, python_base_image=base))
    assert calls == inspected
    assert report.target.image is not None and report.target.image.value == "python:3.11-slim"


def test_public_names_are_exactly_the_api() -> None:
    assert launchbuild.__all__ == ["__version__", "JobRequest", "check", "build", "resolve", "dockerfile",
                                   "inspect", "show", "rules"]
    for name in launchbuild.__all__:
        assert getattr(launchbuild, name) is not None
    assert launchbuild.JobRequest is JobRequest and launchbuild.check is api.check


def test_api_module_stays_small() -> None:
    root = Path(api.__file__).resolve().parent
    assert len(Path(api.__file__).read_text().splitlines()) <= 300
    for module in [*(root / "pipeline").glob("*.py"), root / "report" / "tables.py"]:
        assert len(module.read_text().splitlines()) <= 500, module


def test_image_job_has_no_environment_to_resolve() -> None:
    with pytest.raises(BadInput, match="image job has no environment"):
        api.resolve(f"image:{CUDA}")
    with pytest.raises(BadInput, match="builds nothing"):
        api.dockerfile(f"image:{CUDA}")


# --- JobRequest --------------------------------------------------------------------------------


def test_there_is_one_job_request_and_the_service_body_has_its_own_name() -> None:
    """The pipeline's JobRequest is the only class of that name; the service's validated HTTP
    body is a RequestBody, which pipeline_request turns into the JobRequest."""
    import ast

    from launchbuild.service import request as service_request

    import os

    root = Path(launchbuild.__file__).resolve().parent
    sources = []
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("tests", "__pycache__")]
        sources += [Path(top) / f for f in files if f.endswith(".py")]
    defined = sorted(str(path.relative_to(root)) for path in sources
                     for node in ast.walk(ast.parse(path.read_text("utf-8")))
                     if isinstance(node, ast.ClassDef) and node.name == "JobRequest")
    assert defined == ["pipeline/request.py"]
    body = service_request.parse_request({"source": {"git": {"url": GIT}}}, kind="check", has_archive=False,
                                         push_prefix=None)
    assert isinstance(body, service_request.RequestBody) and not hasattr(service_request, "JobRequest")


def test_job_request_is_frozen_all_the_way_down() -> None:
    request = JobRequest("job", options={"gpu": ["H100"], "base_image": CUDA}, extras=["net"])  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.job = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.options["gpu"] = ("A100",)  # type: ignore[index]
    assert request.options["gpu"] == ("H100",) and request.extras == ("net",)
    assert hash(request) == hash(JobRequest("job", options={"base_image": CUDA, "gpu": ("H100",)}, extras=("net",)))
    assert request.config_names() == {"gpu": ("H100",), "base-image": CUDA}


@pytest.mark.parametrize("name, needle", [
    ("base-image", "name it 'base_image' in Python"),
    ("gpuu", "unknown option 'gpuu'"),
    ("", "unknown option ''"),
])
def test_job_request_refuses_names_python_does_not_use(name: str, needle: str) -> None:
    with pytest.raises(BadInput) as info:
        JobRequest("job", options={name: "x"})
    assert needle in str(info.value)


IDENTIFIERS = sorted(option_identifier(n) for n in SPECS_BY_NAME)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(IDENTIFIERS), st.text(min_size=1, max_size=8), max_size=6))
def test_identifiers_round_trip_to_config_names(options: dict[str, str]) -> None:
    request = JobRequest(options=options)
    assert dict(request.options) == options
    assert from_config_names(request.config_names()) == options
    assert set(request.config_names()) <= set(SPECS_BY_NAME)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20).filter(lambda n: n not in IDENTIFIERS))
def test_any_other_option_name_is_one_bad_input(name: str) -> None:
    with pytest.raises(BadInput):
        JobRequest(options={name: "x"})


# --- one request from the CLI and from the service ---------------------------------------------

GIT = "https://git.example.invalid/team/job.git"
SAME = {  # config-file name -> (CLI arguments, request body value)
    "python": (["--python", "3.11"], "3.11"),
    "gpu": (["--gpu", "H100", "--gpu", "A100"], ["H100", "A100"]),
    "driver": (["--driver", "535.104.05"], "535.104.05"),
    "base-image": (["--base-image", CUDA], CUDA),
    "python-base-image": (["--python-base-image", "python:3.12-slim"], "python:3.12-slim"),
    "platform": (["--platform", "linux/arm64"], "linux/arm64"),
    "ignore": (["--ignore", "LB213"], ["LB213"]),
    "strict": (["--strict"], True),
    "extra": (["--extra", "net"], ["net"]),
    "group": (["--group", "test"], ["test"]),
    "entrypoint": (["--entrypoint", "python train.py --epochs 2"], "python train.py --epochs 2"),
}


def _cli_request(monkeypatch, command: str, *args: str) -> JobRequest:
    seen: list[JobRequest] = []

    def capture(request, **_):
        seen.append(request)
        raise BadInput("captured")

    monkeypatch.setattr(api, command, capture)
    result = CliRunner().invoke(app, [command, *args], env={"NO_COLOR": "1"})
    assert result.exit_code == 2 and "captured" in result.output, result.output
    return seen[0]


def _cli_args() -> list[str]:
    return [GIT, "--ref", "v1", "--subdir", "train", *(a for args, _ in SAME.values() for a in args)]


def _body() -> dict:
    return {"source": {"git": {"url": GIT, "ref": "v1"}}, "subdir": "train",
            "options": {name: value for name, (_, value) in SAME.items()}}


def test_cli_and_service_build_the_same_request(monkeypatch, tmp_path: Path) -> None:
    from launchbuild.service.checks import run_check
    from launchbuild.service.request import parse_request

    from_cli = _cli_request(monkeypatch, "check", *_cli_args())
    seen: list[JobRequest] = []

    def capture(request, **_):
        seen.append(request)
        raise BadInput("captured")

    monkeypatch.setattr(api, "check", capture)
    req = parse_request(_body(), kind="check", has_archive=False, push_prefix=None)
    workdir = tmp_path / "w"
    workdir.mkdir()
    with pytest.raises(BadInput, match="captured"):
        run_check(req, workdir, archive=None, max_extract_bytes=1 << 20, operator_flags={})
    assert seen[0] == from_cli
    assert from_cli.entrypoint == "python train.py --epochs 2" and "entrypoint" not in from_cli.options
    assert from_cli.options["base_image"] == CUDA and from_cli.options["gpu"] == ("H100", "A100")


def test_cli_build_and_the_build_runner_build_the_same_request(monkeypatch, tmp_path: Path) -> None:
    """A build request reaches its runner process as JSON; the runner's JobRequest equals the
    CLI's for the same job, operator flags included."""
    from launchbuild.service.request import parse_request, pipeline_request, prepare

    from_cli = _cli_request(monkeypatch, "build", *_cli_args(), "--engine", "classic", "--uid", "2000")
    req = parse_request(_body(), kind="build", has_archive=False, push_prefix=None)
    workdir = tmp_path / "w"
    workdir.mkdir()
    prepared = prepare(req, workdir, archive=None, max_extract_bytes=1 << 20)
    kwargs = {k: v for k, v in prepared.kwargs.items() if k != "on_source"}
    kwargs["flags"] = {"engine": "classic", "uid": "2000", **kwargs["flags"]}
    over_the_pipe = json.loads(json.dumps(kwargs, default=str))
    assert pipeline_request(prepared.job, over_the_pipe) == from_cli
