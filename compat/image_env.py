"""The environment of an image job, read from the image itself (nothing is pulled or run).

A launchbuild image carries its lock in its labels (builder/labels.py): that lock is
checked exactly as the job's own check did (LB203, LB204, ... see the same packages). Any
other image is read for its installed distributions (their dist-info METADATA) from the
layers (compat/providers/distributions.py); those become a lock of name==version pins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from launchbuild.resolver.model import Lock, ResolveResult, Target

_OPTION = re.compile(r"^\s*--(index-url|extra-index-url|find-links)[ =](\S+)")


def lock_from_text(text: str, *, python: str, platform: str, backend: str,
                   cuda_variants: Iterable[tuple[str, str]] = ()) -> Lock:
    from launchbuild.resolver.lockfile import parse_lock

    index_urls: list[str] = []
    find_links: list[str] = []
    for line in text.splitlines():
        m = _OPTION.match(line)
        if m:
            (find_links if m.group(1) == "find-links" else index_urls).append(m.group(2))
    return Lock(packages=parse_lock(text), text=text, target=Target(python=python, platform=platform),
                backend=backend, input_hash="", index_urls=tuple(index_urls), find_links=tuple(find_links),
                cuda_variants=tuple(cuda_variants))


def lock_from_distributions(dists: Iterable[tuple[str, str]], *, python: str, platform: str) -> Lock:
    """name==version pins for what is installed (no hashes: nothing will install from it)."""
    from packaging.utils import canonicalize_name

    pins = sorted({(canonicalize_name(n), v) for n, v in dists})
    text = "".join(f"{n}=={v}\n" for n, v in pins)
    return lock_from_text(text, python=python, platform=platform, backend="installed distributions")


def built_image_environment(facts, *, python: str | None, platform: str) -> tuple[ResolveResult | None, str | None]:
    """(environment, the image's Python) from a launchbuild image's labels, else (None, None)."""
    from launchbuild.builder.labels import read_labels

    if facts is None:
        return None, None
    built = read_labels(dict(facts.labels))
    if built is None:
        return None, None
    image_python = built.python
    if built.lock_text is None:
        return None, image_python
    variants = built.facts.get("cuda_variants") or {}
    lock = lock_from_text(built.lock_text, python=python or image_python or "", platform=platform,
                          backend="image label",
                          cuda_variants=tuple((str(k), str(v)) for k, v in variants.items()) if isinstance(variants, dict) else ())
    return ResolveResult(input_kind="image label", input_path=built.lock_path, lock=lock), image_python
