"""The pure-Python ELF + fatbin parser and the range-read zip reader, on synthetic files."""

from __future__ import annotations

import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.refresh import archs, fatbin, wheelzip
import struct

from launchbuild.refresh.fatbin import FATBIN_MAGIC, KIND_CUBIN, KIND_PTX
from tests.helpers_refresh import cuda_so, elf_with_sections, fatbin_container, fatbin_entry, wheel_bytes


def fatbin_entry_container(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return struct.pack("<IHHQ", FATBIN_MAGIC, 1, 16, len(body)) + body

SMS = st.lists(st.sampled_from([35, 37, 50, 52, 60, 61, 70, 75, 80, 86, 89, 90, 100, 103, 110, 120, 121]), max_size=8)


def test_lists_cubins_and_ptx_of_every_container():
    blob = cuda_so(cubins=(80, 50, 90), ptx=(90,), containers=3)
    got = fatbin.shared_object_gpu_code(blob)
    assert got.cubins == (50, 80, 90) and got.ptx == (90,)


def test_shared_object_without_fatbin_is_none_and_garbage_is_not_an_elf():
    assert fatbin.shared_object_gpu_code(elf_with_sections({".text": b"\0" * 8})) is None
    with pytest.raises(fatbin.NotAnElf):
        fatbin.elf_sections(b"MZ" + b"\0" * 100)
    with pytest.raises(fatbin.NotAnElf):
        fatbin.elf_sections(b"\x7fELF" + bytes([1, 1]) + b"\0" * 80)  # 32-bit


def test_padding_between_containers_is_skipped():
    section = fatbin_container((70,)) + b"\0" * 24 + fatbin_container((80,), (80,))
    assert fatbin.parse_fatbin(section) == fatbin.FatbinContents((70, 80), (80,))


@settings(max_examples=150, deadline=None)
@given(cubins=SMS, ptx=SMS, cubins_a=SMS, ptx_a=SMS)
def test_parser_round_trips_any_arch_list(cubins, ptx, cubins_a, ptx_a):
    got = fatbin.shared_object_gpu_code(cuda_so(cubins, ptx, cubins_a=cubins_a, ptx_a=ptx_a))
    assert got == fatbin.FatbinContents(*(tuple(sorted(set(x))) for x in (cubins, ptx, cubins_a, ptx_a)))


def test_arch_specific_entries_are_read_apart_by_their_flag():
    # sglang-kernel 0.4.4 (aarch64), as measured: code=sm_90 has flags 0x8011, code=sm_100a and
    # code=sm_120a have 0x1108011 in 112-byte entry headers; FlashMLA's sm_90a has 0x100011.
    section = fatbin_container((90,)) + fatbin_container(cubins_a=(100, 120)) + \
        fatbin_entry_container(fatbin_entry(KIND_CUBIN, 90, flags=0x100011))
    got = fatbin.parse_fatbin(section)
    assert got == fatbin.FatbinContents((90,), (), (90, 100, 120), ())
    assert not got.empty and fatbin.FatbinContents((), (), (), (100,)).empty is False
    # bit 21 (family-specific, sm_100f) runs across the family: read as plain code
    assert fatbin.parse_fatbin(fatbin_entry_container(fatbin_entry(KIND_CUBIN, 100, flags=0x1208011))).cubins == (100,)
    # family PTX JITs only within its family: counted as exact, never as PTX for every later CC
    assert fatbin.parse_fatbin(fatbin_entry_container(fatbin_entry(KIND_PTX, 100, flags=0x1208011))) == \
        fatbin.FatbinContents((), (), (), (100,))


def test_a_short_entry_header_has_no_flags_and_reads_as_plain_code():
    entry = fatbin_entry(KIND_CUBIN, 90, header_size=40)
    assert fatbin.parse_fatbin(fatbin_entry_container(entry)) == fatbin.FatbinContents((90,), ())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_parser_never_crashes_on_arbitrary_bytes(blob):
    try:
        fatbin.shared_object_gpu_code(b"\x7fELF\x02\x01" + blob)
    except fatbin.NotAnElf:
        pass
    fatbin.parse_fatbin(blob)  # any bytes: a result, never an exception or a hang


def test_wheel_member_is_read_by_ranges_within_the_budget():
    so = cuda_so((80, 90), (90,))
    blob = wheel_bytes({"pkg/lib/libpkg_cuda.so": so, "pkg/lib/libcudart.so.12": cuda_so((50,)), "pkg/__init__.py": b""})
    src = wheelzip.BytesSource(blob)
    budget = wheelzip.Budget(len(blob) + len(so))
    members = wheelzip.central_directory(src, budget)
    member = next(m for m in members if m.name.endswith("libpkg_cuda.so"))
    assert wheelzip.read_member(src, budget, member, 10 * 2**20) == so
    assert budget.used <= len(blob) + len(so)


def test_measurement_skips_vendored_nvidia_libraries_and_finds_the_package_kernels():
    blob = wheel_bytes({
        "pkg/lib/libcudart-1234.so.12": cuda_so((50,)),  # NVIDIA's arch list, not the package's
        "pkg/lib/libpkg.so": elf_with_sections({".text": b"\0" * 64}),
        "pkg/lib/libpkg_cuda.so": cuda_so((75, 80, 90, 100, 120)),
    })
    m = archs.measure(wheelzip.BytesSource(blob), wheelzip.Budget(10 * 2**20))
    assert m.member == "pkg/lib/libpkg_cuda.so" and m.cubins == (75, 80, 90, 100, 120) and m.ptx == ()
    assert m.cuda_named == 1


def test_cpu_only_wheel_has_no_member_and_no_cuda_named_libraries():
    blob = wheel_bytes({"pkg/lib/libpkg_cpu.so": elf_with_sections({".text": b"\0" * 64})})
    m = archs.measure(wheelzip.BytesSource(blob), wheelzip.Budget(10 * 2**20))
    assert m.member is None and m.cuda_named == 0 and m.tried == ("pkg/lib/libpkg_cpu.so",)


def test_byte_budget_is_enforced():
    blob = wheel_bytes({"pkg/lib/libpkg_cuda.so": cuda_so((80,))})
    with pytest.raises(wheelzip.BudgetExceeded):
        archs.measure(wheelzip.BytesSource(blob), wheelzip.Budget(100))


def test_member_inflating_past_its_declared_size_is_refused():
    blob = wheel_bytes({"pkg/big.so": b"\0" * 100_000})
    src = wheelzip.BytesSource(blob)
    members = wheelzip.central_directory(src, wheelzip.Budget(10**7))
    with pytest.raises(wheelzip.BudgetExceeded):
        wheelzip.read_member(src, wheelzip.Budget(10**7), members[0], 1000)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_zip_reader_rejects_garbage_with_bad_zip(blob):
    try:
        wheelzip.central_directory(wheelzip.BytesSource(blob), wheelzip.Budget(10**6))
    except wheelzip.BadZip:
        pass


def test_zip_reader_agrees_with_zipfile(tmp_path):
    blob = wheel_bytes({f"pkg/m{i}.so": bytes([i]) * (i * 37) for i in range(1, 9)})
    ours = {m.name: m.size for m in wheelzip.central_directory(wheelzip.BytesSource(blob), wheelzip.Budget(10**6))}
    path = tmp_path / "w.whl"
    path.write_bytes(blob)
    with zipfile.ZipFile(path) as z:
        assert ours == {i.filename: i.file_size for i in z.infolist()}


def test_torch_arch_list_is_read_from_its_compiled_in_flags_not_a_magma_fatbin():
    python_so = elf_with_sections({".rodata": b"\0junk sm_9 x\0sm_70 sm_75 sm_80 sm_86 sm_90 sm_100 sm_120\0other\0"})
    blob = wheel_bytes({
        "torch/lib/libtorch_cuda_linalg.so": cuda_so((50, 60, 70, 80)),  # MAGMA's SMs, not torch's
        "torch/lib/libtorch_python.so": python_so,
    })
    m = archs.measure(wheelzip.BytesSource(blob), wheelzip.Budget(10 * 2**20), package="torch")
    assert m.method == "arch-flags" and m.member == "torch/lib/libtorch_python.so"
    assert m.cubins == (70, 75, 80, 86, 90, 100, 120) and m.ptx == ()


def test_arch_flags_with_ptx_and_a_cpu_build_without_flags():
    assert archs.arch_flags(b"\0sm_80 sm_90 compute_90\0") == ((80, 90), (90,), (), ())
    # `a` code runs on exactly its CC and is kept apart; `f` (family) code reads as plain code
    assert archs.arch_flags(b"\0sm_80 sm_90a sm_100a sm_100f compute_120a\0") == ((80, 100), (), (90, 100), (120,))
    assert archs.arch_flags(b"\0sm_100f compute_100f compute_90\0") == ((100,), (90,), (), (100,))
    assert archs.arch_flags(b"no flags here sm_80") is None
    blob = wheel_bytes({"torch/lib/libtorch_python.so": elf_with_sections({".rodata": b"cpu only"})})
    m = archs.measure(wheelzip.BytesSource(blob), wheelzip.Budget(10 * 2**20), package="torch")
    assert m.method == "fatbin" and m.member is None and m.cuda_named == 0  # falls back: CPU-only


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arch_flags_never_crashes(blob):
    got = archs.arch_flags(blob)
    assert got is None or isinstance(got[0], tuple)


def test_tensorflow_build_info_is_its_own_arch_list():
    text = "build_info = collections.OrderedDict([('cuda_compute_capabilities', ['sm_60', 'sm_70', 'sm_80', 'sm_89', 'compute_90']), ('is_cuda_build', True)])"
    assert archs.build_info(text) == ((60, 70, 80, 89), (90,), (), ())
    assert archs.build_info("build_info = collections.OrderedDict([('is_cuda_build', False)])") == ((), (), (), ())
    assert archs.build_info("[('cuda_compute_capabilities', ['sm_80', 'sm_90a', 'compute_90'])]") == ((80,), (90,), (90,), ())
    assert archs.build_info("nothing") is None
    blob = wheel_bytes({"tensorflow/python/platform/build_info.py": text.encode(),
                        "tensorflow/libtensorflow_framework.so.2": cuda_so((50,))})
    m = archs.measure(wheelzip.BytesSource(blob), wheelzip.Budget(10 * 2**20), package="tensorflow")
    assert m.method == "build-info" and m.cubins == (60, 70, 80, 89) and m.ptx == (90,)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_build_info_reader_never_crashes(text):
    got = archs.build_info(text)
    assert got is None or len(got) == 4
