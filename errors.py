"""Errors that end a command. Each carries its exit code; `cli.main` catches them once.

Exit codes (documented in the README and in `--help`):
  0  pass or warn
  1  error findings, or a build/verification failure
  2  bad input: the user must change something they passed us
  3  infrastructure unreachable: Docker engine, registry, package index, git remote
"""

from __future__ import annotations

import re

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INFRA = 3


# --- text safe to print: every message is escaped and capped (limits.py re-exports these) ---

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


# A line the CI runner reads as a workflow command: GitHub Actions (and runners that copy it)
# trims the line's leading whitespace and runs whatever then starts with "::". Only the github
# format writes commands; anywhere else such a line is a job's text (a build log line, a message).
_COMMAND_LINE = re.compile(r"(?:^|(?<=[\r\n]))(\s*)::")  # a runner splits lines at CR too


def inert_commands(text: str) -> str:
    """`text` with every line that would start, after whitespace, with "::" given a backslash
    before those colons, so no runner reads it as a workflow command (`::add-mask::`,
    `::stop-commands::`, `::error::` from a job's build log or message)."""
    return _COMMAND_LINE.sub(lambda m: m.group(1) + "\\::", text) if "::" in text else text


class LaunchbuildError(Exception):
    """Base of every error we raise on purpose. The message is one line for a person:
    what was wrong, where, and what to do."""

    exit_code = EXIT_FINDINGS

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        # Always one bounded line: a job value with a newline or a 25 MB string must not
        # forge a second line or flood the terminal (limits.one_line escapes and caps).
        return one_line(self.message if not self.hint else f"{self.message} ({self.hint})")


class BadInput(LaunchbuildError):
    """Something the user gave us is malformed, contradictory or missing."""

    exit_code = EXIT_BAD_INPUT


class InfraUnavailable(LaunchbuildError):
    """A service we need (Docker engine, registry, index, git remote) cannot be reached."""

    exit_code = EXIT_INFRA


class BuildFailed(LaunchbuildError):
    """The image build or its verification failed. Nothing was left tagged."""

    exit_code = EXIT_FINDINGS
