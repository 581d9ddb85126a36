"""An exception no stage turned into a launchbuild error is still one line, never a traceback."""

from __future__ import annotations

import pytest

from launchbuild import cli


def _raise(*_a, **_k):
    raise TypeError("argument of type 'int' is not iterable https://user:s3cret@example.invalid/x")


def test_an_internal_error_is_one_redacted_line_exit_1(monkeypatch, capsys):
    monkeypatch.setattr(cli, "app", _raise)
    monkeypatch.delenv("LAUNCHBUILD_TRACEBACK", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "internal error: TypeError" in lines[0] and "LAUNCHBUILD_TRACEBACK=1" in lines[0]
    assert "s3cret" not in err and "Traceback" not in err


def test_launchbuild_traceback_re_raises(monkeypatch):
    monkeypatch.setattr(cli, "app", _raise)
    monkeypatch.setenv("LAUNCHBUILD_TRACEBACK", "1")
    with pytest.raises(TypeError):
        cli.main()
