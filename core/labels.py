"""The labels a launchbuild image carries about itself, and reading them back (pure).

The format is shared: the builder writes it (builder/labels.py adds the rule-set version),
compat reads it when checking `image:REF`. So it lives in core and neither stage imports
the other for it.

- the lock: `io.launchbuild.lock-sha256`, and the lock itself, zlib+base64 in
  `io.launchbuild.lock` while it fits a bounded label (`MAX_LOCK_LABEL`); the lock is
  always in the image too, at `io.launchbuild.lock-path` (/opt/launchbuild/requirements.lock).
- the facts the job was checked against: `io.launchbuild.checked-facts` (JSON: CUDA,
  cuDNN, NVIDIA_REQUIRE_CUDA, the Pythons, arch, the torch CUDA variant from +cuXYZ pins).
  Only facts that are a function of the base image's config and the plan, so the
  Dockerfile (and the content tag) is the same on every host.
- the rule set: `io.launchbuild.rules-version`.

`check image:REF` and `inspect` read them back with `read_labels` (pure, never raises on a
foreign or damaged label: an image is outside input) and run the job check's rules.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from launchbuild.core.records import dataclass

PREFIX = "io.launchbuild."
LOCK_LABEL = PREFIX + "lock"
LOCK_SHA_LABEL = PREFIX + "lock-sha256"
LOCK_PATH_LABEL = PREFIX + "lock-path"
FACTS_LABEL = PREFIX + "checked-facts"
RULES_LABEL = PREFIX + "rules-version"
PYTHON_LABEL = PREFIX + "python"
ENCODING = "zlib+base64:"
MAX_LOCK_LABEL = 64 * 1024  # encoded bytes; a bigger lock is read from the image's file instead
MAX_FACTS_LABEL = 8 * 1024


def encode_lock(text: str) -> str | None:
    """The label value for a lock, or None when it would not fit the bound."""
    value = ENCODING + base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    return value if len(value) <= MAX_LOCK_LABEL else None


def decode_lock(value: str) -> str | None:
    """The lock text of a label value; None for anything that is not one we wrote."""
    if not isinstance(value, str) or not value.startswith(ENCODING) or len(value) > MAX_LOCK_LABEL:
        return None
    try:
        raw = zlib.decompressobj().decompress(base64.b64decode(value[len(ENCODING):], validate=True), 4 * MAX_LOCK_LABEL * 16)
        return raw.decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError):
        return None


def checked_facts(facts: Any, *, python: str, platform: str, cuda_variants: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The facts the job was checked against, as stored in the label. `facts` is the base
    image's ImageFacts (or None); `python` is the interpreter the image's venv runs."""
    out: dict[str, Any] = {"python": python, "pythons": [python], "arch": platform.split("/", 1)[-1]}
    if facts is not None:
        for key, attr in (("cuda", "cuda_version"), ("cudnn", "cudnn_version"), ("require_cuda", "require_cuda")):
            value = getattr(facts, attr, None)
            if value:
                out[key] = value
    if cuda_variants:
        out["cuda_variants"] = {pkg: variant for pkg, variant in cuda_variants}
    return out


@dataclass(frozen=True)
class BuiltImage:
    """What an image built by launchbuild says about itself."""

    lock_sha256: str | None
    lock_text: str | None  # None: not in a label (too big, or an older launchbuild)
    lock_path: str | None
    python: str | None
    facts: dict[str, Any]
    rules_version: str | None

    @property
    def lock_verified(self) -> bool:
        return self.lock_text is not None and self.lock_sha256 == hashlib.sha256(self.lock_text.encode()).hexdigest()


def read_labels(labels: Mapping[str, str]) -> BuiltImage | None:
    """The launchbuild labels of an image, or None when it has none. A lock whose digest does
    not match its sha256 label is dropped (a label edited after the build is not trusted)."""
    if not any(str(k).startswith(PREFIX) for k in labels):
        return None
    lock = decode_lock(labels.get(LOCK_LABEL, ""))
    sha = labels.get(LOCK_SHA_LABEL) or None
    if lock is not None and sha is not None and hashlib.sha256(lock.encode()).hexdigest() != sha:
        lock = None
    facts: dict[str, Any] = {}
    raw = labels.get(FACTS_LABEL)
    if raw and len(raw) <= MAX_FACTS_LABEL:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            facts = {str(k): v for k, v in parsed.items() if isinstance(v, (str, list, dict))}
    python = labels.get(PYTHON_LABEL) or (facts.get("python") if isinstance(facts.get("python"), str) else None)
    return BuiltImage(lock_sha256=sha, lock_text=lock, lock_path=labels.get(LOCK_PATH_LABEL) or None,
                      python=python, facts=facts, rules_version=labels.get(RULES_LABEL) or None)


# The history entries read for `layers_after_build`: an image's history is outside input.
MAX_HISTORY_ENTRIES = 4096


def layers_after_build(history: Sequence[tuple[str, bool]], lock_sha256: str | None) -> int | None:
    """How many filesystem layers an image's history records after the LABEL instruction
    that wrote `lock_sha256` (oldest entry first: (created_by, made a layer)).

    0: the image is the launchbuild image its labels describe (config-only steps may follow).
    More: a derived image (FROM a launchbuild image, then RUN/COPY): its labels are inherited,
    and the lock in them is no longer what is installed. None: not known (no lock digest, no
    history, or no entry that wrote it)."""
    if not lock_sha256 or not history or len(history) > MAX_HISTORY_ENTRIES:
        return None
    mark = re.compile(re.escape(LOCK_SHA_LABEL) + r"""=["']?""" + re.escape(lock_sha256) + r"""(?![0-9a-f])""")
    for i in range(len(history) - 1, -1, -1):
        created_by, _ = history[i]
        if "LABEL" in created_by and mark.search(created_by):
            return sum(1 for _, made_layer in history[i + 1:] if made_layer)
    return None
