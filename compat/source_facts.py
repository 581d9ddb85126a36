"""What the source scan found (compat/facts/source_scan.py does the walking): plain values the rules
read. Kept apart from the scan so the pure side of compat imports no filesystem code."""

from __future__ import annotations

from launchbuild.core.records import dataclass



@dataclass(frozen=True)
class SourceItem:
    """One file or folder the source scan flags (a likely secret, or bulky), and whether the
    build would copy it (LB402)."""

    path: str  # relative to the source root, "/"-separated
    why: str
    size_bytes: int
    copied: bool = True  # False: the ignore rules (defaults + .dockerignore) keep it out


@dataclass(frozen=True)
class EntrypointTarget:
    """What the job's entrypoint runs (a script or a module), with which launcher, and whether
    the source has it."""

    kind: str  # "script" | "module"
    name: str  # "train.py", "pkg.main"
    found: bool | None  # None: cannot be told from the source (absolute path, installed module)
    command: str  # the launcher as written ("python3.11", "torchrun", "bash")


@dataclass(frozen=True)
class SourceFacts:
    """What the source scan found in the job's code: the entrypoint's target, likely secrets,
    bulky items, and how much the build would copy."""

    root: str
    entrypoint: EntrypointTarget | None = None  # None: no entrypoint, or a command we can't read
    secrets: tuple[SourceItem, ...] = ()
    bulky: tuple[SourceItem, ...] = ()
    dockerignore: str | None = None  # ".dockerignore" when the source has one
    files: int = 0  # files that would be copied
    total_bytes: int = 0


__all__ = ["EntrypointTarget", "SourceFacts", "SourceItem"]
