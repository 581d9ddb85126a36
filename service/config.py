"""The server's own settings: the operator's flags. Nothing here comes from a request."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import field
from pathlib import Path
from typing import Any, Mapping

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

DEFAULT_PORT = 8642


@dataclass(frozen=True)
class ServeConfig:
    """`launchbuild serve`'s settings, from the operator's flags (the SERVE_OPTIONS rows);
    nothing here comes from a request."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token_file: Path | None = None
    insecure_no_auth: bool = False
    state_dir: Path = Path(".launchbuild-serve")
    max_concurrent_checks: int = 2
    max_concurrent_builds: int = 1
    check_queue_size: int = 64
    build_queue_size: int = 16
    max_upload_bytes: int = 64 * 1024 * 1024
    max_extract_bytes: int = 1024**3
    check_cache_ttl_s: float = 300.0
    shutdown_grace_s: float = 20.0
    push_prefix: str | None = None
    # Operator options (launchbuild.toml names) applied to every request: engine, uid, ca-bundle...
    operator_options: Mapping[str, Any] = field(default_factory=dict)
    address_file: Path | None = None
    operator_config: Path | None = None  # --config; None: the CLI's default location, if that file exists
    allow_git_hosts: tuple[str, ...] = ()  # empty: any host (docs/service.md)
    allow_registries: tuple[str, ...] = ()
    allow_index_hosts: tuple[str, ...] = ()  # empty: any host, or the operator config's allow-index-host

    def validate(self) -> None:
        # The flags reach the socket, the event loop and the queues as they are: a port past
        # 65535 or an infinite grace was an internal error, a blank --host ("$HOST" unset)
        # listened on every interface.
        if not self.host.strip():
            raise BadInput("serve: --host is empty (it would listen on every interface)",
                           hint="give --host 127.0.0.1, or the address to listen on")
        if not 0 <= self.port <= 65535:
            raise BadInput(f"serve: --port {self.port} is not a TCP port", hint="use 0-65535 (0 picks a free one)")
        for name in ("check_cache_ttl_s", "shutdown_grace_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                flag = "--" + name.removesuffix("_s").replace("_", "-")
                raise BadInput(f"serve: {flag} {value} is not a number of seconds", hint="give 0 or more seconds")
        if self.token_file is None and not self.insecure_no_auth:
            raise BadInput("serve: no --token-file given, so every request would be refused",
                           hint="pass --token-file FILE (one name:token per line), or --insecure-no-auth on loopback")
        if self.insecure_no_auth and not is_loopback(self.host):
            raise BadInput(f"serve: --insecure-no-auth binds only to loopback, not {self.host}",
                           hint="use --host 127.0.0.1, or give --token-file")
        for name in ("max_concurrent_checks", "max_concurrent_builds"):
            if getattr(self, name) < 1:
                raise BadInput(f"serve: --{name.replace('_', '-')} must be at least 1")
        for name in ("check_queue_size", "build_queue_size", "max_upload_bytes"):
            if getattr(self, name) < 0:
                raise BadInput(f"serve: --{name.replace('_', '-')} must not be negative")
        from launchbuild.service.egress import EgressPolicy

        EgressPolicy.from_flags(self.allow_git_hosts, self.allow_registries)  # a bad entry: exit 2 at start
        from launchbuild.resolver.index_hosts import allowed_hosts

        allowed_hosts(self.allow_index_hosts, "serve: --allow-index-host")
        if self.push_prefix is not None and not self.push_prefix.strip("/"):
            raise BadInput("serve: --push-prefix is empty", hint="e.g. --push-prefix 127.0.0.1:5000/team")
        if self.push_prefix is not None:
            from launchbuild.builder.tags import validate_repository

            try:  # every push goes under it: a prefix no repository can have refuses every build later
                validate_repository(self.push_prefix.rstrip("/"))
            except BadInput as exc:
                raise BadInput(f"serve: --push-prefix: {exc.message}", hint="e.g. --push-prefix 127.0.0.1:5000/team") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
