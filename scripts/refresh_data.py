"""Check and refresh the sourced tables in data/.

    python scripts/refresh_data.py --check            validate every table (sources, ordering)
    python scripts/refresh_data.py --torch            compare torch.json's pypi_default with the
                                                      index's wheel metadata (prints differences)
    python scripts/refresh_data.py --torch --write    ... and write the corrected values

What can be refreshed automatically: which CUDA the default (index) torch wheel bundles,
read from its Requires-Dist pins (nvidia-cuda-runtime-cuNN==X.Y.*, or cuda-toolkit==X.Y.*
since 2.11). The metadata comes from PEP 658 `.metadata` files when the index serves them,
else from the wheel's own METADATA read with HTTP range requests (no full download).
Everything else (NVIDIA Table 3, arch lists, GPU capabilities, TF's tested builds, distro
Pythons) is copied by hand from the sources each table names in its `source` field.

The index is `--index-url`, else $PIP_INDEX_URL, else the public PyPI simple index.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_INDEX = "https://pypi.org/simple"
_RUNTIME = re.compile(r"^(?:nvidia-cuda-runtime-cu\d+|cuda-toolkit)\b.*?==\s*(\d+)\.(\d+)")


class _HttpRangeFile(io.RawIOBase):
    """A seekable read-only view of a remote file, so zipfile can read one member."""

    def __init__(self, session, url: str) -> None:
        self._s, self._url, self._pos = session, url, 0
        head = session.head(url, allow_redirects=True, timeout=60)
        head.raise_for_status()
        self._url = head.url
        self._size = int(head.headers["Content-Length"])

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = {0: offset, 1: self._pos + offset, 2: self._size + offset}[whence]
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        if end <= self._pos:
            return b""
        r = self._s.get(self._url, headers={"Range": f"bytes={self._pos}-{end - 1}"}, timeout=120)
        r.raise_for_status()
        self._pos += len(r.content)
        return r.content


def _wheel_metadata(session, file: dict) -> str:
    if file.get("core-metadata") or file.get("dist-info-metadata"):
        r = session.get(file["url"] + ".metadata", timeout=60)
        r.raise_for_status()
        return r.text
    with zipfile.ZipFile(_HttpRangeFile(session, file["url"])) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return z.read(name).decode("utf-8", "replace")


def bundled_variant(metadata: str) -> str | None:
    """'cu121' from a torch wheel's Requires-Dist, or None (a CPU wheel, or no pin)."""
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:"):
            m = _RUNTIME.match(line.split(":", 1)[1].strip())
            if m:
                return f"cu{m.group(1)}{m.group(2)}"
    return None


def refresh_torch(index: str, write: bool) -> int:
    import requests

    session = requests.Session()
    r = session.get(f"{index.rstrip('/')}/torch/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=120)
    r.raise_for_status()
    files = r.json()["files"]
    path = DATA / "torch.json"
    doc = json.loads(path.read_text("utf-8"))
    changed = 0
    for release in doc["releases"]:
        version = f"{release['torch']}.0"
        wheel = next(
            (f for f in files if re.match(rf"torch-{re.escape(version)}-cp3\d+-cp3\d+-manylinux.*x86_64\.whl$", f["filename"])),
            None,
        )
        if wheel is None:
            print(f"torch {version}: no manylinux x86_64 wheel on the index")
            continue
        variant = bundled_variant(_wheel_metadata(session, wheel))
        if variant is None:
            print(f"torch {version}: pins no CUDA wheels (CUDA linked into the wheel); left as {release.get('pypi_default')}")
            continue
        status = "ok" if variant == release.get("pypi_default") else f"table says {release.get('pypi_default')}"
        print(f"torch {version}: default wheel bundles {variant} ({status})")
        if variant and variant != release.get("pypi_default"):
            changed += 1
            if write:
                release["pypi_default"] = variant
    if write and changed:
        path.write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
        print(f"updated {changed} row(s) in {path}; update 'retrieved' and re-run the tests")
    return 0


def check() -> int:
    sys.path.insert(0, str(DATA.parent.parent))
    from launchbuild.compat import data

    problems = []
    for table in data.TABLES:
        doc = data.load(table)
        for key in ("source", "retrieved", "refresh"):
            if not doc.get(key):
                problems.append(f"{table}.json: missing '{key}'")
    rows = data.toolkit_drivers()
    for a, b in zip(rows, rows[1:]):
        if a.cuda >= b.cuda or data.version_cmp_key(a.driver) > data.version_cmp_key(b.driver):
            problems.append(f"cuda_drivers.json: {a.cuda} -> {b.cuda} out of order")
    for p in problems:
        print(p)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--index-url", default=os.environ.get("PIP_INDEX_URL", DEFAULT_INDEX))
    args = ap.parse_args(argv)
    rc = 0
    if args.check or not args.torch:
        rc |= check()
    if args.torch:
        rc |= refresh_torch(args.index_url, args.write)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
