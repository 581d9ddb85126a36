"""What every build engine shares: the engine protocol and the values an engine returns.

An engine turns a prepared context directory into an image ID and never tags anything: the
caller tags only after the image has been verified, so a failed or interrupted build leaves
no tag behind. `buildkit` and `classic` build in the local Docker engine; `kubernetes`
(engines/kubernetes.py) builds in a cluster Job and pushes.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from launchbuild.builder.plan import Frontend
from launchbuild.core.records import dataclass
from launchbuild.errors import BuildFailed, InfraUnavailable

if TYPE_CHECKING:  # kept out of the import path of `check`
    from launchbuild.builder.kubernetes_options import KubernetesBuildOptions
    from launchbuild.core.findings import Finding
    from launchbuild.builder.model import BuildSummary, Manifests

LOG_TAIL_LINES = 40
ENGINES = ("auto", "buildkit", "classic", "kubernetes")


@dataclass(frozen=True)
class ProgressEvent:
    """One line of build output as the engine streams it to `on_progress`, with its step and the
    time since the build started."""

    line: str  # one raw line of build output
    step: str | None  # the step it belongs to, "[3/9] RUN ..." (BuildKit) or "Step 3/9 : RUN ..."
    elapsed_s: float  # since the build started


@dataclass(frozen=True)
class StepRecord:
    """One step of a finished build, and whether it came from the engine's cache."""

    name: str
    cached: bool


@dataclass(frozen=True)
class BuildResult:
    """What a local engine's build answered: the image ID (never tagged here), its steps, its
    duration and the log's last lines."""

    image_id: str
    steps: tuple[StepRecord, ...]
    duration_s: float
    log_tail: tuple[str, ...] = ()


ProgressCallback = Callable[[ProgressEvent], None]


class BuildStepFailed(BuildFailed):
    """A build that failed in the engine; `log_tail` holds the last lines for the report."""

    def __init__(self, message: str, *, hint: str | None = None, log_tail: tuple[str, ...] = (),
                 step: str | None = None):
        super().__init__(message, hint=hint)
        self.log_tail = log_tail
        self.step = step  # "[5/7] RUN uv pip install ..." (mount flags dropped), when known


def docker_host_problem(host: str) -> str | None:
    """Why DOCKER_HOST is not an endpoint the SDK can use ("tcp://h:notaport", "bogus://x"),
    or None. The SDK raises ValueError for some of these, which is no engine being down."""
    from docker.errors import DockerException
    from docker.utils import parse_host

    try:
        parse_host(host, False)
    except (DockerException, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def docker_client(timeout: int = 600):
    """A pinged docker SDK client, or InfraUnavailable with one line; a malformed DOCKER_HOST
    is the operator's setting, so BadInput (exit 2) naming it."""
    import os

    import docker
    from docker.errors import DockerException

    host = os.environ.get("DOCKER_HOST", "").strip()
    problem = docker_host_problem(host) if host else None
    if problem is not None:
        from launchbuild.errors import BadInput
        from launchbuild.jobs.urls import redact_text

        raise BadInput(f"DOCKER_HOST={redact_text(host)!r} is not a Docker endpoint ({redact_text(problem)[:160]})",
                       hint="set it to unix:///var/run/docker.sock, tcp://HOST:PORT or ssh://USER@HOST, or unset it")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InfraUnavailable(
            f"Docker engine not reachable ({first[:160]})",
            hint="start the Docker daemon or set DOCKER_HOST",
        ) from None
    return client


class LocalEngine(abc.ABC):
    """An engine that builds a prepared context into an image in the local Docker engine."""

    name: str
    frontend: Frontend

    @abc.abstractmethod
    def build(
        self,
        context_dir: Path,
        *,
        platform: str | None = None,
        no_cache: bool = False,
        secrets: dict[str, Path] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BuildResult: ...


# ---------------------------------------------------------------- what `engines.run` takes and answers


@dataclass(frozen=True)
class EngineOptions:
    """How `engines.run` builds a plan: the engine, the job's source, push and cache choices, the
    cluster options, and the clients tests hand in."""

    engine: str = "auto"
    source_dir: Path | None = None  # the job's source (git and code jobs)
    push: str | None = None  # a repository; the content tag is appended
    force: bool = False
    no_cache: bool = False
    ca_bundle: str | None = None  # the user's CA bundle option (local installs only)
    credentials: Any = None  # the lock's Credentials: files holding them stay out of the code copy
    # The operator's cluster options. `destination`, `platform` and `dockerfile` are set by the
    # engine from the plan and the content tag; whatever the caller put there is replaced.
    kubernetes: KubernetesBuildOptions | None = None
    dry_run: bool = False  # kubernetes: render the manifests (and write them to `output` if given), submit nothing
    output: Path | str | None = None
    base_digest: str | None = None  # the digest the check read; used only when no local engine answers
    client: Any = None  # a docker SDK client (tests); found when None
    kube_api_client: Any = None  # a kubernetes ApiClient (tests: the fake API server); from kubeconfig when None
    poll_interval_s: float = 2.0  # how often the cluster Job and verification Pod are read


@dataclass(frozen=True)
class BuildOutcome:
    """What a build answered. `summary` is None for a dry run (`manifests` holds what it
    rendered) and when a finding found before submission stopped it (`findings`, e.g. LB404)."""

    summary: BuildSummary | None
    findings: tuple[Finding, ...] = ()
    manifests: Manifests | None = None
