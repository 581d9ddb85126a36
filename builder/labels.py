"""The labels the builder puts on an image: the format in core/labels.py, plus the rule-set
version (`io.launchbuild.rules-version`), which needs compat's catalog.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from launchbuild.core.labels import (
    FACTS_LABEL, LOCK_LABEL, LOCK_PATH_LABEL, MAX_FACTS_LABEL, RULES_LABEL, checked_facts, encode_lock,
)


def rules_version() -> str:
    """The launchbuild version and a digest of the rule IDs and the data tables they read:
    two images checked by the same rules and data carry the same value."""
    from importlib import resources

    from launchbuild.core.version import __version__
    from launchbuild.compat.catalog import RULES

    digest = hashlib.sha256("\n".join(sorted(RULES)).encode())
    data = resources.files("launchbuild").joinpath("data")
    try:
        for item in sorted(data.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".json"):
                digest.update(item.name.encode() + b"\0" + item.read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        pass
    return f"{__version__}+{digest.hexdigest()[:12]}"


def image_labels(*, lock_text: str, lock_path: str, facts: Any, python: str, platform: str,
                 cuda_variants: tuple[tuple[str, str], ...] = (), rules: str | None = None) -> tuple[tuple[str, str], ...]:
    """The extra labels of a built image (the plan adds lock-sha256, python, version)."""
    labels: dict[str, str] = {
        LOCK_PATH_LABEL: lock_path,
        RULES_LABEL: rules or rules_version(),
    }
    encoded = encode_lock(lock_text) if lock_text.strip() else None
    if encoded is not None:
        labels[LOCK_LABEL] = encoded
    text = json.dumps(checked_facts(facts, python=python, platform=platform, cuda_variants=cuda_variants),
                      sort_keys=True, separators=(",", ":"))
    if len(text) <= MAX_FACTS_LABEL:
        labels[FACTS_LABEL] = text
    return tuple(sorted(labels.items()))
