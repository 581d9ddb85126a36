"""The backends' environment (resolver/backends.py): what a uv or pip-compile run inherits."""

from __future__ import annotations


def test_the_backend_gets_a_private_temp_dir_inside_the_callers_own(tmp_path, monkeypatch):
    from launchbuild.resolver.backends import backend_env

    monkeypatch.setenv("TMPDIR", "/tmp")
    env = backend_env(tmp_path / "own")
    assert env["TMPDIR"] == env["TMP"] == env["TEMP"] == str(tmp_path / "own") and (tmp_path / "own").is_dir()
    assert backend_env()["TMPDIR"] == "/tmp"  # without one, the host's
