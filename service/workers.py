"""Bounded build workers: a queue of at most `queue_size` waiting builds, `workers` runner
processes at a time, identical requests joined to one build, cancellation that leaves nothing.

Each build runs in its own child process (service/runner.py), so cancelling it, or the server
dying, stops it the way Ctrl-C stops the CLI's build."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from launchbuild.service.events import EventBroker
from launchbuild.service.store import ACTIVE, BuildRecord, Store

log = logging.getLogger("launchbuild.serve")


class QueueFull(Exception):
    pass


class ShuttingDown(Exception):
    pass


class BuildManager:
    def __init__(self, store: Store, broker: EventBroker, *, workers: int, queue_size: int, work_root: Path,
                 on_final: Callable[[str], None] = lambda status: None) -> None:
        self.store = store
        self.broker = broker
        self.workers = workers
        self.queue_size = queue_size
        self.work_root = work_root
        self.on_final = on_final
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._admitted: set[str] = set()  # queued or running here
        self._running: dict[str, subprocess.Popen[str]] = {}
        self._cancel_requested: set[str] = set()
        # The callers that asked for each active build (its submitter and those whose identical
        # request joined it): a cancel by one of them leaves it running for the others.
        self._holders: dict[str, set[str]] = {}
        self._accepting = True
        self._threads = [threading.Thread(target=self._work, name=f"build-worker-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    # --- admission -------------------------------------------------------------------------

    def depth(self) -> tuple[int, int]:
        """(queued, running)."""
        with self._lock:
            return len(self._admitted) - len(self._running), len(self._running)

    def admit(self, content_key: str, owner: str | None) -> tuple[BuildRecord, bool]:
        """The record for this content: a new one (True) or the active one it joins (False)."""
        with self._lock:
            if not self._accepting:
                raise ShuttingDown()
            build_id = uuid.uuid4().hex
            record, created = self.store.create_or_join(build_id, content_key, owner)
            if not created:
                self._holders.setdefault(record.id, set()).add(owner or "")
                return record, False
            if len(self._admitted) >= self.workers + self.queue_size:
                self.store.delete(build_id)
                raise QueueFull()
            self._admitted.add(build_id)
            self._holders[build_id] = {owner or ""}
        self.broker.publish(build_id, {"type": "status", "status": "queued"})
        return record, True

    def workdir(self, build_id: str) -> Path:
        return self.work_root / build_id

    def enqueue(self, build_id: str, job: dict[str, Any]) -> None:
        self._queue.put((build_id, job))

    def reject(self, build_id: str, error: dict[str, Any]) -> None:
        """An admitted build whose input turned out bad: failed, with the reason."""
        with self._lock:
            self._admitted.discard(build_id)
        self._final(build_id, "failed", error=error)
        shutil.rmtree(self.workdir(build_id), ignore_errors=True)

    # --- cancel ------------------------------------------------------------------------------

    def cancel(self, build_id: str, caller: str | None = None) -> str:
        """`caller` gives up its build: "cancelled" (asked to stop: no one else holds it),
        "detached" (callers whose identical requests joined it still do: it keeps running),
        "not-held" (this caller never asked for it), "inactive" (not queued or running here).
        Without a caller (the server's own shutdown) it is cancelled outright."""
        with self._lock:
            if build_id not in self._admitted:
                return "inactive"
            holders = self._holders.get(build_id, set())
            if caller is not None:
                if caller not in holders:
                    return "not-held"
                holders.discard(caller)
                if holders:
                    return "detached"
            self._cancel_requested.add(build_id)
            proc = self._running.get(build_id)
        if proc is None:
            if self.store.finish(build_id, "cancelled"):  # still queued: never starts
                with self._lock:
                    self._admitted.discard(build_id)
                self._announce(build_id, "cancelled")
        else:
            _terminate(proc)
        return "cancelled"

    # --- the workers -------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            build_id, job = item
            try:
                self._run_one(build_id, job)
            except Exception:  # never lose a worker; the record says what happened
                log.exception("build %s: worker error", build_id)
                self._final(build_id, "failed", error={"exit_code": 1, "message": "internal error in the build worker"})
            finally:
                with self._lock:
                    self._admitted.discard(build_id)
                    self._running.pop(build_id, None)
                    self._cancel_requested.discard(build_id)
                shutil.rmtree(self.workdir(build_id), ignore_errors=True)

    def _run_one(self, build_id: str, job: dict[str, Any]) -> None:
        with self._lock:
            if build_id in self._cancel_requested or not self._accepting:
                cancelled = True
            else:
                cancelled = False
        if cancelled or not self.store.set_running(build_id, None):
            self._final(build_id, "cancelled")
            return
        proc = subprocess.Popen(
            [sys.executable, "-m", "launchbuild.service.runner"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, start_new_session=True, cwd=str(self.workdir(build_id)),
        )
        with self._lock:
            self._running[build_id] = proc
            late_cancel = build_id in self._cancel_requested or not self._accepting
        self.store.set_running_pid(build_id, proc.pid)
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(json.dumps({**job, "parent_pid": os.getpid()}))
            proc.stdin.close()
        if late_cancel:
            _terminate(proc)
        result: dict[str, Any] | None = None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("type") == "result":
                result = event
            else:
                self.broker.publish(build_id, event)
        proc.wait()
        with self._lock:
            cancel = build_id in self._cancel_requested
        if result is None:
            status = "cancelled" if cancel else "failed"
            self._final(build_id, status, error=None if cancel else
                        {"exit_code": 1, "message": f"the build process ended without a result (exit {proc.returncode})"})
            return
        status = result["status"]
        if cancel and status == "succeeded" and result.get("tag"):
            _untag(result["tag"])  # the cancel came between tagging and the answer: nothing stays tagged
            status = "cancelled"
        self._final(build_id, status, tag=result.get("tag") if status == "succeeded" else None,
                    report=result.get("report"), error=result.get("error"))

    def _final(self, build_id: str, status: str, **fields: Any) -> None:
        if self.store.finish(build_id, status, **fields):
            self._announce(build_id, status)

    def _announce(self, build_id: str, status: str) -> None:
        with self._lock:
            self._holders.pop(build_id, None)  # ended: no one holds it any more
        record = self.store.get(build_id)
        self.broker.publish(build_id, {"type": "end", "status": status, "tag": record.tag if record else None})
        self.broker.close(build_id)
        self.on_final(status)

    # --- shutdown ----------------------------------------------------------------------------

    def cancel_all(self) -> None:
        """Stop accepting builds and cancel every queued and running one."""
        with self._lock:
            self._accepting = False
            active = list(self._admitted)
        log.info("shutting down: new builds are refused (503)")
        for build_id in active:
            self.cancel(build_id)

    def shutdown(self, grace_s: float) -> None:
        """Stop accepting, cancel what is queued and running, and wait up to `grace_s` for the
        runners to clean up (then kill them)."""
        with self._lock:
            self._accepting = False
            active = list(self._admitted)
        log.info("shutting down: new builds are refused (503)")
        for build_id in active:
            self.cancel(build_id)
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + grace_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            leftovers = list(self._running.values())
        for proc in leftovers:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)


def _terminate(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError):
        proc.send_signal(signal.SIGTERM)


def _untag(tag: str) -> None:
    with contextlib.suppress(Exception):
        from launchbuild.builder.engine import docker_client

        docker_client().images.remove(tag)


def recover(store: Store, work_root: Path, *, wait_s: float = 120.0) -> list[str]:
    """At start-up: builds a dead server left active are marked interrupted; their runners
    (which got SIGTERM when it died) are waited for, so no build client or probe container
    outlives the clean-up, and their directories are removed."""
    records = store.interrupted_at_start()
    for record in records:
        if record.runner_pid:
            _reap_runner(record.runner_pid, record.id, wait_s)
        shutil.rmtree(work_root / record.id, ignore_errors=True)
    if work_root.is_dir():
        for leftover in work_root.iterdir():  # a directory whose record never got written
            if store.get(leftover.name) is None or store.get(leftover.name).status not in ACTIVE:  # type: ignore[union-attr]
                shutil.rmtree(leftover, ignore_errors=True)
    return [r.id for r in records]


def _reap_runner(pid: int, build_id: str, wait_s: float) -> None:
    """Wait for the old runner of `build_id` to finish its clean-up; kill it past `wait_s`.
    The pid is trusted only while its working directory is that build's directory."""
    def ours() -> bool:
        try:
            return os.readlink(f"/proc/{pid}/cwd").rstrip("/").endswith(build_id)
        except OSError:
            return False

    if not ours():
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while ours() and time.monotonic() < deadline:
        time.sleep(0.2)
    if ours():
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
