"""Uncached checks in worker processes: the check pipeline is pure Python, and in one
process every check and the event loop share one GIL.

Measured (bench/bench_serve.py, 16 clients, result cache off, 2 cores): with checks on
threads the server used one core (its CPU time per second was ~1.0) while a third of the
machine stood idle, and each check cost more CPU at 16 clients than at 1 (GIL hand-offs
at the short switch interval). So `--max-concurrent-checks N` is N worker processes
here, each running the same `checks.run_check` on its own GIL; the event loop keeps HTTP,
the result cache and the request directories.

A worker is given the request (a frozen RequestBody), the archive bytes and the request's
directory, which the server made (0700) and removes before it answers, whatever happened to
the worker, with the image IDs the server's engine watch vouches for (service/factmemo.py). It
answers with an envelope, never a pickled exception: ("ok", text, verdict, image, seen),
("error", exit_code, kind, message), or ("bug", traceback) for the server's log; `seen` names
the images whose IDs the server should learn for the next request. A worker
that dies (OOM, a crash) breaks the pool; the server starts a new one, answers that request
500 and the next request gets the new pool. Workers ignore SIGINT (the server decides when
to stop) and get SIGTERM when the server dies, even by kill -9 (parent-death signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import signal
import tempfile
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from launchbuild.core.records import dataclass

log = logging.getLogger("launchbuild.serve")


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs that is not in the request: the operator's, fixed at start."""

    max_extract_bytes: int
    operator_flags: dict[str, Any]
    operator: Any  # operator.OperatorConfig
    egress: Any  # egress.EgressPolicy


_settings: WorkerSettings | None = None
_memo: Any = None


def _init_worker(settings: WorkerSettings, parent: int) -> None:
    global _settings, _memo
    _settings = settings
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)
    # Image facts by engine image ID, valid while the server's engine watch vouches for the ID.
    from launchbuild.service import factmemo

    _memo = factmemo.install()
    # The imports a check needs, now rather than in the first request.
    from launchbuild import api  # noqa: F401
    from launchbuild.report.formats import json as _json  # noqa: F401
    from launchbuild.resolver import api as _resolver  # noqa: F401


def _warm() -> int:
    return os.getpid()


def run_in_worker(req: Any, archive: bytes | None, archive_name: str | None, workdir: str,
                  known_ids: dict[str, str | None]) -> tuple[Any, ...]:
    """One check, in a worker process: the document's bytes, or an error envelope.
    `known_ids`: the server's engine watch now (image name -> ID), for the fact memo."""
    from launchbuild.errors import LaunchbuildError
    from launchbuild.service import checks
    from launchbuild.service.request import archive_suffix, refuse_operator_config

    settings = _settings
    assert settings is not None
    _memo.begin(known_ids)
    # Every temp file of this check (a clone, uv's inputs, ...) goes under the request's own
    # directory, which the server removes even when this worker is killed mid-check.
    saved = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = os.environ["TMPDIR"] = workdir
    try:
        work = Path(workdir)
        path = None
        if archive is not None:
            path = work / ("source" + archive_suffix(archive_name, archive[:8]))
            path.write_bytes(archive)

        def on_source(source_dir: Path) -> None:
            refuse_operator_config(source_dir)
            settings.egress.check_job_config(source_dir)

        document = checks.run_check(req, work, archive=path, max_extract_bytes=settings.max_extract_bytes,
                                    operator_flags=settings.operator_flags, config=settings.operator.snapshot,
                                    on_source=on_source, unalias=settings.operator.unalias)
    except LaunchbuildError as exc:
        return ("error", exc.exit_code, type(exc).__name__, str(exc))
    except Exception:  # noqa: BLE001 - a bug: the server logs it, the client gets a 500
        return ("bug", traceback.format_exc())
    finally:
        tempfile.tempdir = saved[0]
        if saved[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved[1]
    text = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    image = ((document.get("target") or {}).get("image") or {}).get("value")
    return ("ok", text, document["verdict"], image if isinstance(image, str) else None, tuple(_memo.seen))


class WorkerDied(Exception):
    pass


class CheckPool:
    def __init__(self, workers: int, settings: WorkerSettings) -> None:
        self.workers = workers
        self.settings = settings
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: a fresh interpreter, never a fork of a process with threads and an event loop.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(self.settings, os.getpid()))

    def warm(self) -> None:
        """Start every worker now (in the background): each submit on an idle pool starts one."""
        with self._lock:
            for _ in range(self.workers):
                self._pool.submit(_warm)

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is broken:
                log.error("a check worker process died; starting new ones")
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            return self._pool

    async def run(self, *args: Any) -> tuple[Any, ...]:
        pool = self._pool
        try:
            future = pool.submit(run_in_worker, *args)
        except BrokenProcessPool:  # it broke between requests: this one never reached it
            future = self._replace(pool).submit(run_in_worker, *args)
            pool = self._pool
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._replace(pool)
            raise WorkerDied() from None

    def shutdown(self) -> None:
        with self._lock:
            self._pool.shutdown(wait=True, cancel_futures=True)
