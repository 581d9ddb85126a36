"""Local build engines, and the Docker-engine edges the builder needs (tags, registry, push).

Two engines behind one interface:
- `BuildKitCLI`: the docker CLI with BuildKit (`docker buildx build --load`, or
  `DOCKER_BUILDKIT=1 docker build` on clients that have BuildKit built in). Cache, secret
  and bind mounts; the CA bundle travels as a secret.
- `ClassicSDK`: the docker SDK's `images.build` (the legacy builder). No mounts.

Neither tags anything: a build yields an image ID, and the caller tags it only after the
image has been verified. A failed or interrupted build therefore leaves no tag behind.
"""

from __future__ import annotations

import abc
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from launchbuild.builder.context import DOCKERFILE_PATH
from launchbuild.builder.plan import Frontend
from launchbuild.builder.tags import split_ref
from launchbuild.core.platform import host_arch  # noqa: F401  (builder.api calls engine.host_arch; tests replace it)
from launchbuild.errors import BadInput, BuildFailed, InfraUnavailable

LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class ProgressEvent:
    line: str  # one raw line of build output
    step: str | None  # the step it belongs to, "[3/9] RUN ..." (BuildKit) or "Step 3/9 : RUN ..."
    elapsed_s: float  # since the build started


@dataclass(frozen=True)
class StepRecord:
    name: str
    cached: bool


@dataclass(frozen=True)
class BuildResult:
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


def docker_client(timeout: int = 600):
    """A pinged docker SDK client, or InfraUnavailable with one line."""
    import docker
    from docker.errors import DockerException

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


# ---------------------------------------------------------------- BuildKit through the CLI

_BK_STEP = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")
_BK_CACHED = re.compile(r"^#(\d+) CACHED\s*$")
_BK_ERROR = re.compile(r"^#(\d+) ERROR[: ]\s*(.*)$")


def _cli_candidates() -> list[str]:
    seen: list[str] = []
    explicit = os.environ.get("LAUNCHBUILD_DOCKER")
    if explicit:
        seen.append(explicit)
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "docker")
        if os.access(p, os.X_OK) and os.path.realpath(p) not in map(os.path.realpath, seen):
            seen.append(p)
    if os.access("/usr/bin/docker", os.X_OK) and "/usr/bin/docker" not in seen:
        seen.append("/usr/bin/docker")
    return seen


