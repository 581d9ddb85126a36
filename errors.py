"""Errors that end a command. Each carries its exit code; `cli.main` catches them once.

Exit codes (documented in the README and in `--help`):
  0  pass or warn
  1  error findings, or a build/verification failure
  2  bad input: the user must change something they passed us
  3  infrastructure unreachable: Docker engine, registry, package index, git remote
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INFRA = 3


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
        from launchbuild.core.text import one_line

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
