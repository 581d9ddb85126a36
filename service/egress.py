"""Where a request may make the server connect: the operator's allow-lists of git hosts and
image registries (server-side request forgery).

A request names hosts the server then contacts: its git URL (and a job spec's git remote),
its image, its base images (options, job spec, queue config, the job's own launchbuild.toml).
With `--allow-git-host` / `--allow-registry` given, every such host must be on the list, or
the request is 400 (exit 2) naming the host, before any connection is made. Without a list,
any host is allowed (docs/service.md says so loudly): a block list of private addresses by
name would be false assurance, since any name can resolve to one.

Hosts the operator chose (flags, the server's environment, its operator config, the tool's
default `python:{python}-slim`) are trusted and not checked here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::[0-9]{1,5})?$")
_IMAGE_OPTIONS = ("base-image", "python-base-image")


def _split(entry: str) -> tuple[str, str | None]:
    """host[:port] -> (lower-case host, port or None); IPv6 stays in brackets."""
    if entry.startswith("["):
        end = entry.index("]")
        host, rest = entry[: end + 1], entry[end + 1:]
        return host.lower(), (rest[1:] if rest.startswith(":") else None)
    host, sep, port = entry.partition(":")
    return host.lower(), (port if sep else None)


def _normalise_registry(entry: str) -> str:
    """As the image parser names it: docker.io, index.docker.io, registry-1.docker.io -> docker.io."""
    from launchbuild.core.imageref import parse_image_ref

    registry = parse_image_ref(f"{entry}/probe:1").registry.lower()
    # A name with no dot, colon or "localhost" is no registry host to the parser (it would read
    # as a Docker Hub path); keep it as written, where it can only ever match itself.
    return registry if registry != "docker.io" or entry in ("docker.io", "index.docker.io",
                                                              "registry-1.docker.io") else entry


@dataclass(frozen=True)
class EgressPolicy:
    """Which hosts a request may make the server contact: the allow-lists of git hosts,
    registries and index hosts (None: any host)."""

    git_hosts: frozenset[str] | None = None  # None: any host
    registries: frozenset[str] | None = None
    index_hosts: frozenset[str] | None = None  # allow-index-host (resolver/index_hosts.py)

    @classmethod
    def from_flags(cls, git_hosts: Iterable[str], registries: Iterable[str],
                   index_hosts: Iterable[str] = (), index_where: str = "serve: --allow-index-host") -> "EgressPolicy":
        git = [_entry(h, "--allow-git-host") for h in git_hosts]
        regs = []
        for value in registries:
            entry = _entry(value, "--allow-registry")
            try:
                regs.append(_normalise_registry(entry))
            except BadInput:
                raise BadInput(f"serve: --allow-registry {value[:100]!r} is not a registry host[:port]",
                               hint="e.g. --allow-registry docker.io --allow-registry 127.0.0.1:5055") from None
        from launchbuild.resolver.index_hosts import allowed_hosts

        return cls(frozenset(git) if git else None, frozenset(regs) if regs else None,
                   allowed_hosts(list(index_hosts), index_where))

    @property
    def restricts(self) -> bool:
        return self.git_hosts is not None or self.registries is not None or self.index_hosts is not None

    def check_git_url(self, url: str, where: str) -> None:
        if self.git_hosts is None:
            return
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            host, port = "", None
        if parts.hostname and ":" in parts.hostname:
            host = f"[{host}]"
        if not host or not (host in self.git_hosts or (port is not None and f"{host}:{port}" in self.git_hosts)):
            shown = f"{host}:{port}" if port is not None else host
            raise BadInput(f"request: {where} host {shown[:120]!r} is not on this server's git allow-list",
                           hint=f"allowed git hosts: {', '.join(sorted(self.git_hosts))}")

    def check_image(self, ref: Any, where: str) -> None:
        if self.registries is None or not isinstance(ref, str) or not ref.strip():
            return
        from launchbuild.core.imageref import parse_image_ref

        # A python-base-image is a template ("python:{python}-slim"); the registry never holds it.
        registry = parse_image_ref(ref.replace("{python}", "3")).registry.lower()  # host names are case-blind
        host, _port = _split(registry)
        if registry not in self.registries and host not in self.registries:
            raise BadInput(f"request: {where} registry {registry[:120]!r} is not on this server's registry allow-list",
                           hint=f"allowed registries: {', '.join(sorted(self.registries))}")

    def check_request(self, req: Any) -> None:
        """Every host a request body names, before any work."""
        if req.git_url:
            self.check_git_url(req.git_url, "source.git.url")
        if req.image:
            self.check_image(req.image, "source.image")
        for name in _IMAGE_OPTIONS:
            self.check_image(req.flags.get(name), f"options.{name}")
        spec = req.spec or {}
        raw_source, raw_git = spec.get("source"), None
        source = raw_source if isinstance(raw_source, dict) else {}
        raw_git = source.get("git")
        git = raw_git if isinstance(raw_git, dict) else {}
        if isinstance(git.get("remote"), str):
            self.check_git_url(git["remote"], "spec.source.git.remote")
        for key in ("image", "base_image"):
            self.check_image(source.get(key), f"spec.source.{key}")
        self._check_builder(spec.get("builder"), "spec.builder")
        self._check_builder((req.queue_config or {}).get("builder"), "queue_config.builder")

    def _check_builder(self, builder: Any, where: str) -> None:
        if not isinstance(builder, dict):
            return
        for key in ("accelerator", "cuda"):
            table = builder.get(key)
            if isinstance(table, dict):
                self.check_image(table.get("base_image"), f"{where}.{key}.base_image")

    def check_job_config(self, source_dir: Path) -> None:
        """The job's own launchbuild.toml / [tool.launchbuild] may name base images too; its
        dependency files name package hosts."""
        if self.index_hosts is not None:
            from launchbuild.resolver.index_hosts import check_tree_hosts

            check_tree_hosts(source_dir, self.index_hosts)
        if self.registries is None:
            return
        from launchbuild.options import read_config_file

        table, where = read_config_file(source_dir)
        for name in _IMAGE_OPTIONS:
            self.check_image(table.get(name), f"{os.path.basename(where or 'launchbuild.toml')} {name}")

    def to_json(self) -> dict[str, Any]:
        return {"git_hosts": sorted(self.git_hosts) if self.git_hosts is not None else None,
                "registries": sorted(self.registries) if self.registries is not None else None,
                "index_hosts": sorted(self.index_hosts) if self.index_hosts is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "EgressPolicy":
        data = data or {}
        git, regs, index = data.get("git_hosts"), data.get("registries"), data.get("index_hosts")
        return cls(frozenset(git) if git is not None else None, frozenset(regs) if regs is not None else None,
                   frozenset(index) if index is not None else None)


def _entry(value: str, flag: str) -> str:
    text = value.strip()
    if not _HOST.match(text):
        raise BadInput(f"serve: {flag} {value[:100]!r} is not a host or host:port",
                       hint=f"e.g. {flag} github.com")
    host, port = _split(text)
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise BadInput(f"serve: {flag} {value[:100]!r} has a bad port", hint="a port is 1-65535")
    return host if port is None else f"{host}:{port}"


def refuse_git_redirects(environ: Any = os.environ) -> None:
    """With a git allow-list, git must not follow an allowed host's redirect elsewhere: every
    git the server (and its build runners) start reads this from the environment."""
    count = int(environ.get("GIT_CONFIG_COUNT") or 0)
    environ[f"GIT_CONFIG_KEY_{count}"] = "http.followRedirects"
    environ[f"GIT_CONFIG_VALUE_{count}"] = "false"
    environ["GIT_CONFIG_COUNT"] = str(count + 1)
