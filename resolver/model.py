"""What the resolver hands to compat, builder and report."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from launchbuild.core.findings import Finding, Location
from launchbuild.core.records import dataclass


@dataclass(frozen=True)
class LockedPackage:
    """One pinned package of the lock: its exact version, its hashes, what required it, and the
    user's line when it was asked for directly."""

    name: str  # canonical (PEP 503) name
    version: str  # exact pin, local version included ("2.4.0+cu121")
    hashes: tuple[str, ...] = ()  # "sha256:..."
    via: tuple[str, ...] = ()  # what required it ("-r requirements.txt", "torch")
    location: Location | None = None  # the user's line that asked for it, when direct


@dataclass(frozen=True)
class CleaningAction:
    """One change made to a run's package list, and why (shown in the report)."""

    line: str
    action: str  # "dropped" | "repinned" | "rerouted" | "merged" | "flagged"
    reason: str
    location: Location | None = None


@dataclass(frozen=True)
class Target:
    """What the lock is resolved for: the image's Python, platform and glibc."""

    python: str  # "3.11"
    platform: str = "linux/amd64"
    glibc: str | None = None  # "2.36"; None = the backend's manylinux default


@dataclass(frozen=True)
class Lock:
    """The job's lock: its text and pinned packages, the target and locker, and the indexes,
    credentials and wheels its install needs."""

    packages: tuple[LockedPackage, ...]
    text: str  # the lock file as written (pinned, hashed, `# via` annotated)
    target: Target
    backend: str  # "uv" | "pip-tools"
    input_hash: str  # content hash of every input, the cache key
    index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    cuda_variants: tuple[tuple[str, str], ...] = ()  # (package, "cu121") from +cuXYZ pins
    # Index credentials taken out of the job's URLs (resolver/boundary.Credentials): they reach
    # the install step only as a build secret; never part of the text, the hash or a repr.
    credentials: Any = field(default=None, repr=False, compare=False)
    own_projects: tuple[str, ...] = ()  # the job's own projects (paths in its code), installed after the lock
    wheels: tuple[str, ...] = ()  # host paths of wheels the build copies into its context (artifacts.py)

    @property
    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.text.encode()).hexdigest()

    def version_of(self, name: str) -> str | None:
        from packaging.utils import canonicalize_name

        wanted = canonicalize_name(name)
        for p in self.packages:
            if p.name == wanted:
                return p.version
        return None


@dataclass(frozen=True)
class ResolveResult:
    """The outcome of resolving. `lock` is None when nothing could be locked; then the
    findings (LB301, ...) say why. Never an empty lock presented as success."""

    input_kind: str  # "requirements" | "pyproject" | "environment" | "frozen" | "none"
    input_path: str | None
    skipped_inputs: tuple[tuple[str, str], ...] = ()  # (path, why it was not used)
    cleaning: tuple[CleaningAction, ...] = ()
    lock: Lock | None = None
    findings: tuple[Finding, ...] = ()
    cache_hit: bool = False
    requirements_text: str = ""  # the cleaned input handed to the backend
    conda_only: tuple[str, ...] = ()
    extras: tuple[str, ...] = field(default=())
    packages: tuple["PackageFacts", ...] = ()  # index facts per locked package
    input_reason: str = ""  # why this input won (precedence), for the report and -v
    input_read: tuple[str, ...] = ()  # what the detector read from it
    input_not_used: tuple[str, ...] = ()  # parts of it that did not reach the lock, and why
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackageFacts:
    """What the index says about one locked distribution, for the target (LB302, LB306).

    Gathered by the resolver (network at the edge); consumed by pure compat rules.
    `None` means unknown (offline, or the index did not say)."""

    name: str
    version: str
    has_target_wheel: bool | None = None  # a wheel installable on the target Python/platform/glibc
    has_sdist: bool | None = None
    requires_python: str | None = None  # the release's Requires-Python specifier
    wheel_tags: tuple[str, ...] = ()  # e.g. "cp311-cp311-manylinux_2_17_x86_64"
    wheel_bytes: int | None = None  # size of the biggest wheel for the target, as the index gives it
    # The index has a wheel for the target, but the lock's hashes allow none of its wheels (a
    # pylock.toml or a hashed requirements file that lists only the sdist): it builds from source.
    wheel_not_locked: bool = False
