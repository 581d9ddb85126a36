"""The two lockers: `uv pip compile` (default) and pip-tools' `pip-compile`.

Both get the same flattened input in a temp dir and write the same format (pins, hashes,
`# via`); we strip their headers and write our own, so the lock text does not depend on the
backend's temp paths. Index configuration comes only from the user's files and our options:
the machine's pip.conf / uv.toml / PIP_* / UV_* index settings are not part of the cache key,
so they are kept away from the backend.
"""

from __future__ import annotations

import functools

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from launchbuild.core.platform import host_machine, wheel_machine
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.resolver.model import Target
from launchbuild.resolver.platforms import uv_python_platform
from launchbuild.resolver.lockfile import strip_header
from launchbuild.resolver import sandbox
from launchbuild.resolver.sandbox import SandboxOptions

_INDEX_ENV = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_NO_INDEX",
              "PIP_REQUIREMENT", "PIP_PRE", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX",
              "UV_DEFAULT_INDEX", "UV_FIND_LINKS", "UV_CONSTRAINT", "UV_OVERRIDE", "UV_PRERELEASE",
              "UV_INDEX_STRATEGY", "UV_NO_INDEX", "UV_OFFLINE", "UV_PYTHON", "UV_EXCLUDE_NEWER")
_NETWORK_ERRORS = re.compile(
    r"error sending request|dns error|failed to lookup address|Connection refused|tcp connect error|"
    r"operation timed out|Network is unreachable|Max retries exceeded|NewConnectionError|"
    r"Could not fetch URL|ConnectTimeout|ReadTimeout|Temporary failure in name resolution|"
    r"certificate verify failed|CERTIFICATE_VERIFY_FAILED|invalid peer certificate",
    re.IGNORECASE,
)
_UNSOLVABLE = re.compile(
    r"No solution found|Could not find a version that satisfies|No matching distribution found|"
    r"ResolutionImpossible|conflicting dependencies|was not found in the package registry",
    re.IGNORECASE,
)
TIMEOUT_S = 600
_EDITABLE = re.compile(r"^\s*(-e|--editable)\b", re.MULTILINE)


@dataclass(frozen=True)
class CompileRequest:
    """One compile for a locker (uv or pip-tools): the flattened input or a project file, the
    target, and the credentials and previous lock it may use."""

    input_text: str  # requirement and option lines, as written to `input_name`
    input_name: str  # the user's file name, so `# via -r requirements.txt` reads naturally
    constraints_text: str  # "" when none; written as constraints.txt and referenced with -c
    target: Target
    # Index credentials taken out of the job's URLs (resolver/boundary.py): a netrc file in the
    # backend's private temp dir, named by NETRC in its environment; never argv, never printed.
    netrc: str = field(default="", repr=False)
    # Project mode: compile this project file (pyproject.toml, setup.py, setup.cfg) of a copy
    # of `project_dir` instead of `input_text`; its build backend runs in isolation.
    project_dir: Path | None = None
    project_file: str = ""
    project_copy: str = "file"  # "file": only the file is copied; "tree": the whole project
    # Project mode: indexes the project names where its backend does not read them (Poetry 2's
    # [[tool.poetry.source]] beside [project]); a requirements input carries its own as lines.
    extra_index_urls: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    # The job's own projects named by requirement lines: (name, directory), copied to
    # projects/<name> beside the input, which refers to them as ./projects/<name>.
    local_projects: tuple[tuple[str, Path], ...] = ()
    find_links_dirs: tuple[Path, ...] = ()  # wheels built or copied on this host (artifacts.py); never in the lock
    # The job's previous lock (entries only): both lockers prefer the pins of an existing output
    # file, so a one-package change keeps every other pin and resolves only what it must.
    preferred_lock: str = ""


@dataclass(frozen=True)
class CompileOutcome:
    """What a compile answered: the lock entries, or the locker's own words on why it found none."""

    ok: bool
    body: str = ""  # the lock entries, backend header removed
    explanation: str = ""  # the backend's own words when it found no solution


