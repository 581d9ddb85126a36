"""The option lines of pip's requirements-file syntax: which options exist (and which take
a value), splitting a line into tokens, the per-requirement `--hash` options, and the checks
on the values a job writes (strict URLs, plain host or name lists). `resolver.requirements`
parses the file and applies what these return."""

from __future__ import annotations

import re
import shlex

from launchbuild.errors import BadInput
from launchbuild.jobs.urls import redact_url, url_problem

# Options that take a value, mapped to their canonical long form.
VALUE_OPTIONS = {
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-e": "--editable",
    "--editable": "--editable",
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
    "--only-binary": "--only-binary",
    "--no-binary": "--no-binary",
    "--hash": "--hash",
    "--config-settings": "--config-settings",
    "--global-option": "--global-option",
    "--use-feature": "--use-feature",
}
FLAG_OPTIONS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes"}


def tokenize(line: str, where: str) -> list[str]:
    """A line split as a POSIX shell would; unbalanced quotes are one BadInput."""
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise BadInput(f"cannot split line at {where}: {exc}", hint="check the quoting") from None


def split_options(body: str) -> tuple[str, str, str]:
    """Split `spec --hash=... --hash ...` at the first ` --` (specs never contain it)."""
    m = re.search(r"\s--?[A-Za-z]", body)
    if not m:
        return body, "", ""
    return body[: m.start()].strip(), " ", body[m.start() :].strip()


def parse_hashes(tail: str, where: str) -> tuple[str, ...]:
    """The `--hash` values after a requirement; other options there are refused."""
    if not tail:
        return ()
    tokens = tokenize(tail, where)
    hashes: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--hash="):
            hashes.append(tok.split("=", 1)[1])
        elif tok == "--hash" and i + 1 < len(tokens):
            i += 1
            hashes.append(tokens[i])
        elif tok.startswith(("--config-settings", "--global-option", "-C")):
            if "=" not in tok:
                i += 1
        else:
            raise BadInput(f"unsupported option {tok!r} after a requirement at {where}",
                           hint="only --hash, --config-settings and --global-option may follow a requirement")
        i += 1
    for h in hashes:
        algorithm, _, digest = h.partition(":")
        length = _HEX_DIGITS.get(algorithm)
        if length is None or not re.fullmatch(r"[0-9a-fA-F]+", digest):
            raise BadInput(f"malformed hash {h!r} at {where}", hint="write --hash=sha256:<hex>")
        if len(digest) != length:
            # A truncated or padded digest can never match a file: the install would fail on it.
            raise BadInput(f"malformed hash {h!r} at {where}: a {algorithm} digest has {length} hex digits, "
                           f"this one {len(digest)}", hint="copy the whole digest (pip hash FILE prints it)")
    return tuple(hashes)


# The hex digits of each digest the installers take (hashlib's digest sizes).
_HEX_DIGITS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}


def option_and_value(tokens: list[str], where: str) -> tuple[str, str]:
    """(canonical long option, its value or '') of an option line's tokens."""
    first = tokens[0]
    if "=" in first and first.startswith("--"):
        name, value = first.split("=", 1)
        rest = tokens[1:]
    elif first.startswith("-") and not first.startswith("--") and len(first) > 2:
        name, value, rest = first[:2], first[2:], tokens[1:]  # -rfile.txt
    else:
        name, rest = first, tokens[1:]
        value = ""
    if name in FLAG_OPTIONS:
        return name, ""
    if name not in VALUE_OPTIONS:
        raise BadInput(f"unknown option {name!r} at {where}",
                       hint="remove it, or use one pip accepts in a requirements file")
    canonical = VALUE_OPTIONS[name]
    if not value:
        if not rest:
            raise BadInput(f"option {name} needs a value at {where}")
        value, rest = rest[0], rest[1:]
    if rest and canonical != "--editable":
        raise BadInput(f"unexpected text after {name} {value} at {where}",
                       hint="put one option per line")
    if canonical == "--editable" and rest:
        value = " ".join([value, *rest])
    return canonical, value


_PLAIN_VALUE = re.compile(r"[A-Za-z0-9._:,\-\[\]]+")


def plain_value(value: str, where: str, option: str) -> str:
    """A host or package-name list: written into the lock as an option line, so it must not
    carry a newline (a line of its own) or anything beyond a name."""
    if not _PLAIN_VALUE.fullmatch(value):
        raise BadInput(f"{where}: {option} value {value[:80]!r} is not a plain host or name list",
                       hint="write e.g. --trusted-host host.example or --only-binary :all:")
    return value


def checked_url(value: str, where: str, option: str) -> str:
    """An index or find-links URL from a job: strict (jobs/urls.url_problem), or one line."""
    problem = url_problem(value)
    if problem:
        raise BadInput(f"{where}: {option} URL {redact_url(value)[:200]!r} {problem}",
                       hint="write a plain http(s) URL; put credentials in the URL's user:password")
    return value
