"""The BuildKit CLI probe is remembered per client binary and plugin set: a real fake
`docker` script counts how often it is asked, and a changed binary is probed again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launchbuild.builder.engine import find_buildkit_cli

SCRIPT = """#!/bin/sh
echo x >> "{calls}"
if [ "$1" = buildx ]; then exit 1; fi
if [ "$1" = version ]; then echo {version}; fi
"""


@pytest.fixture()
def fake_docker(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    cli = bindir / "docker"
    calls = tmp_path / "calls"

    def write(version: str) -> None:
        cli.write_text(SCRIPT.format(calls=calls, version=version))
        cli.chmod(0o755)

    write("20.10.24")
    monkeypatch.setenv("LAUNCHBUILD_DOCKER", str(cli))
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("LAUNCHBUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dockercfg"))
    return cli, calls, write


def _count(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_probe_is_remembered_and_redone_when_the_client_changes(fake_docker):
    cli, calls, write = fake_docker
    first = find_buildkit_cli()
    # /usr/bin/docker may exist on the machine; the fake comes first via LAUNCHBUILD_DOCKER.
    assert first == (str(cli), False)
    asked = _count(calls)
    assert asked == 2  # buildx version, then the client version
    assert find_buildkit_cli() == first
    assert _count(calls) == asked  # remembered
    write("26.1.0")  # a newer client without buildx: no BuildKit from this one
    os.utime(cli, ns=(1, 1))
    again = find_buildkit_cli()
    assert _count(calls) > asked
    assert again != first
