"""Re-locks keep the job's other pins (issue 17): the previous lock is the lockers' preferences.

Real PyPI. The first lock pins idna to an old release on purpose; the job then drops that pin
and adds one package. Without preferences the lockers would take the newest idna; with the
previous lock as preferences every other pin stays as it was."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

pytestmark = pytest.mark.network

PIN = re.compile(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", re.MULTILINE)


def lock(job, cache, backend="uv") -> dict[str, str]:
    result = CliRunner().invoke(app, ["resolve", str(job), "--python", "3.11", "--resolver", backend],
                                env={"LAUNCHBUILD_CACHE_DIR": str(cache), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return dict(PIN.findall(result.stdout))


def test_adding_one_package_keeps_the_other_pins(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    (job / "requirements.txt").write_text("requests\nidna==3.6\n")
    before = lock(job, tmp_path / "cache")
    assert before["idna"] == "3.6"
    (job / "requirements.txt").write_text("requests\ntqdm\n")
    after = lock(job, tmp_path / "cache")
    assert set(after) == set(before) | {"tqdm"}
    assert {k: v for k, v in after.items() if k != "tqdm"} == before  # idna 3.6 kept, nothing else moved
    # Another job (its own source, an input not locked before) has no such preferences: the
    # newest idna. (The same input would be a lock-cache hit, shared by every job.)
    other = tmp_path / "other"
    other.mkdir()
    (other / "requirements.txt").write_text("requests\ntqdm\nsix\n")
    assert lock(other, tmp_path / "cache")["idna"] != "3.6"


def test_pip_compile_keeps_the_other_pins_too(tmp_path):
    pytest.importorskip("piptools")
    job = tmp_path / "job"
    job.mkdir()
    (job / "requirements.txt").write_text("requests\nidna==3.6\n")
    before = lock(job, tmp_path / "cache", "pip-tools")
    (job / "requirements.txt").write_text("requests\ntqdm\n")
    after = lock(job, tmp_path / "cache", "pip-tools")
    assert {k: v for k, v in after.items() if k not in ("tqdm", "colorama")} == before
