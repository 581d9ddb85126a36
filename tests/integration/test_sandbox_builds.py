"""A job's build backend (its setup.py) runs in the build sandbox, never on the host.

Each hostile setup.py below tries, while launchbuild resolves the job, to read a secret set in
the host process's environment (AWS_SECRET_ACCESS_KEY and one of our own), a canary file in the
host's HOME (by its absolute host path and as ~/...), the Docker socket, and to write marker
files at absolute host paths (beside the test, into the job's own tree). It runs as the job's
own project, as a vendored sdist, and as a dependency whose metadata needs a build; once
failing on purpose with what it saw in its exception (so the finding proves it ran, and shows
it saw nothing), once succeeding (so resolution still works). A normal setup.py project and an
sdist-only release from the index still resolve. With no engine, a build is exit 3 in one
line, and a cached lock (the warm path) needs no engine at all.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app
from launchbuild.jobs.model import CodeSource, Job
from launchbuild.resolver.api import ResolveOptions, resolve

pytestmark = [pytest.mark.docker, pytest.mark.network]

RUN = uuid.uuid4().hex[:10]
SECRET = f"lb-sandbox-secret-{RUN}"
CANARY = f"lb-sandbox-canary-{RUN}"


@pytest.fixture
def host(tmp_path, monkeypatch, docker_client, standin_images):
    """The operator's machine: secrets in the environment, a canary in HOME, marker paths."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("LB_SANDBOX_TEST_SECRET", SECRET)
    canary = Path.home() / f".lb-sandbox-canary-{RUN}"
    canary.write_text(CANARY)
    markers = tmp_path / "markers"
    markers.mkdir()
    try:
        yield {"canary": canary, "markers": markers}
    finally:
        canary.unlink(missing_ok=True)


def hostile_setup(host: dict, job: Path, name: str, *, fail: bool, requires: str = "six") -> str:
    paths = [str(host["canary"]), f"~/{host['canary'].name}", "~/.netrc", "~/.docker/config.json",
             "/var/run/docker.sock", "/proc/1/environ"]
    writes = [str(host["markers"] / f"{name}-marker"), str(job / f"{name}-marker"), f"/tmp/{name}-{RUN}-marker"]
    # The setup.py knows only the sha256 of the secret and of the canary, never their text.
    secret_sha = hashlib.sha256(SECRET.encode()).hexdigest()
    canary_sha = hashlib.sha256(CANARY.encode()).hexdigest()
    return f'''
import hashlib, os
def h(text):
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
SEEN = []
for path in {paths!r}:
    try:
        with open(os.path.expanduser(path), "rb") as fh:
            data = fh.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        continue
    SEEN += [data, *data.split("\\0"), *(part.split("=", 1)[-1] for part in data.split("\\0"))]
SEEN += list(os.environ.values())
LEAKED = sum(h(x) in ({secret_sha!r}, {canary_sha!r}) for x in SEEN)
WROTE = []
for path in {writes!r}:
    try:
        with open(path, "w") as fh:
            fh.write("ran")
        WROTE.append(path)
    except OSError:
        pass
if {fail!r}:
    raise RuntimeError("sandboxed-build-ran leaked=%d host-writes=%d uid=%d" % (LEAKED, len(WROTE) - ("/tmp/{name}-{RUN}-marker" in WROTE), os.getuid()))
from setuptools import setup
setup(name={name!r}, version="1.0", py_modules=[], install_requires=[{requires!r}])
'''


