"""Request ids, structured JSON access logs and request metrics, as one ASGI middleware."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

access_log = logging.getLogger("launchbuild.access")
_FIXED = frozenset({"/openapi.json", "/docs", "/redoc"})  # framework routes, named by their path
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what a log pipeline can parse without guessing."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                               + f".{int(record.msecs):03d}Z", "level": record.levelname.lower(),
                               "logger": record.name, "msg": record.getMessage()}
        for key, value in record.__dict__.items():
            if key in ("request_id", "method", "path", "route", "status", "duration_ms", "client", "caller",
                       "build_id", "bytes"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(out, ensure_ascii=False)


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("launchbuild.access", "launchbuild.serve"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    uv = logging.getLogger("uvicorn.error")
    uv.handlers[:] = [handler]
    uv.propagate = False


class AccessLog:
    def __init__(self, app: Any, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GOOD_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = {"code": 500, "bytes": 0}

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or (scope["path"] if scope["path"] in _FIXED else "unmatched")
            self.metrics.observe_request(template, scope["method"], status["code"], seconds)
            client = scope.get("client")
            access_log.info("request", extra={
                "request_id": request_id, "method": scope["method"], "path": scope["path"], "route": template,
                "status": status["code"], "duration_ms": round(seconds * 1000, 2),
                "client": client[0] if client else None, "bytes": status["bytes"],
                "caller": (scope.get("state") or {}).get("caller"),
            })
