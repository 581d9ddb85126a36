"""Run the app on uvicorn: bind (port 0 picks a free one), announce the address, serve until
SIGTERM/SIGINT, then stop accepting, cancel builds, wait out in-flight requests (bounded)
and exit 0."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from launchbuild.errors import BadInput
from launchbuild.service.config import ServeConfig

log = logging.getLogger("launchbuild.serve")
SWITCH_INTERVAL_S = 0.0005  # measured: one check worker at 16 clients, 88/s at 5 ms, 162/s at 0.5 ms


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BadInput(f"serve: cannot listen on {host}:{port} ({exc.strerror})",
                       hint="pick another --port, or --port 0 for a free one") from None
    # Accepted connections inherit it: a response's headers and body go out at once instead of
    # waiting 40 ms on the client's delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def _write_address(path: Path, host: str, port: int) -> None:
    """The address, atomically (a reader never sees half of it); the temp file never stays."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps({"host": host, "port": port, "url": f"http://{host}:{port}", "pid": os.getpid()}))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_address_file(path: Path) -> None:
    """Refuse an --address-file that cannot be written before the server binds: it is written
    only once the server is up, where a failure was a traceback in the log and exit 3."""
    try:
        if path.is_dir():
            raise OSError(21, "Is a directory")
        # Only its temp file, made and removed: a reader waits for the address file itself.
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("")
        tmp.unlink()
    except OSError as exc:
        raise BadInput(f"serve: --address-file {path}: cannot be written ({exc.strerror or exc})",
                       hint="pass a file path in a writable directory") from None


def run(config: ServeConfig) -> int:
    import uvicorn

    from launchbuild.service.access import configure_logging
    from launchbuild.service.app import create_app
    from launchbuild.service.auth import load_tokens

    config.validate()
    # The event loop and the check workers share the GIL. At the default 5 ms switch interval,
    # a loop thread woken by a socket waits for a worker's whole slice
    # (a convoy); short slices let it answer and hand requests on promptly.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    tokens = load_tokens(config.token_file) if config.token_file is not None else None
    if config.address_file is not None:
        check_address_file(config.address_file)
    configure_logging()
    sock = _bind(config.host, config.port)
    host, port = sock.getsockname()[:2]

    def ready() -> None:
        if config.address_file is not None:
            try:
                _write_address(config.address_file, host, port)
            except OSError as exc:  # it was writable a moment ago: say so, and keep serving
                log.error(f"cannot write --address-file {config.address_file}: {exc.strerror or exc}")
        log.info(f"listening on http://{host}:{port}" + (" (no auth: loopback only)" if tokens is None else ""))

    app = create_app(config, tokens, on_ready=ready)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):  # type: ignore[no-untyped-def]
            # Stop taking builds and cancel the running ones first, so their event streams end
            # and the connection drain below is bounded by the builds' clean-up.
            # In a thread: a signal handler must not take locks the interrupted code may hold.
            threading.Thread(target=app.state.builds.cancel_all, name="cancel-builds", daemon=True).start()
            super().handle_exit(sig, frame)

    server = Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                                   timeout_graceful_shutdown=int(max(1, config.shutdown_grace_s)),
                                   timeout_keep_alive=5, http="h11", loop="asyncio"))
    # uvicorn re-raises the signal it stopped on once it is done; with a no-op handler in
    # place that ends here, and the exit status is ours: 0.
    previous = {s: signal.signal(s, lambda *_: None) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if not server.started:
        print("launchbuild serve: the server did not start", file=sys.stderr)
        return 3
    return 0
