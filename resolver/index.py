"""Index facts per locked package (LB302, LB306): does the release ship a wheel for the target?

I/O at the edge (`fetch_release_files`, concurrent, cached on disk by name and version);
the tag matching (`facts_for_target`) is pure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from launchbuild.resolver.cache import facts_path
from launchbuild.resolver.index_http import MAX_INDEX_DOC, get_json as _get_json  # noqa: F401 - re-exported
from launchbuild.core.cache import read_json, write_json
from launchbuild.resolver.model import Lock, PackageFacts, Target
from launchbuild.resolver.platforms import supported_tags

if TYPE_CHECKING:
    import requests

    from launchbuild.resolver.index_prewarm import IndexPrewarm

PYPI_SIMPLE = ("https://pypi.org/simple", "https://pypi.org/simple/", "https://pypi.python.org/simple")
PYPI_JSON = "https://pypi.org/pypi"
WORKERS = 8


def json_api_base(lock: Lock) -> str | None:
    """The JSON API of the lock's primary index, or None when it is not PyPI (facts unknown)."""
    return json_api_base_of(lock.index_urls)


def json_api_base_of(index_urls: tuple[str, ...]) -> str | None:
    primary = index_urls[0] if index_urls else None
    if primary is None or primary.rstrip("/") in {u.rstrip("/") for u in PYPI_SIMPLE}:
        return PYPI_JSON
    return None


def _locked_files(release: dict, locked_hashes: tuple[str, ...]) -> frozenset[str] | None:
    """The release's files the lock's hashes allow, or None when that cannot be told (no hashes
    in the lock, no digests from the index, or none of them match: the files came from elsewhere)."""
    digests = release.get("sha256")
    if not locked_hashes or not isinstance(digests, dict):
        return None
    allowed = {h.split(":", 1)[1].lower() for h in locked_hashes if h.lower().startswith("sha256:")}
    files = frozenset(f for f, d in digests.items() if isinstance(d, str) and d.lower() in allowed)
    return files or None


def facts_for_target(name: str, version: str, release: dict, target: Target,
                     locked_hashes: tuple[str, ...] = ()) -> PackageFacts:
    """Pure: the release's file list (`{"files": [[filename, packagetype]], "requires_python"}`,
    with the index's "sha256" per file name), held to the files the lock's hashes allow: an
    installer with --require-hashes takes nothing else, so a wheel the lock left out is no wheel."""
    supported = supported_tags(target)
    wheel_tags: list[str] = []
    has_wheel = False
    has_sdist = False
    unlocked_wheel = False
    locked = _locked_files(release, locked_hashes)
    given = release.get("sizes")
    sizes: dict = given if isinstance(given, dict) else {}
    target_sizes: list[int] = []
    for filename, packagetype in release.get("files", []):
        allowed = locked is None or filename in locked
        if packagetype == "sdist":
            has_sdist = has_sdist or allowed
            continue
        if not filename.endswith(".whl"):
            continue
        try:
            _, _, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        fits = any(t in supported for t in tags)
        if not allowed:
            unlocked_wheel = unlocked_wheel or fits
            continue
        wheel_tags += sorted(str(t) for t in tags)
        if fits:
            has_wheel = True
            size = sizes.get(filename)
            if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
                target_sizes.append(size)
    return PackageFacts(
        name=name, version=version, has_target_wheel=has_wheel, has_sdist=has_sdist,
        requires_python=release.get("requires_python") or None,
        wheel_tags=tuple(dict.fromkeys(wheel_tags)),
        # The biggest wheel the target could install: what builder/layers.py sorts by.
        wheel_bytes=max(target_sizes) if target_sizes else None,
        wheel_not_locked=unlocked_wheel and not has_wheel,
    )


PROJECT_ONLY_MARK = "project-documents-only.json"  # beside an index's cached facts
def valid_release(entry: object) -> bool:
    """A cached or fetched release of the shape `facts_for_target` reads; anything else is a miss."""
    if not isinstance(entry, dict):
        return False
    if entry.get("missing") is True:
        return True
    files = entry.get("files")
    requires = entry.get("requires_python")
    return (isinstance(files, list)
            and all(isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f) for f in files)
            and (requires is None or isinstance(requires, str)))


def _lacks_sizes_or_digests(release: dict) -> bool:
    """Cached before the index's file sizes (the layer split needs them) or digests (the facts
    hold a lock to the files its hashes allow) were kept."""
    return ("sizes" not in release or "sha256" not in release) and not release.get("missing")


