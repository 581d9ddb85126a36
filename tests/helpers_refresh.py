"""Synthetic CUDA shared objects and wheels for the refresh tests: a minimal 64-bit ELF with a
`.nv_fatbin` section laid out as cuobjdump reads it (see launchbuild/refresh/fatbin.py)."""

from __future__ import annotations

import io
import struct
import zipfile

from launchbuild.refresh.fatbin import FATBIN_MAGIC, FLAG_ARCH_SPECIFIC, KIND_CUBIN, KIND_PTX


# The flags nvcc 12.x/13.x writes: 64-bit, Linux, compressed (0x8011); arch-specific adds bit 20.
PLAIN_FLAGS = 0x8011


def fatbin_entry(kind: int, arch: int, payload: bytes = b"\0" * 16, flags: int = PLAIN_FLAGS,
                 header_size: int = 64) -> bytes:
    head = struct.pack("<HHIQIIHHIIIQ", kind, 0x0101, header_size, len(payload), 0, 0, arch % 10, arch // 10, arch,
                       0, 0, flags)
    head += b"\0" * (header_size - len(head))
    return head + payload


def fatbin_container(cubins=(), ptx=(), cubins_a=(), ptx_a=()) -> bytes:
    specific = PLAIN_FLAGS | FLAG_ARCH_SPECIFIC
    entries = b"".join([*(fatbin_entry(KIND_CUBIN, a) for a in cubins), *(fatbin_entry(KIND_PTX, a) for a in ptx),
                        *(fatbin_entry(KIND_CUBIN, a, flags=specific, header_size=112) for a in cubins_a),
                        *(fatbin_entry(KIND_PTX, a, flags=specific, header_size=80) for a in ptx_a)])
    return struct.pack("<IHHQ", FATBIN_MAGIC, 1, 16, len(entries)) + entries


def elf_with_sections(sections: dict[str, bytes]) -> bytes:
    """A 64-bit little-endian ELF: header, section bodies, .shstrtab, section header table."""
    names = b"\0"
    name_off = {}
    for name in [*sections, ".shstrtab"]:
        name_off[name] = len(names)
        names += name.encode() + b"\0"
    body = bytearray(b"\0" * 64)
    placed = {}
    for name, data in [*sections.items(), (".shstrtab", names)]:
        while len(body) % 8:
            body += b"\0"
        placed[name] = (len(body), len(data))
        body += data
    while len(body) % 8:
        body += b"\0"
    shoff = len(body)
    shdrs = [b"\0" * 64]
    for name in [*sections, ".shstrtab"]:
        off, size = placed[name]
        shdrs.append(struct.pack("<IIQQQQIIQQ", name_off[name], 1, 0, 0, off, size, 0, 0, 1, 0))
    body += b"".join(shdrs)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header = ident + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(shdrs), len(shdrs) - 1)
    body[:64] = header
    return bytes(body)


def cuda_so(cubins=(), ptx=(), containers: int = 1, cubins_a=(), ptx_a=()) -> bytes:
    fat = b"".join(fatbin_container(cubins, ptx, cubins_a, ptx_a) for _ in range(containers))
    return elf_with_sections({".text": b"\x90" * 32, ".nv_fatbin": fat})


def wheel_bytes(members: dict[str, bytes], metadata: str = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr("demo-1.0.dist-info/METADATA", metadata)
    return buf.getvalue()
