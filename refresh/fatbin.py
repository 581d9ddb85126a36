"""List the GPU code in a CUDA shared object: its ELF `.nv_fatbin` section, parsed. Pure.

A fatbin section holds one or more containers (magic 0xBA55ED50), each a list of entries:
kind 1 = PTX (JIT-compiled by the driver for any CC >= its arch), kind 2 = an ELF cubin for
exactly one SM. Layout (as cuobjdump reads it; little-endian):
  container: u32 magic, u16 version, u16 header_size, u64 entries_size
  entry:     u16 kind, u16 version, u32 header_size, u64 payload_size, u32 compressed_size,
             u32 _, u16 minor, u16 major, u32 arch, u32 name_offset, u32 name_size, u64 flags, ...
The next entry starts at entry + header_size + payload_size. Payloads are never decompressed:
only the headers are needed to say which SMs are covered.

Architecture-specific code (`sm_90a`, `sm_100a`: `-gencode arch=compute_100a,code=sm_100a`) runs
on exactly that compute capability, never on a later minor of its major (sm_100a code does not
load on sm_103), so it is listed apart. Its entries carry flag bit 20 (FLAG_ARCH_SPECIFIC). This is
measured, not documented by NVIDIA: in sglang-kernel 0.4.4's aarch64 wheel, whose build names
`code=sm_90` and `code=sm_100a ... sm_121a` and whose entries cuobjdump 13.0 lists as `sm_90`
and `sm_100a` ... `sm_121a`, every one of the 56 sm_90 entries has the bit clear and every
`a` entry has it set; FlashMLA's sm_90a-only kernels have it set too. The cubin's own ELF
e_flags do not carry the distinction under the CUDA 13 ABI, so the fatbin header is read.
Family-specific cubins (`sm_100f`, bit 21; vllm's FlashMLA) run across their family like plain
code of that SM. Family PTX JITs only within its family, so it is listed with the exact PTX:
that claims less than it can do, never more.
"""

from __future__ import annotations

import struct

from launchbuild.core.records import dataclass

FATBIN_MAGIC = 0xBA55ED50
KIND_PTX = 1
KIND_CUBIN = 2
FLAG_ARCH_SPECIFIC = 1 << 20
FLAG_FAMILY_SPECIFIC = 1 << 21
_FLAGS_AT = 40  # offset of the u64 flags in an entry header
_ELF_MAGIC = b"\x7fELF"


class NotAnElf(ValueError):
    """The bytes are not a 64-bit little-endian ELF file, or its section table is broken."""


@dataclass(frozen=True)
class FatbinContents:
    """The GPU code a fatbin section carries: the SMs of its cubins and the archs of its PTX."""

    cubins: tuple[int, ...]  # SM numbers, sorted, unique: (50, 60, 70, 80, 90)
    ptx: tuple[int, ...]  # PTX virtual archs, sorted, unique
    cubins_a: tuple[int, ...] = ()  # architecture-specific cubins (sm_90a): exactly that CC
    ptx_a: tuple[int, ...] = ()  # architecture-specific PTX (compute_90a): JIT on exactly that CC

    @property
    def empty(self) -> bool:
        return not (self.cubins or self.ptx or self.cubins_a or self.ptx_a)


def elf_sections(blob: bytes) -> dict[str, tuple[int, int]]:
    """Section name -> (file offset, size) for a 64-bit little-endian ELF."""
    if len(blob) < 64 or blob[:4] != _ELF_MAGIC:
        raise NotAnElf("no ELF magic")
    if blob[4] != 2 or blob[5] != 1:
        raise NotAnElf("not a 64-bit little-endian ELF")
    shoff, = struct.unpack_from("<Q", blob, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3A)
    if shnum == 0:
        return {}
    if shentsize < 64 or shoff + shnum * shentsize > len(blob) or shstrndx >= shnum:
        raise NotAnElf("section header table outside the file")
    headers = []
    for i in range(shnum):
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", blob, shoff + i * shentsize)
        headers.append((name, offset, size))
    _, str_off, str_size = headers[shstrndx]
    if str_off + str_size > len(blob):
        raise NotAnElf("section names outside the file")
    names = blob[str_off:str_off + str_size]
    out: dict[str, tuple[int, int]] = {}
    for name_off, offset, size in headers:
        end = names.find(b"\0", name_off)
        if name_off >= len(names) or end < 0:
            continue
        out.setdefault(names[name_off:end].decode("ascii", "replace"), (offset, size))
    return out


def parse_fatbin(section: bytes) -> FatbinContents:
    """The SMs of every cubin and PTX entry in a `.nv_fatbin` section (all containers)."""
    found: dict[tuple[int, bool], set[int]] = {(k, a): set() for k in (KIND_CUBIN, KIND_PTX) for a in (False, True)}
    pos = 0
    while pos + 16 <= len(section):
        magic, _version, header_size, entries_size = struct.unpack_from("<IHHQ", section, pos)
        if magic != FATBIN_MAGIC:
            pos += 8  # containers are 8-byte aligned; skip padding between them
            continue
        entry = pos + header_size
        end = min(len(section), entry + entries_size)
        while entry + 32 <= end:
            kind, _v, eh_size, payload = struct.unpack_from("<HHIQ", section, entry)
            arch, = struct.unpack_from("<I", section, entry + 28)
            if eh_size < 32:
                break  # a corrupt entry: stop this container rather than loop forever
            flags = struct.unpack_from("<Q", section, entry + _FLAGS_AT)[0] \
                if eh_size >= _FLAGS_AT + 8 and entry + _FLAGS_AT + 8 <= len(section) else 0
            exact = FLAG_ARCH_SPECIFIC | (FLAG_FAMILY_SPECIFIC if kind == KIND_PTX else 0)
            if kind in (KIND_CUBIN, KIND_PTX):
                found[(kind, bool(flags & exact))].add(arch)
            entry += eh_size + payload
        pos = max(pos + 8, pos + header_size + entries_size)
    return FatbinContents(*(tuple(sorted(found[key])) for key in
                            ((KIND_CUBIN, False), (KIND_PTX, False), (KIND_CUBIN, True), (KIND_PTX, True))))


def shared_object_gpu_code(blob: bytes) -> FatbinContents | None:
    """The fatbin contents of an ELF shared object, or None when it has no `.nv_fatbin`."""
    sections = elf_sections(blob)
    where = sections.get(".nv_fatbin")
    if where is None:
        return None
    offset, size = where
    if offset + size > len(blob):
        raise NotAnElf(".nv_fatbin outside the file")
    return parse_fatbin(blob[offset:offset + size])
