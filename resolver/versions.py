"""Version comparisons shared by the stages that read a lock (compat's rules, the builder's
verification): one place decides what "the same version" means."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality ("1.0" is "1.0.0", "2.1.0+cu121" is not "2.1.0"); text equality for a
    version PEP 440 cannot parse, which a lock or an image's metadata may still hold."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b
