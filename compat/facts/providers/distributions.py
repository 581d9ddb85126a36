"""The Python and the installed distributions of an image, read from its layers, never by
running it: the dist-info METADATA and egg-info PKG-INFO files (Name, Version) under
site-packages/dist-packages, and the python3.X interpreters, with the overlay rules of
layers.py (upper layers win, whiteouts hide).

Sources: the local engine's image export (`docker save` as a stream: each layer's tar is
scanned as it passes, then ordered by manifest.json) or the registry's layer blobs (all of
them, top down: distributions may sit in any layer). Results are cached by image ID.
"""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import field
from pathlib import Path
from typing import IO, Any

from launchbuild.compat.facts.providers.layers import normalise
from launchbuild.core.records import dataclass

# A wheel's (or pip's) dist-info METADATA, and the egg-info of setuptools and distutils installs
# (a directory with PKG-INFO, or a file of the same format: Debian's python3-* packages, conda
# builds, `setup.py install`). Both hold the same Name/Version headers.
_METADATA = re.compile(r"^(?:.+/)?(?:site|dist)-packages/([^/]+)\.(?:dist-info/METADATA|egg-info/PKG-INFO|egg-info)$")
_INSTALLED_SCHEMA = 2  # 2: egg-info read too (an entry cached before it is read again)
_PY_OF_PATH = re.compile(r"(?:^|/)lib/python(3\.\d{1,2})/(?:site|dist)-packages/")
_PY_BIN = re.compile(r"^(?:.+/)?bin/python(3\.\d{1,2})$")
_MAX_METADATA_READ = 64 * 1024  # the headers come first; the long description is not needed
_MAX_DISTRIBUTIONS = 20_000


def parse_metadata(data: bytes) -> tuple[str, str] | None:
    """(Name, Version) from a METADATA file's header block (RFC 822 style), or None."""
    text = data.decode("utf-8", "replace")
    name = version = None
    for line in text.splitlines():
        if not line.strip():
            break  # end of the headers: the body is the long description
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "name" and name is None:
            name = value.strip()
        elif key == "version" and version is None:
            version = value.strip()
    if not name or not version or len(name) > 200 or len(version) > 100:
        return None
    return name, version


@dataclass
class LayerScan:
    """What one layer holds of interest: METADATA contents, interpreters, whiteouts."""

    metadata: dict[str, bytes] = field(default_factory=dict)
    interpreters: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)  # every path in the layer (to shadow lower ones)
    whiteouts: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)


def scan_layer(members: Iterable[tuple[tarfile.TarInfo, IO[bytes] | None]]) -> LayerScan:
    scan = LayerScan()
    for info, fileobj in members:
        path = normalise(info.name)
        parent, base = posixpath.split(path)
        if base == ".wh..wh..opq":
            scan.opaque.add(parent)
            continue
        if base.startswith(".wh."):
            scan.whiteouts.add(posixpath.join(parent, base[4:]))
            continue
        if _METADATA.match(path):
            scan.paths.add(path)
            if info.isreg() and fileobj is not None and len(scan.metadata) < _MAX_DISTRIBUTIONS:
                scan.metadata[path] = fileobj.read(_MAX_METADATA_READ)
        elif _PY_BIN.match(path) and (info.isreg() or info.issym() or info.islnk()):
            scan.paths.add(path)
            scan.interpreters.add(path)
    return scan


@dataclass(frozen=True)
class Installed:
    """The Pythons and Python distributions found in an image's layers, never by running it;
    cached as JSON by image ID."""

    pythons: tuple[str, ...]  # "3.11", ... (interpreters found, and site-packages versions)
    distributions: tuple[tuple[str, str, str], ...]  # (name, version, python "3.11" or "")
    layers_read: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"schema": _INSTALLED_SCHEMA, "pythons": list(self.pythons),
                "distributions": [list(d) for d in self.distributions], "layers_read": self.layers_read}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Installed":
        if data.get("schema") != _INSTALLED_SCHEMA:
            raise ValueError("an entry of another schema")
        return cls(tuple(data["pythons"]), tuple(tuple(d) for d in data["distributions"]),  # type: ignore[misc]
                   int(data.get("layers_read", 0)))


def _hidden(path: str, whiteouts: set[str], opaque: set[str]) -> bool:
    probe, first = path, True
    while True:
        if probe in whiteouts or (not first and probe in opaque):
            return True
        if not probe:
            return False
        probe, first = posixpath.dirname(probe), False


