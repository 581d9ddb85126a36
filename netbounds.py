"""One overall deadline per network operation, on top of requests' per-read timeout.

A per-read timeout never fires against a server that answers one byte a second: every
read returns something. A `Deadline` arms a watchdog timer; when it fires, every socket
the operation opened is shut down, so a blocked read (headers or body, HTTP or TLS)
returns at once, and `expired` tells the caller that it was the deadline, not the server.

`deadline_session(deadline)` is a requests Session whose connections register their
sockets with the deadline. requests/urllib3 are imported only when a session is built.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from typing import Any

DEADLINE_ENV = "LAUNCHBUILD_NET_DEADLINE"  # operator-only: seconds for one network operation
DEFAULT_DEADLINE_S = 30.0
MIN_RATE_BYTES_S = 512 * 1024  # a blob's budget grows with its declared size at this rate


RESOLVE_DEADLINE_ENV = "LAUNCHBUILD_RESOLVE_DEADLINE"  # operator-only: seconds for one lock (uv / pip-compile)


def default_seconds(fallback: float = DEFAULT_DEADLINE_S, env: str = DEADLINE_ENV) -> float:
    """The operator's deadline from the environment; a bad value falls back (never fails a run)."""
    raw = os.environ.get(env, "").strip()
    try:
        value = float(raw) if raw else fallback
    except ValueError:
        return fallback
    return value if 0 < value < 86400 else fallback


class Deadline:
    """A re-armable watchdog over the sockets of one operation. Thread-safe."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = default_seconds() if seconds is None else seconds
        self.expired = False
        self._sockets: "weakref.WeakSet[socket.socket]" = weakref.WeakSet()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._end = 0.0

    def arm(self, seconds: float | None = None) -> "Deadline":
        """Start (or restart) the clock for the next operation: `seconds` from now."""
        budget = self.seconds if seconds is None else seconds
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self.expired = False
            self._end = time.monotonic() + budget
            self._timer = threading.Timer(budget, self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def remaining(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    def register(self, sock: Any) -> None:
        with self._lock:
            self._sockets.add(sock)
            late = self.expired
        if late:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def __enter__(self) -> "Deadline":
        return self.arm() if self._timer is None else self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


def _shutdown(sock: Any) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the TLS object stays intact for the
    # reading thread, which then sees EOF instead of a half-torn-down SSL state.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError, ValueError):
        pass


def blob_seconds(size: Any, base: float | None = None) -> float:
    """The budget for a download of `size` bytes: the base deadline plus size at MIN_RATE."""
    base = default_seconds() if base is None else base
    extra = size / MIN_RATE_BYTES_S if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0.0
    return base + min(extra, 6 * 3600.0)


def deadline_session(deadline: Deadline) -> Any:
    """A requests Session whose every connection is watched by `deadline`."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Watched(HTTPConnection):
        def connect(self) -> None:
            super().connect()
            deadline.register(self.sock)

    class WatchedTLS(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            deadline.register(self.sock)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Watched

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedTLS

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    session = requests.Session()
    session.mount("http://", Adapter())
    session.mount("https://", Adapter())
    return session