def _release_files(files: object) -> list | None:
    if not isinstance(files, list):
        return None
    return [f for f in files if isinstance(f, dict)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _has_facts_of(cache_root: Path, base: str, name: str) -> bool:
    """Whether any release of `name` has cached facts (file names are `{name}-{version}.json`)."""
    folder = facts_path(cache_root, base, name, "0").parent
    prefix = f"{name}-".replace("/", "_")
    try:
        return any(f.startswith(prefix) and f[len(prefix):][:1].isdigit() for f in os.listdir(folder))
    except OSError:
        return False


def prefetch_urls(base: str, names: Mapping[str, str | None], cache_root: Path, limit: int = 4) -> tuple[str, ...]:
    """The index documents the facts step will ask for the job's direct requirements that no
    cached facts know yet (`names`: canonical name -> the pinned version, or None): fetched while
    the resolver runs (index_prewarm.py) instead of after it. A pinned release's own document;
    on an index that serves only project documents, the project's (it lists every release).
    Nothing for an unpinned name on an index with release documents: which one is not known yet."""
    project_only = facts_path(cache_root, base, "x", "0").parent / PROJECT_ONLY_MARK
    urls: list[str] = []
    for name, version in sorted(names.items()):
        if len(urls) >= limit or _has_facts_of(cache_root, base, name):
            continue
        if project_only.exists():
            urls.append(f"{base}/{name}/json")
        elif version is not None:
            urls.append(f"{base}/{name}/{version}/json")
    return tuple(urls)


def _lists(project: dict | None, version: str) -> bool:
    releases = project.get("releases") if isinstance(project, dict) else None
    return isinstance(releases, dict) and version in releases


def fetch_release_files(base: str, name: str, version: str, cache_root: Path,
                        session: requests.Session, prefetched: Mapping[str, dict] | None = None) -> dict | None:
    """The release's files and requires-python; cached, including "the index has no such release".
    `prefetched`: the documents fetched while the lock was made, by URL (only those that came)."""
    import requests

    def get(url: str) -> dict | None:
        if prefetched is not None and url in prefetched:
            return prefetched[url]
        return _get_json(session, url)

    path = facts_path(cache_root, base, name, version)
    cached = read_json(path)
    if cached is not None and valid_release(cached) and not _lacks_sizes_or_digests(cached):  # a damaged entry is a miss, rewritten below
        return None if cached.get("missing") else cached
    # An index seen to serve only the project document (a mirror: its release URLs answer 404
    # for releases its project document lists) is asked for that document at once, not 404 first.
    project_only = path.parent / PROJECT_ONLY_MARK
    try:
        data = None if project_only.exists() else get(f"{base}/{name}/{version}/json")
        if data is not None:
            files = _release_files(data.get("urls", []))
            info = data.get("info")
            requires = info.get("requires_python") if isinstance(info, dict) else None
        else:
            # Some mirrors serve only the project document; its `releases` has the same files.
            project_url = f"{base}/{name}/json"
            project = get(project_url)
            if prefetched is not None and project_url in prefetched and not _lists(project, version):
                project = _get_json(session, project_url)  # published after the document was fetched
            releases = (project or {}).get("releases")
            files = _release_files(releases.get(version)) if isinstance(releases, dict) else None
            if files is None:
                if project is not None:
                    write_json(path, {"missing": True})
                return None
            if files and not project_only.exists():
                write_json(project_only, {"seen": f"{name} {version}"})
            requires = next((f.get("requires_python") for f in files if f.get("requires_python")), None)
    except (requests.RequestException, OSError):
        return None  # unknown this time; not cached, so the next online run asks again
    if files is None:
        return None
    release = {
        "files": [[_text(f.get("filename")), _text(f.get("packagetype"))] for f in files],
        # The index's `size` per file (PyPI's JSON API `urls[].size`; PEP 691's simple JSON has it too):
        # the layer split sorts by it.
        "sizes": {_text(f.get("filename")): f["size"] for f in files
                  if isinstance(f.get("size"), int) and not isinstance(f.get("size"), bool)},
        "requires_python": requires if isinstance(requires, str) else None,
        # The index's sha256 per file: which of them the lock's hashes allow (facts_for_target).
        "sha256": {_text(f.get("filename")): f["digests"]["sha256"] for f in files
                   if isinstance(f.get("digests"), dict) and isinstance(f["digests"].get("sha256"), str)},
    }
    write_json(path, release)  # a published release's files never change except by yanking
    return release


def package_facts(lock: Lock, cache_root: Path, *, offline: bool = False,
                  warm: "IndexPrewarm | None" = None) -> tuple[PackageFacts, ...]:
    """Facts for every locked package; unknown (None) where the index cannot say. `warm`: the
    index connection opened while the lock was made (resolver/index_prewarm.py), used or closed."""
    try:
        return _package_facts(lock, cache_root, offline, warm)
    finally:
        if warm is not None:
            warm.close()


def _package_facts(lock: Lock, cache_root: Path, offline: bool, warm: "IndexPrewarm | None") -> tuple[PackageFacts, ...]:
    base = json_api_base(lock)
    variant_names = {name for name, _ in lock.cuda_variants}
    packages = lock.packages
    releases: list[dict | None] = [None] * len(packages)
    to_fetch: list[int] = []
    for i, pkg in enumerate(packages):
        # Local versions (+cu121) and URL pins live on other indexes: PyPI cannot speak for them.
        if base is None or "+" in pkg.version or "://" in pkg.version or pkg.name in variant_names:
            continue
        cached = read_json(facts_path(cache_root, base, pkg.name, pkg.version))
        cached = cached if valid_release(cached) else None  # a damaged entry is a miss
        if offline:
            releases[i] = cached
        elif cached is None or _lacks_sizes_or_digests(cached):
            to_fetch.append(i)  # absent, or cached before sizes were kept: asked once more
        else:
            releases[i] = None if cached.get("missing") else cached
    # Warm runs find every release on disk: no HTTP session, no thread pool, no requests import.
    if to_fetch and base is not None:  # base is None: nothing was queued
        def fetch(i: int) -> dict | None:
            return fetch_release_files(base, packages[i].name, packages[i].version, cache_root, session, prefetched)

        from launchbuild.netbounds import Deadline, deadline_session, default_seconds

        opened = warm.take() if warm is not None and base == warm.base else None
        prefetched = warm.documents if opened and warm is not None else None
        deadline = opened[0] if opened else Deadline()
        # One deadline over every index request of this lock: a slow index costs at most that.
        with deadline.arm(default_seconds(120.0)), opened[1] if opened else deadline_session(deadline) as session, \
                ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for i, release in zip(to_fetch, pool.map(fetch, to_fetch)):
                releases[i] = release
    return tuple(
        PackageFacts(name=pkg.name, version=pkg.version) if release is None
        else facts_for_target(pkg.name, pkg.version, release, lock.target, pkg.hashes)
        for pkg, release in zip(packages, releases)
    )
