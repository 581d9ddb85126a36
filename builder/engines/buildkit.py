"""The BuildKit engine: the docker CLI with BuildKit (`docker buildx build --load`, or
`DOCKER_BUILDKIT=1 docker build` on clients that have BuildKit built in). Cache, secret and
bind mounts; the CA bundle travels as a secret."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path

from launchbuild.builder.context import DOCKERFILE_PATH
from launchbuild.builder.engines.base import (
    LOG_TAIL_LINES,
    BuildResult,
    BuildStepFailed,
    LocalEngine,
    ProgressCallback,
    ProgressEvent,
    StepRecord,
)
from launchbuild.builder.plan import Frontend
from launchbuild.errors import InfraUnavailable

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
