"""The environment of an image job, read from the image itself (nothing is pulled or run).

A launchbuild image carries its lock in its labels (core/labels.py): that lock is
checked exactly as the job's own check did (LB203, LB204, ... see the same packages). Any
other image is read for its installed distributions (their dist-info METADATA) from the
layers (compat/facts/providers/distributions.py); those become a lock of name==version pins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

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
    from launchbuild.core.labels import read_labels

    if facts is None:
        return None, None
    built = read_labels(dict(facts.labels))
    if built is None:
        return None, None
    image_python = built.python
    if built.lock_text is None or inherited_labels(facts) is not None:
        return None, image_python  # what is installed is read from the layers instead
    variants = built.facts.get("cuda_variants") or {}
    lock = lock_from_text(built.lock_text, python=python or image_python or "", platform=platform,
                          backend="image label",
                          cuda_variants=tuple((str(k), str(v)) for k, v in variants.items()) if isinstance(variants, dict) else ())
    return ResolveResult(input_kind="image label", input_path=built.lock_path, lock=lock), image_python


def inherited_labels(facts: Any) -> str | None:
    """Why a launchbuild image's lock label does not describe this image, or None when it does:
    the history shows filesystem layers after the step that wrote the label (an image built
    FROM a launchbuild image inherits its labels), or the history cannot say."""
    from launchbuild.core.labels import read_labels

    built = read_labels(dict(facts.labels)) if facts is not None else None
    if built is None or built.lock_text is None or facts.layers_after_build == 0:
        return None  # no lock label to doubt, or the image launchbuild built
    if facts.layers_after_build is None:
        return "its launchbuild lock label is not known to be its own: no step in its history wrote it"
    n = facts.layers_after_build
    return (f"it adds {n} layer{'s' if n != 1 else ''} over the launchbuild image whose labels it "
            "inherited, so their lock is not what is installed")


def installed_environment(facts: Any, python: Any, platform: str, progress: Any) -> tuple[Any, ResolveResult | None, Any]:
    """An image launchbuild did not build: its Python and installed distributions, read from
    the layers the engine or registry streams (nothing is run), checked like a built job's."""
    from dataclasses import replace

    from launchbuild.compat.facts.providers.distributions import main_python, read_installed
    from launchbuild.core.sourced import Origin, Sourced
    from launchbuild.core.cache import cache_root

    import tarfile

    from launchbuild.errors import LaunchbuildError

    try:
        with progress.phase(f"reading the installed distributions of {facts.reference}"):
            installed = read_installed(facts, platform, cache_dir=cache_root())
    except (LaunchbuildError, OSError, tarfile.TarError, ValueError) as exc:
        # The facts were read; a layer that cannot be streamed now leaves the environment
        # unknown (as before this feature), it does not fail the check.
        import logging

        logging.getLogger(__name__).info("installed distributions of %s not read: %s", facts.reference, exc)
        return facts, None, python
    except Exception as exc:  # the docker SDK's own errors, without importing it here
        if not type(exc).__module__.startswith("docker"):
            raise
        return facts, None, python
    if installed is None:
        return facts, None, python
    where = f"dist-info in the image layers ({facts.provider})"
    if installed.pythons and not facts.pythons:
        sources = dict(facts.fact_sources)
        sources["pythons"] = where
        facts = replace(facts, pythons=installed.pythons, fact_sources=tuple(sorted(sources.items())))
    elif not installed.pythons and not facts.pythons:
        sources = dict(facts.fact_sources)
        sources.setdefault("pythons", f"no python3.X in the image layers ({facts.provider})")
        facts = replace(facts, fact_sources=tuple(sorted(sources.items())))
    chosen = python.value if python else main_python(installed)
    if python is None and chosen:
        python = Sourced(chosen, Origin.INFERRED, where)
    dists = [(n, v) for n, v, py in installed.distributions if not chosen or py in (chosen, "")]
    if not dists and not chosen:
        return facts, None, python  # no Python either: LB102 says so
    # A Python with nothing installed is a known, empty environment (not an unknown one).
    lock = lock_from_distributions(dists, python=chosen or "", platform=platform)
    return facts, ResolveResult(input_kind="installed distributions", input_path=None, lock=lock), python


def label_rows(facts: Any) -> list[tuple[str, str, str]]:
    """What a launchbuild image says about itself (its labels): lock, checked facts, rules."""
    from launchbuild.core.labels import read_labels

    built = read_labels(dict(facts.labels))
    if built is None:
        return []
    rows = [("launchbuild lock", f"sha256:{built.lock_sha256[:12]}" if built.lock_sha256 else "?", "image label")]
    if built.lock_text is not None:
        from launchbuild.resolver.lockfile import parse_lock

        packages = parse_lock(built.lock_text)
        shown = ", ".join(f"{p.name}=={p.version}" for p in packages[:6]) + (" ..." if len(packages) > 6 else "")
        rows.append(("locked packages", f"{len(packages)}: {shown}", "image label io.launchbuild.lock"))
    elif built.lock_path:
        rows.append(("locked packages", f"in the image at {built.lock_path} (too big for a label)", "image label"))
    checked = ", ".join(f"{k}={v}" for k, v in sorted(built.facts.items()) if k != "pythons")
    rows.append(("checked facts", checked or "?", "image label io.launchbuild.checked-facts"))
    rows.append(("rules version", built.rules_version or "?", "image label"))
    inherited = inherited_labels(facts)
    if inherited:
        rows.append(("labels inherited", inherited, "image history"))
    return rows


def with_label_python(facts: Any, image_python: str | None) -> Any:
    """A launchbuild image whose file scan found no interpreter (a registry read that stopped
    at the top layers, a venv outside the scanned dirs) still has the Python its label names."""
    if facts is None or not image_python or facts.pythons:
        return facts
    from dataclasses import replace

    sources = dict(facts.fact_sources)
    sources["pythons"] = "image label io.launchbuild.python"
    return replace(facts, pythons=(image_python,), fact_sources=tuple(sorted(sources.items())))
