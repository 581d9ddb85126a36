"""Build records in SQLite under --state-dir. They outlive the process: on start-up a build
that was queued or running when the last server died is marked `interrupted`."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

ACTIVE = ("queued", "running")
FINAL = ("succeeded", "failed", "cancelled", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS builds (
    id TEXT PRIMARY KEY,
    content_key TEXT NOT NULL,
    status TEXT NOT NULL,
    tag TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    report TEXT,
    error TEXT,
    owner TEXT,
    runner_pid INTEGER
);
CREATE INDEX IF NOT EXISTS builds_content ON builds (content_key, status);
CREATE TABLE IF NOT EXISTS events (
    build_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (build_id, seq)
);
"""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class BuildRecord:
    """One build as the builds table stores it; `public()` is what the API shows of it."""

    id: str
    content_key: str
    status: str
    tag: str | None
    created_at: str
    finished_at: str | None
    report: dict[str, Any] | None
    error: dict[str, Any] | None
    owner: str | None
    runner_pid: int | None

    def public(self) -> dict[str, Any]:
        out = {"id": self.id, "status": self.status, "tag": self.tag, "created_at": self.created_at,
               "finished_at": self.finished_at, "report": self.report}
        if self.error is not None:
            out["error"] = self.error
        return out


class Store:
    def __init__(self, state_dir: Path) -> None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self.path = state_dir / "launchbuild-serve.sqlite3"
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise BadInput(f"--state-dir {state_dir}: cannot hold the build database ({exc})",
                           hint="pass a writable directory") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _row(self, row: tuple | None) -> BuildRecord | None:
        if row is None:
            return None
        (id_, key, status, tag, created, finished, report, error, owner, pid) = row
        return BuildRecord(id_, key, status, tag, created, finished, json.loads(report) if report else None,
                           json.loads(error) if error else None, owner, pid)

    _COLUMNS = "id, content_key, status, tag, created_at, finished_at, report, error, owner, runner_pid"

    def get(self, build_id: str) -> BuildRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {self._COLUMNS} FROM builds WHERE id = ?", (build_id,)).fetchone()
        return self._row(row)

    def create_or_join(self, build_id: str, content_key: str, owner: str | None) -> tuple[BuildRecord, bool]:
        """A new queued record, or the queued/running one with the same content (created=False)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    f"SELECT {self._COLUMNS} FROM builds WHERE content_key = ? AND status IN ('queued', 'running') "
                    "ORDER BY created_at LIMIT 1", (content_key,)).fetchone()
                if row is None:
                    self._db.execute("INSERT INTO builds (id, content_key, status, created_at, owner) VALUES (?, ?, ?, ?, ?)",
                                     (build_id, content_key, "queued", now(), owner))
                    row = self._db.execute(f"SELECT {self._COLUMNS} FROM builds WHERE id = ?", (build_id,)).fetchone()
                    created = True
                else:
                    created = False
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        record = self._row(row)
        assert record is not None
        return record, created

    def delete(self, build_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM builds WHERE id = ?", (build_id,))
            self._db.execute("DELETE FROM events WHERE build_id = ?", (build_id,))

    def set_running(self, build_id: str, pid: int | None) -> bool:
        with self._lock:
            cur = self._db.execute("UPDATE builds SET status = 'running', runner_pid = ? WHERE id = ? AND status = 'queued'",
                                   (pid, build_id))
        return cur.rowcount == 1

    def set_running_pid(self, build_id: str, pid: int) -> None:
        with self._lock:
            self._db.execute("UPDATE builds SET runner_pid = ? WHERE id = ? AND status = 'running'", (pid, build_id))

    def finish(self, build_id: str, status: str, *, tag: str | None = None, report: dict | None = None,
               error: dict | None = None) -> bool:
        """Final status, once: a record already final stays as it is."""
        assert status in FINAL
        with self._lock:
            cur = self._db.execute(
                "UPDATE builds SET status = ?, tag = ?, report = ?, error = ?, finished_at = ?, runner_pid = NULL "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (status, tag, json.dumps(report) if report is not None else None,
                 json.dumps(error) if error is not None else None, now(), build_id))
        return cur.rowcount == 1

    def add_event(self, build_id: str, seq: int, data: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO events (build_id, seq, data) VALUES (?, ?, ?)",
                             (build_id, seq, json.dumps(data)))

    def events(self, build_id: str, after: int = -1) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, data FROM events WHERE build_id = ? AND seq > ? ORDER BY seq",
                                    (build_id, after)).fetchall()
        return [(seq, json.loads(data)) for seq, data in rows]

    def interrupted_at_start(self) -> list[BuildRecord]:
        """Records a dead server left queued or running: marked interrupted, returned for clean-up."""
        with self._lock:
            rows = self._db.execute(f"SELECT {self._COLUMNS} FROM builds WHERE status IN ('queued', 'running')").fetchall()
        records = [r for r in map(self._row, rows) if r is not None]
        for r in records:
            self.finish(r.id, "interrupted", error={"exit_code": 1, "message": "the server stopped during this build; "
                                                    "nothing was tagged"})
        return records

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM builds GROUP BY status").fetchall()
        return dict(rows)

