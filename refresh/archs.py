"""GPU architectures measured from a wheel's own binaries.

Read the wheel's zip directory by ranges, then try its CUDA shared objects from the smallest
up (vendored NVIDIA libraries excluded: their arch lists are NVIDIA's, not the framework's)
until one carries a `.nv_fatbin`; its cubin SMs and PTX archs are the measurement. Bounded by
a byte budget; results are keyed by the wheel's sha256, so a wheel is measured once.
"""

from __future__ import annotations

import re

from launchbuild.core.records import dataclass
from launchbuild.refresh import fatbin, wheelzip

# Libraries NVIDIA builds (bundled into old torch wheels, or pulled from nvidia-* wheels).
_VENDORED = re.compile(
    r"(?:^|/)lib(?:cudart|cublas|cublasLt|cudnn\w*|nvrtc\w*|cufft\w*|curand|cusparse\w*|cusolver\w*|"
    r"nccl|nvToolsExt|nvJitLink|cupti|nvshmem\w*|cufile\w*|gomp|nvperf\w*|caffe2_nvrtc)\b"
)
_SHARED_OBJECT = re.compile(r"\.so(?:\.[0-9]+)*$")
# torch compiles TORCH_CUDA_ARCH_LIST into libtorch_python.so as CUDA_ARCH_FLAGS, the string
# torch.cuda.get_arch_list() returns ("sm_70 sm_75 ... sm_120"). It is the release's own list;
# a fatbin of one library is not: libtorch_cuda_linalg also carries MAGMA's kernels, built for
# other SMs (sm_35, sm_50 and sm_60 in releases whose list stops at sm_70).
ARCH_FLAGS_MEMBERS = {"torch": "torch/lib/libtorch_python.so"}
_ARCH_FLAGS = re.compile(rb"(?<![\w])((?:sm|compute)_\d{2,3}[af]?(?: (?:sm|compute)_\d{2,3}[af]?)+)(?![\w])")
# TensorFlow wheels describe their own build: tensorflow/python/platform/build_info.py lists
# cuda_compute_capabilities (['sm_60', ..., 'compute_90']) and is_cuda_build.
BUILD_INFO_MEMBERS = {"tensorflow": "tensorflow/python/platform/build_info.py"}
_TF_CAPS = re.compile(r"""['"]cuda_compute_capabilities['"]\s*,\s*\[([^\]]*)\]""")
_TF_IS_CUDA = re.compile(r"""['"]is_cuda_build['"]\s*,\s*(True|False)""")
SELF_DESCRIBED = {**ARCH_FLAGS_MEMBERS, **BUILD_INFO_MEMBERS}
# sm_90a is the first architecture-specific target (CUDA 12.0): a reading with no SM from 90 up
# cannot have folded an `a` into plain code.
FIRST_ARCH_SPECIFIC = 90
MAX_MEMBER = 512 * 1024 * 1024  # uncompressed; torch's smaller CUDA libraries are well under
MAX_TRIES = 6


@dataclass(frozen=True)
class Measurement:
    """The GPU code measured in one wheel, which member it came from, and what the reading tried
    and cost; it becomes a row of data/wheel_archs.json or of the on-demand cache."""

    member: str | None  # the member whose fatbin was read; None: no CUDA code found
    cubins: tuple[int, ...]
    ptx: tuple[int, ...]
    tried: tuple[str, ...]
    bytes_read: int
    cuda_named: int = 0  # shared objects named like CUDA code (libtorch_cuda*, *_cuda.so): 0 on CPU-only wheels
    method: str = "fatbin"  # "fatbin": the .nv_fatbin of `member`; "arch-flags"/"build-info": the list the wheel states
    versions: tuple[tuple[str, str], ...] = ()  # build-info: ('cuda_version', '12.5.1'), ('cudnn_version', '9')
    cubins_a: tuple[int, ...] = ()  # architecture-specific cubins (sm_100a): they run on exactly that CC
    ptx_a: tuple[int, ...] = ()  # architecture-specific PTX (compute_100a)


def row_fields(m: Measurement) -> dict:
    """The measurement's part of a wheel_archs row: the refresh's table and the on-demand cache."""
    return {"member": m.member, "cubins": list(m.cubins), "ptx": list(m.ptx), "cubins_a": list(m.cubins_a),
            "ptx_a": list(m.ptx_a), "cuda_named": m.cuda_named, "method": m.method}


def folded_nothing(row: dict) -> bool:
    """Whether a row read before `a` code was listed apart (no cubins_a) is still right: it has
    no SM from FIRST_ARCH_SPECIFIC up, so its reader had no `a` to fold into plain code."""
    return max(row["cubins"] + row["ptx"], default=0) < FIRST_ARCH_SPECIFIC


