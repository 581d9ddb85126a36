"""One build, in a child process of the server: `python -m launchbuild.service.runner`.

Reads its job from stdin (JSON), runs `launchbuild.api.build` and writes JSON lines to
stdout: progress events, then one `result`. A child process, so that a cancel (SIGTERM from
the server) and the server's own death (the kernel's parent-death signal, also SIGTERM)
take the same path as the CLI's Ctrl-C: the build client is stopped, probe containers are
removed, nothing is tagged, and the temp dirs go."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Iterator


def _die_with_parent(parent: int) -> None:
    """SIGTERM when the server dies, even by kill -9 (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before the prctl
        raise KeyboardInterrupt


class _Cancelled(KeyboardInterrupt):
    pass


def _on_sigterm(_signum: int, _frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up must not be interrupted
    raise _Cancelled()


def _emit(event: dict[str, Any]) -> None:
    try:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        raise _Cancelled() from None  # the server is gone


def _progress() -> Any:
    from launchbuild.progress import Progress

    class JsonProgress(Progress):
        @contextlib.contextmanager
        def phase(self, title: str) -> Iterator[None]:
            _emit({"type": "phase", "title": title})
            started = time.monotonic()
            yield
            _emit({"type": "phase_done", "title": title, "seconds": round(time.monotonic() - started, 3)})

        def log(self, line: str, status: str | None = None) -> None:
            _emit({"type": "log", "line": line[:2000], **({"step": status} if status else {})})

    return JsonProgress()


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    job = json.loads(sys.stdin.read())
    try:
        _die_with_parent(int(job["parent_pid"]))
        return _run(job)
    except KeyboardInterrupt:
        _emit_final({"type": "result", "status": "cancelled"})
        return 0


def _emit_final(event: dict[str, Any]) -> None:
    with contextlib.suppress(BaseException):
        _emit(event)


def _run(job: dict[str, Any]) -> int:
    from launchbuild import api
    from launchbuild.errors import LaunchbuildError
    from launchbuild.service.checks import map_strings, render_document
    from launchbuild.service.egress import EgressPolicy
    from launchbuild.service.request import Prepared, pipeline_request, refuse_operator_config

    prepared = Prepared(Path(job["workdir"]), job["job"], {})
    kwargs = dict(job["kwargs"])
    snapshot = kwargs.pop("config", None)
    egress = EgressPolicy.from_json(job.get("egress"))
    shown = job.get("operator_config_shown") or "operator config"

    def unalias(text: str) -> str:
        return text.replace(snapshot, shown) if snapshot and snapshot in text else text

    def on_source(source_dir: Path) -> None:
        refuse_operator_config(source_dir)
        egress.check_job_config(source_dir)

    _emit({"type": "status", "status": "running"})
    try:
        request = pipeline_request(prepared.job, kwargs, config=snapshot)
        report = api.build(request, progress=_progress(), on_source=on_source)
    except LaunchbuildError as exc:
        message = unalias(prepared.redact(str(exc)))
        tail = [prepared.redact(line) for line in getattr(exc, "log_tail", ())][-30:]
        _emit_final({"type": "result", "status": "failed",
                     "error": {"exit_code": exc.exit_code, "message": message, **({"log_tail": tail} if tail else {})}})
        return 0
    assert not isinstance(report, api.Manifests)  # no dry run here
    document = map_strings(render_document(report, prepared), unalias)
    build = report.build
    ok = build is not None and report.exit_code == 0 and not (build.verification and
                                                              not all(v.passed for v in build.verification))
    _emit_final({"type": "result", "status": "succeeded" if ok else "failed",
                 "tag": build.tag if ok and build is not None else None, "report": document})
    return 0


if __name__ == "__main__":
    sys.exit(main())
