"""The local engine's image IDs, kept current by its event stream.

A cached check is valid while the base image it was checked against still has the same ID.
Asking the engine on every hit costs a round trip and the engine's own CPU; instead one
thread follows `GET /events` (image events only: tag, untag, delete, import, load, pull...)
and forgets every remembered ID on any of them. While that stream is not connected, nothing
is remembered and every lookup asks the engine, so a hit is never validated against a stale ID."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import quote

log = logging.getLogger("launchbuild.serve")


class ImageIds:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, str | None] = {}
        self._generation = 0
        self._watching = False
        self.events_seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="engine-image-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def remembered(self, ref: str) -> tuple[bool, str | None]:
        """(known, id) without any I/O: known only while the event stream is connected."""
        with self._lock:
            if self._watching and ref in self._ids:
                return True, self._ids[ref]
        return False, None

    def snapshot(self) -> dict[str, str | None]:
        """Every remembered ID, without I/O; empty while the event stream is not connected."""
        with self._lock:
            return dict(self._ids) if self._watching else {}

    def lookup(self, ref: str) -> str | None:
        known, image_id = self.remembered(ref)
        if known:
            return image_id
        with self._lock:
            generation = self._generation
        image_id = _ask_engine(ref)
        with self._lock:
            # An event that came while we asked may have made the answer old: keep it only if none did.
            if self._watching and generation == self._generation:
                self._ids[ref] = image_id
        return image_id

    @property
    def watching(self) -> bool:
        return self._watching

    def _forget(self, watching: bool) -> None:
        with self._lock:
            self._ids.clear()
            self._generation += 1
            self._watching = watching

    def _watch(self) -> None:
        from launchbuild.docker_socket import UnixConnection, socket_path

        path = socket_path()
        while not self._stop.is_set() and path:
            conn = UnixConnection(path, timeout=None)  # type: ignore[arg-type]
            try:
                filters = quote(json.dumps({"type": ["image"]}))
                conn.request("GET", f"/events?filters={filters}")
                response = conn.getresponse()
                if response.status != 200:
                    raise OSError(f"engine answered {response.status}")
                self._forget(watching=True)
                while not self._stop.is_set():
                    line = response.readline()
                    if not line:
                        raise OSError("the engine closed the event stream")
                    self._forget(watching=True)  # any image event: every remembered ID may be old
                    self.events_seen += 1
            except Exception as exc:  # noqa: BLE001 - any failure: stop trusting memory, retry
                self._forget(watching=False)
                log.info(f"engine image events unavailable ({exc.__class__.__name__}); checking IDs on each hit")
            finally:
                conn.close()
            self._stop.wait(5.0)  # reconnect later; lookups ask the engine meanwhile


def _ask_engine(ref: str) -> str | None:
    from launchbuild.docker_socket import shared

    sock = shared()
    found: Any = sock.image(ref) if sock is not None else None
    return found.get("Id") if isinstance(found, dict) else None