class Backend(Protocol):
    name: str

    def version(self) -> str: ...

    def compile(self, request: CompileRequest) -> CompileOutcome: ...


def backend_env(private_tmp: Path | None = None) -> dict[str, str]:
    """The backend's environment: the host's, without its index settings. `private_tmp`: the
    backend's temp folder, made inside the caller's own temp dir (which is removed after): uv
    and the build backends it runs leave files behind in TMPDIR (uv-setuptools-*.lock), and
    nothing of a run may stay in the host's temp dir."""
    env = {k: v for k, v in os.environ.items() if k not in _INDEX_ENV}
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf indexes/constraints of this machine
    env.setdefault("PYTHONUTF8", "1")
    if private_tmp is not None:
        private_tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = env["TEMP"] = env["TMP"] = str(private_tmp)
    return env


_IGNORED_NAMES = shutil.ignore_patterns(".git", ".venv", "venv", "node_modules", "__pycache__", ".tox",
                                        "*.egg-info", "build", "dist", "wandb")
_MAX_COPIED_FILE = 20 * 1024 * 1024  # checkpoints and datasets: a build backend never needs them


def _COPY_IGNORE(directory: str, names: list[str]) -> set[str]:
    """What a project copy for its build backend leaves out: tool folders, and big data files."""
    ignored = set(_IGNORED_NAMES(directory, names))
    for name in names:
        try:
            st = os.lstat(os.path.join(directory, name))
        except OSError:
            continue
        if not os.path.isdir(os.path.join(directory, name)) and st.st_size > _MAX_COPIED_FILE:
            ignored.add(name)
    return ignored


