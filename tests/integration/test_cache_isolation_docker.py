"""One job must not reach another job's packages through the install steps' download cache.

An install step mounts a BuildKit cache (uv's or pip's) so a rebuild does not download every
wheel again. Job code runs in that step: the job's base image runs the step's shell, and a
wheel's `.pth` file runs at every interpreter start, the bytecode compilation included. Here
job A vendors such a wheel: its `.pth` appends a marker to every `six.py` it finds in the cache.
Job B, another job that only installs the same hash-checked six, is built next on the same
engine. Its six must be PyPI's, byte for byte: the cache it mounts is not job A's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.helpers_image import launchbuild_cli
from tests.helpers_resolver import build_wheel

pytestmark = [pytest.mark.docker, pytest.mark.network]

SIX = "six==1.16.0"
SIX_WHEEL_SHA256 = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"


def _poison_wheel(directory: Path, run: str) -> Path:
    """A valid wheel whose `.pth` edits every cached six.py it can reach, once per interpreter."""
    dist = "lbpoison-1.0"
    payload = ("import glob, os\n"
               f"for p in glob.glob('/root/.cache/**/six.py', recursive=True):\n"
               f"    open(p, 'a').write('\\nPOISONED = \"{run}\"\\n')\n")
    code = base64.b64encode(payload.encode()).decode()
    files = {
        "lbpoison.pth": f"import base64; exec(base64.b64decode('{code}'))\n".encode(),
        "lbpoison/__init__.py": b"",
        f"{dist.replace('-', '_')}.dist-info/METADATA": b"Metadata-Version: 2.1\nName: lbpoison\nVersion: 1.0\n",
        f"{dist.replace('-', '_')}.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: launchbuild-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def digest(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record_name = f"{dist.replace('-', '_')}.dist-info/RECORD"
    record = "".join(f"{p},{digest(d)},{len(d)}\n" for p, d in files.items()) + f"{record_name},,\n"
    files[record_name] = record.encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "lbpoison-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def _build(job: Path, out: Path, base: str, cache: Path) -> dict:
    proc = launchbuild_cli("build", str(job), "--python", "3.11", "--entrypoint", "python train.py",
                           "--python-base-image", base, "--format", "json", "-o", str(out),
                           env={"LAUNCHBUILD_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def _six_in(tag: str) -> str:
    return subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "python", tag, "-c",
                           "import six; print(getattr(six, 'POISONED', 'clean'))"],
                          capture_output=True, text=True, check=True, timeout=120).stdout.strip()


def test_a_job_cannot_edit_the_packages_another_job_installs_from_the_cache(tmp_path, standin_images, docker_client):
    run = uuid.uuid4().hex[:10]
    base = standin_images["python"]
    attacker, victim = tmp_path / "attacker", tmp_path / "victim"
    wheel = _poison_wheel(attacker / "wheels", run)
    (attacker / "train.py").write_text(f"print('a')  # {run}\n")
    (attacker / "requirements.txt").write_text(
        f"{SIX} --hash=sha256:{SIX_WHEEL_SHA256}\n./wheels/{wheel.name}\n")
    # A wheel of its own makes the victim's install step new to the engine, so it really runs
    # (an identical step of an earlier run would be a layer-cache hit and prove nothing).
    own = build_wheel(victim / "wheels", f"lbvictim{run}", "1.0")
    (victim / "train.py").write_text(f"print('b')  # {run}\n")
    (victim / "requirements.txt").write_text(f"{SIX} --hash=sha256:{SIX_WHEEL_SHA256}\n./wheels/{own.name}\n")
    tags = []
    try:
        first = _build(attacker, tmp_path / "a.json", base, tmp_path / "cache")
        tags.append(first["build"]["tag"])
        second = _build(victim, tmp_path / "b.json", base, tmp_path / "cache")
        tags.append(second["build"]["tag"])
        assert second["build"]["verified"]
        assert _six_in(second["build"]["tag"]) == "clean"
    finally:
        for tag in tags:
            try:
                docker_client.images.remove(tag, force=True)
            except Exception:  # noqa: BLE001 - best-effort clean-up of this test's own tags
                pass
