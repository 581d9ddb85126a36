"""Judging a verification probe (pure), and the probe's entrypoint logic run on this host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from launchbuild.builder import verify_probe
from launchbuild.builder.verify import judge, locked_pins
from launchbuild.jobs.model import SourceKind
from tests.helpers_builder import seed_plan

LOCK = """\
# header
--index-url http://127.0.0.1:8000/simple
idna==3.7 \\
    --hash=sha256:aaa
six==1.16.0 \\
    --hash=sha256:bbb
Typing_Extensions==4.12.2 ; python_version < "3.9" \\
    --hash=sha256:ccc
torch==2.4.0+cu121
zope.interface===6.0
"""


def test_locked_pins():
    assert locked_pins(LOCK) == (
        ("idna", "3.7", None), ("six", "1.16.0", None),
        ("typing-extensions", "4.12.2", 'python_version < "3.9"'), ("torch", "2.4.0+cu121", None),
        ("zope-interface", "6.0", None),
    )


def _probe(**changes):
    probe = {
        "python": "3.11.2", "executable": "/opt/venv/bin/python", "uid": 1000,
        "entrypoint": {"ok": True, "detail": "/app/train.py exists"},
        "dists": [["idna", "3.7"], ["six", "1.16.0"], ["torch", "2.4.0+cu121"], ["zope.interface", "6.0"]],
        "pip_check": {"ran": True, "rc": 0, "output": "No broken requirements found."},
        "marker_env": {"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux",
                       "platform_machine": "x86_64", "implementation_name": "cpython", "os_name": "posix",
                       "platform_system": "Linux", "platform_release": "6", "platform_python_implementation": "CPython"},
    }
    probe.update(changes)
    return probe


PLAN = seed_plan(SourceKind.CODE, False, lock_text=LOCK)


def _by_check(results):
    return {r.check: r for r in results}


def test_all_pass():
    results = _by_check(judge(PLAN, _probe()))
    assert list(results) == ["python version", "pip check", "locked versions", "entrypoint", "non-root user"]
    assert all(r.passed for r in results.values()), results
    assert "4 locked distributions" in results["locked versions"].detail  # the py<3.9 marker pin is skipped


@pytest.mark.parametrize("changes,check,needle", [
    (dict(python="3.10.12"), "python version", "3.10.12"),
    (dict(uid=0), "non-root user", "uid 0"),
    (dict(entrypoint={"ok": False, "detail": "train.py not found (workdir /app)"}), "entrypoint", "not found"),
    (dict(pip_check={"ran": True, "rc": 1, "output": "six 1.16.0 requires foo, which is not installed."}), "pip check", "requires foo"),
    (dict(pip_check={"ran": False, "output": "neither uv nor pip available to check"}), "pip check", "neither"),
    (dict(dists=[["idna", "3.7"], ["torch", "2.4.0+cu121"], ["zope.interface", "6.0"]]), "locked versions", "six==1.16.0 missing"),
    (dict(dists=[["idna", "3.6"], ["six", "1.16.0"], ["torch", "2.4.0"], ["zope.interface", "6.0"]]), "locked versions", "idna is 3.6"),
])
def test_each_failure_is_reported(changes, check, needle):
    results = _by_check(judge(PLAN, _probe(**changes)))
    assert not results[check].passed
    assert needle in results[check].detail
    assert sum(not r.passed for r in results.values()) == 1


def test_empty_environment_is_not_success():
    # The peer's failure: an install that installed nothing must not verify.
    results = _by_check(judge(PLAN, _probe(dists=[])))
    assert not results["locked versions"].passed


def test_version_normalisation():
    plan = seed_plan(SourceKind.CODE, False, lock_text="pyyaml==6.0.0\n")
    assert _by_check(judge(plan, _probe(dists=[["PyYAML", "6.0"]])))["locked versions"].passed


@pytest.mark.parametrize("argv,files,ok", [
    (["python", "train.py"], ["train.py"], True),
    (["python", "-u", "train.py", "--lr", "1"], ["train.py"], True),
    (["python", "-W", "ignore", "train.py"], ["train.py"], True),
    (["python", "missing.py"], [], False),
    (["python", "-m", "json.tool"], [], True),
    (["python", "-m", "no_such_module_xyz"], [], False),
    (["python", "-c", "print(1)"], [], True),
    (["python"], [], False),
    (["sh", "run.sh"], ["run.sh"], True),
    (["sh", "run.sh"], [], False),
    (["no-such-launcher-xyz", "train.py"], ["train.py"], False),
    (["./run.sh"], [], False),
    ([], [], False),
    # env in front, by name or by path, runs the command after it: that command is judged.
    (["/usr/bin/env", "python", "missing.py"], [], False),
    (["/usr/bin/env", "python", "train.py"], ["train.py"], True),
    (["env", "OMP_NUM_THREADS=1", "-u", "X", "python", "-m", "no_such_module_xyz"], [], False),
    (["env", "--", "sh", "run.sh"], ["run.sh"], True),
    (["env", "A=1"], [], False),
    # A launcher named by its path needs its script as one named by PATH does.
    (["/bin/sh", "run.sh"], [], False),
    (["/bin/sh", "run.sh"], ["run.sh"], True),
    # A shell's -c string that is one plain command is that command, not a file named by it.
    (["sh", "-c", "python train.py"], ["train.py"], True),
    (["sh", "-c", "exec python missing.py --lr 1"], [], False),
    (["/bin/bash", "-lc", "OMP_NUM_THREADS=1 python -m no_such_module_xyz"], [], False),
    (["bash", "-o", "pipefail", "-c", "python train.py"], ["train.py"], True),
    (["sh", "-c", "cd sub && python train.py"], [], True),  # shell code: not read as a file name
])
def test_probe_entrypoint_check(tmp_path, monkeypatch, argv, files, ok):
    for f in files:
        (tmp_path / f).write_text("")
    monkeypatch.chdir(tmp_path)
    assert verify_probe.check_entrypoint(argv)[0] is ok


@pytest.mark.parametrize(("target", "ok"), [
    ("app", True), ("app/", True), ("app.zip", True), ("pyz", True),
    ("empty", False), ("nomain.zip", False), ("gone", False)])
def test_probe_python_runs_a_folder_or_zip_with_a_main(tmp_path, monkeypatch, target, ok):
    import zipfile

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__main__.py").write_text("")
    (tmp_path / "empty").mkdir()
    for name, member in (("app.zip", "__main__.py"), ("pyz", "__main__.py"), ("nomain.zip", "lib.py")):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr(member, "")
    monkeypatch.chdir(tmp_path)
    assert verify_probe.check_entrypoint(["python", target])[0] is ok
    assert verify_probe.check_entrypoint(["/usr/bin/env", "A=1", "python", "-u", target])[0] is ok


def test_probe_runs_and_prints_json(tmp_path):
    (tmp_path / "train.py").write_text("")
    out = subprocess.run([sys.executable, str(Path(verify_probe.__file__)), json.dumps(["python", "train.py"])],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    probe = json.loads(out)
    assert probe["entrypoint"]["ok"] and probe["python"].startswith(f"{sys.version_info[0]}.")
    assert any(n.lower() == "packaging" for n, _ in probe["dists"])
