"""The index's JSON API, opened while the resolver's subprocess runs.

A new lock is followed by the facts of every release not cached yet (`index.package_facts`):
on a one-package change, one GET. Before it can be sent, the process imports requests and
urllib3 (~0.1 s) and opens a TLS connection (~0.1 s), on the path of every dependency change
that makes a new lock. uv spends its own 0.3-0.5 s mostly waiting on the index, so both are
done meanwhile, in a thread: `IndexPrewarm.start(base)` before the compile, `take()` after it
(the session and the deadline that watches its sockets), `close()` when no fetch follows.
Measured in-process on ten one-package changes here: the facts step 0.26 s -> 0.20 s on
average (this network's mirror adds a 404 and a project document per release; see
index.PROJECT_ONLY_MARK for the 404).

The warm-up is best effort and never a fact: its one request is a HEAD whose answer is
ignored; a refused HEAD still hands over the session (the imports were the costly part), a
warm-up still under way after the lock is given up on, and the fetch then opens its own.
"""

from __future__ import annotations

import threading
from typing import Any

from launchbuild.netbounds import Deadline, deadline_session

WARM_UP_S = 10.0  # the warm-up's own budget: a slow index never holds the resolver up longer


class IndexPrewarm:
    def __init__(self, base: str, prefetch: tuple[str, ...] = ()) -> None:
        self.base = base.rstrip("/")
        self.deadline = Deadline(WARM_UP_S)
        self.prefetch = prefetch
        # URL -> the JSON document that came for it; read only after take() (the thread is done).
        self.documents: dict[str, dict] = {}
        self._session: Any = None
        self._lock = threading.Lock()
        self._abandoned = False
        self._thread = threading.Thread(target=self._open, name="launchbuild-index-prewarm", daemon=True)

    @classmethod
    def start(cls, base: str | None, prefetch: tuple[str, ...] = ()) -> "IndexPrewarm | None":
        """`prefetch`: URLs of index documents the facts step will read (index.prefetch_urls)."""
        if base is None:
            return None
        warm = cls(base, prefetch)
        warm._thread.start()
        return warm

    def _open(self) -> None:
        session = None
        try:
            with self.deadline:
                session = deadline_session(self.deadline)
                if self.prefetch:
                    self._fetch_documents(session)
                else:
                    session.head(f"{self.base}/", timeout=WARM_UP_S, allow_redirects=False).close()
        except Exception:
            pass  # nothing learnt from it; the fetch connects on its own
        with self._lock:
            if self._abandoned and session is not None:
                session.close()
            else:
                self._session = session

    def _fetch_documents(self, session: Any) -> None:
        """The documents, concurrently on the one session (as the facts step does). Only a
        document that came is kept: an error or a 404 is asked again after the lock."""
        from concurrent.futures import ThreadPoolExecutor

        from launchbuild.resolver.index_http import get_json

        def get(url: str) -> tuple[str, dict | None]:
            try:
                return url, get_json(session, url)
            except Exception:  # noqa: BLE001 - best effort: the facts step asks again
                return url, None

        with ThreadPoolExecutor(max_workers=len(self.prefetch)) as pool:
            for url, doc in pool.map(get, self.prefetch):
                if doc is not None:
                    self.documents[url] = doc

    def take(self, wait_s: float = 2.0) -> tuple[Deadline, Any] | None:
        """The opened session and its deadline (re-arm it for the fetch), or None: a warm-up
        still under way `wait_s` after the lock is given up on (the fetch connects itself)."""
        with self._lock:
            if self._abandoned:
                return None  # taken or closed before: never waited for twice
        self._thread.join(wait_s)
        with self._lock:
            self._abandoned = True  # handed over (or given up on): the thread keeps nothing
            session, self._session = self._session, None
        return (self.deadline, session) if session is not None else None

    def close(self) -> None:
        """No fetch follows: drop the session, now or when the thread is done with it."""
        with self._lock:
            self._abandoned = True
            session, self._session = self._session, None
        if session is not None:
            session.close()
        self.deadline.cancel()
