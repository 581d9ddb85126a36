"""`.dockerignore` semantics and the default ignore set: one definition of "what is copied".

The source scan (LB402: secrets and bulky folders) and the build context both use these
rules, so what the check reports is exactly what the build leaves out or copies in.
"""

from __future__ import annotations

import functools

import re
from pathlib import Path, PurePosixPath
from typing import Iterator

from launchbuild.core.records import dataclass


# dockerignore syntax. Secrets, caches and bulky local state that never enter an image
# unless the job's own .dockerignore re-includes them (`!path`).
DEFAULT_IGNORES: tuple[str, ...] = (
    "**/.git",
    "**/.hg",
    "**/.svn",
    "**/.venv",
    "**/__pycache__",
    "**/*.py[co]",
    "**/.env",
    "**/.env.*",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/id_rsa*",
    "**/id_dsa*",
    "**/id_ecdsa*",
    "**/id_ed25519*",
    "**/.netrc",
    "**/.pypirc",
    "**/.docker/config.json",
    "**/.aws",
    "**/wandb/run-*",
    "**/wandb/offline-run-*",
    "**/wandb/latest-run",
    "**/wandb/debug*.log",
    "**/node_modules",
    "**/.mypy_cache",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/.ipynb_checkpoints",
    "**/.tox",
    "**/.nox",
    "**/.DS_Store",
    "**/_netrc",
    "**/.git-credentials",
    "**/*credentials*.json",
    "**/service-account*.json",
    "**/*-sa-key.json",
    "**/kubeconfig",
    "**/.ruff_cache",
    "**/.ipynb_checkpoints",
)



@dataclass(frozen=True)
class _Rule:
    """One .dockerignore pattern as a regex over posix paths, and whether it re-includes (`!`)."""

    regex: re.Pattern[str]
    negated: bool


@functools.lru_cache(maxsize=1024)  # pure: serve scans many sources with the same patterns
def _translate(pattern: str) -> re.Pattern[str]:
    """A dockerignore pattern (Go filepath.Match plus `**`) as a regex over posix paths."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "**/" matches zero or more directories
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!") or body.startswith("^"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def parse_ignore(lines: Iterator[str] | list[str] | tuple[str, ...]) -> tuple[_Rule, ...]:
    rules = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:].strip()
        cleaned = str(PurePosixPath("/" + line)).lstrip("/") if line not in ("/", ".") else ""
        if not cleaned:
            continue
        rules.append(_Rule(_translate(cleaned), negated))
    return tuple(rules)


_MEMO_CHARS = 64 * 1024


@functools.lru_cache(maxsize=128)
def _parsed(lines: tuple[str, ...]) -> tuple[_Rule, ...]:
    """parse_ignore by content: a long-running server sees the same defaults and files again,
    and compiling their patterns is most of a small job's source scan."""
    return parse_ignore(lines)


# Never copied, whatever the job's .dockerignore re-includes: a checkout's .git/config is
# written by the operator's git tooling, not by the job, and holds its credentials (a token in
# a remote URL; CI checkouts persist an `http.extraheader` Authorization header there). A job
# that keeps `.git` for its version (setuptools-scm, `git describe`) needs its objects and refs,
# and git reads a repository without a config file.
NEVER_COPIED = re.compile(r"(?:.*/)?\.git/config\Z")


class IgnoreRules:
    """Docker's semantics: the last rule that matches the path or one of its parents wins;
    NEVER_COPIED is excluded whatever the rules say."""

    def __init__(self, rules: tuple[_Rule, ...]):
        self.rules = rules
        self.has_negations = any(r.negated for r in rules)

    @classmethod
    def for_source(cls, source_dir: Path, extra: tuple[str, ...] = ()) -> "IgnoreRules":
        lines = [*DEFAULT_IGNORES, *extra]
        own = source_dir / ".dockerignore"
        if own.is_file():
            from launchbuild.limits import MIB, read_text_bounded

            # A regular file under 1 MiB (never a FIFO or /dev/zero behind a link), UTF-8.
            lines += read_text_bounded(own, ".dockerignore", cap=1 * MIB).splitlines()
        return cls(_parsed(tuple(lines)) if sum(map(len, lines)) <= _MEMO_CHARS else parse_ignore(lines))

    def excluded(self, rel: str) -> bool:
        if NEVER_COPIED.match(rel):
            return True
        parts = rel.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for rule in self.rules:
            if any(rule.regex.match(c) for c in candidates):
                result = not rule.negated
        return result
