"""Pythons and glibc per Debian/Ubuntu release, from the archives' own Packages indexes.

`python3`'s version is the default Python; every `python3.X` binary package in the release's
components (release pocket plus -updates on Ubuntu) is an apt-installable extra; `libc6`'s
upstream version is the glibc. The source of each row is the index URLs read.
"""

from __future__ import annotations

from typing import Any

import lzma
import re

from launchbuild.core.records import dataclass
from launchbuild.refresh.http import Fetcher

DEBIAN = "https://deb.debian.org/debian"
UBUNTU = "http://archive.ubuntu.com/ubuntu"


@dataclass(frozen=True)
class Release:
    """One Debian or Ubuntu release whose Packages indexes the refresh reads: its archive, and
    the components and pockets that count."""

    id: str
    version: str
    codename: str
    archive: str
    components: tuple[str, ...]
    pockets: tuple[str, ...]  # suite suffixes: "" and "-updates"


RELEASES = (
    Release("debian", "11", "bullseye", DEBIAN, ("main",), ("", "-updates")),
    Release("debian", "12", "bookworm", DEBIAN, ("main",), ("", "-updates")),
    Release("debian", "13", "trixie", DEBIAN, ("main",), ("", "-updates")),
    Release("ubuntu", "18.04", "bionic", UBUNTU, ("main", "universe"), ("", "-updates")),
    Release("ubuntu", "20.04", "focal", UBUNTU, ("main", "universe"), ("", "-updates")),
    Release("ubuntu", "22.04", "jammy", UBUNTU, ("main", "universe"), ("", "-updates")),
    Release("ubuntu", "24.04", "noble", UBUNTU, ("main", "universe"), ("", "-updates")),
    Release("ubuntu", "26.04", "resolute", UBUNTU, ("main", "universe"), ("", "-updates")),
)

_PYTHON_PKG = re.compile(r"^python3\.(\d+)$")
_PRERELEASE = re.compile(r"^(?:\d+:)?\d+\.\d+(?:\.\d+)?~(?:rc|a|b)\d")
_UPSTREAM = re.compile(r"^(?:\d+:)?(\d+)\.(\d+)")


def parse_packages(text: str) -> dict[str, str]:
    """Package -> Version from a Debian Packages index (the last stanza of a name wins)."""
    out: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if line.startswith("Package: "):
            name = line[9:].strip()
        elif line.startswith("Version: ") and name is not None:
            out[name] = line[9:].strip()
        elif not line.strip():
            name = None
    return out


def _mm(version: str) -> str | None:
    m = _UPSTREAM.match(version)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def index_url(rel: Release, pocket: str, component: str) -> str:
    return f"{rel.archive}/dists/{rel.codename}{pocket}/{component}/binary-amd64/Packages.xz"


def release_rows(fetcher: Fetcher, rel: Release, checked: str) -> tuple[dict, dict]:
    """(distro_pythons row, distro_glibc row) for one release."""
    default = glibc = None
    extras: dict[str, dict] = {}
    urls = []
    for pocket in rel.pockets:
        for component in rel.components:
            url = index_url(rel, pocket, component)
            try:
                text = lzma.decompress(fetcher.get(url)).decode("utf-8", "replace")
            except lzma.LZMAError:
                raise ValueError(f"{url}: not an xz Packages index") from None
            urls.append(url)
            pkgs = parse_packages(text)
            if "python3" in pkgs:
                default = _mm(pkgs["python3"]) or default
            if "libc6" in pkgs:
                glibc = _mm(pkgs["libc6"]) or glibc
            for name, version in pkgs.items():
                m = _PYTHON_PKG.match(name)
                if m:
                    entry: dict[str, Any] = {"python": f"3.{m.group(1)}", "component": component, "package_version": version}
                    if _PRERELEASE.match(version):
                        entry["prerelease"] = True  # e.g. jammy's 3.11.0~rc1: installable, not a final release
                    extras[entry["python"]] = entry  # -updates is read last: its version wins
    if default is None or glibc is None:
        raise ValueError(f"{rel.id} {rel.version}: python3 or libc6 missing from {', '.join(urls)}")
    extras.pop(default, None)
    source = " ".join(urls)
    pythons = {"id": rel.id, "version": rel.version, "codename": rel.codename, "default": default,
               "extra": [extras[k] for k in sorted(extras, key=lambda v: int(v.split(".")[1]))],
               "source": source, "checked": checked}
    glibc_row = {"id": rel.id, "version": rel.version, "glibc": glibc, "source": source, "checked": checked}
    return pythons, glibc_row
