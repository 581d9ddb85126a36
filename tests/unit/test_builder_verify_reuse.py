"""Reusing a verification after a code-only change: the pure parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.builder.plan import BuildPlan
from launchbuild.builder.verify import (
    ENVIRONMENT_CHECKS,
    VerificationCache,
    environment_key,
    reused_verification,
    script_in_code,
)
from launchbuild.jobs.model import SourceKind
from launchbuild.builder.model import VerificationResult

PLAN = BuildPlan(source_kind=SourceKind.CODE, base_image="python:3.11-slim", python="3.11",
                 lock_text="six==1.16.0 --hash=sha256:aa\n", entrypoint=("python", "train.py"))


def attrs(*layers: str, user: str = "1000:1000") -> dict:
    return {"RootFS": {"Layers": list(layers)}, "Config": {"User": user}}


def test_key_ignores_only_the_top_layer():
    key = environment_key(attrs("base", "venv", "code-1"), PLAN)
    assert key == environment_key(attrs("base", "venv", "code-2"), PLAN)
    assert key != environment_key(attrs("base", "venv-2", "code-1"), PLAN)
    assert key != environment_key(attrs("base", "venv", "code-1", user="0"), PLAN)
    assert key != environment_key(attrs("base", "venv", "code-1"),
                                  BuildPlan(**{**PLAN.__dict__, "lock_text": "six==1.17.0\n"}))


def test_an_image_of_one_layer_cannot_be_keyed():
    assert environment_key(attrs("only"), PLAN) is None
    assert environment_key({}, PLAN) is None


FILES = frozenset({"train.py", "src/run.py", "scripts/go.sh", "app.zip", "app/__main__.py"})


@pytest.mark.parametrize(
    ("entrypoint", "script"),
    [
        (("python", "train.py"), "train.py"),
        (("python3.11", "-u", "./train.py", "--epochs", "3"), "train.py"),
        (("/opt/venv/bin/python", "-X", "dev", "src/run.py"), "src/run.py"),
        (("python", "missing.py"), None),  # not copied: the probe must say so
        (("python", "-m", "pkg"), None),  # a module: only the image can tell
        (("python", "-c", "print(1)"), None),
        (("python", "/abs/train.py"), None),
        (("python", "../train.py"), None),
        (("bash", "scripts/go.sh"), None),
        (("python",), None),
        (("python", "app.zip"), None),  # a zip archive: its __main__ is read in the image
        (("python", "app"), None),  # a folder: its __main__ is read in the image
        ((), None),
    ],
)
def test_script_in_code(entrypoint, script):
    assert script_in_code(entrypoint, FILES) == script


def passed() -> tuple[VerificationResult, ...]:
    return tuple(VerificationResult(c, True, f"{c} ok") for c in ENVIRONMENT_CHECKS) + (
        VerificationResult("entrypoint", True, "/app/train.py exists"),)


def test_cache_round_trip_and_reuse_lists_every_check(tmp_path: Path):
    cache = VerificationCache(tmp_path)
    assert cache.get("k") is None
    cache.put("k", passed())
    checks = cache.get("k")
    assert checks == {c: f"{c} ok" for c in ENVIRONMENT_CHECKS}
    reused = reused_verification(checks, "train.py")
    assert [r.check for r in reused] == ["python version", "pip check", "locked versions", "entrypoint", "non-root user"]
    assert all(r.passed for r in reused)
    assert all("reused" in r.detail for r in reused if r.check != "entrypoint")


def test_a_failed_check_is_never_cached(tmp_path: Path):
    cache = VerificationCache(tmp_path)
    results = tuple(VerificationResult(c, c != "pip check", "x") for c in ENVIRONMENT_CHECKS)
    cache.put("k", results)
    assert cache.get("k") is None


def test_a_corrupt_cache_entry_is_ignored(tmp_path: Path):
    cache = VerificationCache(tmp_path)
    cache.dir.mkdir(parents=True)
    (cache.dir / "k.json").write_text("{not json")
    assert cache.get("k") is None
    (cache.dir / "k.json").write_text('{"checks": {"python version": "3.11"}}')
    assert cache.get("k") is None
