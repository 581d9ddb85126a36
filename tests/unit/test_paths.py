from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.paths import expand_user


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("~0", Path("~0")),  # no such user: a plain relative name, not RuntimeError
        ("~no-such-user-here/x", Path("~no-such-user-here/x")),
        ("plain/rel", Path("plain/rel")),
        ("/abs/path", Path("/abs/path")),
    ],
)
def test_expand_user_never_raises(text, expected):
    assert expand_user(text) == expected


def test_expand_user_expands_home():
    assert expand_user("~/x") == Path.home() / "x"
