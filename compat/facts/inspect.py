"""`inspect_image`: the fact sheet of a base image, from whichever provider can answer.

Providers are tried in order (local Docker engine, registry API, tag inference). One that
cannot answer says why, and that reason travels in `ImageFacts.attempts` so the report can
show it. A registry that says the image does not exist ends the search with
`ImageNotFound` (LB104): inference must not describe an image that is not there.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.compat.facts.factcache import FactCache
from launchbuild.core.imageref import parse_image_ref
from launchbuild.compat.facts.providers import docker as docker_provider
from launchbuild.compat.facts.providers import inference
from launchbuild.compat.facts.providers.base import (
    ImageNotFound,
    ProviderUnavailable,
    RegistryAuthError,
    RegistryIntegrityError,
)
from launchbuild.core.platform import Platform
from launchbuild.errors import BadInput, InfraUnavailable

if TYPE_CHECKING:  # the registry client is imported when a registry is asked: a local image never is
    from launchbuild.compat.facts.providers import registry as registry_provider

__all__ = ["inspect_image", "ImageNotFound", "distro_apt_pythons", "PROVIDERS"]

PROVIDERS = ("docker", "registry", "inferred")


def distro_apt_pythons(os_id: str | None, os_version: str | None, codename: str | None) -> tuple[str, ...] | None:
    """Python X.Y installable with apt on a distro release (data/distro_pythons.json), used when
    the image could not be asked (`apt-cache policy`): slim images without package lists, or
    facts from the registry or from inference."""
    from launchbuild.compat import data

    return data.apt_pythons(os_id, os_version, codename)


def _with_table_pythons(facts: ImageFacts) -> ImageFacts:
    if facts.apt_pythons is not None or facts.has_apt is False:
        return facts
    table = distro_apt_pythons(facts.os_id, facts.os_version, facts.os_codename)
    if table is None:
        return facts
    source = "inferred" if facts.provider == "inferred" else f"per-distro table data/distro_pythons.json ({facts.os_id} {facts.os_version or facts.os_codename})"
    # A /usr/bin/python3.X the table does not list came from an apt source of the image's own
    # (a PPA): `apt-get update` in the build reads that source again, so apt offers it.
    extra = tuple(v for v in facts.system_pythons if v not in table)
    if extra:
        table = (*table, *extra)
        source += f", and {', '.join(f'/usr/bin/python{v}' for v in extra)} in the image"
    return dataclasses.replace(facts, apt_pythons=table, fact_sources=tuple(sorted({**dict(facts.fact_sources), "apt_pythons": source}.items())))


def _cacheable(facts: ImageFacts) -> bool:
    # A probe that failed for a passing reason (timeout, engine hiccup) must not be kept.
    return bool(facts.image_id) and facts.provider in ("docker", "registry") and not any(
        "file facts unknown" in why and "no /bin/sh" not in why for _, why in facts.attempts
    )


# A long-running process may put a memo in front of the default lookup (launchbuild serve's
# check workers: service/factmemo.py). It is called as MEMO(ref, platform, compute) and must
# answer exactly what compute() would answer now.
MEMO: Callable[[str, str, Callable[[], ImageFacts]], ImageFacts] | None = None


def inspect_image(
    ref: str,
    *,
    platform: str = "linux/amd64",
    offline: bool = False,
    providers: Iterable[str] = PROVIDERS,
    cache_dir: Path | str | None = None,
    docker_client: Any = None,
    registry_client: registry_provider.RegistryClient | None = None,
) -> ImageFacts:
    """Facts about `ref` for `platform`.

    Raises `BadInput` for a malformed reference or platform, `ImageNotFound` (a BadInput)
    when a registry says the image or tag does not exist, `InfraUnavailable` when nothing
    could answer, and `RegistryIntegrityError` (an InfraUnavailable) when a registry sent
    content that does not match its digest.
    """
    order = tuple(providers)
    if MEMO is not None and not offline and order == PROVIDERS and cache_dir is None and docker_client is None \
            and registry_client is None:
        return MEMO(ref, platform, lambda: _inspect_image(ref, platform=platform, offline=False, providers=order))
    return _inspect_image(ref, platform=platform, offline=offline, providers=order, cache_dir=cache_dir,
                          docker_client=docker_client, registry_client=registry_client)


def _inspect_image(ref: str, *, platform: str, offline: bool, providers: tuple[str, ...],
                   cache_dir: Path | str | None = None, docker_client: Any = None,
                   registry_client: registry_provider.RegistryClient | None = None) -> ImageFacts:
    image = parse_image_ref(ref)
    target = Platform.parse(platform)
    order = tuple(providers)
    unknown = [p for p in order if p not in PROVIDERS]
    if unknown or not order:
        raise BadInput(f"unknown fact provider(s) {unknown or order!r}: choose from {', '.join(PROVIDERS)}")
    cache = FactCache(cache_dir)
    platform_key = str(target)
    attempts: list[tuple[str, str]] = []
    mismatched: ImageFacts | None = None
    failure: InfraUnavailable | None = None

    def finish(facts: ImageFacts) -> ImageFacts:
        facts = _with_table_pythons(facts)
        if _cacheable(facts) and not facts.from_cache:
            refs = tuple({image.canonical, facts.reference, image.familiar})
            cache.put(facts, references=refs, platform=platform_key)
        return dataclasses.replace(facts, reference=image.familiar, attempts=tuple(attempts) + facts.attempts)

    if offline:
        hit = cache.get_by_ref(image.canonical, platform_key)
        if hit is not None:
            return dataclasses.replace(hit, reference=image.familiar, attempts=(("cache", "offline: fact sheet from the cache"),))
        attempts.append(("cache", "offline and no cached fact sheet for this reference"))

    for name in order:
        if offline and name != "inferred":
            continue
        try:
            if name == "docker":
                facts = docker_provider.read_facts(image, target, client=docker_client, cached=cache.get)
                why = docker_provider.platform_mismatch(
                    {"Architecture": facts.architecture, "Os": "linux"}, target
                ) if facts.architecture else None
                if why:
                    attempts.append((name, why))
                    mismatched = mismatched or facts
                    continue
                return finish(facts)
            if name == "registry":
                from launchbuild.compat.facts.providers import registry as registry_provider

                facts = registry_provider.read_facts(image, target, client=registry_client, cached=cache.get)
                return finish(facts)
            facts_or_none = inference.infer_facts(image, target.architecture)
            if facts_or_none is None:
                attempts.append((name, f"no tag inference rule for {image.familiar}"))
                continue
            return finish(facts_or_none)
        except ImageNotFound:
            if mismatched is not None:
                return finish(mismatched)
            raise
        except RegistryIntegrityError:
            raise
        except RegistryAuthError as exc:
            attempts.append((name, exc.message))
            failure = exc  # the most useful thing to tell: it says what to run
        except ProviderUnavailable as exc:
            attempts.append((name, exc.message))
            failure = failure or exc
        except InfraUnavailable as exc:
            attempts.append((name, exc.message))
            failure = failure or exc

    if mismatched is not None:
        return finish(mismatched)
    tried = "; ".join(f"{name}: {why}" for name, why in attempts)
    if offline:
        raise InfraUnavailable(
            f"no facts for {image.familiar} offline ({tried}); run once without --offline to cache them"
        )
    if isinstance(failure, RegistryAuthError):
        raise InfraUnavailable(f"{failure.message} (also tried {tried})")
    raise InfraUnavailable(f"could not read the facts of {image.familiar}: {tried}")
