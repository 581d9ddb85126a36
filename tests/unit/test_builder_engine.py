"""Engine pieces that need no daemon: failure messages, CLI command lines, unreachable daemon."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.builder import engine as eng
from launchbuild.builder.api import build_image, prepare_plan
from launchbuild.builder.plan import CaMode, Frontend
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.jobs.model import SourceKind
from tests.helpers_builder import IMAGE_PLAN, seed_plan

TAIL = (
    "#9 [stage-0 5/7] RUN --mount=type=bind,source=.launchbuild/uv,target=/usr/local/bin/uv uv pip install -r /opt/launchbuild/requirements.lock",
    "#9 0.061 Using Python 3.11.2 environment at: /opt/venv",
    "#9 0.100 error: No solution found when resolving dependencies",
    "#9 0.102   cause: Because there is no version of six==99.0.0 and you require six==99.0.0",
    "#9 ERROR: executor failed running [/bin/sh -c uv pip install]: exit code: 1",
)


def test_failure_quotes_the_installer_not_the_executor():
    steps = {"9": ["[stage-0 5/7] RUN --mount=type=bind,source=.launchbuild/uv,target=/usr/local/bin/uv uv pip install -r x", False]}
    err = eng._failure(TAIL, steps)
    msg = str(err)
    assert "\n" not in msg
    assert "at step [stage-0 5/7] (RUN uv pip install -r x...)" in msg
    assert "No solution found" in msg and "six==99.0.0" in msg and "executor failed" not in msg
    assert err.log_tail == TAIL and err.exit_code == 1


def test_failure_without_tool_lines_keeps_buildkits_reason():
    err = eng._failure(("#4 [2/3] RUN false", "#4 ERROR: executor failed running [/bin/sh -c false]: exit code: 1"),
                       {"4": ["[2/3] RUN false", False]})
    assert "exit code: 1" in str(err)


def test_buildkit_command_line(tmp_path):
    bk = eng.BuildKitCLI("/usr/bin/docker", has_buildx=False)
    cmd = bk.command(tmp_path, tmp_path / "iid", platform=None, no_cache=True, secrets={"ca": Path("/etc/ca.pem")})
    assert cmd[:2] == ["/usr/bin/docker", "build"] and "--load" not in cmd
    assert cmd[cmd.index("--network") + 1] == "host" and cmd[cmd.index("--progress") + 1] == "plain"
    assert "--secret" in cmd and cmd[cmd.index("--secret") + 1] == "id=ca,src=/etc/ca.pem"
    assert "--build-arg" not in cmd and "-t" not in cmd  # tagged only after verification
    assert "--no-cache" in cmd and cmd[-1] == str(tmp_path)
    bx = eng.BuildKitCLI("/usr/bin/docker", has_buildx=True).command(tmp_path, tmp_path / "i", platform="linux/arm64", no_cache=False, secrets={})
    assert bx[1:4] == ["buildx", "build", "--load"] and bx[bx.index("--platform") + 1] == "linux/arm64"


def test_image_row_is_a_no_op_without_docker(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    summary = build_image(IMAGE_PLAN, None)
    assert summary.skipped and summary.tag == IMAGE_PLAN.base_image and "nothing to build" in summary.reason


def test_daemon_not_running_is_infra_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    with pytest.raises(InfraUnavailable) as exc:
        build_image(seed_plan(SourceKind.CODE, False), tmp_path)
    assert exc.value.exit_code == 3 and "\n" not in str(exc.value)


def test_unknown_engine_is_bad_input():
    with pytest.raises(BadInput, match="not a local engine"):
        eng.select_engine("kaniko")


@pytest.mark.parametrize("frontend,ca,uv,arch,installer,mode", [
    (Frontend.BUILDKIT, True, True, "amd64", "uv", CaMode.SECRET),
    (Frontend.BUILDKIT, False, True, "amd64", "uv", CaMode.NONE),
    (Frontend.BUILDKIT, True, False, "amd64", "pip", CaMode.SECRET),
    (Frontend.BUILDKIT, True, True, "arm64", "pip", CaMode.SECRET),  # host uv cannot run there
    (Frontend.CLASSIC, True, True, "amd64", "pip", CaMode.THROWAWAY_STAGE),
    (Frontend.CLASSIC, False, True, "amd64", "pip", CaMode.NONE),
])
def test_prepare_plan(monkeypatch, frontend, ca, uv, arch, installer, mode):
    monkeypatch.setattr(eng, "host_arch", lambda: "amd64")
    plan = prepare_plan(seed_plan(SourceKind.CODE, False, platform=f"linux/{arch}"), frontend=frontend,
                        ca_bundle=Path("/ca.pem") if ca else None, uv_binary=Path("/uv") if uv else None)
    assert (plan.frontend, plan.installer, plan.ca_mode) == (frontend, installer, mode)
    plan.validate()


def test_find_uv_binary_refuses_a_binary_that_cannot_run_in_a_linux_image(tmp_path, monkeypatch):
    import uv

    from launchbuild.builder import engine

    macho = tmp_path / "uv"
    macho.write_bytes(b"\xcf\xfa\xed\xfe" + b"\0" * 64)  # a Mach-O header, as on macOS hosts
    monkeypatch.setattr(uv, "find_uv_bin", lambda: str(macho))
    assert engine.find_uv_binary() is None
    elf = tmp_path / "uv-elf"
    elf.write_bytes(b"\x7fELF" + b"\0" * 64)
    monkeypatch.setattr(uv, "find_uv_bin", lambda: str(elf))
    assert engine.find_uv_binary() == elf


@pytest.mark.parametrize("host", ["tcp://h:notaport", "bogus://x", "tcp://user:s3cret@h:1"])
def test_a_malformed_docker_host_is_bad_input_naming_it(monkeypatch, host):
    """The SDK raises ValueError for a port that is not a number (an 'internal error' exit 1
    before): a malformed DOCKER_HOST is the operator's setting, exit 2, never a down engine."""
    from launchbuild.builder.engines.base import docker_client

    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(BadInput) as err:
        docker_client()
    assert "DOCKER_HOST=" in str(err.value) and "s3cret" not in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_an_unreachable_docker_host_is_still_infrastructure(monkeypatch, tmp_path):
    from launchbuild.builder.engines.base import docker_client

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(InfraUnavailable):
        docker_client(timeout=5)
