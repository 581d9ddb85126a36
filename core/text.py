"""Text safe to print: control characters escaped, length capped.

Every error message passes through `one_line` (launchbuild.errors), so this sits in core,
below errors and limits, with no imports of ours.
"""

from __future__ import annotations

import re

MAX_MESSAGE = 600  # characters of one error line
MAX_VALUE = 160  # characters of one user value quoted inside a message
ELLIPSIS = "…"

# C0/C1 controls, DEL, line/paragraph separators, bidi overrides, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def clip(text: str, cap: int = MAX_VALUE) -> str:
    """`text` cut to `cap` characters with an ellipsis; control characters escaped."""
    text = _UNSAFE.sub(_escape, str(text))
    return text if len(text) <= cap else text[: max(cap - 1, 0)] + ELLIPSIS


def one_line(text: str, cap: int = MAX_MESSAGE) -> str:
    """A message safe to print as one terminal line: escaped, then capped. An over-long
    message keeps its head and its tail (where the hint, what to do, is), cut in between."""
    text = _UNSAFE.sub(_escape, str(text))
    if len(text) <= cap:
        return text
    tail = min(200, (cap - 1) // 3)
    head = cap - 1 - tail
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def printable(text: str) -> str:
    """`text` with control characters, bidi overrides and lone surrogates escaped; not capped."""
    return _UNSAFE.sub(_escape, str(text))