def _write_inputs(request: CompileRequest, directory: Path) -> Path:
    if request.project_dir is not None:
        # A copy, so a backend that writes (setuptools' egg-info) never touches the job's tree,
        # and the lock's `# via name (setup.py)` names the file, not a host path.
        project = directory / "project"
        if request.project_copy == "tree":
            shutil.copytree(request.project_dir, project, symlinks=True, ignore=_COPY_IGNORE)
        else:
            project.mkdir()
            shutil.copy2(request.project_dir / request.project_file, project / request.project_file)
        return project / request.project_file
    for name, source in request.local_projects:
        shutil.copytree(source, directory / "projects" / name, symlinks=True, ignore=_COPY_IGNORE)
    text = request.input_text
    if request.constraints_text:
        (directory / "constraints.txt").write_text(request.constraints_text, encoding="utf-8")
        text = "-c constraints.txt\n" + text
    path = directory / request.input_name
    path.write_text(text, encoding="utf-8")
    if request.netrc:
        fd = os.open(directory / NETRC_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(request.netrc)
    return path


NETRC_NAME = ".launchbuild-netrc"
PRIVATE_TMP = ".launchbuild-tmp"  # the backend's TMPDIR, inside the compile's own temp dir


def _write_preferences(request: CompileRequest, output: Path) -> None:
    if request.preferred_lock.strip():
        output.write_text(request.preferred_lock, encoding="utf-8")


def _run(cmd: list[str], cwd: Path, what: str, private_tmp: Path) -> subprocess.CompletedProcess[str]:
    from launchbuild.netbounds import RESOLVE_DEADLINE_ENV, default_seconds

    env = backend_env(private_tmp)
    if (cwd / NETRC_NAME).is_file():
        env["NETRC"] = str(cwd / NETRC_NAME)
    # One overall deadline for the lock: uv's own HTTP timeout is per read, and an index
    # that answers one byte a second never trips it.
    timeout = default_seconds(TIMEOUT_S, env=RESOLVE_DEADLINE_ENV)
    try:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise InfraUnavailable(f"{what} is not installed ({cmd[0]})", hint="reinstall launchbuild") from None
    except subprocess.TimeoutExpired:
        raise InfraUnavailable(f"{what} did not finish in {timeout:g} s",
                               hint="check that the package index is reachable") from None


def _classify(proc: subprocess.CompletedProcess[str], what: str, output: Path) -> CompileOutcome:
    stderr = proc.stderr.strip()
    if proc.returncode == 0:
        body = strip_header(output.read_text(encoding="utf-8")) if output.is_file() else ""
        return CompileOutcome(ok=True, body=body)
    if _UNSOLVABLE.search(stderr):
        return CompileOutcome(ok=False, explanation=stderr)
    if _NETWORK_ERRORS.search(stderr):
        from launchbuild.jobs.urls import redact_url

        last = [ln for ln in stderr.splitlines() if ln.strip()][-1].strip()
        url = re.search(r"https?://[^\s)'\"`]+", stderr)
        index = f" at {redact_url(url.group(0))}" if url else ""
        raise InfraUnavailable(f"{what} could not reach the package index{index}: {last[:300]}",
                               hint="check the network and the index URL, or use --offline with a cached lock")
    # Anything else is the backend rejecting the input (a bad path, an unbuildable sdist).
    return CompileOutcome(ok=False, explanation=stderr or f"{what} exited {proc.returncode}")


def build_wheel(source: Path, out: Path, *, python: str, what: str,
                options: SandboxOptions | None = None) -> subprocess.CompletedProcess[str]:
    """`uv build --wheel` of a throwaway source tree or an sdist into `out`: in the build sandbox
    (its backend is job code), or on the host where the operator opted out (host-builds)."""
    options = options or SandboxOptions()
    if not options.on_host:
        return sandbox.build_wheel(source, out, python=python, what=what, options=options)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="launchbuild-hostbuild-") as tmp:
        try:
            return subprocess.run([_uv_binary(), "build", "--wheel", "--no-config", "--out-dir", str(out), str(source)],
                                  capture_output=True, text=True, timeout=sandbox.TIMEOUT_S,
                                  env=backend_env(Path(tmp) / PRIVATE_TMP))
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([], 124, "", f"error: the build did not finish in {sandbox.TIMEOUT_S:g} s")


@functools.lru_cache(maxsize=1)  # the installed uv does not change under a running process
def _uv_version() -> str:
    """uv's version, for the lock's cache key: from the name of its own dist-info folder beside
    the package (`uv-0.13.9.dist-info`, PEP 627), which costs 2 ms where importlib.metadata's
    scan of every installed distribution cost 55-90 ms of a 150 ms warm check."""
    import glob
    import os

    import uv

    site = os.path.dirname(os.path.dirname(os.path.abspath(uv.__file__)))
    found = [os.path.basename(p)[len("uv-"):-len(".dist-info")] for p in glob.glob(os.path.join(site, "uv-*.dist-info"))]
    if len(found) == 1 and re.fullmatch(r"[0-9][0-9A-Za-z.+!_-]*", found[0]):
        return found[0]
    from importlib import metadata  # two copies, or an unusual install: ask the slow, sure way

    return metadata.version("uv")


@functools.lru_cache(maxsize=1)  # as its version: found once per process (sysconfig's paths cost more than a warm lock)
def _uv_binary() -> str:
    import uv

    return uv.find_uv_bin()


def _own_what(request: CompileRequest) -> str:
    """The job's projects, when uv's words name nothing (its setup.py projects' metadata)."""
    if request.project_dir is not None:
        return f"the job's {request.project_file}"
    if request.local_projects:
        return "the job's project " + ", ".join(path.name for _, path in request.local_projects)
    return ""


