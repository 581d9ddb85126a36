"""The job/operator boundary inside the resolver: credentials out of URLs, local paths confined.

A job's requirements may name private indexes with credentials in the URL
(`--extra-index-url https://user:token@host/simple`, `pkg @ https://TOKEN@host/pkg.whl`).
`take_credentials()` takes them out of every URL before anything is hashed, written, printed
or handed to a backend: the lock, `resolve` output, reports, messages and the Dockerfile only
ever hold the credential-free URL. The credentials travel as a `Credentials` value whose repr
hides them, and reach uv as a netrc file in its private temp dir (NETRC, never argv) and the
install step as a BuildKit secret (`/run/secrets/netrc`).

`confine_local_paths()` refuses local requirements (`./wheels/x.whl`, `-e .`, `file:` URLs)
that resolve outside the job's source tree.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import unquote, urlsplit

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.jobs.confine import inside
from launchbuild.jobs.urls import host_of, redact_text, redact_url, split_credentials, url_problem
from launchbuild.resolver.requirements import IndexOptions, RequirementLine

_NETRC_UNSAFE = frozenset(' \t\r\n"\'\\#')


@dataclass(frozen=True, repr=False)
class Credentials:
    """(host, login, password) triples, one per host. Never printed: see __repr__."""

    entries: tuple[tuple[str, str, str], ...] = ()
    # Secrets in VCS URLs (`pkg @ git+https://TOKEN@host/repo.git`): git on the host needs them
    # as written to clone, so they stay in that URL, but the files holding them are withheld
    # from the image's code copy and every output is scrubbed of them, as for index credentials.
    vcs_secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Credentials(hosts={[h for h, _, _ in self.entries]!r}, vcs={len(self.vcs_secrets)})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.entries or self.vcs_secrets)

    @property
    def for_indexes(self) -> bool:
        """Index credentials, which the install step needs as the `netrc` build secret."""
        return bool(self.entries)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(h for h, _, _ in self.entries)

    def netrc_text(self) -> str:
        """A netrc file (uv, pip and requests read it through NETRC)."""
        return "".join(f"machine {h}\nlogin {u}\npassword {p}\n" for h, u, p in self.entries)

    def secret_values(self) -> tuple[str, ...]:
        """What must never appear in any output: for tests and scrubbing."""
        return tuple(v for _, u, p in self.entries for v in (u, p) if v) + self.vcs_secrets


def _take(url: str, found: dict[str, tuple[str, str]]) -> str:
    clean, cred = split_credentials(url)
    if redact_url(clean) != clean:
        # A token in the query (`?token=…`, a presigned signature) cannot become a netrc entry:
        # it would be written into the lock and the image. Refused, naming the host only.
        raise BadInput(f"a URL for {host_of(clean)} carries a credential in its query string",
                       hint="give the index credentials as https://user:token@host/... instead")
    if cred is None or not any(cred):
        return clean
    host = host_of(clean)
    user, password = cred
    if any(c in _NETRC_UNSAFE or ord(c) < 32 for c in user + password):
        raise BadInput(f"the credentials in a URL for {host} hold whitespace, quotes, '#' or '\\'",
                       hint="percent-encode only what a token needs, or use a token without them")
    if host in found and found[host] != cred:
        raise BadInput(f"two different credentials are given for {host}",
                       hint="use one account per index host")
    found[host] = cred
    return clean


def _line_without(line: RequirementLine, found: dict[str, tuple[str, str]]) -> RequirementLine:
    if not line.url or line.kind in ("vcs", "path"):
        return line
    clean = _take(line.url, found)
    if clean == line.url:
        return line
    return replace(line, url=clean, text=line.text.replace(line.url, clean))


def _vcs_secrets(line: RequirementLine) -> tuple[str, ...]:
    """The secret part of a VCS URL's userinfo: the password, or a token given as the user."""
    if line.kind != "vcs" or not line.url:
        return ()
    _, cred = split_credentials(line.url.split("+", 1)[1] if "+" in line.url.split("://", 1)[0] else line.url)
    if cred is None:
        return ()
    user, password = cred
    secret = password or user
    return (secret,) if secret else ()