def _client_major(cli: str) -> int | None:
    try:
        out = subprocess.run(
            [cli, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.match(r"(\d+)\.", out)
    return int(m.group(1)) if m else None


_PLUGIN_DIRS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
                "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")


def _probe_key(candidates: list[str]) -> str:
    """What the probe's answer depends on: the client binaries and the buildx plugins."""
    config = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    parts = []
    for path in candidates + [os.path.join(d, "docker-buildx") for d in (*_PLUGIN_DIRS, os.path.join(config, "cli-plugins"))]:
        try:
            st = os.stat(path)
            parts.append(f"{path}:{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:-")
    return "\n".join(parts)


def find_buildkit_cli() -> tuple[str, bool] | None:
    """(docker CLI path, has buildx) of the first client that can drive BuildKit.
    Clients from 23.0 on need the buildx plugin for BuildKit; older ones have it built in.

    The answer is remembered per client binary and plugin set (the two probes run the CLI
    twice, ~0.15 s, on every build); a changed binary or plugin probes again."""
    from launchbuild.core.cache import cache_root, read_json, write_json

    candidates = _cli_candidates()
    memo = cache_root() / "engine-probe.json"
    key = _probe_key(candidates)
    saved = read_json(memo)  # damaged, deep or huge: probe again and rewrite it
    if (isinstance(saved, dict) and saved.get("key") == key and isinstance(saved.get("cli"), str)
            and saved["cli"] in candidates and isinstance(saved.get("buildx"), bool)):
        return saved["cli"], saved["buildx"]
    found = _probe_buildkit_cli(candidates)
    if found is not None:
        write_json(memo, {"key": key, "cli": found[0], "buildx": found[1]})  # unwritable: probe next time
    return found


def _probe_buildkit_cli(candidates: list[str]) -> tuple[str, bool] | None:
    for cli in candidates:
        try:
            if subprocess.run([cli, "buildx", "version"], capture_output=True, timeout=20).returncode == 0:
                return cli, True
        except (OSError, subprocess.TimeoutExpired):
            continue
        major = _client_major(cli)
        if major is not None and major < 23:
            return cli, False
    return None


class BuildKitCLI(LocalEngine):
    name = "buildkit"
    frontend = Frontend.BUILDKIT

    def __init__(self, cli: str, has_buildx: bool):
        self.cli = cli
        self.has_buildx = has_buildx

    @classmethod
    def detect(cls) -> "BuildKitCLI | None":
        found = find_buildkit_cli()
        return cls(*found) if found else None

    def command(
        self, context_dir: Path, iidfile: Path, *, platform: str | None, no_cache: bool, secrets: dict[str, Path]
    ) -> list[str]:
        cmd = [self.cli, "buildx", "build", "--load"] if self.has_buildx else [self.cli, "build"]
        cmd += ["--network", "host", "--progress", "plain", "--iidfile", str(iidfile)]
        cmd += ["-f", str(context_dir / DOCKERFILE_PATH)]
        if platform:
            cmd += ["--platform", platform]
        if no_cache:
            cmd.append("--no-cache")
        for sid, path in sorted(secrets.items()):
            # A secret is mounted only into the RUN steps that ask for it; never a build arg.
            cmd += ["--secret", f"id={sid},src={path}"]
        cmd.append(str(context_dir))
        return cmd

    def build(self, context_dir, *, platform=None, no_cache=False, secrets=None, on_progress=None):
        with tempfile.TemporaryDirectory(prefix="launchbuild-iid-") as tmp:
            iidfile = Path(tmp) / "iid"
            cmd = self.command(context_dir, iidfile, platform=platform, no_cache=no_cache, secrets=secrets or {})
            env = dict(os.environ, DOCKER_BUILDKIT="1")
            tail, steps, rc, duration = _stream(cmd, env, on_progress)
            if rc != 0:
                raise _failure(tail, steps)
            image_id = iidfile.read_text().strip() if iidfile.exists() else ""
        if not image_id:
            raise BuildStepFailed("the build finished without an image ID", hint="rerun with --verbose", log_tail=tail)
        return BuildResult(image_id, tuple(StepRecord(n, c) for n, c in steps.values()), duration, tail)


def _stream(cmd: list[str], env: dict[str, str], on_progress: ProgressCallback | None):
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    steps: dict[str, list] = {}  # BuildKit step id -> [name, cached]
    current: str | None = None
    try:
        # Own session: a terminal's Ctrl-C reaches us, and we stop the client cleanly.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            text=True, errors="replace",
        )
    except OSError as exc:
        raise InfraUnavailable(f"cannot run {cmd[0]}: {exc.strerror}", hint="install the docker CLI") from None
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            m = _BK_STEP.match(line)
            if m and not m.group(2).startswith("internal") and m.group(1) not in steps:
                steps[m.group(1)] = [f"[{m.group(2)}] {m.group(3)}", False]
            if m:
                current = f"[{m.group(2)}] {m.group(3)}"
            c = _BK_CACHED.match(line)
            if c and c.group(1) in steps:
                steps[c.group(1)][1] = True
            if on_progress is not None:
                on_progress(ProgressEvent(line, current, time.monotonic() - started))
        rc = proc.wait()
    except BaseException:
        # Ctrl-C (or a failing callback): the CLI cancels the build on SIGINT; nothing was tagged.
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        raise
    if rc != 0 and any("Cannot connect to the Docker daemon" in l for l in tail):
        raise InfraUnavailable("Docker engine not reachable during the build", hint="start the Docker daemon")
    if rc != 0 and not engine_answers(cmd[0], env):
        # A daemon that dies mid-build makes the client say odd things ("server did not
        # provide an image ID", "EOF"); that is the engine's failure, not the build's.
        raise InfraUnavailable("Docker engine stopped answering during the build",
                               hint="start the Docker daemon and rerun; nothing was tagged")
    return tuple(tail), steps, rc, time.monotonic() - started