def merge(scans_top_down: Iterable[LayerScan]) -> Installed:
    """The overlay of the layers, the topmost first: what the image's filesystem shows."""
    seen: set[str] = set()
    whiteouts: set[str] = set()
    opaque: set[str] = set()
    metadata: dict[str, bytes] = {}
    interpreters: set[str] = set()
    count = 0
    for scan in scans_top_down:
        count += 1
        for path in scan.paths:
            if path in seen or _hidden(path, whiteouts, opaque):
                continue
            seen.add(path)
            if path in scan.metadata:
                metadata[path] = scan.metadata[path]
            if path in scan.interpreters:
                interpreters.add(path)
        whiteouts |= scan.whiteouts
        opaque |= scan.opaque
    pythons = {m.group(1) for m in map(_PY_BIN.match, interpreters) if m}
    dists: set[tuple[str, str, str]] = set()
    for path, data in metadata.items():
        parsed = parse_metadata(data)
        if parsed is None:
            continue
        py = _PY_OF_PATH.search(path)
        dists.add((parsed[0], parsed[1], py.group(1) if py else ""))
        if py:
            pythons.add(py.group(1))
    key = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    return Installed(tuple(sorted(pythons, key=key)), tuple(sorted(dists)), count)


def main_python(installed: Installed) -> str | None:
    """The interpreter whose site-packages holds the most distributions (ties: the newest)."""
    if not installed.pythons:
        return None
    counts = {py: sum(1 for d in installed.distributions if d[2] == py) for py in installed.pythons}
    return max(installed.pythons, key=lambda py: (counts[py], tuple(int(x) for x in py.split("."))))


# --- sources -------------------------------------------------------------------------------------


def _members(tar: tarfile.TarFile) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    for info in tar:
        yield info, (tar.extractfile(info) if info.isreg() else None)


class _ChunkReader:
    """A file-like over an iterator of byte chunks (the engine's image export stream)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it = iter(chunks)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


def read_export(stream: IO[bytes]) -> Installed:
    """A `docker save` tar as a stream: scan each layer.tar as it passes, order by manifest."""
    by_name: dict[str, LayerScan] = {}
    links: dict[str, str] = {}
    manifest: Any = None
    with tarfile.open(fileobj=stream, mode="r|") as outer:
        for info in outer:
            name = normalise(info.name)
            if name.endswith("layer.tar") or name.startswith("blobs/"):
                if info.issym() or info.islnk():
                    links[name] = normalise(posixpath.join(posixpath.dirname(name), info.linkname)) if info.issym() \
                        else normalise(info.linkname)
                    continue
                fileobj = outer.extractfile(info)
                if fileobj is None:
                    continue
                try:
                    with tarfile.open(fileobj=fileobj, mode="r|*") as inner:
                        by_name[name] = scan_layer(_members(inner))
                except tarfile.TarError:
                    continue  # not a layer (an OCI config blob under blobs/)
            elif name == "manifest.json":
                fileobj = outer.extractfile(info)
                manifest = json.loads(fileobj.read()) if fileobj is not None else None
    if not isinstance(manifest, list) or not manifest:
        return merge(reversed(list(by_name.values())))
    layers = [normalise(p) for p in manifest[0].get("Layers") or []]
    ordered = [by_name.get(links.get(p, p)) for p in reversed(layers)]
    return merge(s for s in ordered if s is not None)


def read_from_engine(client: Any, image_id: str) -> Installed:
    return read_export(_ChunkReader(client.api.get_image(image_id)))  # type: ignore[arg-type]


def read_from_registry(reference: str, platform: Any) -> Installed:
    """Every layer of the image from its registry, top down (the client verifies digests)."""
    from launchbuild.core.imageref import parse_image_ref
    from launchbuild.compat.facts.providers import registry

    ref = parse_image_ref(reference)
    client = registry.RegistryClient(ref)
    manifest, media_type, _ = client.manifest(ref.reference)
    if media_type in registry._LISTS or "manifests" in manifest:
        entry, _ = registry.select_platform(manifest, platform)
        manifest, _, _ = client.manifest(str(entry.get("digest", "")))
    scans: list[LayerScan] = []
    for layer in reversed(manifest.get("layers") or []):
        mode = registry._layer_mode(str(layer.get("mediaType", "")))
        if mode is None:
            continue
        reader = client.blob_stream(layer, "layer")
        try:
            with tarfile.open(fileobj=reader, mode=mode) as tar:  # type: ignore[call-overload]
                scans.append(scan_layer(_members(tar)))
            reader.drain_and_verify()
        finally:
            reader.close()
    return merge(scans)


def read_installed(facts: Any, platform: Any, *, cache_dir: Path | None = None) -> Installed | None:
    """The installed environment of the image `facts` describe, from whichever source read
    those facts (engine or registry); None for inferred facts. Cached by image ID."""
    if facts is None or facts.provider not in ("docker", "registry"):
        return None
    key = (facts.image_id or facts.digest or "").replace(":", "-")
    path = None
    if key and cache_dir is not None:
        path = cache_dir / "installed" / f"{key}.json"
        try:
            return Installed.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    if facts.provider == "docker":
        from launchbuild.compat.facts.providers.docker import connect

        installed = read_from_engine(connect(), facts.image_id or facts.reference)
    else:
        installed = read_from_registry(facts.reference, platform)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(installed.to_json()), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
    return installed
