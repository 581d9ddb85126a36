"""The HTTP routes (FastAPI). Wiring only: parsing is request.py/upload.py, checks are
checks.py, builds workers.py, records store.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from launchbuild.core.version import __version__
from launchbuild.errors import BadInput, InfraUnavailable, LaunchbuildError
from launchbuild.service import checks as checks_mod
from launchbuild.service.access import AccessLog
from launchbuild.service.auth import authenticate
from launchbuild.service.checkpool import CheckPool, WorkerDied, WorkerSettings
from launchbuild.service import operator as operator_mod
from launchbuild.service.config import ServeConfig
from launchbuild.service.egress import EgressPolicy, refuse_git_redirects
from launchbuild.service.engine_watch import ImageIds
from launchbuild.service.events import EventBroker
from launchbuild.service.metrics import Metrics
from launchbuild.service.request import (RequestBody, parse_body, parse_request, prepare, redact_error,
                                         refuse_operator_config, async_request_dir)
from launchbuild.service.store import Store
from launchbuild.service.upload import (Body, BodyTimeout, TooLarge, content_length_over, read_body, save_archive,
                                        stream_with_timeout)
from launchbuild.service.workers import BuildManager, QueueFull, ShuttingDown

log = logging.getLogger("launchbuild.serve")
RETRY_AFTER_S = 2
# Test hook, read once at start (never from a request): "rules" makes GET /v1/rules raise, so
# the generic 500 answer is exercised against a real server.
FAULT_ENV = "LAUNCHBUILD_SERVE_TEST_FAULT"
DRAIN_BYTES = 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, exit_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.exit_code, self.message, self.headers = status, exit_code, message, headers or {}


def error_body(exit_code: int, message: str) -> dict[str, Any]:
    """One line, as the CLI's errors: a library's multi-line reason is folded into it."""
    one_line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    return {"error": {"exit_code": exit_code, "message": one_line}}


def _from_launchbuild(exc: LaunchbuildError) -> ApiError:
    if isinstance(exc, BadInput):
        return ApiError(400, exc.exit_code, str(exc))
    if isinstance(exc, InfraUnavailable):
        return ApiError(503, exc.exit_code, str(exc))
    return ApiError(500, exc.exit_code, str(exc))


class CheckGate:
    """At most `workers` checks run; at most `queue_size` wait; past that, 429."""

    def __init__(self, workers: int, queue_size: int) -> None:
        self.limiter = anyio.CapacityLimiter(workers)
        self.capacity = workers + queue_size
        self.pending = 0

    def depth(self) -> int:
        return max(0, self.pending - int(self.limiter.borrowed_tokens))


def _archive_bytes(body: Body) -> bytes:
    body.archive.seek(0)
    return body.archive.read()


def _rules_document() -> bytes:
    from launchbuild import api
    from launchbuild.report.tables import rules_json

    return rules_json(api.rules()).encode()


def _operator_and_egress(config: ServeConfig, state_dir: Path, operator_values: tuple[dict[str, Any], str]
                         ) -> tuple[dict[str, Any], operator_mod.OperatorConfig, EgressPolicy]:
    operator_flags = dict(config.operator_options)
    if config.allow_index_hosts:  # enforced by the resolver of every check and build, before it connects
        operator_flags["allow-index-host"] = list(config.allow_index_hosts)
    operator = operator_mod.load(config.operator_config, state_dir, read_values=operator_values)
    # The package-host list every request's resolver applies (flag > LAUNCHBUILD_* > operator
    # config, as for the CLI), read now: a bad entry is exit 2 at start, never per request.
    from launchbuild.options import resolve_options

    index_hosts = resolve_options(operator_flags, operator_config=operator.snapshot).values["allow-index-host"]
    egress = EgressPolicy.from_flags(config.allow_git_hosts, config.allow_registries, index_hosts.value or (),
                                     index_hosts.describe().replace(str(operator.snapshot), operator.shown))
    return operator_flags, operator, egress


def create_app(config: ServeConfig, tokens: dict[str, bytes] | None, *, on_ready: Any = None) -> FastAPI:
    state_dir = config.state_dir
    # The operator config is read and validated before anything is created: a bad --config is
    # exit 2 with no state directory left behind.
    operator_values = operator_mod.read(config.operator_config)
    created = not state_dir.exists()
    store = Store(state_dir)
    try:
        operator_flags, operator, egress = _operator_and_egress(config, state_dir, operator_values)
    except BaseException:
        # A value only the snapshot can be checked with (its allow-index-host): leave nothing.
        store.close()
        if created:
            shutil.rmtree(state_dir, ignore_errors=True)
        raise
    from launchbuild.service.workers import recover

    work_root = state_dir / "work"
    interrupted = recover(store, work_root)
    work_root.mkdir(parents=True, exist_ok=True)
    metrics = Metrics()
    broker = EventBroker(store)
    builds = BuildManager(store, broker, workers=config.max_concurrent_builds, queue_size=config.build_queue_size,
                          work_root=work_root, on_final=metrics.build_done)
    gate = CheckGate(config.max_concurrent_checks, config.check_queue_size)
    image_ids = ImageIds()
    cache = checks_mod.CheckCache(config.check_cache_ttl_s, image_ids)
    if egress.git_hosts is not None:
        refuse_git_redirects()
    # After refuse_git_redirects: the workers' environment is the server's as it is now.
    check_pool = CheckPool(config.max_concurrent_checks, WorkerSettings(
        config.max_extract_bytes, operator_flags, operator, egress))
    # What the operator set, as the cache and dedupe keys see it: flags and the config snapshot.
    operator_key = {**operator_flags, "\0operator-config": operator.digest}
    fault = os.environ.get(FAULT_ENV)

    def on_source(source_dir: Path) -> None:
        refuse_operator_config(source_dir)
        egress.check_job_config(source_dir)
    rules = _rules_document()
    metrics.gauges.update({
        "launchbuild_check_queue_depth": lambda: gate.depth(),
        "launchbuild_checks_in_flight": lambda: int(gate.limiter.borrowed_tokens),
        "launchbuild_build_queue_depth": lambda: builds.depth()[0],
        "launchbuild_builds_running": lambda: builds.depth()[1],
        "launchbuild_engine_image_events_seen": lambda: image_ids.events_seen,
        "launchbuild_engine_image_events_connected": lambda: int(image_ids.watching),
    })

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        broker.loop = asyncio.get_running_loop()
        image_ids.start()  # the result cache's and the check workers' fact memo's freshness
        check_pool.warm()
        for build_id in interrupted:
            log.info("build marked interrupted at start-up", extra={"build_id": build_id})
        if on_ready is not None:
            on_ready()
        yield
        image_ids.stop()
        await anyio.to_thread.run_sync(builds.shutdown, config.shutdown_grace_s)
        await anyio.to_thread.run_sync(check_pool.shutdown)
        store.close()

    app = FastAPI(title="launchbuild", version=__version__, lifespan=lifespan,
                  description="Pre-flight checks and image builds for GPU training jobs, as a service.")
    app.state.builds = builds
    app.add_middleware(AccessLog, metrics=metrics)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.exit_code, exc.message), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(2, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(2, "request: invalid parameters"), status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id", "?")
        log.error("unexpected error", exc_info=exc, extra={"request_id": request_id})
        return JSONResponse(error_body(1, f"internal error; the server log has request id {request_id}"),
                            status_code=500)

    async def caller(request: Request) -> str:  # async: a sync dependency costs a thread hop per request
        if tokens is None:
            return "anonymous"
        name = authenticate(request.headers.get("authorization"), tokens)
        if name is None:
            raise ApiError(401, 2, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        request.state.caller = name
        return name

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics_route() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/rules")
    async def rules_route(_: str = Depends(caller)) -> Response:
        if fault == "rules":
            raise RuntimeError(f"fault injected by {FAULT_ENV}")
        return Response(rules, media_type="application/json")

    async def read_request(request: Request, kind: str) -> tuple[RequestBody, Body]:
        """The validated request and its body (whose spooled archive the caller closes)."""
        try:
            body = await read_body(request, limit=config.max_upload_bytes)
        except TooLarge:
            raise await too_large(request) from None
        except BodyTimeout as exc:
            raise ApiError(408, 2, str(exc), {"Connection": "close"}) from None
        except BadInput as exc:
            raise ApiError(400, exc.exit_code, str(exc)) from None
        try:
            data = parse_body(body.request)
            req = parse_request(data, kind=kind, has_archive=body.archive is not None, push_prefix=config.push_prefix)
            egress.check_request(req)
        except BadInput as exc:
            body.close()
            raise ApiError(400, exc.exit_code, str(exc)) from None
        return req, body

    async def too_large(request: Request) -> ApiError:
        """413. A body a little past the limit is read to its end first (bounded by DRAIN_BYTES),
        so the client, still sending, reads the answer instead of a connection reset; past
        that, the connection is closed at once."""
        declared = request.headers.get("content-length", "")
        drained = 0
        if not declared.isdigit() or int(declared) <= config.max_upload_bytes + DRAIN_BYTES:
            with contextlib.suppress(Exception):  # BodyTimeout included: a stalled client gets its 413 now
                async for chunk in stream_with_timeout(request):
                    drained += len(chunk)
                    if drained > config.max_upload_bytes + DRAIN_BYTES:
                        break
        return ApiError(413, 2, f"the request is larger than this server's upload limit of "
                                f"{config.max_upload_bytes} bytes", {"Connection": "close"})

    async def refuse_too_large(request: Request) -> None:
        if content_length_over(request.headers, config.max_upload_bytes):
            raise await too_large(request)

    async def checked(req: RequestBody, body: Body) -> tuple[bytes, str, str | None]:
        """The real path, in a check worker process: the request's own directory (made and
        removed here, whatever happens to the worker)."""
        archive = None
        if body.archive is not None:
            archive = await anyio.to_thread.run_sync(_archive_bytes, body) if body.archive_on_disk() else _archive_bytes(body)
        async with async_request_dir() as workdir:
            async with gate.limiter:
                try:
                    answer = await check_pool.run(req, archive, body.archive_filename, str(workdir),
                                                  image_ids.snapshot())
                except WorkerDied:
                    raise RuntimeError("a check worker process died during this check") from None
        if answer[0] == "ok":
            for name, _image_id in answer[4]:  # learnt once per name until the next image event
                if not image_ids.remembered(name)[0]:
                    await anyio.to_thread.run_sync(image_ids.lookup, name)
            return answer[1], answer[2], answer[3]
        if answer[0] == "error":
            _, exit_code, _kind, message = answer
            raise ApiError({2: 400, 3: 503}.get(exit_code, 500), exit_code, message)
        raise RuntimeError("check worker: " + answer[1])

    @app.post("/v1/checks", summary="Pre-flight check a job; answers the schema-v1 report")
    async def create_check(request: Request, _: str = Depends(caller)) -> Response:
        await refuse_too_large(request)
        if gate.pending >= gate.capacity:
            raise ApiError(429, 3, "the check queue is full; retry later", {"Retry-After": str(RETRY_AFTER_S)})
        gate.pending += 1
        try:
            req, body = await read_request(request, "check")
            try:
                key = cache.key(req, body.archive_sha256, operator_key)
                hit = cache.get_fresh(key)  # answered on the loop: no I/O while the engine watch holds
                if hit is None and cache.holds(key):
                    hit = await anyio.to_thread.run_sync(cache.get, key)  # asks the engine
                if hit is None:
                    text, verdict, image = await checked(req, body)
                    if key is not None and image is not None and image_ids.remembered(image)[0]:
                        cache.put(key, text, verdict, image)  # no I/O: the watch knows the image's ID
                    elif key is not None and image is not None:  # (no image: nothing to validate a hit by)
                        await anyio.to_thread.run_sync(cache.put, key, text, verdict, image)
                    was_hit = False
                else:
                    (text, verdict), was_hit = hit, True
            finally:
                body.close()
        finally:
            gate.pending -= 1
        metrics.check_done(verdict)
        return Response(text, media_type="application/json",
                        headers={"X-Launchbuild-Cache": "hit" if was_hit else "miss"})

    @app.post("/v1/builds", status_code=202, summary="Queue a build; identical active requests share one id")
    async def create_build(request: Request, who: str = Depends(caller)) -> JSONResponse:
        await refuse_too_large(request)
        req, body = await read_request(request, "build")
        try:
            key = req.content_key(body.archive_sha256) + ":" + json.dumps(operator_key, sort_keys=True, default=str)
            try:
                record, created = builds.admit(key, who)
            except QueueFull:
                raise ApiError(429, 3, "the build queue is full; retry later",
                               {"Retry-After": str(RETRY_AFTER_S * 5)}) from None
            except ShuttingDown:
                raise ApiError(503, 3, "the server is shutting down", {"Retry-After": str(RETRY_AFTER_S)}) from None
            if not created:
                return JSONResponse({"id": record.id, "status": record.status}, status_code=202)
            workdir = builds.workdir(record.id)

            def lay_out() -> dict[str, Any]:
                workdir.mkdir()
                archive = save_archive(body, workdir)
                prepared = prepare(req, workdir, archive=archive, max_extract_bytes=config.max_extract_bytes)
                code = workdir / "job" / "code"
                if code.is_dir():  # an upload's own config: refused now (400), not when the build starts
                    on_source(code)
                    if req.subdir and (code / req.subdir).is_dir() and ".." not in Path(req.subdir).parts:
                        on_source(code / req.subdir)
                kwargs: dict[str, Any] = {k: (str(v) if isinstance(v, Path) else v) for k, v in prepared.kwargs.items()
                                          if k != "on_source"}
                kwargs["flags"] = {**operator_flags, **kwargs["flags"],
                                   **({"push": req.push} if req.push else {})}
                kwargs["extras"] = list(kwargs.get("extras") or ())
                kwargs["config"] = str(operator.snapshot)
                return {"workdir": str(workdir), "job": prepared.job, "kwargs": kwargs, "egress": egress.to_json(),
                        "operator_config_shown": operator.shown}

            try:
                job = await anyio.to_thread.run_sync(lay_out)
            except LaunchbuildError as exc:
                redact_error(exc, workdir)
                err = _from_launchbuild(exc)
                builds.reject(record.id, {"exit_code": err.exit_code, "message": err.message})
                raise err from None
        finally:
            body.close()
        builds.enqueue(record.id, job)
        return JSONResponse({"id": record.id, "status": "queued"}, status_code=202)

    def record_or_404(build_id: str) -> Any:
        record = store.get(build_id)
        if record is None:
            raise ApiError(404, 2, f"no build {build_id[:80]!r}")
        return record

    @app.get("/v1/builds/{build_id}")
    async def get_build(build_id: str, _: str = Depends(caller)) -> dict[str, Any]:
        return record_or_404(build_id).public()

    @app.get("/v1/builds/{build_id}/events", summary="Server-sent progress events, ending with the final status")
    async def build_events(build_id: str, _: str = Depends(caller)) -> StreamingResponse:
        record_or_404(build_id)
        return StreamingResponse(broker.stream(build_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.delete("/v1/builds/{build_id}", summary="Cancel a build; nothing is tagged")
    async def cancel_build(build_id: str, who: str = Depends(caller)) -> dict[str, Any]:
        record = record_or_404(build_id)
        outcome = builds.cancel(build_id, who) if record.status in ("queued", "running") else "inactive"
        if outcome == "inactive":
            raise ApiError(409, 2, f"build {build_id} is already {record.status}; there is nothing to cancel")
        if outcome == "not-held":
            # Builds are shared by content, not by caller: only those who asked for it may stop it.
            raise ApiError(403, 2, f"build {build_id} was not requested by {who!r}; only its requesters can cancel it")
        if outcome == "detached":
            # Identical requests of other callers joined it: it keeps running for them.
            return {**record_or_404(build_id).public(), "held_by_others": True}
        deadline = time.monotonic() + config.shutdown_grace_s + 60
        async for _frame in broker.stream(build_id):  # until the runner has cleaned up
            if time.monotonic() > deadline:
                break
        return record_or_404(build_id).public()

    return app