def make_sdist(directory: Path, name: str, setup_py: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in {"PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
                          "setup.py": setup_py}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def run(job: Path, cache: Path):
    return resolve(job, Job(source=CodeSource(job)), ResolveOptions(cache_dir=cache, fetch_package_facts=False))


def assert_contained(host: dict, job: Path, *texts: str) -> None:
    assert sorted(p.name for p in host["markers"].iterdir()) == []
    assert not list(job.rglob("*-marker"))
    for text in texts:
        assert SECRET not in text and CANARY not in text


def hostile_build_failed(job: Path, cache: Path, rule: str):
    """(the finding, the result) of resolving a job whose hostile build fails on purpose: its
    one finding is `rule`, and its message says the build ran in the sandbox, reached none of
    the host's secrets and wrote nothing there."""
    result = run(job, cache)
    [finding] = result.findings
    assert finding.rule == rule and "sandboxed-build-ran leaked=0 host-writes=0 uid=" in finding.message, finding.message
    return finding, result


def own_project(job: Path, host: dict, *, fail: bool) -> None:
    job.mkdir(parents=True, exist_ok=True)
    (job / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "ownhostile"\nversion = "1.0"\ndependencies = ["six"]\n')
    (job / "setup.py").write_text(hostile_setup(host, job, "ownhostile", fail=fail))


def test_the_jobs_own_project_builds_in_the_sandbox_and_reaches_nothing_of_the_host(tmp_path, host):
    job = tmp_path / "bad"
    own_project(job, host, fail=True)
    finding, result = hostile_build_failed(job, tmp_path / "cache", "LB311")
    assert "uid=0" not in finding.message
    assert_contained(host, job, finding.message, result.lock.text)

    good = tmp_path / "good"
    own_project(good, host, fail=False)
    result = run(good, tmp_path / "cache")
    assert not result.findings and [p.name for p in result.lock.packages] == ["six"]
    assert_contained(host, good, result.lock.text)


def test_a_vendored_sdist_builds_in_the_sandbox_and_reaches_nothing_of_the_host(tmp_path, host):
    job = tmp_path / "job"
    make_sdist(job / "vendor", "sdbad", hostile_setup(host, job, "sdbad", fail=True))
    make_sdist(job / "vendor", "sdgood", hostile_setup(host, job, "sdgood", fail=False))
    (job / "requirements.txt").write_text("./vendor/sdbad-1.0.tar.gz\n")
    finding, _ = hostile_build_failed(job, tmp_path / "cache", "LB301")
    assert_contained(host, job, finding.message)

    (job / "requirements.txt").write_text("./vendor/sdgood-1.0.tar.gz\n")
    result = run(job, tmp_path / "cache")
    assert not result.findings, result.findings
    assert sorted(p.name for p in result.lock.packages) == ["sdgood", "six"]
    assert [Path(w).name for w in result.lock.wheels] == ["sdgood-1.0-py3-none-any.whl"]
    assert_contained(host, job, result.lock.text)


def test_a_dependency_whose_metadata_needs_a_build_is_compiled_in_the_sandbox(tmp_path, host):
    job = tmp_path / "job"
    for name, fail in (("depbad", True), ("depgood", False)):
        (job / "libs" / name).mkdir(parents=True)
        (job / "libs" / name / "setup.py").write_text(hostile_setup(host, job, name, fail=fail, requires="six"))
    (job / "requirements.txt").write_text("./libs/depbad\n")
    finding, _ = hostile_build_failed(job, tmp_path / "cache", "LB301")
    assert_contained(host, job, finding.message)

    (job / "requirements.txt").write_text("./libs/depgood\nsix\n")
    out = CliRunner().invoke(app, ["resolve", str(job)], env={"NO_COLOR": "1",
                                                             "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")})
    assert out.exit_code == 0, out.output
    assert "six==" in out.output
    assert_contained(host, job, out.output)


def test_a_normal_setup_py_project_and_an_sdist_only_release_still_resolve(tmp_path, host):
    job = tmp_path / "job"
    (job / "lib").mkdir(parents=True)
    (job / "lib" / "setup.py").write_text(
        'from setuptools import setup\nsetup(name="plainlib", version="2.0", py_modules=[], install_requires=["six"])\n')
    (job / "requirements.txt").write_text("./lib\ndocopt==0.6.2\n")  # docopt 0.6.2: an sdist, no wheel
    result = run(job, tmp_path / "cache")
    assert not result.findings, result.findings
    assert {p.name: p.version for p in result.lock.packages}.keys() == {"docopt", "six"}
    assert result.lock.own_projects == ("lib",)


def test_no_engine_a_build_is_exit_3_in_one_line_and_a_cached_lock_needs_none(tmp_path, host):
    job = tmp_path / "job"
    (job / "lib").mkdir(parents=True)
    (job / "lib" / "setup.py").write_text(hostile_setup(host, job, "noengine", fail=False))
    (job / "requirements.txt").write_text("./lib\n")
    env = {"NO_COLOR": "1", "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "400"}
    dead = {**env, "DOCKER_HOST": f"unix://{tmp_path}/no-such-docker.sock"}
    out = CliRunner().invoke(app, ["resolve", str(job)], env=dead)
    assert out.exit_code == 3, out.output
    lines = [ln for ln in out.output.splitlines() if ln.strip()]
    assert len(lines) == 1, out.output
    assert "runs the project's build backend; launchbuild runs job code only in a container" in lines[0]
    assert "DOCKER_HOST" in lines[0] and "the job's project lib" in lines[0]
    assert_contained(host, job, out.output)

    assert CliRunner().invoke(app, ["resolve", str(job)], env=env).exit_code == 0  # fills the cache
    warm = CliRunner().invoke(app, ["resolve", str(job)], env=dead)
    assert warm.exit_code == 0, warm.output

    (job / "requirements.txt").write_text("six\n")  # nothing to build: no engine is asked
    assert CliRunner().invoke(app, ["resolve", str(job)], env=dead).exit_code == 0
    assert not any(p.name.startswith("launchbuild-") for p in Path(os.environ.get("TMPDIR", "/tmp")).iterdir()
                   if p.name.startswith(("launchbuild-sandbox-", "launchbuild-build-")))


def test_the_container_is_confined_and_removed_after_its_deadline(tmp_path, host, docker_client):
    from launchbuild.resolver import sandbox

    out = tmp_path / "out"
    out.mkdir()
    sandbox.give_to_container(out)
    mounts = (sandbox.Mount(out, "/sandbox/out", read_only=False),)
    script = ("id -u; grep CapEff /proc/self/status; env | sort; touch /usr/x 2>/dev/null || echo rootfs-ro; "
              "ls /var/run/docker.sock 2>/dev/null || echo no-socket; echo built > /sandbox/out/w; "
              "/opt/launchbuild/bin/uv --version")
    proc = sandbox.run(["sh", "-c", script], mounts, python="3.11", what="a probe", workdir="/tmp")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] != "0" and "CapEff:\t0000000000000000" in proc.stdout
    assert "rootfs-ro" in lines and "no-socket" in lines and lines[-1].startswith("uv ")
    assert SECRET not in proc.stdout and "AWS_SECRET_ACCESS_KEY" not in proc.stdout
    assert (out / "w").read_text() == "built\n"  # the host reads what the container wrote ...
    (out / "w").unlink()  # ... and removes it

    proc = sandbox.run(["sh", "-c", "sleep 120"], (), python="3.11", what="a slow build", workdir="/tmp", timeout_s=3)
    assert proc.returncode == 124 and "did not finish in 3 s" in proc.stderr
    assert docker_client.containers.list(all=True, filters={"label": sandbox.LABEL}) == []
