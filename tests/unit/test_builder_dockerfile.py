"""Golden Dockerfiles for each seed-table row, and the rules every rendering must keep."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from launchbuild.builder.dockerfile import render
from launchbuild.builder.plan import CaMode, Frontend
from launchbuild.jobs.model import SourceKind
from tests.helpers_builder import GOLDEN_CASES, GOLDEN_DIR, IMAGE_PLAN, seed_plan

UPDATE = os.environ.get("LAUNCHBUILD_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name):
    text = render(GOLDEN_CASES[name])
    path = GOLDEN_DIR / f"{name}.Dockerfile"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs; rerun with LAUNCHBUILD_UPDATE_GOLDEN=1 and review the diff"


def test_image_row_renders_nothing():
    assert render(IMAGE_PLAN) is None


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_deterministic(name):
    assert render(GOLDEN_CASES[name]) == render(GOLDEN_CASES[name])


def _instructions(text):
    """Top-level instructions in order (continuations joined)."""
    joined = re.sub(r"\\\n", " ", text)
    return [l.split(None, 1)[0] for l in joined.splitlines() if l and not l.startswith("#")]


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_layer_order_lock_before_code(name):
    text = render(GOLDEN_CASES[name])
    final = text[text.rfind("\nFROM "):]  # the image's own stage
    lock_copy = final.find("requirements.lock /opt/launchbuild")
    code_copy = final.find("COPY --chown=1000:1000 code/")
    assert 0 < lock_copy < code_copy
    # nothing but metadata after the code COPY
    assert _instructions(final[code_copy:]) == ["COPY", "LABEL", "ENTRYPOINT"]


@pytest.mark.parametrize("accelerator,expect_apt", [(False, False), (True, True)])
def test_apt_installs_python_only_for_accelerator_images(accelerator, expect_apt):
    text = render(seed_plan(SourceKind.CODE, accelerator))
    assert ("apt-get" in text) is expect_apt
    if expect_apt:
        assert "install -y --no-install-recommends python3.11 python3.11-venv" in text
        assert "rm -rf /var/lib/apt/lists/*" in text


def test_apt_packages_from_fixes_on_python_base():
    text = render(seed_plan(SourceKind.CODE, False, apt_packages=("libgl1", "libglib2.0-0")))
    assert "--no-install-recommends libgl1 libglib2.0-0;" in text
    assert "python3.11-venv" not in text


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_single_base_image_everywhere(name):
    plan = GOLDEN_CASES[name]
    froms = [l.split()[1] for l in render(plan).splitlines() if l.startswith("FROM ")]
    assert set(froms) == {plan.base_image}


def test_uv_cache_mount_points_at_uvs_cache_dir():
    text = render(GOLDEN_CASES["git"])
    assert "--mount=type=cache,target=/root/.cache/uv" in text
    assert "UV_CACHE_DIR=/root/.cache/uv" in text
    assert "/root/.cache/pip" not in text


def test_pip_cache_mount_points_at_pips_cache_dir():
    text = render(GOLDEN_CASES["code-buildkit-pip"])
    assert "--mount=type=cache,target=/root/.cache/pip" in text and "PIP_CACHE_DIR=/root/.cache/pip" in text


def test_install_is_hash_checked_everywhere():
    for name, plan in GOLDEN_CASES.items():
        installs = [l for l in render(plan).splitlines() if " install " in l and "requirements.lock" in l]
        assert installs, name
        assert all("--require-hashes" in l for l in installs), name


def test_ca_only_as_secret_and_never_copied_with_buildkit():
    text = render(GOLDEN_CASES["code-accelerator-ca-secret"])
    assert "--mount=type=secret,id=ca" in text
    assert "ARG" not in _instructions(text)
    assert "ca.pem" not in text
    # exported per RUN, never as ENV
    env_block = text.split("RUN", 1)[0]
    assert "SSL_CERT_FILE" not in env_block


def test_classic_ca_stays_in_throwaway_stage():
    text = render(GOLDEN_CASES["code-classic-ca-stage"])
    install_stage, final_stage = text.split("\nFROM launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04\n", 1)
    assert "ca.pem" in install_stage
    assert "ca.pem" not in final_stage and "PIP_CERT" not in final_stage
    assert "COPY --from=install /opt/venv /opt/venv" in final_stage


def test_entrypoint_is_exec_form_json():
    line = [l for l in render(GOLDEN_CASES["git"]).splitlines() if l.startswith("ENTRYPOINT ")][0]
    assert json.loads(line[len("ENTRYPOINT "):]) == ["python", "train.py", "--epochs", "1"]


def test_user_setup_never_swallows_failures():
    # The one `|| true` is the bytecode step's own, after `&&` (test_the_bytecode_step_never_hides...).
    text = re.sub(r"&& \\\n    \{ /opt/venv/bin/python (?:-m compileall|/opt/launchbuild/layer_bytecode\.py) [^\n]*\|\| true; \}",
                  "", render(GOLDEN_CASES["git"]))
    assert "|| echo" not in text and "|| true" not in text
    assert "set -eu" in text
    assert "chown -R" not in text
    assert "USER 1000:1000" in text


def test_configurable_uid():
    text = render(seed_plan(SourceKind.CODE, False, uid=4242, gid=4343))
    assert "useradd --uid 4242 --gid 4343" in text and "COPY --chown=4242:4343 code/" in text


def test_labels_cover_source_commit_lock_version():
    plan = GOLDEN_CASES["git"]
    text = render(plan)
    for needle in (
        f'io.launchbuild.lock-sha256="{plan.lock_sha256}"',
        'org.opencontainers.image.revision="0123456789abcdef0123456789abcdef01234567"',
        'org.opencontainers.image.source="https://git.example/team/proj.git"',
        'io.launchbuild.version="0.0.0-golden"',
    ):
        assert needle in text


def test_label_values_are_quoted_against_expansion():
    text = render(seed_plan(SourceKind.CODE, False, source_label='a "b" $HOME\nnext'))
    assert 'org.opencontainers.image.source="a \\"b\\" \\$HOME next"' in text


def test_empty_lock_installs_nothing_and_says_so():
    text = render(seed_plan(SourceKind.CODE, False, lock_text="# nothing\n"))
    assert "nothing to install" in text and "uv pip install" not in text


def test_index_urls_and_find_links_never_reach_a_shell_line():
    # The job's index options are data: the installer reads them from the lock file's own
    # --index-url / --find-links lines (tests/integration/test_hostile_build.py builds it).
    urls = ("http://127.0.0.1:8000/simple;id", "http://127.0.0.1:8001/simple?a=1&b=$(id)")
    text = render(seed_plan(SourceKind.CODE, False, index_urls=urls, find_links=("http://127.0.0.1:8002/wheels/",)))
    assert "127.0.0.1:80" not in text
    assert "-r /opt/launchbuild/requirements.lock" in text


def test_index_credentials_are_a_secret_mount_only():
    text = render(seed_plan(SourceKind.CODE, False, index_credentials=True))
    assert "--mount=type=secret,id=netrc" in text and "NETRC=/run/secrets/netrc" in text


def test_uv_is_only_mounted_never_copied():
    text = render(GOLDEN_CASES["git"])
    assert "--mount=type=bind,source=.launchbuild/uv,target=/usr/local/bin/uv" in text
    assert not any(l.startswith("COPY") and "uv" in l.split()[1] for l in text.splitlines() if l.startswith("COPY"))


# --- host-independent tags (issue 16): the CA bundle is never part of the Dockerfile ----------


@pytest.mark.parametrize("frontend", [Frontend.BUILDKIT, Frontend.CLASSIC])
@pytest.mark.parametrize("accelerator", [False, True])
def test_dockerfile_and_tag_do_not_depend_on_the_hosts_ca(tmp_path, frontend, accelerator):
    from launchbuild.builder.api import prepare_plan
    from launchbuild.builder.tags import content_tag
    from launchbuild.jobs.model import SourceKind
    from tests.helpers_builder import seed_plan

    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    plan = seed_plan(SourceKind.CODE, accelerator)
    uv = tmp_path / "uv"
    behind_proxy = prepare_plan(plan, frontend=frontend, ca_bundle=bundle, uv_binary=uv)
    without = prepare_plan(plan, frontend=frontend, ca_bundle=None, uv_binary=uv)
    assert behind_proxy.ca_mode != without.ca_mode  # the engine is handed the secret only with a bundle
    text = render(behind_proxy)
    assert text == render(without)
    tags = {content_tag(dockerfile=render(p), lock_text=p.lock_text, code_hash="c" * 64, base_digest="sha256:" + "1" * 64,
                        options={"platform": p.platform}) for p in (behind_proxy, without)}
    assert len(tags) == 1
    assert "corp-ca" not in text and "BEGIN CERTIFICATE" not in text
    if frontend is Frontend.BUILDKIT:
        # Every install step that may reach an https index or mirror mounts the optional secret.
        assert text.count("--mount=type=secret,id=ca,required=false") == (2 if accelerator else 1)


def _own_project_plan(**kw):
    from launchbuild.builder.plan import BuildPlan
    from launchbuild.jobs.model import SourceKind

    lock = "six==1.16.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    return BuildPlan(SourceKind.CODE, "python:3.11-slim", "3.11", lock_text=lock, entrypoint=("python", "t.py"),
                     install_projects=(".",), wheel_files=("/host/cache/a-1.0-py3-none-any.whl",), **kw)


def test_own_project_and_host_wheels_in_every_builder_mode():
    from launchbuild.builder.dockerfile import render
    from launchbuild.builder.plan import Frontend

    buildkit = render(_own_project_plan(ca_mode=CaMode.SECRET))
    assert "--mount=type=bind,source=.launchbuild/wheels,target=/opt/launchbuild/wheels" in buildkit
    assert "COPY .launchbuild/wheels" not in buildkit and "/host/cache" not in buildkit
    project = [ln for ln in buildkit.splitlines() if "--no-deps" in ln]
    assert project and "/opt/launchbuild/wheels" not in project[0]
    assert buildkit.index("COPY --chown=1000:1000 code/") < buildkit.index("--no-deps") < buildkit.index("ENTRYPOINT")
    classic = render(_own_project_plan(frontend=Frontend.CLASSIC, installer="pip", ca_mode=CaMode.THROWAWAY_STAGE))
    install_stage, final_stage = classic.split("\nFROM python:3.11-slim\n")
    assert "COPY .launchbuild/wheels/ /opt/launchbuild/wheels/" in install_stage
    assert "then export PIP_CERT=/tmp/launchbuild-ca.pem; fi; /opt/venv/bin/python -m pip install --no-deps" in install_stage
    assert "--no-deps" not in final_stage and "launchbuild-ca" not in final_stage


def test_classic_own_project_dockerfile_and_tag_do_not_depend_on_the_hosts_ca_bundle(tmp_path):
    """The classic builder installs the job's own project in its throwaway stage whether or not
    the host has a CA bundle: a host behind a TLS proxy and one without must agree on the tag."""
    from launchbuild.builder.api import fit_and_tag
    from launchbuild.builder.plan import Frontend

    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    plan = _own_project_plan()
    without = fit_and_tag(plan, frontend=Frontend.CLASSIC, ca_bundle=None, uv_binary=None, code_hash="c", base_digest="d")
    with_ca = fit_and_tag(plan, frontend=Frontend.CLASSIC, ca_bundle=bundle, uv_binary=None, code_hash="c", base_digest="d")
    assert without[1] == with_ca[1] and without[2] == with_ca[2]
    install_stage, final_stage = without[1].split("\nFROM python:3.11-slim\n")
    assert "pip install --no-deps" in install_stage and "--no-deps" not in final_stage


def _shell_of_install_run(text: str) -> str:
    """The shell command of the rendered install RUN (its mounts dropped), continuation lines joined."""
    joined = text.replace("\\\n", " ")
    line = next(ln for ln in joined.splitlines() if ln.startswith("RUN ") and "pip install" in ln)
    return re.sub(r"--mount=\S+", "", line[len("RUN "):])


@pytest.mark.parametrize("installer", ["uv", "pip"])
@pytest.mark.parametrize(("install_rc", "compile_rc", "expected"), [(0, 0, 0), (0, 1, 0), (1, 0, 1), (1, 1, 1)])
def test_the_bytecode_step_never_hides_a_failed_install(tmp_path, installer, install_rc, compile_rc, expected):
    """The install step's own shell, with the installer and the venv's Python stubbed: a failed
    install fails the step; a source that does not compile does not."""
    from launchbuild.builder.plan import VENV

    plan = seed_plan(SourceKind.CODE, False, installer=installer)
    # The scoped cache's step restores or compiles with the helper (builder/layer_bytecode.py).
    shell = _shell_of_install_run(render(plan)).replace(f"{VENV}/bin/python /opt/launchbuild/layer_bytecode.py",
                                                        "stub_compile")
    shell = shell.replace(f"{VENV}/bin/python -m pip", "stub_install").replace("uv pip", "stub_install")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, rc in (("stub_install", install_rc), ("stub_compile", compile_rc)):
        (bin_dir / name).write_text(f"#!/bin/sh\nexit {rc}\n")
        (bin_dir / name).chmod(0o755)
    proc = subprocess.run(["/bin/sh", "-c", shell], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True)
    assert proc.returncode == expected, (shell, proc.stderr)
    assert "stub_compile --cache /root/.cache/launchbuild-pyc --all /opt/venv/lib" in shell


def _lock_whose_label_is(low: int, high: int) -> str:
    """A lock whose encoded `io.launchbuild.lock` label is between low and high characters."""
    import random

    from launchbuild.core.labels import encode_lock

    rng = random.Random(17)
    text = "".join(f"pkg{i}=={rng.getrandbits(64):x}\n" for i in range(6000))
    lo, hi = 0, len(text)
    while lo < hi:  # the shortest prefix of whole lines whose label is at least `low` long
        mid = (lo + hi) // 2
        value = encode_lock(text[:mid])
        lo, hi = (mid + 1, hi) if value is not None and len(value) < low else (lo, mid)
    lock = text[:text.rfind("\n", 0, lo + 40) + 1]
    assert low <= len(encode_lock(lock) or "") <= high, len(encode_lock(lock) or "")
    return lock


def test_every_line_fits_the_engines_dockerfile_parser():
    # A lock label that fits its own 64 KiB bound but not one Dockerfile line with its key
    # (the engine refuses lines over 65535 bytes) is left out like a bigger lock; the lock is
    # still in the image at its path.
    from launchbuild.builder.dockerfile import MAX_LINE_BYTES
    from launchbuild.builder.labels import image_labels
    from launchbuild.core.labels import LOCK_LABEL

    lock = _lock_whose_label_is(MAX_LINE_BYTES - 25, 64 * 1024)
    plan = seed_plan(SourceKind.CODE, False, extra_labels=image_labels(
        lock_text=lock, lock_path="/opt/launchbuild/requirements.lock", facts=None, python="3.11",
        platform="linux/amd64", rules="0.0.0-golden"))
    assert LOCK_LABEL in dict(plan.labels())
    text = render(plan)
    assert max(len(line.encode()) for line in text.splitlines()) <= MAX_LINE_BYTES
    assert f"{LOCK_LABEL}=" not in text and "io.launchbuild.lock-path=" in text


def test_an_entrypoint_longer_than_a_dockerfile_line_is_bad_input():
    from launchbuild.errors import BadInput

    with pytest.raises(BadInput, match="entrypoint is .* bytes as one Dockerfile line"):
        render(seed_plan(SourceKind.CODE, False, entrypoint=("python", "train.py", "é" * 33000)))
    assert render(seed_plan(SourceKind.CODE, False, entrypoint=("python", "train.py", "x" * 60000)))
