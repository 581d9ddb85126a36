"""The target environment as the resolvers and markers see it. Pure tables and functions."""

from __future__ import annotations

import functools

import re

from packaging.tags import Tag, compatible_tags, cpython_tags

from launchbuild.core.platform import wheel_machine
from launchbuild.errors import BadInput
from launchbuild.resolver.model import Target

# With no glibc known we lock for manylinux_2_28: the glibc of Debian 10 / RHEL 8 and the
# floor of every base image we generate (Debian 12 has 2.36, Ubuntu 22.04 has 2.35), so
# wheels picked for it install on all of them.
DEFAULT_GLIBC = "2.28"
# The manylinux levels `uv pip compile --python-platform` accepts (uv 0.5 .. 0.13).
UV_MANYLINUX_LEVELS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)

# Packages that only install on another OS. Each entry names the source of the fact.
OS_ONLY_PACKAGES: dict[str, tuple[str, str]] = {
    "pywin32": ("Windows", "PyPI files of pywin32 are win32/win_amd64/win_arm64 wheels only"),
    "pywin32-ctypes": ("Windows", "pywin32-ctypes README: a reimplementation of pywin32 for Windows"),
    "pywinpty": ("Windows", "PyPI files of pywinpty are win_amd64 wheels; terminado requires it on os_name == 'nt'"),
    "wmi": ("Windows", "wmi README: Windows Management Instrumentation, Windows only"),
    "comtypes": ("Windows", "comtypes README: COM for Windows"),
    "pyreadline3": ("Windows", "pyreadline3 README: readline for Windows; required on sys_platform == 'win32'"),
    "windows-curses": ("Windows", "windows-curses README: curses for Windows"),
    "tensorflow-intel": ("Windows", "tensorflow 2.x metadata: requires tensorflow-intel on platform_system == 'Windows'"),
    "appnope": ("macOS", "ipykernel metadata: requires appnope on platform_system == 'Darwin'"),
    "tensorflow-macos": ("macOS", "PyPI files of tensorflow-macos are macosx wheels only"),
    "tensorflow-metal": ("macOS", "PyPI files of tensorflow-metal are macosx wheels only"),
    "mlx": ("macOS", "PyPI files of mlx are macosx (Apple silicon) wheels only"),
}
# pyobjc-core, pyobjc-framework-Cocoa, ...: PyPI files are macosx wheels only.
OS_ONLY_PREFIXES = (("pyobjc", "macOS", "PyPI files of pyobjc-* are macosx wheels or macOS-only sdists"),)


def os_only(name: str) -> tuple[str, str] | None:
    """(OS, source) when the canonical `name` only installs on another OS than Linux."""
    if name in OS_ONLY_PACKAGES:
        return OS_ONLY_PACKAGES[name]
    for prefix, os_name, source in OS_ONLY_PREFIXES:
        if name == prefix or name.startswith(prefix + "-"):
            return os_name, source
    return None


def validate_glibc(glibc: str | None) -> str | None:
    if glibc is None:
        return None
    if not re.fullmatch(r"2\.\d{1,2}", glibc.strip()):
        raise BadInput(f"malformed glibc version {glibc!r}", hint="write it as 2.NN, e.g. 2.36")
    return glibc.strip()


def manylinux_level(glibc: str | None) -> int:
    """The highest manylinux_2_N the backend knows with N <= the target's glibc minor."""
    minor = int((validate_glibc(glibc) or DEFAULT_GLIBC).split(".")[1])
    if minor < UV_MANYLINUX_LEVELS[0]:
        raise BadInput(f"glibc 2.{minor} is older than manylinux2014 (2.17); nothing can be locked for it",
                       hint="use a base image with glibc >= 2.17")
    return max(level for level in UV_MANYLINUX_LEVELS if level <= minor)


def uv_python_platform(target: Target) -> str:
    """`x86_64-manylinux_2_36` for --python-platform."""
    return f"{wheel_machine(target.platform)}-manylinux_2_{manylinux_level(target.glibc)}"


def marker_environment(target: Target) -> dict[str, str]:
    """PEP 508 marker values for CPython on Linux for the target."""
    major, minor = target.python.split(".")[:2]
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{major}.{minor}.0",
        "os_name": "posix",
        "platform_machine": wheel_machine(target.platform),
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{major}.{minor}.0",
        "python_version": f"{major}.{minor}",
        "sys_platform": "linux",
    }


@functools.lru_cache(maxsize=64)  # pure and ~2 ms: a long-lived process (serve) computes it once per target
def supported_tags(target: Target) -> frozenset[Tag]:
    """Every wheel tag pip would install on the target (CPython, manylinux, its glibc)."""
    arch = wheel_machine(target.platform)
    glibc_minor = int((target.glibc or DEFAULT_GLIBC).split(".")[1])
    platforms = [f"manylinux_2_{n}_{arch}" for n in range(glibc_minor, 4, -1)]
    # The legacy aliases name the same glibc floors (PEP 600).
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    platforms += [f"{alias}_{arch}" for floor, alias in legacy.items()
                  if floor <= glibc_minor and (arch == "x86_64" or alias == "manylinux2014")]
    platforms.append(f"linux_{arch}")
    version = tuple(int(x) for x in target.python.split(".")[:2])
    tags = list(cpython_tags(version, platforms=platforms))
    tags += list(compatible_tags(version, interpreter=f"cp{version[0]}{version[1]}", platforms=platforms))
    return frozenset(tags)
