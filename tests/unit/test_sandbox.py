"""The build sandbox's pure parts: the container's arguments and environment, host-to-container
paths, uv's "a build was needed" words, and how `uv pip compile` is routed (host with
--no-build first; the sandbox only when a build was needed). No engine is used here; the
container runs are tests/integration/test_sandbox_builds.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchbuild.errors import EXIT_INFRA, InfraUnavailable
from launchbuild.resolver import backends, sandbox
from launchbuild.resolver.backends import CompileRequest, UvBackend
from launchbuild.resolver.model import Target
from launchbuild.resolver.sandbox import Mount, SandboxOptions

# uv 0.13.9's own words with --no-build, as printed for: a setup.py project directory, a project
# whose metadata is dynamic, an sdist-only release pinned, and an sdist-only package unpinned.
NEEDS_BUILD = [
    "error: Building source distributions is disabled",
    "error: Failed to build `p2 @ file:///tmp/x/projects/p2`\n  cause: Building source distributions for `p2` is disabled",
    "error: No solution found when resolving dependencies\n  cause: Because docopt==0.6.2 has no usable wheels and "
    "you require docopt==0.6.2, we can conclude that your requirements are unsatisfiable.\n\nhint: Wheels are "
    "required for `docopt` because building from source is disabled for all packages (i.e., with `--no-build`)",
    "hint: Wheels are required for `docopt` because building from source is disabled for all packages",
]
NOT_A_BUILD = [
    "error: No solution found when resolving dependencies:\n  Because there is no version of nosuchpkg-xyz==1.0 "
    "and you require nosuchpkg-xyz==1.0, we can conclude that your requirements are unsatisfiable.",
    "error: Request failed after 3 retries\n  Caused by: error sending request for url (https://example.invalid/simple/six/)",
    "error: Failed to parse: `six==`",
    "",
]


@pytest.mark.parametrize("stderr", NEEDS_BUILD)
def test_uv_saying_a_build_was_needed_is_recognised(stderr):
    assert sandbox.needs_build(stderr)


@pytest.mark.parametrize("stderr", NOT_A_BUILD)
def test_other_failures_are_not_builds(stderr):
    assert not sandbox.needs_build(stderr)


@given(st.text(max_size=300), st.sampled_from(NEEDS_BUILD), st.text(max_size=300))
def test_a_build_message_anywhere_in_the_output_is_recognised(before, message, after):
    assert sandbox.needs_build(before + "\n" + message + "\n" + after)


@given(st.text(max_size=500))
def test_text_that_never_says_disabled_is_never_a_build(text):
    if "disabled" not in text.lower():
        assert not sandbox.needs_build(text)
    sandbox.what_needed_building(text)  # never raises


def test_what_needed_building_names_the_package_or_the_jobs_project():
    assert sandbox.what_needed_building(NEEDS_BUILD[2]) == "docopt"
    assert sandbox.what_needed_building(NEEDS_BUILD[1]) == "the job's own project"
    assert sandbox.what_needed_building(NEEDS_BUILD[0]) == ""


_PART = st.text(alphabet="abcXYZ019._-", min_size=1, max_size=8).filter(lambda p: p not in (".", ".."))


@given(st.lists(_PART, max_size=5))
def test_a_path_under_a_mount_is_translated_and_the_deepest_mount_wins(parts):
    mounts = (Mount(Path("/h/tmp/work"), "/sandbox/work", read_only=False),
              Mount(Path("/h/tmp/work/projects"), "/sandbox/projects"))
    path = Path("/h/tmp/work", *parts)
    got = sandbox.translate(path, mounts)
    if parts and parts[0] == "projects":
        assert got == "/".join(["/sandbox/projects", *parts[1:]])
    else:
        assert got == "/".join(["/sandbox/work", *parts])


@given(st.lists(_PART, min_size=1, max_size=4))
def test_a_path_outside_every_mount_is_refused(parts):
    with pytest.raises(ValueError):
        sandbox.translate(Path("/h/other", *parts), (Mount(Path("/h/tmp/work"), "/sandbox/work"),))
    with pytest.raises(ValueError):  # a sibling whose name starts like the mount is not under it
        sandbox.translate(Path("/h/tmp/work" + parts[0]), (Mount(Path("/h/tmp/work"), "/sandbox/work"),))


def test_the_container_environment_holds_nothing_of_the_operators(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    env = sandbox.container_env({"NETRC": "/sandbox/work/.netrc"}, ca=True)
    assert "s3cr3t" not in env.values() and "AWS_SECRET_ACCESS_KEY" not in env and "DOCKER_HOST" not in env
    assert env["HOME"] == "/tmp" and env["SSL_CERT_FILE"] == sandbox.CA_IN_CONTAINER
    assert env["NETRC"] == "/sandbox/work/.netrc" and env["UV_PYTHON_DOWNLOADS"] == "never"
    assert "SSL_CERT_FILE" not in sandbox.container_env()


def test_the_container_is_confined():
    kwargs = sandbox.create_kwargs(
        "python:3.11-slim", ["/opt/launchbuild/bin/uv", "build"],
        (Mount(Path("/h/src"), "/sandbox/src", read_only=False), Mount(Path("/h/links"), "/sandbox/links/0")),
        workdir="/tmp", env={"HOME": "/tmp"}, user=(65534, 65534), uv_binary="/usr/bin/uv", ca_file=Path("/h/ca.pem"))
    assert kwargs["cap_drop"] == ["ALL"] and kwargs["security_opt"] == ["no-new-privileges"]
    assert kwargs["read_only"] is True and "/tmp" in kwargs["tmpfs"] and kwargs["user"] == "65534:65534"
    assert kwargs["pids_limit"] > 0 and kwargs["mem_limit"] and kwargs["network_mode"] == "host"
    assert kwargs["entrypoint"] == [] and kwargs["environment"] == {"HOME": "/tmp"}
    volumes = kwargs["volumes"]
    assert volumes["/usr/bin/uv"] == {"bind": sandbox.UV_IN_CONTAINER, "mode": "ro"}
    assert volumes["/h/ca.pem"]["mode"] == "ro" and volumes["/h/links"] == {"bind": "/sandbox/links/0", "mode": "ro"}
    assert volumes["/h/src"] == {"bind": "/sandbox/src", "mode": "rw"}
    assert not any("docker.sock" in host or host.startswith(("/root", "/home")) for host in volumes)
    assert "privileged" not in kwargs and "pid_mode" not in kwargs
    with pytest.raises(ValueError):
        sandbox.create_kwargs("i", ["x"], (Mount(Path("/"), "/etc"),), workdir="/", env={}, user=(1, 1),
                              uv_binary="/u", ca_file=None)


def test_the_container_never_runs_as_root():
    assert sandbox.container_user(0, 0) == (sandbox.NOBODY, sandbox.NOBODY)
    assert sandbox.container_user(1000, 100) == (1000, 100)


def test_the_image_and_the_opt_out_come_from_the_options_then_the_environment(monkeypatch):
    monkeypatch.delenv(sandbox.IMAGE_ENV, raising=False)
    monkeypatch.delenv(sandbox.HOST_BUILDS_ENV, raising=False)
    assert SandboxOptions().image_for("3.10") == "python:3.10-slim"
    assert SandboxOptions(image="reg.example/py:{python}").image_for("3.12") == "reg.example/py:3.12"
    monkeypatch.setenv(sandbox.IMAGE_ENV, "mine:{python}")
    assert SandboxOptions().image_for("3.9") == "mine:3.9"
    assert not SandboxOptions().on_host and SandboxOptions(host_builds=True).on_host
    monkeypatch.setenv(sandbox.HOST_BUILDS_ENV, "true")
    assert SandboxOptions().on_host and not SandboxOptions(host_builds=False).on_host


def test_the_ca_bundle_is_the_hosts_own(monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert sandbox.host_ca_bundle({"SSL_CERT_FILE": str(tmp_path / "missing"), "PIP_CERT": str(ca)}) == ca


def test_no_engine_is_exit_3_in_one_line_naming_what_needed_building(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(InfraUnavailable) as info:
        sandbox.run(["uv", "build"], (), python="3.11", what="the job's own project", workdir="/tmp")
    text = str(info.value)
    assert info.value.exit_code == EXIT_INFRA and "\n" not in text
    assert text.startswith("building the job's own project runs the project's build backend; launchbuild runs "
                           "job code only in a container, and no Docker engine answers")
    assert "DOCKER_HOST" in text


# --- `uv pip compile` routing, with the host run and the container run replaced ---

def _request(tmp_path: Path, text: str = "./projects/p0\n") -> CompileRequest:
    links = tmp_path / "links"
    links.mkdir(exist_ok=True)
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "setup.py").write_text("raise SystemExit(1)\n")
    return CompileRequest(text, "requirements.txt", "", Target(python="3.11", platform="linux/amd64"),
                          netrc="machine h login u password p\n", local_projects=(("p0", project),),
                          find_links_dirs=(links,))


@pytest.fixture
def calls(monkeypatch):
    seen: dict[str, list] = {"host": [], "box": []}
    host_answer = {"proc": None}

    def fake_run(cmd, cwd, what, private_tmp):
        seen["host"].append(cmd)
        return host_answer["proc"] or subprocess.CompletedProcess(cmd, 0, "", "")

    def fake_box(argv, mounts, **kw):
        seen["box"].append((argv, mounts, kw))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(backends, "_run", fake_run)
    monkeypatch.setattr(sandbox, "run", fake_box)
    monkeypatch.setattr(sandbox, "give_to_container", lambda path: None)
    monkeypatch.delenv(sandbox.HOST_BUILDS_ENV, raising=False)
    seen["answer"] = host_answer  # type: ignore[assignment]
    return seen


def test_a_compile_that_needs_no_build_never_starts_a_container(tmp_path, calls):
    UvBackend().compile(_request(tmp_path, "six\n"))
    [cmd] = calls["host"]
    assert "--no-build" in cmd and calls["box"] == []


def test_a_compile_that_needs_a_build_is_rerun_in_the_sandbox_with_container_paths(tmp_path, calls):
    calls["answer"]["proc"] = subprocess.CompletedProcess([], 2, "", NEEDS_BUILD[0])
    UvBackend().compile(_request(tmp_path))
    [(argv, mounts, kw)] = calls["box"]
    assert argv[:3] == ["uv", "pip", "compile"] and "--no-build" not in argv
    assert argv[argv.index("--output-file") + 1] == "/sandbox/work/lock.txt"
    assert argv[argv.index("--find-links") + 1] == "/sandbox/links/0"
    assert not any(str(tmp_path) in a for a in argv)
    assert kw["extra_env"] == {"NETRC": "/sandbox/work/.launchbuild-netrc"} and kw["workdir"] == "/sandbox/work"
    assert kw["what"] == "the metadata of the job's project proj" and kw["python"] == "3.11"
    assert [(m.target, m.read_only) for m in mounts] == [("/sandbox/work", False), ("/sandbox/links/0", True)]


def test_an_editable_line_goes_straight_to_the_sandbox(tmp_path, calls):
    UvBackend().compile(_request(tmp_path, "-e ./projects/p0\n"))
    assert calls["host"] == [] and len(calls["box"]) == 1


def test_the_operators_opt_out_compiles_on_the_host_with_builds(tmp_path, calls):
    UvBackend(SandboxOptions(host_builds=True)).compile(_request(tmp_path))
    [cmd] = calls["host"]
    assert "--no-build" not in cmd and calls["box"] == []


# --- one container's life, against a stand-in client: it is removed whatever happens ---

class _Container:
    def __init__(self, wait_raises=None):
        self.wait_raises = wait_raises
        self.removed = False

    def start(self):
        pass

    def wait(self, timeout):
        if self.wait_raises is not None:
            raise self.wait_raises
        return {"StatusCode": 3}

    def logs(self, stdout, stderr, tail):
        return b"out" if stdout else b"err"

    def remove(self, force):
        assert force
        self.removed = True


class _Client:
    def __init__(self, container):
        self.containers = self
        self.container = container

    def create(self, **kwargs):
        return self.container


@pytest.mark.parametrize("raised", [None, "timeout", KeyboardInterrupt()])
def test_the_container_is_removed_after_an_exit_a_deadline_or_ctrl_c(raised):
    from requests.exceptions import ReadTimeout

    container = _Container(ReadTimeout("read timed out") if raised == "timeout" else raised)
    kwargs = {"command": ["uv", "build"]}
    if isinstance(raised, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            sandbox._run_container(_Client(container), kwargs, 5, "x")
    else:
        proc = sandbox._run_container(_Client(container), kwargs, 5, "x")
        if raised == "timeout":
            assert proc.returncode == 124 and "did not finish in 5 s" in proc.stderr
        else:
            assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out", "err")
    assert container.removed


# --- pip-tools cannot be sandboxed: wheels only, and no job project, unless the operator opted out ---

def _pip_tools(host_builds: bool):
    import sys

    from launchbuild.resolver.backends import PipToolsBackend

    backend = object.__new__(PipToolsBackend)
    backend.python = sys.executable
    backend.host_builds = host_builds
    return backend


def test_pip_tools_refuses_the_jobs_project_and_gets_wheels_only(tmp_path, calls):
    from launchbuild.errors import BadInput

    with pytest.raises(BadInput, match="pip-tools backend would run the job's own project's build backend"):
        _pip_tools(False).compile(_request(tmp_path))
    _pip_tools(False).compile(CompileRequest("six\n", "requirements.txt", "", Target(python="3.11")))
    [cmd] = calls["host"]
    assert cmd[cmd.index("--pip-args") + 1] == "--only-binary=:all:"
    _pip_tools(True).compile(_request(tmp_path))  # the operator's opt-out: as before
    assert "--pip-args" not in calls["host"][-1] and calls["box"] == []


def test_a_lock_the_container_turned_into_a_link_to_a_host_file_is_never_read(tmp_path, calls, monkeypatch):
    secret = tmp_path / "host-netrc"
    secret.write_text("machine h password HOSTSECRET\n")

    def planting_box(argv, mounts, **kw):
        work = mounts[0].host
        (work / "lock.txt").unlink(missing_ok=True)
        (work / "lock.txt").symlink_to(secret)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(sandbox, "run", planting_box)
    calls["answer"]["proc"] = subprocess.CompletedProcess([], 2, "", NEEDS_BUILD[0])
    outcome = UvBackend().compile(_request(tmp_path))
    assert not outcome.ok and "HOSTSECRET" not in outcome.body + outcome.explanation
    assert "no regular lock file" in outcome.explanation


def test_uvs_version_from_its_dist_info_folder_is_what_importlib_metadata_says():
    from importlib import metadata

    from launchbuild.resolver import backends

    backends._uv_version.cache_clear()
    assert backends._uv_version() == metadata.version("uv")