class UvBackend:
    """`uv pip compile` on the host with `--no-build`, so no job code runs here; an input whose
    metadata needs a build (a setup.py project, an sdist-only release) is compiled again in the
    build sandbox (resolver/sandbox.py), with only the compile's folder and find-links mounted."""

    name = "uv"

    def __init__(self, sandbox: SandboxOptions | None = None) -> None:
        self.binary = _uv_binary()
        self.sandbox = sandbox or SandboxOptions()

    def version(self) -> str:
        return _uv_version()

    def compile(self, request: CompileRequest) -> CompileOutcome:
        with tempfile.TemporaryDirectory(prefix="launchbuild-uv-") as tmp:
            directory = Path(tmp) / "work"  # its own folder: the sandbox's uid is given only this
            directory.mkdir()
            source = _write_inputs(request, directory)
            output = directory / "lock.txt"
            _write_preferences(request, output)
            if self.sandbox.on_host:  # the operator's opt-out: build backends run here
                cmd = [self.binary, *self._args(request, source.name, str(output), map(str, request.find_links_dirs))]
                return _classify(_run(cmd, source.parent, "uv", directory / PRIVATE_TMP), "uv", output)
            if not _EDITABLE.search(request.input_text):  # uv builds editables even with --no-build
                cmd = [self.binary, *self._args(request, source.name, str(output), map(str, request.find_links_dirs)),
                       "--no-build"]
                proc = _run(cmd, source.parent, "uv", directory / PRIVATE_TMP)
                if proc.returncode == 0 or not sandbox.needs_build(proc.stderr):
                    return _classify(proc, "uv", output)
                what = sandbox.what_needed_building(proc.stderr) or _own_what(request)
            else:
                what = "an editable requirement"
            return _classify(self._in_sandbox(request, directory, source, output, what), "uv", output)

    def _args(self, request: CompileRequest, source: str, output: str, find_links) -> list[str]:
        cmd = [
            "pip", "compile", source, "--output-file", output,
            "--no-config", "--no-header", "--quiet", "--generate-hashes",
            "--python-version", request.target.python,
            "--python-platform", uv_python_platform(request.target),
            "--no-python-downloads", "--annotation-style", "split",
        ]
        for folder in find_links:
            cmd += ["--find-links", folder]
        for extra in request.extras if request.project_dir is not None else ():
            cmd += ["--extra", extra]
        for url in request.extra_index_urls if request.project_dir is not None else ():
            cmd += ["--extra-index-url", url]
        for group in request.groups if request.project_dir is not None else ():
            cmd += ["--group", f"{source}:{group}"]
        return cmd

    def _in_sandbox(self, request: CompileRequest, directory: Path, source: Path, output: Path,
                    what: str) -> subprocess.CompletedProcess[str]:
        from launchbuild.netbounds import RESOLVE_DEADLINE_ENV, default_seconds

        work = sandbox.Mount(directory, f"{sandbox.SANDBOX_ROOT}/work", read_only=False)
        links = [sandbox.Mount(d, f"{sandbox.SANDBOX_ROOT}/links/{i}") for i, d in enumerate(request.find_links_dirs)]
        mounts = (work, *links)
        env = {}
        if (directory / NETRC_NAME).is_file():
            env["NETRC"] = sandbox.translate(directory / NETRC_NAME, mounts)
        sandbox.give_to_container(directory)
        timeout = default_seconds(TIMEOUT_S, env=RESOLVE_DEADLINE_ENV)
        shown = f"the metadata of {what}" if what else "a requirement's metadata"
        proc = sandbox.run(["uv", *self._args(request, source.name, sandbox.translate(output, mounts),
                                              [m.target for m in links])],
                           mounts, python=request.target.python, what=shown,
                           workdir=sandbox.translate(source.parent, mounts), options=self.sandbox,
                           extra_env=env, timeout_s=timeout)
        if proc.returncode == 0 and not sandbox.is_plain_file(output):
            # The container wrote the folder: a lock.txt that is a link (to the host's ~/.netrc)
            # or a FIFO would have the host read its own file into the lock.
            return subprocess.CompletedProcess(proc.args, 1, "", "error: the build sandbox left no regular lock file")
        if proc.returncode == 124 and "did not finish" in proc.stderr:
            raise InfraUnavailable(f"uv did not finish in {timeout:g} s (building {shown} in the build sandbox)",
                                   hint="check that the package index is reachable")
        return proc


