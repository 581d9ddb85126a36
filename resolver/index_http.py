"""One JSON document from a package index, bounded: what the facts step (index.py) and the
prefetch while the lock is made (index_prewarm.py) both read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

TIMEOUT_S = 10
MAX_INDEX_DOC = 32 * 1024 * 1024  # a release's JSON document; a project's full history is larger on PyPI


def get_json(session: requests.Session, url: str) -> dict | None:
    """The JSON object at `url`, read to at most MAX_INDEX_DOC bytes; None for anything else.
    The session's deadline (netbounds) bounds the whole request, body included."""
    resp = session.get(url, timeout=TIMEOUT_S, stream=True)
    try:
        if resp.status_code != 200:
            return None
        body = bytearray()
        for chunk in resp.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_INDEX_DOC:
                return None
        data = json.loads(bytes(body))
    except (ValueError, RecursionError):
        return None
    finally:
        resp.close()
    return data if isinstance(data, dict) else None