def take_credentials(
    index: IndexOptions, requirements: Sequence[RequirementLine], constraints: Sequence[RequirementLine],
) -> tuple[IndexOptions, tuple[RequirementLine, ...], tuple[RequirementLine, ...], Credentials]:
    """Every URL without its userinfo, and the credentials that were in them."""
    found: dict[str, tuple[str, str]] = {}
    clean_index = IndexOptions(
        index_url=_take(index.index_url, found) if index.index_url else None,
        extra_index_urls=tuple(_take(u, found) for u in index.extra_index_urls),
        find_links=tuple(_take(u, found) if "://" in u else u for u in index.find_links),
        no_index=index.no_index, pre=index.pre, trusted_hosts=index.trusted_hosts,
        only_binary=index.only_binary, no_binary=index.no_binary,
    )
    reqs = tuple(_line_without(r, found) for r in requirements)
    cons = tuple(_line_without(c, found) for c in constraints)
    vcs = tuple(dict.fromkeys(v for line in (*requirements, *constraints) for v in _vcs_secrets(line)))
    creds = Credentials(tuple((h, u, p) for h, (u, p) in sorted(found.items())), vcs)
    return clean_index, reqs, cons, creds


def take_input_credentials(loaded):
    """The indexes an input names outside its requirement lines (a uv.lock's registries,
    Pipfile.lock sources, pylock.toml indexes, [[tool.uv.index]]) without their userinfo, and
    the credentials that were in them; what the input says it read, redacted. Applied to every
    loaded input before the result, a report or a message sees it."""
    found: dict[str, tuple[str, str]] = {}
    for url in loaded.extra_index_urls:
        # Held to the rule of a requirements file's --extra-index-url (one line naming the file)
        # here, at resolve time: the build plan refused such a URL only after a passing check.
        problem = url_problem(url)
        if problem:
            raise BadInput(f"{loaded.path}: index URL {redact_url(url)[:200]!r} {problem}",
                           hint="write a plain http(s) URL; put credentials in the URL's user:password")
    urls = tuple(_take(u, found) for u in loaded.extra_index_urls)
    options = loaded.parsed.options
    clean_options, _, _, option_creds = take_credentials(options, (), ())
    for host, user, password in option_creds.entries:
        if host in found and found[host] != (user, password):
            raise BadInput(f"two different credentials are given for {host}", hint="use one account per index host")
        found[host] = (user, password)
    cleaned = replace(loaded, extra_index_urls=urls, parsed=replace(loaded.parsed, options=clean_options),
                      read=tuple(redact_text(r) for r in loaded.read),
                      not_used=tuple(redact_text(n) for n in loaded.not_used))
    return cleaned, Credentials(tuple((h, u, p) for h, (u, p) in sorted(found.items())))


def merge_credentials(first: Credentials, second: Credentials) -> Credentials:
    """Both sets of credentials; one account per host."""
    found = {h: (u, p) for h, u, p in first.entries}
    for host, user, password in second.entries:
        if host in found and found[host] != (user, password):
            raise BadInput(f"two different credentials are given for {host}", hint="use one account per index host")
        found[host] = (user, password)
    return Credentials(tuple((h, u, p) for h, (u, p) in sorted(found.items())),
                       tuple(dict.fromkeys((*first.vcs_secrets, *second.vcs_secrets))))


def refuse_variables(lines: Iterable[RequirementLine], index: IndexOptions) -> None:
    """uv and pip expand `${NAME}` in the files they read: on the host that would send the
    operator's environment (a cloud key) to a URL the job chose. Whatever the input kind
    (requirements, pyproject, environment.yml, run list), a reference is refused."""
    for line in lines:
        where = line.location.where
        if "${" in line.text:
            raise BadInput(f"{where}: a variable reference '${{...}}' in a requirement",
                           hint="write the value itself: a job cannot expand the operator's environment")
        # Requirement URLs from any input kind get the same strict check as requirements files'.
        problem = url_problem(line.url) if line.kind == "url" and line.url else None
        if problem:
            raise BadInput(f"{where}: requirement URL {redact_url(line.url or '')[:200]!r} {problem}",
                           hint="write a plain http(s) URL")
    if any("${" in option for option in index.as_lines()):
        raise BadInput("an index option holds a variable reference '${...}'",
                       hint="write the value itself: a job cannot expand the operator's environment")


def _local_path(url: str) -> str | None:
    if url.startswith("file:"):
        return unquote(urlsplit(url).path)
    if "://" in url:
        return None
    return url


def confine_local_paths(lines: Iterable[RequirementLine], roots: Sequence[Path]) -> None:
    """Refuse a local requirement whose real path is outside every root (the job's tree, or
    the folder of a file the operator named). One line quoting the requirement as parsed."""
    real_roots = [os.path.realpath(r) for r in roots if r is not None]
    if not real_roots:
        return
    for line in lines:
        if line.kind != "path" or not line.url:
            continue
        path = _local_path(line.url)
        if path is None:
            continue
        real = os.path.realpath(path)
        if not any(inside(real, root) for root in real_roots):
            where = line.location.where
            shown = repr(line.text)[:160]
            raise BadInput(f"{where}: local requirement {shown} is outside the job's source tree",
                           hint="vendor the wheel or project into the job's source and name it by a relative path")