@lru_cache(maxsize=None)
def find_interpreter(python: str) -> str | None:
    """A local `pythonX.Y` that can run pip-tools, or None."""
    candidates = []
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python:
        candidates.append(sys.executable)
    found = shutil.which(f"python{python}")
    if found:
        candidates.append(found)
    for exe in candidates:
        try:
            proc = subprocess.run([exe, "-c", "import sys, piptools; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and proc.stdout.strip() == python:
            return exe
    return None


class PipToolsBackend:
    """pip-compile resolves for the interpreter that runs it, so it needs the target Python."""

    name = "pip-tools"

    def __init__(self, target: Target, sandbox: SandboxOptions | None = None) -> None:
        # pip-compile builds every sdist and local project it meets on the host, with no way to run
        # it in the build sandbox: unless the operator opted into host builds, it gets wheels only
        # (`--only-binary :all:`), and a job's own project (whose metadata needs its backend) is refused.
        self.host_builds = (sandbox or SandboxOptions()).on_host
        if wheel_machine(target.platform) != host_machine():
            raise BadInput(f"the pip-tools backend cannot lock for {target.platform} on a {os.uname().machine} host",
                           hint="use --resolver uv for another CPU architecture")
        exe = find_interpreter(target.python)
        if exe is None:
            raise BadInput(f"the pip-tools backend needs a local Python {target.python} with pip-tools installed",
                           hint=f"install python{target.python} and pip-tools, or use --resolver uv")
        self.python = exe

    def version(self) -> str:
        proc = subprocess.run([self.python, "-c", "from importlib.metadata import version as v;"
                               "import sys; print(v('pip-tools'), v('pip'), '%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
        return proc.stdout.strip()

    def compile(self, request: CompileRequest) -> CompileOutcome:
        with tempfile.TemporaryDirectory(prefix="launchbuild-piptools-") as tmp:
            directory = Path(tmp)
            source = _write_inputs(request, directory)
            output = directory / "lock.txt"
            _write_preferences(request, output)
            if request.groups and request.project_dir is not None:
                raise BadInput("the pip-tools backend cannot lock dependency groups", hint="use --resolver uv")
            if not self.host_builds and (request.project_dir is not None or request.local_projects):
                raise BadInput("the pip-tools backend would run the job's own project's build backend on this host "
                               "(launchbuild runs job code only in a container)",
                               hint="use --resolver uv; an operator may accept the risk with host-builds = true")
            cmd = [
                self.python, "-m", "piptools", "compile", source.name, "--output-file", str(output),
                "--no-header", "--quiet", "--generate-hashes", "--allow-unsafe", "--strip-extras",
                "--no-emit-index-url", "--no-emit-trusted-host", "--no-emit-find-links",
                "--annotation-style", "split",
            ]
            if not self.host_builds:
                cmd += ["--pip-args", "--only-binary=:all:"]
            for folder in request.find_links_dirs:
                cmd += ["--find-links", str(folder)]
            for extra in request.extras if request.project_dir is not None else ():
                cmd += ["--extra", extra]
            for url in request.extra_index_urls if request.project_dir is not None else ():
                cmd += ["--extra-index-url", url]
            return _classify(_run(cmd, source.parent, "pip-compile", directory / PRIVATE_TMP), "pip-compile", output)


def make_backend(name: str, target: Target, sandbox: SandboxOptions | None = None) -> Backend:
    if name == "uv":
        return UvBackend(sandbox)
    if name == "pip-tools":
        return PipToolsBackend(target, sandbox)
    raise BadInput(f"unknown resolver backend {name!r}", hint="use uv or pip-tools")
