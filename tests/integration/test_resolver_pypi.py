"""The resolver end to end against real PyPI (small packages) and a local index on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from launchbuild.errors import InfraUnavailable
from launchbuild.jobs.model import CodeSource, Job
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.resolver.api import ResolveOptions, render_lock, resolve
from launchbuild.resolver.backends import find_interpreter
from tests.helpers_resolver import build_wheel, serve_directory

pytestmark = pytest.mark.network
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "resolver"


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def job_for(src: Path, **kw) -> Job:
    return Job(source=CodeSource(src), **kw)


def pins(result) -> dict[str, str]:
    return {p.name: p.version for p in result.lock.packages}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_requirements_txt_with_includes_constraints_and_locations(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "requirements.txt", "# deps\nrequests==2.31.0\n-r reqs/extra.txt\n-c constraints.txt\n")
    write(src, "reqs/extra.txt", "six\n")
    write(src, "constraints.txt", "six<1.17\n")
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir))
    assert result.input_kind == "requirements" and result.input_path == "requirements.txt"
    got = pins(result)
    assert got["requests"] == "2.31.0" and got["six"] == "1.16.0"  # the constraint applied
    by_name = {p.name: p for p in result.lock.packages}
    assert by_name["requests"].location.line == 2
    assert by_name["six"].location.path == "reqs/extra.txt" and by_name["six"].location.line == 1
    assert "requests" in by_name["urllib3"].via and all(p.hashes for p in result.lock.packages)
    assert result.lock.text.startswith("# Locked by launchbuild (uv) for Python 3.11 on linux/amd64")
    assert render_lock(result) == result.lock.text
    facts = {f.name: f for f in result.packages}
    assert facts["six"].has_target_wheel is True and facts["requests"].requires_python


def test_pyproject_with_extras(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "pyproject.toml", '[project]\nname = "trainer"\nversion = "0.1"\nrequires-python = ">=3.9,<3.13"\n'
          'dependencies = ["six==1.16.0"]\n[project.optional-dependencies]\nnet = ["idna==3.7"]\n')
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, extras=("net",)))
    assert result.input_kind == "pyproject" and result.extras == ("net",)
    assert pins(result) == {"six": "1.16.0", "idna": "3.7"}
    assert result.lock.target.python == "3.12"  # highest supported allowed by requires-python
    assert {p.name: p.location.line for p in result.lock.packages} == {"six": 5, "idna": 7}


def test_environment_yml_pip_section_python_pin_and_conda_only(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "environment.yml", "name: t\ndependencies:\n  - python=3.10\n  - cudatoolkit=11.8\n  - pip\n"
          "  - pip:\n    - tomli==2.0.1\n")
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir))
    assert result.input_kind == "environment" and result.lock.target.python == "3.10"
    assert pins(result) == {"tomli": "2.0.1"}
    assert result.conda_only == ("cudatoolkit=11.8",)
    assert any(a.action == "flagged" and "cudatoolkit" in a.line for a in result.cleaning)


def test_precedence_and_skipped_reasons(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "requirements.txt", "six==1.16.0\n")
    write(src, "pyproject.toml", '[project]\nname = "x"\nversion = "0"\ndependencies = ["idna"]\n')
    write(src, "environment.yml", "dependencies:\n  - pip:\n    - idna\n")
    write(src, "requirements.frozen.txt", "idna==3.7\n")
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, fetch_package_facts=False))
    assert result.input_kind == "requirements" and pins(result) == {"six": "1.16.0"}
    skipped = dict(result.skipped_inputs)
    assert set(skipped) == {"pyproject.toml", "environment.yml", "requirements.frozen.txt"}
    assert all("lower precedence than requirements.txt" in why for why in skipped.values())

    # An explicit option beats every detected file.
    explicit = write(tmp_path, "pinned.txt", "idna==3.7\n")
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, frozen=explicit, fetch_package_facts=False))
    assert result.input_kind == "frozen" and pins(result) == {"idna": "3.7"}

    # An empty requirements.txt (what `wandb job create git` leaves) is skipped, not "installed".
    write(src, "requirements.txt", "# nothing\n")
    (src / "pyproject.toml").unlink()
    (src / "environment.yml").unlink()
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, fetch_package_facts=False))
    assert result.input_kind == "frozen" and dict(result.skipped_inputs)["requirements.txt"] == "lists no packages"


def test_conda_pip_freeze_is_cleaned_and_locked(tmp_path, cache_dir):
    src = tmp_path / "src"
    src.mkdir()
    frozen = FIXTURES / "conda-pip-freeze.txt"
    result = resolve(src, job_for(src, frozen_requirements=frozen), ResolveOptions(cache_dir=cache_dir))
    assert result.input_kind == "frozen"
    got = pins(result)
    assert got["numpy"] == "1.26.4" and got["pyyaml"] == "6.0.1" and got["tomli"] == "2.0.1"
    assert {"certifi", "requests", "urllib3", "six", "tqdm", "brotli"} <= set(got)
    assert not {"pip", "setuptools", "wheel"} & set(got)
    actions = {(a.action, a.line.split(" ")[0]) for a in result.cleaning}
    assert ("repinned", "numpy") in actions and ("dropped", "pip==23.3.1") in actions
    assert ("flagged", "certifi") in actions
    assert "file://" not in result.requirements_text
    assert all(p.hashes for p in result.lock.packages)


def test_run_list_with_own_editable_and_foreign_editable(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "pyproject.toml", '[project]\nname = "trainer"\nversion = "0.1"\n')
    write(src, "requirements.frozen.txt", f"-e {src}\ntrainer==0.1\n-e /home/alice/helpers\npywin32==306\nsix==1.16.0\n")
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, fetch_package_facts=False))
    assert result.input_kind == "frozen" and pins(result) == {"six": "1.16.0"}
    assert [f.rule for f in result.findings] == ["LB305"] and result.findings[0].location.line == 3


def test_other_python_versions_follow_real_requires_python(tmp_path, cache_dir):
    # urllib3's newest releases need Python >= 3.10; a 3.9 target must get an older pin.
    src = tmp_path / "src"
    write(src, "requirements.txt", "urllib3\n")
    locks = {}
    for py in ("3.9", "3.13"):
        result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, python=Sourced(py, Origin.FLAG, "--python")))
        assert result.lock.target.python == py
        facts = {f.name: f for f in result.packages}["urllib3"]
        assert SpecifierSet(facts.requires_python).contains(f"{py}.0")
        locks[py] = facts
    assert locks["3.9"].version != locks["3.13"].version
    assert not SpecifierSet(locks["3.13"].requires_python).contains("3.9.0")


def test_arm64_target_evaluates_markers_for_aarch64(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "requirements.txt", "six==1.16.0 ; platform_machine == 'aarch64'\n"
          "idna==3.7 ; platform_machine == 'x86_64'\npyyaml==6.0.1\n")
    arm = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, platform="linux/arm64", glibc="2.36"))
    amd = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, platform="linux/amd64"))
    assert set(pins(arm)) == {"six", "pyyaml"} and set(pins(amd)) == {"idna", "pyyaml"}
    assert "aarch64" not in amd.lock.text and "linux/arm64, manylinux_2_36" in arm.lock.text
    assert {f.name: f.has_target_wheel for f in arm.packages}["pyyaml"] is True


@pytest.mark.parametrize(
    "lines, culprits",
    [
        ("requests==2.31.0\nurllib3<1.20\n", ["requests==2.31.0 (requirements.txt:1)", "urllib3<1.20 (requirements.txt:2)"]),
        ("idna==3.7\nsix==99.0.0\n", ["six==99.0.0 (requirements.txt:2)"]),
        ("launchbuild-no-such-package-zz9==1.0\n", ["launchbuild-no-such-package-zz9==1.0 (requirements.txt:1)"]),
    ],
)
def test_unresolvable_is_lb301_in_terms_of_the_users_lines(tmp_path, cache_dir, lines, culprits):
    src = tmp_path / "src"
    write(src, "requirements.txt", lines)
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir))
    assert result.lock is None
    (finding,) = result.findings
    assert finding.rule == "LB301" and finding.severity.value == "error"
    for culprit in culprits:
        assert culprit in finding.message
    assert "No set of versions satisfies your requirements for Python 3.11" in finding.message
    assert finding.location.path == "requirements.txt"


def test_unresolvable_for_old_python_only(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "requirements.txt", "urllib3==2.8.0\n")  # requires-python >= 3.10
    result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, python=Sourced("3.9", Origin.FLAG)))
    assert result.lock is None and "Python" in result.findings[0].message and "urllib3" in result.findings[0].message


def test_cuda_local_version_is_routed_to_a_local_index(tmp_path, cache_dir):
    index_root = tmp_path / "index"
    wheel = build_wheel(index_root / "whl" / "cu121" / "torch", "torch", "2.4.0+cu121")
    src = tmp_path / "src"
    write(src, "requirements.frozen.txt", "torch==2.4.0+cu121\nsix==1.16.0\n")
    with serve_directory(index_root) as base:
        result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, torch_index_url=f"{base}/whl"))
    assert pins(result) == {"torch": "2.4.0+cu121", "six": "1.16.0"}
    assert result.lock.cuda_variants == (("torch", "cu121"),)
    assert f"--extra-index-url {base}/whl/cu121" in result.lock.text
    assert f"{base}/whl/cu121" in result.lock.index_urls
    import hashlib
    torch = {p.name: p for p in result.lock.packages}["torch"]
    assert torch.hashes == (f"sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}",)
    assert {f.name: f.has_target_wheel for f in result.packages}["torch"] is None  # not PyPI's to say
    assert any(a.action == "rerouted" for a in result.cleaning)


@pytest.mark.parametrize("selector, build", [("pytorch-cuda=12.1", "cu121"), ("cudatoolkit=11.8", "cu118"),
                                             ("cpuonly", "cpu")])
def test_an_environments_pytorch_selector_routes_the_torch_family_to_its_build(tmp_path, cache_dir, selector, build):
    index_root = tmp_path / "index"
    build_wheel(index_root / "whl" / build / "torch", "torch", f"2.4.0+{build}")
    src = tmp_path / "src"
    write(src, "environment.yml", "name: train\nchannels: [pytorch, nvidia, conda-forge]\n"
          f"dependencies:\n  - python=3.11\n  - pytorch=2.4.0\n  - {selector}\n  - six=1.16.0\n")
    with serve_directory(index_root) as base:
        result = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, torch_index_url=f"{base}/whl"))
    assert pins(result) == {"torch": f"2.4.0+{build}", "six": "1.16.0"}
    assert result.lock.cuda_variants == (("torch", build),)
    assert f"{base}/whl/{build}" in result.lock.index_urls
    routed = [a for a in result.cleaning if a.action == "rerouted"]
    assert routed and build in routed[0].reason
    # The selector is used, not reported as a conda package the image lacks.
    assert not [a for a in result.cleaning if a.action == "flagged" and selector.split("=")[0] in a.line]


def test_cache_hit_offline_and_offline_miss(tmp_path, cache_dir, monkeypatch):
    import socket

    from launchbuild.resolver import backends

    src = tmp_path / "src"
    write(src, "requirements.txt", "six==1.16.0\nidna==3.7\n")
    first = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir))
    assert not first.cache_hit
    # A hit is fast because it does no work, and that is what is checked (not a wall clock,
    # which a loaded CI machine stretches): no resolver process, no connection.
    with monkeypatch.context() as m:
        def no_work(*args, **kwargs):
            raise AssertionError(f"a cache hit did work: {args[:1]}")

        m.setattr(backends, "_run", no_work)
        m.setattr(socket.socket, "connect", no_work)
        second = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir))
    assert second.cache_hit and second.lock == first.lock
    offline = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, offline=True))
    assert offline.cache_hit and offline.lock.text == first.lock.text and offline.packages == first.packages
    # Any change to the inputs is a different key.
    other = resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir, platform="linux/arm64",
                                                      fetch_package_facts=False))
    assert not other.cache_hit and other.lock.input_hash != first.lock.input_hash
    with pytest.raises(InfraUnavailable, match="no cached lock"):
        resolve(src, job_for(src), ResolveOptions(cache_dir=tmp_path / "empty", offline=True))
    entries = list((cache_dir / "locks").glob("*.json"))
    assert len(entries) == 2 and json.loads(entries[0].read_text())["text"].startswith("# Locked")


def test_unreachable_index_is_infra_unavailable(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "requirements.txt", "--index-url http://127.0.0.1:9/simple\nsix\n")
    with pytest.raises(InfraUnavailable, match="could not reach"):
        resolve(src, job_for(src), ResolveOptions(cache_dir=cache_dir))


def test_run_metadata_supplies_the_python(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "requirements.txt", "six==1.16.0\n")
    meta = write(tmp_path, "wandb-metadata.json", json.dumps({"python": "3.10.12", "cuda": "12.1", "gpu_count": 1}))
    result = resolve(src, job_for(src, run_metadata=meta), ResolveOptions(cache_dir=cache_dir, fetch_package_facts=False))
    assert result.lock.target.python == "3.10"


@pytest.mark.skipif(find_interpreter("3.11") is None, reason="needs a local Python 3.11 with pip-tools")
def test_pip_tools_backend_gives_the_same_pins_and_format(tmp_path, cache_dir):
    src = tmp_path / "src"
    write(src, "requirements.txt", "requests==2.31.0\nsix\n")
    opts = dict(cache_dir=cache_dir, python=Sourced("3.11", Origin.FLAG), fetch_package_facts=False)
    uv = resolve(src, job_for(src), ResolveOptions(backend="uv", **opts))
    pt = resolve(src, job_for(src), ResolveOptions(backend="pip-tools", **opts))
    assert pt.lock.backend == "pip-tools" and pins(pt) == pins(uv)
    assert {p.name: p.via for p in pt.lock.packages} == {p.name: p.via for p in uv.lock.packages}
    assert all(p.hashes for p in pt.lock.packages)
    bad = write(tmp_path, "bad/requirements.txt", "idna==3.7\nsix==99.0.0\n")
    result = resolve(bad.parent, job_for(bad.parent), ResolveOptions(backend="pip-tools", **opts))
    assert result.lock is None and "six==99.0.0 (requirements.txt:2)" in result.findings[0].message
