"""What an image holds, read the way a leak would be found: every member of `docker save`.

One scan for every test that proves a secret, token or planted file is not in an image
(tests/integration/test_reliability_secrets.py, test_hostile_build.py, test_resolver_artifacts.py).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Iterator


def saved_image_members(tag: str, *, include_non_files: bool = False) -> Iterator[tuple[str, str, bytes]]:
    """(layer, member name, bytes) for every file of every layer of `docker save TAG`, and
    ("", name, bytes) for the archive's own members (config, manifest, repositories).
    With `include_non_files`, directories and links come too, with empty bytes, so a test can
    also look for a name. A blob that is not a tar (a config in the OCI layout) is yielded whole."""
    saved = subprocess.run(["docker", "save", tag], capture_output=True, check=True, timeout=300).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        for member in outer:
            if not member.isfile():
                continue
            extracted = outer.extractfile(member)
            data = extracted.read() if extracted is not None else b""
            if member.name.endswith("layer.tar") or member.name.startswith("blobs/"):
                try:
                    with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                        for inner in layer:
                            if inner.isfile():
                                content = layer.extractfile(inner)
                                yield member.name, inner.name, content.read() if content is not None else b""
                            elif include_non_files:
                                yield member.name, inner.name, b""
                    continue
                except tarfile.ReadError:
                    pass
            yield "", member.name, data


def launchbuild_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed `launchbuild` as a user runs it (quiet progress for check and build, no
    colour, a wide terminal), for the tests that check images through the CLI."""
    import os

    quiet = ["--progress", "quiet"] if args[0] in ("check", "build") else []
    return subprocess.run(["launchbuild", *args, *quiet], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
