"""VCS requirements (served by a real `git http-backend` on 127.0.0.1), local wheels and a
job's own --find-links folder become hashed wheels in the build context, never host paths;
user --hash pins are enforced; an unreachable VCS host is exit 3. One real build installs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app
from launchbuild.jobs.model import CodeSource, Job
from launchbuild.resolver.api import ResolveOptions, resolve
from tests.helpers_git_http import make_package_repo, serve_git, tag_commit
from tests.helpers_image import saved_image_members
from tests.helpers_resolver import build_wheel

# Their setup.py / VCS / sdist builds run in the build sandbox (resolver/sandbox.py): a container.
pytestmark = [pytest.mark.network, pytest.mark.docker]
SIX_WHEEL_SHA = "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"  # six-1.16.0.tar.gz


@pytest.fixture(scope="module")
def git_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("git-srv")
    make_package_repo(root, "gitpkg", "1.0", "v1.0")
    return root


@pytest.fixture(scope="module")
def git_server(git_root):
    with serve_git(git_root) as url:
        yield url


def job_with(tmp_path: Path, url: str, extra: str = "") -> Path:
    job = tmp_path / "job"
    build_wheel(job / "wheels", "localpkg", "2.0")
    build_wheel(job / "links", "linkedpkg", "3.0")
    (job / "requirements.txt").write_text(
        f"gitpkg @ git+{url}/gitpkg.git@v1.0\n./wheels/localpkg-2.0-py3-none-any.whl\n"
        f"--find-links ./links\nlinkedpkg==3.0\n{extra}")
    (job / "train.py").write_text("import gitpkg, localpkg, linkedpkg\nprint(gitpkg.VERSION)\n")
    return job


def run(job: Path, cache: Path):
    return resolve(job, Job(source=CodeSource(job)), ResolveOptions(cache_dir=cache, fetch_package_facts=False))


def test_vcs_local_wheel_and_find_links_are_hashed_wheels_without_host_paths(tmp_path, git_server):
    job = job_with(tmp_path, git_server, f"six==1.16.0 --hash=sha256:{SIX_WHEEL_SHA}\n")
    result = run(job, tmp_path / "cache")
    assert not result.findings
    by_name = {p.name: p for p in result.lock.packages}
    assert {n: p.version for n, p in by_name.items()} == {"gitpkg": "1.0", "localpkg": "2.0", "linkedpkg": "3.0",
                                                          "six": "1.16.0"}
    assert all(p.hashes for p in by_name.values())
    assert by_name["six"].hashes == (f"sha256:{SIX_WHEEL_SHA}",)  # only the user's hash is kept
    assert str(tmp_path) not in result.lock.text and "127.0.0.1" not in result.lock.text
    assert result.lock.find_links == ()  # ./links became wheels in the context
    assert sorted(Path(w).name for w in result.lock.wheels) == [
        "gitpkg-1.0-py3-none-any.whl", "linkedpkg-3.0-py3-none-any.whl", "localpkg-2.0-py3-none-any.whl"]
    assert any("-> commit " in note and len(note.split("-> commit ")[1].split()[0]) == 40 for note in result.input_read)


def test_a_user_hash_that_does_not_match_is_lb310_naming_the_line(tmp_path, git_server):
    job = tmp_path / "job"
    job.mkdir()
    (job / "requirements.txt").write_text("six==1.16.0 --hash=sha256:" + "0" * 64 + "\n")
    [finding] = run(job, tmp_path / "cache").findings
    assert finding.rule == "LB310" and "requirements.txt:1" in finding.message


def test_an_unreachable_vcs_host_is_exit_3(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    (job / "requirements.txt").write_text("gitpkg @ git+http://127.0.0.1:9/gitpkg.git@v1.0\n")
    result = CliRunner().invoke(app, ["resolve", str(job)], env={"NO_COLOR": "1"})
    assert result.exit_code == 3, result.output
    assert "127.0.0.1:9" in result.output and "Traceback" not in result.output


@pytest.mark.docker
def test_the_image_installs_them_hash_checked(tmp_path, git_server, standin_images, docker_client):
    job = job_with(tmp_path, git_server)
    dockerfile = CliRunner().invoke(app, ["dockerfile", str(job), "--entrypoint", "python train.py",
                                          "--python-base-image", standin_images["python"]])
    assert dockerfile.exit_code == 0, dockerfile.output
    assert "/opt/launchbuild/wheels" in dockerfile.output and str(tmp_path) not in dockerfile.output
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["build", str(job), "--python-base-image", standin_images["python"],
                                      "--entrypoint", "python train.py", "--format", "json", "-o", str(out)],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    tag = report["build"]["tag"]
    try:
        got = docker_client.containers.run(tag, remove=True, network_mode="none").decode()
        assert got.strip() == "1.0"
        wheels = docker_client.containers.run(tag, entrypoint=["sh", "-c", "find /opt /tmp -name '*.whl'"],
                                              remove=True, network_mode="none").decode()
        assert wheels.strip() == ""  # bind-mounted for the install step only (the job's own copies stay in /app)
    finally:
        docker_client.images.remove(tag, force=True)


def make_sdist(directory: Path, name: str, files: dict[str, str]) -> Path:
    import io
    import tarfile

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in {"PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", **files}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_local_sdist_is_built_into_a_hashed_wheel_and_a_failing_one_states_its_cause(tmp_path):
    job = tmp_path / "job"
    make_sdist(job / "vendor", "goodsd", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                          '[project]\nname = "goodsd"\nversion = "1.0"\n[tool.setuptools]\npy-modules = ["goodsd"]\n',
        "goodsd.py": "X = 1\n"})
    make_sdist(job / "vendor", "badsd", {"setup.py": "import torch_is_not_here_xyz\n"})
    (job / "requirements.txt").write_text("./vendor/goodsd-1.0.tar.gz\n")
    result = run(job, tmp_path / "cache")
    assert [(p.name, p.version) for p in result.lock.packages] == [("goodsd", "1.0")]
    assert str(tmp_path) not in result.lock.text and [Path(w).name for w in result.lock.wheels] == [
        "goodsd-1.0-py3-none-any.whl"]
    (job / "requirements.txt").write_text("six==1.16.0\n./vendor/badsd-1.0.tar.gz\n")
    result = run(job, tmp_path / "cache")
    assert result.lock is None  # never the rest locked as if it were the whole environment
    [finding] = result.findings
    assert finding.rule == "LB301" and finding.location.line == 2
    assert finding.message.startswith("ModuleNotFoundError: No module named 'torch_is_not_here_xyz'")
    assert str(tmp_path) not in finding.message


def test_a_host_path_the_build_cannot_see_is_lb305_and_nothing_is_locked(tmp_path):
    """Inside the job but not installable is LB305; a path outside the job is refused at the
    trust boundary (docs/SECURITY.md) with one line, before anything is built or locked."""
    from launchbuild.errors import BadInput

    outside = tmp_path / "elsewhere"
    build_wheel(outside, "farpkg", "1.0")
    job = tmp_path / "job"
    (job / "data").mkdir(parents=True)
    for text in (f"six==1.16.0\n{outside}\n", f"--find-links {outside}\nfarpkg\n"):
        (job / "requirements.txt").write_text(text)
        with pytest.raises(BadInput, match="job's source tree"):
            run(job, tmp_path / "cache")
    for text, expected in (("./data\n", "data (requirements.txt:1)"),):
        (job / "requirements.txt").write_text(text)
        result = run(job, tmp_path / "cache")
        assert result.lock is None
        [finding] = result.findings
        assert finding.rule == "LB305" and expected in finding.message


def test_a_uv_lock_git_dependency_is_built_at_its_locked_commit_and_hashed(tmp_path, git_server):
    import subprocess

    import uv

    job = tmp_path / "job"
    job.mkdir()
    (job / "pyproject.toml").write_text(
        '[project]\nname = "j"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
        f'dependencies = ["six==1.16.0", "gitpkg @ git+{git_server}/gitpkg.git@v1.0"]\n')
    subprocess.run([uv.find_uv_bin(), "lock", "--no-config", "-q"], cwd=job, check=True)
    result = run(job, tmp_path / "cache")
    assert result.input_kind == "lock" and not result.findings
    by_name = {p.name: p for p in result.lock.packages}
    assert by_name["gitpkg"].version == "1.0" and by_name["gitpkg"].hashes and by_name["six"].hashes
    assert [Path(w).name for w in result.lock.wheels] == ["gitpkg-1.0-py3-none-any.whl"]
    assert "127.0.0.1" not in result.lock.text and str(tmp_path) not in result.lock.text


def test_a_pylock_git_entry_is_built_at_its_commit(tmp_path, git_root, git_server):
    commit = tag_commit(git_root / "gitpkg.git", "v1.0")
    job = tmp_path / "job"
    job.mkdir()
    (job / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n[[packages]]\nname = "gitpkg"\n'
        f'vcs = {{ type = "git", url = "{git_server}/gitpkg.git", commit-id = "{commit}" }}\n')
    result = run(job, tmp_path / "cache")
    assert not result.findings and [(p.name, p.version) for p in result.lock.packages] == [("gitpkg", "1.0")]
    assert result.lock.packages[0].hashes and "127.0.0.1" not in result.lock.text


def test_a_pipfile_lock_git_entry_is_built_at_its_ref(tmp_path, git_root, git_server):
    commit = tag_commit(git_root / "gitpkg.git", "v1.0")
    job = tmp_path / "job"
    job.mkdir()
    (job / "Pipfile.lock").write_text(json.dumps({"_meta": {}, "default": {
        "gitpkg": {"git": f"{git_server}/gitpkg.git", "ref": commit}}}))
    result = run(job, tmp_path / "cache")
    assert not result.findings and [(p.name, p.version) for p in result.lock.packages] == [("gitpkg", "1.0")]


VCS_TOKEN = "vcsTOKENcanary0123456789"


def test_a_vcs_token_reaches_no_layer_output_or_report(tmp_path, git_server, standin_images, docker_client):
    """git on the host needs the token as written to clone; the image, the build's output and
    the report never hold it: the requirements file that carries it is left out of the code copy."""

    job = tmp_path / "job"
    job.mkdir()
    authed = git_server.replace("http://", f"http://ci-bot:{VCS_TOKEN}@", 1)
    (job / "requirements.txt").write_text(f"gitpkg @ git+{authed}/gitpkg.git@v1.0\n")
    (job / "train.py").write_text("import gitpkg\nprint(gitpkg.VERSION)\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["build", str(job), "--python-base-image", standin_images["python"],
                                      "--entrypoint", "python train.py", "-v", "--format", "json", "-o", str(out)],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert VCS_TOKEN not in result.output and VCS_TOKEN not in out.read_text()
    tag = json.loads(out.read_text())["build"]["tag"]
    try:
        assert docker_client.containers.run(tag, remove=True, network_mode="none").decode().strip() == "1.0"
        token = VCS_TOKEN.encode()
        hits = [f"{layer}:{name}" for layer, name, data in saved_image_members(tag, include_non_files=True)
                if token in data or VCS_TOKEN in name]
        assert hits == []
        history = json.dumps(docker_client.api.history(tag)) + json.dumps(docker_client.api.inspect_image(tag))
        assert VCS_TOKEN not in history
    finally:
        docker_client.images.remove(tag, force=True)
