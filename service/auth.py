"""Bearer tokens from a file of `name:token` lines, compared in constant time."""

from __future__ import annotations

import hmac
from pathlib import Path

from launchbuild.errors import BadInput


def load_tokens(path: Path) -> dict[str, bytes]:
    """name -> token. Blank lines and `#` comments are skipped; anything else malformed is
    bad input naming the line (never the token)."""
    from launchbuild.limits import MIB, read_text_bounded

    if not path.exists() and not path.is_symlink():
        raise BadInput(f"token file {path}: not found", hint="create it with one name:token per line")
    # Bounded and non-blocking: a FIFO or /dev/stdin as --token-file hung the start for ever.
    text = read_text_bounded(path, "token file", cap=MIB)
    tokens: dict[str, bytes] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, token = line.partition(":")
        name, token = name.strip(), token.strip()
        if not sep or not name or not token:
            raise BadInput(f"token file {path}, line {number}: expected name:token",
                           hint="one name:token per line")
        if any(c.isspace() for c in token):
            raise BadInput(f"token file {path}, line {number}: the token of {name!r} contains whitespace")
        if not token.isascii() or not token.isprintable():
            # The Authorization header reaches the app as Latin-1 text: a UTF-8 token could never match.
            raise BadInput(f"token file {path}, line {number}: the token of {name!r} has characters other than "
                           "printable ASCII", hint="use letters, digits and punctuation, e.g. openssl rand -hex 24")
        if name in tokens:
            raise BadInput(f"token file {path}, line {number}: name {name!r} appears twice")
        tokens[name] = token.encode("utf-8")
    if not tokens:
        raise BadInput(f"token file {path}: holds no tokens", hint="add one name:token per line")
    return tokens


def authenticate(header: str | None, tokens: dict[str, bytes]) -> str | None:
    """The caller's name, or None. Every token is compared (in constant time), so the time
    taken says nothing about which name, or how much of a token, matched."""
    if not header:
        return None
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    given = presented.strip().encode("utf-8", "surrogateescape")
    found = None
    for name, token in tokens.items():
        if hmac.compare_digest(given, token) and found is None:
            found = name
    return found
