"""Git URLs as JOB names them: the remote and the `@REF` suffix, for the schemes
`https`, `http`, `ssh`, `git`, `file` and scp-like `user@host:path`."""

from __future__ import annotations

import re
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.jobs.urls import redact_url
from launchbuild.limits import clip

GIT_SCHEMES = ("https", "http", "ssh", "git", "file")


@dataclass(frozen=True)
class GitUrl:
    """A git URL as JOB names it, split into the remote and its `@REF` suffix (None: no ref)."""

    remote: str
    ref: str | None


_SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._~+-]+)@(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<path>[^\s]+)$")
URL_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://", re.ASCII)


def has_url_scheme(arg: str) -> bool:
    """Whether `arg` starts with `scheme://` (any scheme, git's or not)."""
    return URL_SCHEME.match(arg) is not None


def parse_git_url(arg: str) -> GitUrl | None:
    """The remote and the `@REF` suffix of a git URL; None when `arg` is not one.

    The ref is an '@' in the path part only: the '@' of `git@host:` or of
    `https://user:token@host/` belongs to the authority and is never a ref."""
    scheme_match = URL_SCHEME.match(arg)
    if (scheme_match or _SCP_LIKE.match(arg)) and re.search(r"[\x00-\x20\x7f]", arg):
        # A newline or other control character in a URL is never a real remote, and must
        # never reach git or a message as-is (a forged second line).
        raise BadInput(f"JOB: git URL '{clip(redact_url(arg))}' contains whitespace or control characters",
                       hint="pass the URL exactly as git shows it")
    if scheme_match:
        scheme = scheme_match.group("scheme").lower()
        if scheme not in GIT_SCHEMES:
            raise BadInput(f"JOB: unsupported URL scheme '{scheme}://' in {redact_url(arg)!r}",
                           hint=f"git remotes may use {', '.join(s + '://' for s in GIT_SCHEMES)} or user@host:path")
        rest = arg[scheme_match.end():]
        slash = rest.find("/")
        if slash < 0:
            raise BadInput(f"JOB: git URL {redact_url(arg)!r} has no repository path",
                           hint="e.g. https://host/org/repo.git")
        authority, path = rest[:slash], rest[slash:]
        prefix = arg[: scheme_match.end()] + authority
        if scheme == "file" and Path(path).exists():
            return GitUrl(prefix + path, None)  # a local path with an '@' in its name
        head, at, ref = path.rpartition("@")
        if at and ref:
            return GitUrl(prefix + head, ref)
        if at:
            raise BadInput(f"JOB: {redact_url(arg)!r} ends with '@' but names no ref",
                           hint="write URL@REF, or leave out the '@'")
        return GitUrl(arg, None)
    scp = _SCP_LIKE.match(arg)
    if scp:
        path = scp.group("path")
        head, at, ref = path.rpartition("@")
        remote_prefix = arg[: scp.start("path")]
        if at and ref and head:
            return GitUrl(remote_prefix + head, ref)
        return GitUrl(arg, None)
    return None
