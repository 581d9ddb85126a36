"""Shape checks for what a registry sends: manifests, index entries, descriptors, configs.

A registry is infrastructure, and a hostile or broken one may send a number where a list
belongs, a list where an object belongs, an object as `architecture`, or megabytes of
label text. Each check either returns well-typed values or raises RegistryIntegrityError
(exit 3, one line), so the fact sheet never holds a foreign type. Pure.
"""

from __future__ import annotations

import re
from typing import Any

from launchbuild.core.imageref import ImageRef
from launchbuild.compat.facts.providers.base import RegistryIntegrityError

MAX_LAYERS = 1000  # Docker stops at 127; anything far past it is not an image
MAX_INDEX_ENTRIES = 1000
MAX_ENV_ENTRIES = 4096
MAX_FIELD_CHARS = 64 * 1024  # one Env entry, label key or label value
_DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})\Z")


def _malformed(ref: ImageRef, what: str) -> RegistryIntegrityError:
    return RegistryIntegrityError(
        f"registry {ref.registry} sent a malformed {what} for {ref.familiar}; the registry or a proxy is broken"
    )


def text_or_none(value: Any) -> str | None:
    """A short string, or None for anything else (a dict as `architecture` is not a value)."""
    return value if isinstance(value, str) and 0 < len(value) <= 256 else None


def check_descriptor(descriptor: Any, what: str, ref: ImageRef) -> str:
    """The descriptor's digest, after checking it is `algo:hex` and `size` is a count."""
    if not isinstance(descriptor, dict):
        raise _malformed(ref, f"{what} descriptor")
    digest = descriptor.get("digest")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise _malformed(ref, f"{what} digest")
    size = descriptor.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise _malformed(ref, f"{what} size")
    media = descriptor.get("mediaType")
    if media is not None and not isinstance(media, str):
        raise _malformed(ref, f"{what} media type")
    return digest


def check_layers(layers: list[Any], ref: ImageRef) -> None:
    if len(layers) > MAX_LAYERS:
        raise _malformed(ref, f"manifest ({len(layers)} layers, more than {MAX_LAYERS})")
    for position, layer in enumerate(layers, start=1):
        check_descriptor(layer, f"layer {position}", ref)


def index_entries(index: dict[str, Any]) -> list[dict[str, Any]]:
    """The index's image entries with a dict `platform` of strings; attestations and
    entries of any other shape are skipped (they cannot be chosen for a platform)."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        return []
    entries = []
    for m in manifests[:MAX_INDEX_ENTRIES]:
        if not isinstance(m, dict) or not isinstance(m.get("digest"), str):
            continue
        platform = m.get("platform")
        annotations = m.get("annotations")
        if not isinstance(platform, dict):
            continue
        if isinstance(annotations, dict) and "vnd.docker.reference.type" in annotations:
            continue
        clean = {k: platform.get(k) for k in ("os", "architecture", "variant") if text_or_none(platform.get(k))}
        entries.append({**m, "platform": clean})
    return entries


def image_config_parts(config: Any, ref: ImageRef) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, str]]:
    """(config, inner config, env, labels), every one of the right type and size."""
    if not isinstance(config, dict):
        raise _malformed(ref, "config blob")
    inner = config.get("config")
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise _malformed(ref, "config blob ('config' is not an object)")
    raw_env = inner.get("Env")
    if raw_env is None:
        raw_env = []
    if not isinstance(raw_env, list) or len(raw_env) > MAX_ENV_ENTRIES:
        raise _malformed(ref, "config blob ('Env' is not a list of strings)")
    env: dict[str, str] = {}
    for entry in raw_env:
        if not isinstance(entry, str) or len(entry) > MAX_FIELD_CHARS:
            raise _malformed(ref, "config blob ('Env' is not a list of strings)")
        key, _, value = entry.partition("=")
        env[key] = value
    raw_labels = inner.get("Labels")
    if raw_labels is None:
        raw_labels = {}
    if not isinstance(raw_labels, dict) or len(raw_labels) > MAX_ENV_ENTRIES:
        raise _malformed(ref, "config blob ('Labels' is not an object of strings)")
    labels: dict[str, str] = {}
    for key, value in raw_labels.items():
        if not isinstance(value, (str, int, float, bool)) or len(str(key)) > MAX_FIELD_CHARS or len(str(value)) > MAX_FIELD_CHARS:
            raise _malformed(ref, "config blob ('Labels' is not an object of strings)")
        labels[str(key)] = str(value)
    return config, inner, env, labels


def config_history(config: dict[str, Any]) -> list[tuple[str, bool]] | None:
    """The config blob's `history` as (created_by, made a layer) pairs, oldest first; None
    when absent or of any other shape (history is optional, so a bad one is only unknown)."""
    history = config.get("history")
    if not isinstance(history, list) or len(history) > MAX_ENV_ENTRIES:
        return None
    entries: list[tuple[str, bool]] = []
    for entry in history:
        if not isinstance(entry, dict):
            return None
        created_by, empty = entry.get("created_by") or "", entry.get("empty_layer", False)
        if not isinstance(created_by, str) or not isinstance(empty, bool):
            return None
        entries.append((created_by, not empty))
    return entries