def engine_answers(cli: str, env: dict[str, str], timeout: float = 15.0) -> bool:
    """Whether the engine `cli` talks to (same DOCKER_HOST/context as the build) answers now."""
    try:
        proc = subprocess.run([cli, "version", "--format", "{{.Server.Version}}"], env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


_BK_OUTPUT = re.compile(r"^#(\d+) \d+\.\d+ (.*)$")
_TOOL_ERROR = re.compile(r"^\s*(error|ERROR|cause|E:|×|hint)[:\s]", re.IGNORECASE)


def _failure(tail: tuple[str, ...], steps: dict) -> BuildStepFailed:
    """One line: which step failed and what the tool in it said (uv/pip/apt's own error),
    rather than BuildKit's generic "executor failed running [...]"."""
    failed_id = None
    reason = ""
    for line in tail:
        m = _BK_ERROR.match(line)
        if m:
            failed_id, reason = m.group(1), m.group(2)
    said = [m.group(2).strip() for m in map(_BK_OUTPUT.match, tail)
            if m and m.group(1) == failed_id and _TOOL_ERROR.match(m.group(2))]
    if said:
        reason = " / ".join(said[:3])
    if not reason:
        reason = next((l for l in reversed(tail) if "error" in l.lower()), tail[-1] if tail else "no output")
    step = steps.get(failed_id, [None])[0] if failed_id else None
    where = ""
    shown_step = None
    if step:
        label, _, command = step.partition("] ")
        shown = " ".join(w for w in command.split() if not w.startswith("--mount="))
        where = f" at step {label}] ({shown[:90]}...)"
        shown_step = f"{label}] {shown}"
    return BuildStepFailed(
        f"image build failed{where}: {' '.join(reason.split())[:400]}",
        hint="the log tail is in the report; nothing was tagged",
        log_tail=tail,
        step=shown_step,
    )


# ---------------------------------------------------------------- classic builder via the SDK

_CLASSIC_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


class ClassicSDK(LocalEngine):
    name = "classic"
    frontend = Frontend.CLASSIC

    def __init__(self, client=None):
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = docker_client()
        return self._client

    def build(self, context_dir, *, platform=None, no_cache=False, secrets=None, on_progress=None):
        from docker.errors import APIError, DockerException

        if secrets:
            raise BadInput("the classic builder cannot take secrets", hint="use the BuildKit engine")
        started = time.monotonic()
        tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        steps: list[list] = []
        image_id = ""
        error = ""
        kwargs = dict(
            path=str(context_dir), dockerfile=DOCKERFILE_PATH, network_mode="host", rm=True, forcerm=True,
            nocache=no_cache, decode=True,
        )
        if platform:
            kwargs["platform"] = platform
        try:
            for chunk in self.client.api.build(**kwargs):
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    tail.append(error)
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = aux["ID"]
                text = chunk.get("stream")
                if not text:
                    continue
                for line in text.splitlines():
                    tail.append(line)
                    m = _CLASSIC_STEP.match(line)
                    if m:
                        steps.append([f"[{m.group(1)}/{m.group(2)}] {m.group(3)}", False])
                    elif "Using cache" in line and steps:
                        steps[-1][1] = True
                    if on_progress is not None:
                        on_progress(ProgressEvent(line, steps[-1][0] if steps else None, time.monotonic() - started))
        except (APIError, DockerException) as exc:
            if isinstance(exc, APIError):
                error = str(exc.explanation or exc)
            else:
                raise InfraUnavailable(f"Docker engine failed during the build: {str(exc)[:160]}",
                                       hint="check the Docker daemon") from None
        if error or not image_id:
            where = f" at {steps[-1][0][:120]}" if steps else ""
            raise BuildStepFailed(
                f"image build failed{where}: {(error or 'no image ID returned')[:300]}",
                hint="the log tail is in the report; nothing was tagged",
                log_tail=tuple(tail),
                step=steps[-1][0] if steps else None,
            )
        return BuildResult(image_id, tuple(StepRecord(n, c) for n, c in steps), time.monotonic() - started, tuple(tail))


def select_engine(name: str = "auto", client=None) -> LocalEngine:
    """"auto": BuildKit through the CLI when a capable client exists, else the classic SDK."""
    if name not in ("auto", "buildkit", "classic"):
        raise BadInput(f"engine {name!r} is not a local engine", hint="use auto, buildkit or classic")
    if name in ("auto", "buildkit"):
        bk = BuildKitCLI.detect()
        if bk is not None:
            return bk
        if name == "buildkit":
            raise InfraUnavailable(
                "no docker CLI with BuildKit found (needs buildx, or a client older than 23.0)",
                hint="install the buildx plugin or use --engine classic",
            )
    return ClassicSDK(client)


# ---------------------------------------------------------------- images, registry, push

def local_image_id(client, ref: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(ref).id
    except ImageNotFound:
        return None


def registry_manifest_digest(client, ref: str) -> str | None:
    """The manifest digest of `ref` in its registry (a HEAD/GET on the manifest, done by the
    engine with the credentials from the docker config), None when the tag is not there.
    A registry that cannot be reached is InfraUnavailable."""
    from docker.errors import APIError, NotFound

    try:
        return client.images.get_registry_data(ref).id
    except NotFound:
        return None
    except APIError as exc:
        text = str(exc.explanation or exc).lower()
        if any(s in text for s in ("manifest unknown", "not found", "unauthorized", "denied", "name unknown")):
            return None
        raise InfraUnavailable(
            f"registry for {ref} not reachable: {str(exc.explanation or exc)[:160]}",
            hint="check the registry address and that it is running",
        ) from None


def tag_image(client, image_id: str, ref: str) -> None:
    repo, tag = split_ref(ref)
    client.api.tag(image_id, repo, tag)


def remove_image(client, image_id: str) -> None:
    """Remove a build result that must not survive (failed verification). An ID that other
    tags still hold is left alone: it was not ours alone."""
    from docker.errors import APIError, ImageNotFound

    try:
        client.images.remove(image_id, noprune=False)
    except ImageNotFound:
        pass
    except APIError:
        pass


def push_image(client, ref: str) -> str:
    """Push `host:port/repo:tag`; the repository and tag are split at the last ':' after the
    last '/', so a registry port is never mistaken for a tag. Returns the pushed digest."""
    from docker.errors import APIError, DockerException

    repo, tag = split_ref(ref)
    digest = None
    try:
        for chunk in client.images.push(repo, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise InfraUnavailable(
                    f"push of {ref} failed: {str(chunk['error']).strip()[:200]}",
                    hint="check the registry address and your docker login",
                )
            aux = chunk.get("aux")
            if isinstance(aux, dict) and aux.get("Digest"):
                digest = aux["Digest"]
    except (APIError, DockerException) as exc:
        raise InfraUnavailable(f"push of {ref} failed: {str(exc)[:200]}", hint="check the registry") from None
    if not digest:
        raise InfraUnavailable(f"push of {ref} returned no digest", hint="check the registry logs")
    return digest


def find_uv_binary() -> Path | None:
    """The host's uv, when it can run inside a Linux image: an ELF binary (on macOS the host's
    uv is Mach-O, so builds there fall back to the venv's pip)."""
    try:
        import uv

        found: str | None = uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
    if not found:
        return None
    try:
        with open(found, "rb") as f:
            if f.read(4) != b"\x7fELF":
                return None
    except OSError:
        return None
    return Path(found)
