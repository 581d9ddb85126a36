"""The network edge of the refresh: live HTTP (requests, imported lazily), or recorded fixtures.

Fixture mode maps each URL to a file under the fixture directory (`fixture_name(url)`), so tests
and `--fixtures DIR` need no network. Range reads are served as slices of the fixture file.
`--record DIR` saves every whole-body response the live fetcher gets, to grow the fixtures.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import field
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import InfraUnavailable

USER_AGENT = "launchbuild-data-refresh"


def fixture_name(url: str) -> str:
    """A readable, collision-free file name for a URL."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", url.split("://", 1)[-1])[-80:]
    return f"{stem}.{hashlib.sha256(url.encode()).hexdigest()[:10]}"


class Fetcher:
    def get(self, url: str, accept: str | None = None) -> bytes:
        raise NotImplementedError

    def size(self, url: str) -> int:
        raise NotImplementedError

    def read(self, url: str, start: int, length: int) -> bytes:
        raise NotImplementedError


class MissingFixture(InfraUnavailable):
    """A recording that --fixtures DIR lacks. Inside the pipeline it stands for an answer that
    did not come, as the network's would (a full refresh keeps that source's tables; pypi falls
    back to reading by ranges); at the command's edge it is the user's DIR that lacks a file:
    bad input (exit 2), never an unreachable host (run_refresh turns it into BadInput)."""


@dataclass
class FixtureFetcher(Fetcher):
    root: Path

    def _path(self, url: str) -> Path:
        path = self.root / fixture_name(url)
        if not path.is_file():
            raise MissingFixture(f"--fixtures {self.root}: no recorded response for {url} (expected {path.name}); "
                                 "record it with --record DIR")
        return path

    def get(self, url: str, accept: str | None = None) -> bytes:
        return self._path(url).read_bytes()

    def size(self, url: str) -> int:
        return self._path(url).stat().st_size

    def read(self, url: str, start: int, length: int) -> bytes:
        with self._path(url).open("rb") as fh:
            fh.seek(start)
            return fh.read(length)


@dataclass
class LiveFetcher(Fetcher):
    record: Path | None = None
    timeout: float = 60.0
    _session: object = field(default=None, repr=False)

    def _s(self):
        if self._session is None:
            import requests  # the refresh only: never on the check path

            self._session = requests.Session()
            self._session.headers["User-Agent"] = USER_AGENT
        return self._session

    def _call(self, method: str, url: str, **kw):
        import requests

        try:
            r = self._s().request(method, url, timeout=self.timeout, allow_redirects=True, **kw)
        except requests.RequestException as exc:
            raise InfraUnavailable(f"cannot reach {url}: {type(exc).__name__}; check the network or use --fixtures DIR") from None
        if r.status_code >= 400:
            raise InfraUnavailable(f"{url} answered HTTP {r.status_code}; retry later or use --fixtures DIR")
        return r

    def get(self, url: str, accept: str | None = None) -> bytes:
        r = self._call("GET", url, headers={"Accept": accept} if accept else {})
        if self.record is not None:
            self.record.mkdir(parents=True, exist_ok=True)
            (self.record / fixture_name(url)).write_bytes(r.content)
        return r.content

    def size(self, url: str) -> int:
        r = self._call("HEAD", url)
        try:
            return int(r.headers["Content-Length"])
        except (KeyError, ValueError):
            raise InfraUnavailable(f"{url} gives no Content-Length; cannot read it by ranges") from None

    def read(self, url: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        r = self._call("GET", url, headers={"Range": f"bytes={start}-{start + length - 1}"})
        if r.status_code != 206:
            raise InfraUnavailable(f"{url} ignored the range request (HTTP {r.status_code}); refusing a full download")
        return r.content


@dataclass(frozen=True)
class UrlRange:
    """A wheelzip.RangeSource over one URL of a Fetcher."""

    fetcher: Fetcher
    url: str

    def size(self) -> int:
        return self.fetcher.size(self.url)

    def read(self, start: int, length: int) -> bytes:
        return self.fetcher.read(self.url, start, length)
