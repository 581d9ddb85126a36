"""Reading a request body without ever holding more than the upload limit.

The limit is checked against Content-Length before anything is read, and again on every
chunk while streaming (a chunked upload has no length): past it the request is 413 and the
partial file is removed with its request's directory. A multipart body's `source` part is
spooled (in memory up to SPOOL_BYTES, then an unlinked temp file no other request can open)
and written into the request's own directory only when a check or build needs it: a cached
check never touches the disk. Its `request` part stays in memory (capped at MAX_REQUEST_PART)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

MAX_REQUEST_PART = 1024 * 1024
SPOOL_BYTES = 1024 * 1024
# How long a body may stop arriving. A client that sends its headers and then nothing (or a
# byte now and then) would otherwise hold its place in the check queue, and the upload's
# memory, for as long as it keeps the connection open: a few such clients fill the queue and
# every other check is 429.
BODY_IDLE_TIMEOUT_S = 30.0


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request is larger than this server's upload limit of {limit} bytes")
        self.limit = limit


class BodyTimeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the request body stopped arriving: nothing came for {seconds:g} s")
        self.seconds = seconds


async def stream_with_timeout(request: Any, idle_timeout: float | None = None):
    """`request.stream()`, but a wait of more than `idle_timeout` seconds for the next chunk
    raises BodyTimeout."""
    import anyio

    seconds = BODY_IDLE_TIMEOUT_S if idle_timeout is None else idle_timeout
    stream = request.stream().__aiter__()
    while True:
        with anyio.move_on_after(seconds) as scope:
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                return
        if scope.cancelled_caught:
            raise BodyTimeout(seconds)
        yield chunk


@dataclass(frozen=True)
class Body:
    """A request as read within the upload limit: the JSON `request` part in memory, and the
    `source` archive spooled (None without one)."""

    request: bytes
    archive: Any  # a SpooledTemporaryFile, or None
    archive_sha256: str | None
    archive_filename: str | None

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()

    def archive_on_disk(self) -> bool:
        """Spooled past SPOOL_BYTES into its temp file: reading it back is disk I/O."""
        return self.archive is not None and bool(getattr(self.archive, "_rolled", True))


def content_length_over(headers: Any, limit: int) -> bool:
    value = headers.get("content-length")
    return value is not None and value.strip().isdigit() and int(value) > limit


async def _chunks(request: Any, limit: int):
    seen = 0
    async for chunk in stream_with_timeout(request):
        seen += len(chunk)
        if seen > limit:
            raise TooLarge(limit)
        if chunk:
            yield chunk


async def read_body(request: Any, *, limit: int) -> Body:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        data = bytearray()
        async for chunk in _chunks(request, limit):
            data += chunk
        return Body(bytes(data), None, None, None)
    if media == "multipart/form-data":
        return await _multipart(request, content_type, limit)
    raise BadInput(f"request: unsupported Content-Type {media[:60] or 'none'!r}",
                   hint="send application/json, or multipart/form-data with parts 'request' and 'source'")


async def _multipart(request: Any, content_type: str, limit: int) -> Body:
    import tempfile

    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadInput("request: multipart body without a boundary", hint="let your HTTP client build the multipart body")
    state: dict[str, Any] = {"parts": {}, "name": None, "filename": None, "header": b"", "headers": {}, "file": None}
    digest = hashlib.sha256()
    archive = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["headers"][state["header"].lower()] = state["headers"].get(state["header"].lower(), b"") + data[start:end]

    def on_header_end() -> None:
        state["header"] = b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        if name not in ("request", "source"):
            raise BadInput(f"request: unknown multipart part {name[:40]!r}", hint="send parts 'request' and 'source'")
        if name in state["parts"]:
            raise BadInput(f"request: multipart part {name!r} appears twice")
        state["name"] = name
        state["parts"][name] = bytearray() if name == "request" else None
        if name == "source":
            filename = disp.get(b"filename")
            state["filename"] = filename.decode("utf-8", "replace") if filename else None
            state["file"] = archive

    def on_part_data(data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if state["name"] == "request":
            buf = state["parts"]["request"]
            if len(buf) + len(piece) > MAX_REQUEST_PART:
                raise BadInput(f"request: the 'request' part is larger than {MAX_REQUEST_PART} bytes")
            buf += piece
        else:
            state["file"].write(piece)
            digest.update(piece)

    def on_part_end() -> None:
        state["file"] = None
        state["name"], state["headers"] = None, {}

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        async for chunk in _chunks(request, limit):
            parser.write(chunk)
        parser.finalize()
    except BaseException as exc:
        archive.close()
        if isinstance(exc, (BadInput, TooLarge, BodyTimeout)) or not isinstance(exc, Exception):
            raise
        # the parser's own errors: a malformed body
        raise BadInput(f"request: malformed multipart body ({exc.__class__.__name__})",
                       hint="let your HTTP client build the multipart body") from None
    if "request" not in state["parts"]:
        archive.close()
        raise BadInput("request: the multipart body has no 'request' part", hint="add a part 'request' with the JSON")
    if "source" not in state["parts"]:
        archive.close()
        return Body(bytes(state["parts"]["request"]), None, None, None)
    if archive.tell() == 0:
        archive.close()
        raise BadInput("request: the 'source' part is empty", hint="upload a .tar.gz, .tar or .zip of the code")
    return Body(bytes(state["parts"]["request"]), archive, digest.hexdigest(), state["filename"])


def save_archive(body: Body, directory: Path) -> Path | None:
    """The upload as a file in `directory`, named with the suffix extract_archive dispatches on."""
    import shutil

    from launchbuild.service.request import archive_suffix

    if body.archive is None:
        return None
    body.archive.seek(0)
    head = body.archive.read(8)
    body.archive.seek(0)
    target = directory / ("source" + archive_suffix(body.archive_filename, head))
    with target.open("wb") as out:
        shutil.copyfileobj(body.archive, out, 1024 * 1024)
    return target
