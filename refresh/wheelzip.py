"""Read one member of a remote wheel with a few range reads: the zip central directory from
the end of the file, then the member's local header and data. Pure except for `RangeSource`.

No full download: a 900 MB torch wheel costs its central directory (~1 MB) plus one member.
"""

from __future__ import annotations

import struct
import zlib
from typing import Protocol

from launchbuild.core.records import dataclass

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_TAIL = 64 * 1024 + 22  # the EOCD comment is at most 64 KiB


class BadZip(ValueError):
    """The bytes are not the zip the reader expected (truncated, hostile, or not a zip)."""


class BudgetExceeded(RuntimeError):
    """Reading would pass the byte budget set for this refresh."""


class RangeSource(Protocol):
    def size(self) -> int: ...
    def read(self, start: int, length: int) -> bytes: ...


@dataclass
class Budget:
    limit: int
    used: int = 0

    def spend(self, n: int, what: str) -> None:
        if self.used + n > self.limit:
            raise BudgetExceeded(f"{what}: {n} bytes would pass the byte budget ({self.used}/{self.limit} used)")
        self.used += n


@dataclass(frozen=True)
class Member:
    """One member of a wheel's zip central directory: its name, compression and sizes, and where
    its local header starts."""

    name: str
    method: int  # 0 stored, 8 deflate
    compressed_size: int
    size: int
    header_offset: int


def _read(src: RangeSource, budget: Budget, start: int, length: int, what: str) -> bytes:
    budget.spend(length, what)
    data = src.read(start, length)
    if len(data) != length:
        raise BadZip(f"{what}: asked for {length} bytes at {start}, got {len(data)}")
    return data


def _zip64_extra(extra: bytes, sizes: list[int]) -> list[int]:
    """Replace 0xFFFFFFFF fields (uncompressed, compressed, offset, in that order) from the zip64 extra."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            body, k = extra[pos + 4:pos + 4 + length], 0
            for i, v in enumerate(sizes):
                if v == 0xFFFFFFFF and k + 8 <= len(body):
                    sizes[i], = struct.unpack_from("<Q", body, k)
                    k += 8
            break
        pos += 4 + length
    return sizes


def central_directory(src: RangeSource, budget: Budget) -> list[Member]:
    total = src.size()
    tail_len = min(total, _TAIL)
    tail = _read(src, budget, total - tail_len, tail_len, "zip end record")
    at = tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):
        raise BadZip("no end-of-central-directory record")
    _, _, _, _, count, cd_size, cd_offset, _ = struct.unpack_from("<IHHHHIIH", tail, at)
    loc = tail.rfind(_EOCD64_LOCATOR, 0, at)
    if loc >= 0 and (cd_offset == 0xFFFFFFFF or count == 0xFFFF or cd_size == 0xFFFFFFFF):
        eocd64_at, = struct.unpack_from("<Q", tail, loc + 8)
        rec = _read(src, budget, eocd64_at, 56, "zip64 end record")
        if rec[:4] != b"PK\x06\x06":
            raise BadZip("broken zip64 end record")
        count, = struct.unpack_from("<Q", rec, 32)
        cd_size, cd_offset = struct.unpack_from("<QQ", rec, 40)
    if cd_offset + cd_size > total:
        raise BadZip("central directory outside the file")
    tail_start = total - tail_len
    if cd_offset >= tail_start:  # small zips: the directory is already in the tail just read
        cd = tail[cd_offset - tail_start:cd_offset - tail_start + cd_size]
    else:
        cd = _read(src, budget, cd_offset, cd_size, "zip central directory")
    members: list[Member] = []
    pos = 0
    while pos + 46 <= len(cd) and len(members) < count:
        if cd[pos:pos + 4] != _CENTRAL:
            raise BadZip(f"bad central directory entry at {pos}")
        method, = struct.unpack_from("<H", cd, pos + 10)
        csize, usize = struct.unpack_from("<II", cd, pos + 20)
        nlen, elen, clen = struct.unpack_from("<HHH", cd, pos + 28)
        offset, = struct.unpack_from("<I", cd, pos + 42)
        name = cd[pos + 46:pos + 46 + nlen].decode("utf-8", "replace")
        extra = cd[pos + 46 + nlen:pos + 46 + nlen + elen]
        usize, csize, offset = _zip64_extra(extra, [usize, csize, offset])
        members.append(Member(name, method, csize, usize, offset))
        pos += 46 + nlen + elen + clen
    return members


def read_member(src: RangeSource, budget: Budget, member: Member, max_size: int) -> bytes:
    """The member's uncompressed bytes; refuses members larger than `max_size` uncompressed."""
    if member.size > max_size:
        raise BudgetExceeded(f"{member.name}: {member.size} bytes uncompressed is over the {max_size} limit")
    head = _read(src, budget, member.header_offset, 30, f"{member.name} local header")
    if head[:4] != _LOCAL:
        raise BadZip(f"{member.name}: no local header at {member.header_offset}")
    nlen, elen = struct.unpack_from("<HH", head, 26)
    raw = _read(src, budget, member.header_offset + 30 + nlen + elen, member.compressed_size, member.name)
    if member.method == 0:
        data = raw
    elif member.method == 8:
        inflater = zlib.decompressobj(-15)
        data = inflater.decompress(raw, max_size + 1)
        if len(data) > max_size:
            raise BudgetExceeded(f"{member.name}: inflates past {max_size} bytes")
    else:
        raise BadZip(f"{member.name}: unsupported compression method {member.method}")
    if len(data) != member.size:
        raise BadZip(f"{member.name}: {len(data)} bytes after inflating, the directory says {member.size}")
    return data


@dataclass(frozen=True)
class BytesSource:
    """A RangeSource over bytes in memory (tests, and fixtures)."""

    blob: bytes

    def size(self) -> int:
        return len(self.blob)

    def read(self, start: int, length: int) -> bytes:
        return self.blob[start:start + length]
