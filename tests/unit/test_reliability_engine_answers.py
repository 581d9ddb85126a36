"""A failed BuildKit build is the engine's fault (exit 3) when the engine no longer answers.

The docker CLI is replaced by small shell scripts here: what is under test is how
`_stream` classifies a failed client, not Docker (the real daemon dying mid-build is
tests/integration/test_reliability_faults2.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launchbuild.builder.engine import _stream, engine_answers
from launchbuild.errors import InfraUnavailable


def fake_cli(tmp_path: Path, *, build: str, version: str) -> str:
    """A `docker` whose `build` and `version` subcommands run the given shell snippets."""
    script = tmp_path / "docker"
    script.write_text(f"#!/bin/sh\ncase \"$1\" in\n  version) {version} ;;\n  *) {build} ;;\nesac\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("version", "answers"),
    [
        ("echo 20.10.24; exit 0", True),
        ("echo 'Cannot connect to the Docker daemon' >&2; exit 1", False),
        ("exit 0", False),  # a client that prints no server version talked to no server
        ("echo 20.10.24; exit 1", False),
        ("sleep 5", False),  # past the timeout below
    ],
    ids=["answers", "refused", "empty", "failed", "hangs"],
)
def test_engine_answers(tmp_path, version, answers):
    assert engine_answers(fake_cli(tmp_path, build="exit 0", version=version), dict(os.environ), timeout=1) is answers


def test_engine_answers_without_a_client(tmp_path):
    assert engine_answers(str(tmp_path / "no-such-docker"), dict(os.environ)) is False


@pytest.mark.parametrize(
    ("build", "version", "raises", "words"),
    [
        # the daemon died mid-build: the client's own words are odd, the engine is gone
        ("echo '#6 load build context'; echo 'cannot write iid because server did not provide an image ID'; exit 1",
         "exit 1", True, "stopped answering during the build"),
        ("echo 'Cannot connect to the Docker daemon at unix:///x.sock'; exit 1", "exit 1", True,
         "not reachable during the build"),
        # a step failed while the engine is fine: an ordinary build failure for the caller
        ("echo '#9 ERROR: process did not complete successfully'; exit 1", "echo 20.10.24", False, None),
        # success never asks the engine anything
        ("echo '#12 DONE 0.1s'; exit 0", "exit 1", False, None),
    ],
    ids=["died-mid-build", "never-reached", "step-failed", "succeeded"],
)
def test_failed_build_is_classified_by_whether_the_engine_answers(tmp_path, build, version, raises, words):
    cmd = [fake_cli(tmp_path, build=build, version=version), "build", "."]
    if raises:
        with pytest.raises(InfraUnavailable) as info:
            _stream(cmd, dict(os.environ), None)
        assert words in str(info.value) and "\n" not in str(info.value)
    else:
        tail, _steps, rc, _duration = _stream(cmd, dict(os.environ), None)
        assert tail and rc == (0 if "exit 0" in build else 1)
