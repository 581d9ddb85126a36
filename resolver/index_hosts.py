"""The operator's allow-list of package hosts (`allow-index-host`): where a job's own
dependency files may make the resolver (and the build) connect.

A job names hosts in its dependency files: `--index-url` / `--extra-index-url` /
`--find-links` in requirements files (and the files they include, and environment.yml's pip
section), `[[tool.uv.index]]` and `[tool.uv.sources]` URLs, `[[tool.poetry.source]]`,
Pipfile `[[source]]`, the indexes a lock records (uv.lock, Pipfile.lock, pylock), and URL or
VCS requirements (`pkg @ https://...`, `git+https://...`). With a list given, every such host
must be on it, or the check is bad input (exit 2; 400 from `launchbuild serve`) naming the host
and the file, before any connection is made. Without a list any host is allowed (the
default, as for `--allow-git-host` and `--allow-registry`). Hosts the operator chose
(`torch-index-url`, the default index, pip/uv configuration of the host) are not checked.

An entry is HOST (every port) or HOST:PORT (that port only), as the other allow-lists.
Only the host and port of a URL are ever shown: never its userinfo, path or query.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

from launchbuild.errors import BadInput

OPTION = "allow-index-host"
_ENTRY = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::([0-9]{1,5}))?$")


def allowed_hosts(entries: Iterable[str] | None, where: str = OPTION) -> frozenset[str] | None:
    """The list as matched (lower-case host, or host:port); None for no list (any host)."""
    if not entries:
        return None
    out = set()
    for raw in entries:
        text = str(raw).strip()
        match = _ENTRY.match(text)
        if not match or (match.group(1) is not None and not 0 < int(match.group(1)) < 65536):
            raise BadInput(f"{where}: {text[:100]!r} is not a host or host:port",
                           hint=f"e.g. {OPTION} pypi.org, or {OPTION} 127.0.0.1:8080")
        out.add(text.lower())
    return frozenset(out)


def host_of(url: str) -> tuple[str, int | None]:
    """(lower-case host, port or None) of a URL; ("", None) when it has none that parses."""
    try:
        parts = urlsplit(url.strip())
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None
    if ":" in host:
        host = f"[{host}]"
    return host, port


def is_allowed(url: str, allowed: frozenset[str]) -> bool:
    host, port = host_of(url)
    return bool(host) and (host in allowed or (port is not None and f"{host}:{port}" in allowed))


def _is_remote(url: str) -> bool:
    return "://" in url and not url.lower().startswith("file:")


def job_urls(loaded: Any) -> Iterator[tuple[str, str]]:
    """(url, what) for every remote location the loaded input makes the resolver contact."""
    options = loaded.parsed.options
    if options.index_url:
        yield options.index_url, "--index-url"
    for url in options.extra_index_urls:
        yield url, "--extra-index-url"
    for url in options.find_links:
        if _is_remote(url):
            yield url, "--find-links"
    for url in loaded.extra_index_urls:
        yield url, "index"
    for req in (*loaded.parsed.requirements, *loaded.parsed.constraints):
        if req.kind in ("url", "vcs") and req.url and _is_remote(req.url):
            yield req.url, "requirement URL"
    if loaded.project_file and loaded.project_root is not None:
        yield from _project_urls(Path(loaded.project_root) / loaded.project_file)


def _project_urls(pyproject: Path) -> Iterator[tuple[str, str]]:
    """A project uv resolves itself: its [tool.uv] URLs and its URL dependencies, which never
    become requirement lines here."""
    if pyproject.name != "pyproject.toml" or not pyproject.is_file():
        return
    from launchbuild.resolver.sources import read_pyproject

    data = read_pyproject(pyproject)
    tool = _table(data, "tool")
    uv = _table(tool, "uv")
    for index in uv.get("index") or ():
        if isinstance(index, dict) and isinstance(index.get("url"), str):
            yield index["url"], "[[tool.uv.index]]"
    for key in ("index-url", "extra-index-url", "find-links"):
        values = uv.get(key)
        for value in ([values] if isinstance(values, str) else values if isinstance(values, list) else ()):
            if isinstance(value, str) and _is_remote(value):
                yield value, f"[tool.uv] {key}"
    sources = _table(uv, "sources")
    for entries in sources.values():
        for entry in (entries if isinstance(entries, list) else [entries]):
            if isinstance(entry, dict):
                for key in ("url", "git"):
                    if isinstance(entry.get(key), str):
                        yield entry[key], f"[tool.uv.sources] {key}"
    project = _table(data, "project")
    deps = list(project.get("dependencies") or [])
    for group in _table(project, "optional-dependencies").values():
        deps += list(group) if isinstance(group, list) else []
    for group in _table(data, "dependency-groups").values():
        deps += list(group) if isinstance(group, list) else []
    for dep in deps:
        if isinstance(dep, str) and "@" in dep:
            url = dep.split("@", 1)[1].split(";", 1)[0].strip()
            if _is_remote(url):
                yield url, "requirement URL"


def _table(data: Any, key: str) -> dict[str, Any]:
    """`data[key]` when it is a table, else an empty one (a job's TOML may hold anything)."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def check_job_hosts(loaded: Any, allowed: frozenset[str] | None) -> None:
    """Bad input naming the first host of the job's files that is not on the list."""
    if allowed is None:
        return
    for url, what in job_urls(loaded):
        if not is_allowed(url, allowed):
            host, port = host_of(url)
            shown = (f"{host}:{port}" if port is not None else host) or "(no host)"
            where = loaded.path + (" or a file it includes" if len(loaded.parsed.files) > 1 else "")
            raise BadInput(f"{where}: package host {shown[:120]!r} ({what}) is not on the operator's "
                           f"index allow-list", hint=f"allowed index hosts: {', '.join(sorted(allowed))}; "
                           f"the operator adds one with {OPTION}")


def check_tree_hosts(source_dir: Path, allowed: frozenset[str] | None) -> None:
    """Every dependency file the resolver could read in `source_dir`, loaded as it loads them
    (locally: a lock's export runs offline), held to the list. `launchbuild serve` runs this
    as soon as an upload is unpacked or a clone is made, so a build is refused at submission;
    the resolver's own check of the file it reads stays the one that decides."""
    if allowed is None or not source_dir.is_dir():
        return
    from launchbuild.resolver.discovery import discover

    for source, _how in discover(source_dir):
        try:
            loaded = source.load()
        except BadInput:
            continue  # the resolver reports it, if it is the file it reads
        check_job_hosts(loaded, allowed)
