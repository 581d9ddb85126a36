"""Faults, through the real CLI: each gives one clear error line with its exit code and
leaves nothing behind (no launchbuild-* temp dir, no new tag, no running container)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app
from tests.fakeregistry import FakeRegistry

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
runner = CliRunner()


def job_dir(root: Path, *, requirements: str | None = None, marker: str = "", name: str = "job") -> Path:
    d = root / name
    d.mkdir()
    (d / "train.py").write_text(f"print('train {marker}')\n")
    (d / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    if requirements is not None:
        (d / "requirements.txt").write_text(requirements)
    return d


def temp_leftovers(tmpdir: str | None = None) -> set[str]:
    return {p.name for p in Path(tmpdir or tempfile.gettempdir()).glob("launchbuild*")}


def one_error_line(text: str, *needles: str) -> None:
    # Plain progress lines ("==> ...", stderr without a TTY) are progress, not errors.
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("==> ")]
    assert len(lines) == 1 and lines[0].startswith("error:"), text
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, (needle, text)


def cli(args: list[str], *, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["launchbuild", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300", **(env or {})})


def our_tags(client, repo_part: str) -> list[str]:
    return [t for image in client.images.list() for t in image.tags if repo_part in t]


# --- Docker engine -------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["build"], ["inspect", "launchbuild-test/debian:12"]], ids=["build", "inspect"])
def test_docker_daemon_not_running(tmp_path, args):
    dead = tmp_path / "dead.sock"
    argv = [args[0], str(job_dir(tmp_path)), "--python-base-image", PYTHON_STANDIN] if args == ["build"] else args
    own_tmp = tmp_path / "tmp"  # its own TMPDIR: "nothing left" is exact, whatever else runs
    own_tmp.mkdir()
    result = cli(argv, env={"DOCKER_HOST": f"unix://{dead}", "TMPDIR": str(own_tmp)}, timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    one_error_line(result.stderr)
    assert temp_leftovers(str(own_tmp)) == set()


@pytest.mark.docker
@pytest.mark.parametrize(("where", "verdict"), [("docker.io", "warn"), ("local registry", "pass")])
def test_check_with_the_engine_unreachable_passes_only_on_facts_it_read(tmp_path, local_registry, where, verdict):
    # No engine answers. A registry that answers gives the image's own facts (a true PASS); one
    # that does not (docker.io behind a dead proxy: no network needed) leaves the tag's guesses,
    # which LB211 names, so the verdict is a warning and never a silent PASS.
    image = "nvidia/cuda:12.1.1-runtime-ubuntu22.04" if where == "docker.io" \
        else f"{local_registry}/launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04"
    dead = "http://127.0.0.1:1"
    env = {"DOCKER_HOST": "tcp://127.0.0.1:1", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HTTPS_PROXY": dead,
           "HTTP_PROXY": dead, "https_proxy": dead, "http_proxy": dead, "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost"}
    result = cli(["check", str(job_dir(tmp_path)), "--base-image", image, "--gpu", "H100", "--driver", "535.104.05",
                  "--format", "json"], env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    import json

    report = json.loads(result.stdout)
    guessed = [f for f in report["findings"] if f["rule"] == "LB211" and "only guessed from its tag" in f["message"]]
    assert report["verdict"] == verdict and bool(guessed) is (verdict == "warn"), report["findings"]


# --- registry faults through `launchbuild inspect` ------------------------------------------------


@pytest.fixture
def fake_registry(monkeypatch, tmp_path):
    from launchbuild.compat.facts.providers import registry as provider

    monkeypatch.setattr(provider, "TIMEOUT", (2.0, 0.5))  # the "slow" fault outlasts this
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no cached facts hide a fault
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    with FakeRegistry() as reg:
        reg.add_image("team/cuda", "1", layers=[{"etc/debian_version": "12.5\n", "usr/bin/apt-get": b"ELF"}],
                      env={"CUDA_VERSION": "12.1.1"})
        reg.slow_seconds = 3.0
        yield reg


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("401", 3, ("requires credentials", "docker login")),
        ("404", 2, ("not found",)),
        ("500", 3, ("HTTP 500",)),
        # "slow" is covered at the provider (test_facts_registry_fake): the CLI's client
        # timeout is a default argument, so it cannot be shortened from a test.
        ("truncate", 3, ("cut",)),
        ("digest-mismatch", 3, ("digest mismatch",)),
    ],
)
def test_registry_faults_through_inspect(fake_registry, fault, code, words):
    if fault == "401":
        fake_registry.auth, fake_registry.users = "basic", {"robot": "x"}
    else:
        fake_registry.fault = fault
    # No wall-clock bound: every fault here answers at once, and the provider's own
    # (connect, read) timeout is what would end a hang.
    result = runner.invoke(app, ["inspect", f"{fake_registry.host}/team/cuda:1"], env={"NO_COLOR": "1", "COLUMNS": "300"})
    assert result.exit_code == code, result.output
    one_error_line(result.output, *words)


# --- package index ---------------------------------------------------------------------------------


@pytest.mark.network
def test_index_unreachable_is_exit_3_and_offline_warm_cache_still_checks(tmp_path):
    job = job_dir(tmp_path, requirements="six==1.16.0\n")
    warm = cli(["check", str(job), "--offline", "--python-base-image", PYTHON_STANDIN])
    if warm.returncode == 3:  # cold cache on this machine: fill it once online
        assert cli(["check", str(job), "--python-base-image", PYTHON_STANDIN]).returncode in (0, 1)
    offline = cli(["check", str(job), "--offline", "--python-base-image", PYTHON_STANDIN])
    assert offline.returncode == 0, offline.stdout + offline.stderr
    (tmp_path / "d2").mkdir()
    dead_job = job_dir(tmp_path / "d2", requirements="--index-url http://127.0.0.1:9/simple\nsix==1.16.0\n")
    result = cli(["check", str(dead_job), "--python-base-image", PYTHON_STANDIN], timeout=180)
    assert result.returncode == 3, result.stdout + result.stderr
    one_error_line(result.stderr, "package index")


# --- disk full, Ctrl-C, concurrency ----------------------------------------------------------------


@pytest.mark.docker
def test_disk_full_during_context_creation(tmp_path, docker_client):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], check=True)
    try:
        name = f"diskfull-{uuid.uuid4().hex[:8]}"  # its own repository: the engine is shared
        job = job_dir(tmp_path, name=name)
        (job / "data.bin").write_bytes(os.urandom(1024 * 1024))  # does not fit in 256 KiB
        tags_before = set(our_tags(docker_client, name))
        # BuildKit builds write their context under the cache dir (kept between builds), the
        # classic builder under TMPDIR: both on the small filesystem.
        cache = small / "cache"
        result = cli(["build", str(job), "--python-base-image", PYTHON_STANDIN],
                     env={"TMPDIR": str(small), "LAUNCHBUILD_CACHE_DIR": str(cache)}, timeout=300)
        assert result.returncode in (1, 3), result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert "error:" in result.stderr and ("space" in result.stderr or "disk" in result.stderr), result.stderr
        assert [p.name for p in small.iterdir()] in ([], ["cache"])  # no temp dir left
        contexts = cache / "contexts"
        assert not contexts.exists() or [p for p in contexts.iterdir() if p.is_dir()] == []  # no half-written context
        assert set(our_tags(docker_client, name)) == tags_before
    finally:
        subprocess.run(["umount", str(small)], check=False)


@pytest.mark.docker
@pytest.mark.parametrize("sig,code,said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
                         ids=["ctrl-c", "sigterm"])
def test_ctrl_c_during_cli_build_leaves_nothing(tmp_path, docker_client, standin_images, sig, code, said):
    """Ctrl-C (or SIGTERM: a cancelled CI job, a queue agent stopping it) lands mid-build by
    construction: the job's one package comes from a gate index on 127.0.0.1 whose wheel
    download (made only by the install step inside the engine) is held until the test is
    done. The resolver on the host reads just the metadata."""
    import threading

    from tests.helpers_gate import GatedIndex, default_sigint

    with GatedIndex(tmp_path / "wheels") as gate:
        name = f"sigint-{uuid.uuid4().hex[:8]}"  # its own repository: the engine is shared
        job = job_dir(tmp_path, requirements=f"--index-url {gate.url}\n{gate.requirement}\n", marker="sigint", name=name)
        own_tmp = tmp_path / "tmp"  # its own TMPDIR and cache: "nothing left" is exact
        own_tmp.mkdir()
        cache = tmp_path / "cache"
        tags_before = set(our_tags(docker_client, name))
        proc = subprocess.Popen(["launchbuild", "build", str(job), "--python-base-image", PYTHON_STANDIN, "--no-cache"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "NO_COLOR": "1", "TMPDIR": str(own_tmp),
                                     "LAUNCHBUILD_CACHE_DIR": str(cache)},
                                preexec_fn=default_sigint)
        seen: list[str] = []
        drain = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
        drain.start()
        while not gate.held.wait(1.0) and proc.poll() is None:
            pass  # the outcome depends on the event, not on how long this takes
        assert gate.held.is_set(), "the build ended before its install step:\n" + "".join(seen)[-3000:]
        proc.send_signal(sig)
        proc.wait(timeout=300)
        drain.join(timeout=60)
    out = "".join(seen)
    assert proc.returncode == code, out
    assert "Traceback" not in out and said in out
    # The CLI returns only after the docker client it stopped has exited; what the engine
    # still tears down is not ours to wait for, but no tag, temp dir or container of ours.
    assert list(own_tmp.iterdir()) == []
    contexts = cache / "contexts"
    assert not contexts.exists() or [p for p in contexts.iterdir() if p.is_dir()] == []  # no half-sent context
    assert set(our_tags(docker_client, name)) == tags_before
    # Containers this build started (probes, verification), by its PID: the engine is shared.
    assert docker_client.containers.list(all=True, filters={"label": f"io.launchbuild.owner-pid={proc.pid}"}) == []


@pytest.mark.docker
@pytest.mark.network
def test_two_concurrent_builds_of_the_same_job_yield_one_image(tmp_path, docker_client):
    import json

    job = job_dir(tmp_path, requirements="six==1.16.0\n", marker=f"concurrent-{os.getpid()}-{time.time_ns()}")
    outs = [tmp_path / f"r{i}" for i in range(2)]
    procs = [subprocess.Popen(["launchbuild", "build", str(job), "--python-base-image", PYTHON_STANDIN,
                               "--format", "json", "--output", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for out in outs]
    results = [p.communicate(timeout=900) for p in procs]
    for proc, (stdout, stderr) in zip(procs, results):
        assert proc.returncode == 0, stderr
    reports = [json.loads(out.read_text()) for out in outs]
    tags = {r["build"]["tag"] for r in reports}
    assert len(tags) == 1
    tag = tags.pop()
    try:
        assert len({docker_client.images.get(tag).id}) == 1
    finally:
        docker_client.images.remove(tag, force=True)
