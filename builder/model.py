"""What a build produced: the builder's output values. The report embeds them, so they live
here, upstream of the report, and the builder never imports a later stage."""

from __future__ import annotations

from pathlib import Path

from launchbuild.core.records import dataclass


@dataclass(frozen=True)
class VerificationResult:
    """One check the offline verification ran on the built image: passed or not, what it saw."""

    check: str  # "python version", "pip check", "locked versions", "entrypoint", "non-root user"
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class BuildSummary:
    """What a build did: the content tag (built, or found already there), the engine, the push
    and its bytes, and the verification; the report embeds it."""

    tag: str
    skipped: bool  # True when the content-addressed tag already existed
    reason: str = ""  # why it was skipped / built
    duration_s: float = 0.0
    size_bytes: int | None = None
    digest: str | None = None
    pushed: str | None = None  # the reference pushed to, if any
    engine: str = ""
    verification: tuple[VerificationResult, ...] = ()
    # What the push sent, measured on the registry (builder/push_bytes.py): compressed bytes of
    # the blobs it did not have, of the image's total, and (sent, total) blob counts. None: unknown.
    push_bytes_sent: int | None = None
    push_image_bytes: int | None = None
    push_blobs: tuple[int, int] | None = None

    @property
    def verified(self) -> bool:
        return all(v.passed for v in self.verification)


@dataclass(frozen=True)
class Manifests:
    """What a Kubernetes dry run answers instead of a build: the rendered objects (ConfigMap
    with the context, when it travels that way, and the Job), as one YAML stream that
    `kubectl apply -f` takes. `written_to` is the file they were also written to (the
    `output` the caller gave), else None: printing them is the caller's (the CLI's) choice."""

    text: str
    written_to: Path | None = None