Lists = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def _split(words: list[tuple[str, str, str]]) -> Lists:
    """(cubins, ptx, cubins_a, ptx_a) from ("sm" | "compute", digits, "" | "a" | "f") words.
    A family cubin (sm_100f) runs across its family like a plain one. Family PTX (compute_100f)
    JITs only within its family, not on every later CC as plain PTX does: it is counted with the
    exact ones, which claims less than it can do and never more."""
    def pick(kind: str, specific: bool) -> tuple[int, ...]:
        exact = ("a",) if kind == "sm" else ("a", "f")
        return tuple(sorted({int(n) for k, n, suffix in words if k == kind and (suffix in exact) == specific}))
    return pick("sm", False), pick("compute", False), pick("sm", True), pick("compute", True)


_WORD = r"(sm|compute)_(\d{2,3})([af]?)"
_WORD_RE = re.compile(_WORD)


def build_info(text: str) -> Lists | None:
    """(cubins, ptx, cubins_a, ptx_a) from TensorFlow's build_info.py; all empty for a CPU build;
    None if absent."""
    is_cuda = _TF_IS_CUDA.search(text)
    if is_cuda is not None and is_cuda.group(1) == "False":
        return (), (), (), ()
    caps = _TF_CAPS.search(text)
    if caps is None:
        return None
    return _split(re.findall(_WORD + r"\b", caps.group(1)))


_TF_VERSIONS = re.compile(r"""['"](cuda_version|cudnn_version)['"]\s*,\s*['"]([0-9.]+)['"]""")


def build_versions(text: str) -> tuple[tuple[str, str], ...]:
    """The CUDA and cuDNN versions TensorFlow's build_info.py says the wheel was built with."""
    return tuple(sorted(dict(_TF_VERSIONS.findall(text)).items()))


def arch_flags(blob: bytes) -> Lists | None:
    """(cubins, ptx, cubins_a, ptx_a) from the longest CUDA_ARCH_FLAGS-like string in a binary, or None."""
    hits = _ARCH_FLAGS.findall(blob)
    if not hits:
        return None
    words = max(hits, key=len).decode("ascii").split()
    return _split([(m[1], m[2], m[3]) for m in map(_WORD_RE.fullmatch, words) if m is not None])


def cuda_named(members: list[wheelzip.Member]) -> int:
    return sum(1 for m in members if _SHARED_OBJECT.search(m.name) and not _VENDORED.search(m.name)
               and re.search(r"cuda", m.name, re.I))


def candidates(members: list[wheelzip.Member]) -> list[wheelzip.Member]:
    """Shared objects that may hold the package's own kernels, smallest (compressed) first;
    names that say CUDA come before the others of similar size."""
    own = [m for m in members if _SHARED_OBJECT.search(m.name) and not _VENDORED.search(m.name)
           and m.size <= MAX_MEMBER]
    return sorted(own, key=lambda m: (0 if re.search(r"cuda|gpu|_cu\b|flash|kernel", m.name, re.I) else 1, m.compressed_size))


def measure(src: wheelzip.RangeSource, budget: wheelzip.Budget, max_tries: int = MAX_TRIES,
            package: str | None = None) -> Measurement:
    members = wheelzip.central_directory(src, budget)
    tried: list[str] = []
    info_member = next((m for m in members if m.name == BUILD_INFO_MEMBERS.get(package or "")), None)
    if info_member is not None:
        tried.append(info_member.name)
        text = wheelzip.read_member(src, budget, info_member, 4 * 1024 * 1024).decode("utf-8", "replace")
        found = build_info(text)
        if found is not None:
            named = info_member.name if any(found) else None
            return Measurement(named, found[0], found[1], tuple(tried), budget.used,
                               cuda_named(members) if named else 0, "build-info", build_versions(text) if named else (),
                               found[2], found[3])
    flags_member = next((m for m in members if m.name == ARCH_FLAGS_MEMBERS.get(package or "")), None)
    if flags_member is not None:
        tried.append(flags_member.name)
        found = arch_flags(wheelzip.read_member(src, budget, flags_member, MAX_MEMBER))
        if found is not None and (found[0] or found[2]):
            return Measurement(flags_member.name, found[0], found[1], tuple(tried), budget.used, cuda_named(members),
                               "arch-flags", (), found[2], found[3])
    for member in candidates(members)[:max_tries]:
        tried.append(member.name)
        blob = wheelzip.read_member(src, budget, member, MAX_MEMBER)
        try:
            code = fatbin.shared_object_gpu_code(blob)
        except fatbin.NotAnElf:
            continue
        if code is not None and not code.empty:
            return Measurement(member.name, code.cubins, code.ptx, tuple(tried), budget.used, cuda_named(members),
                               cubins_a=code.cubins_a, ptx_a=code.ptx_a)
    return Measurement(None, (), (), tuple(tried), budget.used, cuda_named(members))
