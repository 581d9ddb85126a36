"""Build progress events: written by the build workers (threads), streamed to any number of
SSE readers (the event loop). The store is the record, so a reader that comes late, or after
a restart, gets the whole history; the broker only wakes readers up."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, AsyncIterator

from launchbuild.service.store import FINAL, Store

KEEPALIVE_S = 15.0


class EventBroker:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def publish(self, build_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            seq = self._seq.get(build_id, len(self.store.events(build_id)))
            self._seq[build_id] = seq + 1
            self.store.add_event(build_id, seq, event)
        self._wake(build_id)

    def close(self, build_id: str) -> None:
        with self._lock:
            self._seq.pop(build_id, None)
        self._wake(build_id)

    def _wake(self, build_id: str) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return

        def wake() -> None:
            for fut in self._waiters.pop(build_id, set()):
                if not fut.done():
                    fut.set_result(None)

        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _register(self, build_id: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(build_id, set()).add(fut)
        return fut

    def _unregister(self, build_id: str, fut: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(build_id)
        if waiters is not None:
            waiters.discard(fut)

    async def stream(self, build_id: str) -> AsyncIterator[str]:
        """SSE frames: every event of the build in order, ending with `event: end` (the final
        status). Comments keep an idle connection open."""
        after = -1
        while True:
            # Registered before reading, so an event published in between still wakes us.
            fut = self._register(build_id)
            rows = self.store.events(build_id, after)
            if rows:
                self._unregister(build_id, fut)
                for seq, data in rows:
                    after = seq
                    yield frame(seq, data)
                    if data.get("type") == "end":
                        return
                continue
            record = self.store.get(build_id)
            if record is None or record.status in FINAL:
                self._unregister(build_id, fut)
                if record is not None:  # final without an end event: marked interrupted at start-up
                    yield frame(after + 1, {"type": "end", "status": record.status, "tag": record.tag})
                return
            try:
                await asyncio.wait_for(fut, KEEPALIVE_S)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"
            finally:
                self._unregister(build_id, fut)


def frame(seq: int, data: dict[str, Any]) -> str:
    return f"id: {seq}\nevent: {data.get('type', 'message')}\ndata: {json.dumps(data)}\n\n"
