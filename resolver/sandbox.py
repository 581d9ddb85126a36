"""Job code runs only here: one command in a throwaway container on the operator's Docker engine.

Resolving runs a job's build backend (its setup.py, a PEP 517 hook of its own project, of a
vendored sdist, of a VCS checkout, of an sdist-only dependency whose metadata is not static).
That is arbitrary code written by whoever wrote the job, so it never runs on the host: it runs
in a container of the target Python's image, with the host's uv bind-mounted read-only, only a
copy of what it builds and an output folder mounted, as a non-root uid, without capabilities,
with a read-only root filesystem (a tmpfs /tmp), a pids and memory limit, a deadline, and a
small explicit environment (never the operator's). No Docker socket, no host home, no
credentials but the job's own index ones. The container is removed afterwards, whatever
happened (a failure, the deadline, Ctrl-C).

`--network host` is used because build dependencies come from the package index and the
engines this is run on may have no bridge network; docs/SECURITY.md says what that leaves open.

The pure parts (`container_env`, `create_kwargs`, `translate`, `needs_build`) are unit tested;
`run` needs an engine (tests/integration/test_sandbox_builds.py).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from launchbuild.core.records import dataclass
from launchbuild.errors import InfraUnavailable

DEFAULT_IMAGE = "python:{python}-slim"  # the builder's default Python base (options: python-base-image)
IMAGE_ENV = "LAUNCHBUILD_BUILD_SANDBOX_IMAGE"  # the option's environment name (options/table.py)
HOST_BUILDS_ENV = "LAUNCHBUILD_HOST_BUILDS"
UV_IN_CONTAINER = "/opt/launchbuild/bin/uv"
CA_IN_CONTAINER = "/opt/launchbuild/ca.pem"
SANDBOX_ROOT = "/sandbox"
NOBODY = 65534  # the container's uid when the host runs as root
TIMEOUT_S = 900.0
PIDS_LIMIT = 512
MEMORY_LIMIT = "4g"
TMPFS_SIZE = "2g"
API_TIMEOUT_S = 900.0
LOG_LINES = 4000  # of each stream read back: a build printing without end must not fill memory
LABEL = "launchbuild.sandbox"
WHY = "runs the project's build backend; launchbuild runs job code only in a container"
_CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")
_SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
# uv 0.13's words when `--no-build` stopped it (tests/unit/test_sandbox.py has each one).
_NEEDS_BUILD = re.compile(
    r"Building source distributions(?: for `[^`\n]*`)? (?:is|are) disabled|building from source is disabled",
    re.IGNORECASE)
_NAMED = re.compile(r"(?:Failed to build|Wheels are required for|Building source distributions for) `([^`\n]{1,200})`")


@dataclass(frozen=True)
class SandboxOptions:
    """The operator's settings (options/table.py: build-sandbox-image, host-builds)."""

    image: str | None = None  # a template with {python}; None: $LAUNCHBUILD_BUILD_SANDBOX_IMAGE, else DEFAULT_IMAGE
    host_builds: bool | None = None  # True: run build backends on the host (unsafe); None: $LAUNCHBUILD_HOST_BUILDS

    def image_for(self, python: str) -> str:
        template = self.image or os.environ.get(IMAGE_ENV, "").strip() or DEFAULT_IMAGE
        return template.replace("{python}", python)

    @property
    def on_host(self) -> bool:
        if self.host_builds is not None:
            return self.host_builds
        return os.environ.get(HOST_BUILDS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Mount:
    host: Path
    target: str  # an absolute path in the container
    read_only: bool = True


def needs_build(stderr: str) -> bool:
    """True when uv stopped because `--no-build` forbade a build it needed."""
    return bool(_NEEDS_BUILD.search(stderr))


def what_needed_building(stderr: str) -> str:
    """The package uv names in a needs-build failure, for the message ("" when it names none)."""
    m = _NAMED.search(stderr)
    if not m:
        return ""
    name = m.group(1)
    if "/projects/p" in name or name.startswith("./projects/"):
        return "the job's own project"
    return name.split(" @ ", 1)[0]


def translate(path: Path | str, mounts: Sequence[Mount]) -> str:
    """The container path of a host path under one of `mounts` (the deepest mount wins)."""
    p = Path(os.path.abspath(path))
    best: tuple[int, str] | None = None
    for mount in mounts:
        root = Path(os.path.abspath(mount.host))
        try:
            rel = p.relative_to(root)
        except ValueError:
            continue
        depth = len(root.parts)
        if best is None or depth > best[0]:
            best = (depth, str(PurePosixPath(mount.target, *rel.parts)) if rel.parts else mount.target)
    if best is None:
        raise ValueError(f"{p} is not under any mounted folder")
    return best[1]


def container_user(host_uid: int, host_gid: int) -> tuple[int, int]:
    """The container's uid:gid: the operator's own (files it writes stay the operator's), or
    nobody when the operator is root (never root in the container)."""
    return (NOBODY, NOBODY) if host_uid == 0 else (host_uid, host_gid)


def container_env(extra: Mapping[str, str] | None = None, *, ca: bool = False) -> dict[str, str]:
    """The whole environment of the container: nothing of the operator's."""
    env = {
        "PATH": "/opt/launchbuild/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONUTF8": "1",
        "PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_CACHE_DIR": "/tmp/uv-cache", "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
    if ca:
        env["SSL_CERT_FILE"] = CA_IN_CONTAINER
        env["PIP_CERT"] = CA_IN_CONTAINER
    env.update(extra or {})
    return env


def create_kwargs(image: str, argv: Sequence[str], mounts: Sequence[Mount], *, workdir: str, env: Mapping[str, str],
                  user: tuple[int, int], uv_binary: str, ca_file: Path | None) -> dict[str, Any]:
    """The docker SDK's `containers.create` arguments for one sandboxed command."""
    volumes = {os.path.abspath(uv_binary): {"bind": UV_IN_CONTAINER, "mode": "ro"}}
    if ca_file is not None:
        volumes[str(ca_file)] = {"bind": CA_IN_CONTAINER, "mode": "ro"}
    for mount in mounts:
        if not mount.target.startswith(SANDBOX_ROOT + "/"):
            raise ValueError(f"sandbox mounts go under {SANDBOX_ROOT}: {mount.target}")
        volumes[os.path.abspath(mount.host)] = {"bind": mount.target, "mode": "ro" if mount.read_only else "rw"}
    return dict(
        image=image, command=list(argv), entrypoint=[], user=f"{user[0]}:{user[1]}", environment=dict(env),
        working_dir=workdir, network_mode="host", cap_drop=["ALL"], security_opt=["no-new-privileges"],
        read_only=True, tmpfs={"/tmp": f"rw,nosuid,nodev,size={TMPFS_SIZE}"}, pids_limit=PIDS_LIMIT,
        mem_limit=MEMORY_LIMIT, memswap_limit=MEMORY_LIMIT, volumes=volumes, labels={LABEL: "1"},
        stdin_open=False, tty=False, ipc_mode="private", init=True,
    )


@functools.lru_cache(maxsize=1)  # the installed uv does not change under a running process
def _uv_binary() -> str:
    import uv

    return uv.find_uv_bin()


def host_ca_bundle(env: Mapping[str, str] | None = None) -> Path | None:
    """The CA bundle the host trusts (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT, the system's)."""
    env = os.environ if env is None else env
    for name in _CA_ENV:
        value = env.get(name, "").strip()
        if value and os.path.isfile(value):
            return Path(value)
    return Path(_SYSTEM_CA) if os.path.isfile(_SYSTEM_CA) else None


def is_plain_file(path: Path) -> bool:
    """A regular file, not a link, a FIFO or a device: what the host may read of what a container wrote."""
    import stat

    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def give_to_container(path: Path) -> None:
    """Make a host folder the container's to use: owned by its uid when the host is root (the
    folder sits in the host's private temp dir); the operator's own already otherwise."""
    if os.getuid() != 0:
        return
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), NOBODY, NOBODY)
    os.chown(path, NOBODY, NOBODY)


def unavailable(what: str, detail: str) -> InfraUnavailable:
    return InfraUnavailable(
        f"building {what} {WHY}, and no Docker engine answers ({detail[:160]})",
        hint="start the Docker engine or set DOCKER_HOST; an operator may accept the risk with host-builds = true")


def _client(what: str) -> Any:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=60)  # an engine that does not answer is known within a minute
        client.ping()
    except (DockerException, OSError) as exc:  # OSError: a DOCKER_HOST the SDK cannot even parse
        raise unavailable(what, (str(exc).splitlines() or [type(exc).__name__])[0]) from None
    client.api.timeout = API_TIMEOUT_S  # then a pull or a container's logs may take longer
    return client


def _ensure_image(client: Any, image: str, what: str) -> None:
    from docker.errors import DockerException, ImageNotFound

    try:
        client.images.get(image)
        return
    except ImageNotFound:
        pass
    except DockerException as exc:
        raise unavailable(what, str(exc)) from None
    from requests.exceptions import RequestException

    try:
        client.images.pull(image)
    except (DockerException, RequestException) as exc:
        raise InfraUnavailable(
            f"building {what} {WHY}, and its image {image} is not in the engine and could not be pulled "
            f"({(str(exc).splitlines() or [''])[0][:160]})",
            hint="pull it, or set build-sandbox-image to a Python image the engine has") from None


def run(argv: Sequence[str], mounts: Sequence[Mount], *, python: str, what: str, workdir: str,
        options: SandboxOptions | None = None, extra_env: Mapping[str, str] | None = None,
        timeout_s: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run `argv` (its first word `uv` is the host's uv) in a throwaway container; its exit code
    and the tail of its output. `what` names what is built, for the one-line errors."""
    options = options or SandboxOptions()
    image = options.image_for(python)
    client = _client(what)
    try:
        _ensure_image(client, image, what)
        with tempfile.TemporaryDirectory(prefix="launchbuild-sandbox-") as tmp:
            ca = host_ca_bundle()
            ca_copy = None
            if ca is not None:
                ca_copy = Path(tmp) / "ca.pem"
                shutil.copyfile(ca, ca_copy)
                ca_copy.chmod(0o644)
                Path(tmp).chmod(0o755)  # the copy's folder: readable by the container's uid
            cmd = [UV_IN_CONTAINER if i == 0 and a == "uv" else a for i, a in enumerate(argv)]
            kwargs = create_kwargs(image, cmd, mounts, workdir=workdir, env=container_env(extra_env, ca=ca_copy is not None),
                                   user=container_user(os.getuid(), os.getgid()), uv_binary=_uv_binary(),
                                   ca_file=ca_copy)
            return _run_container(client, kwargs, timeout_s, what)
    finally:
        client.close()


def _run_container(client: Any, kwargs: dict[str, Any], timeout_s: float, what: str) -> subprocess.CompletedProcess[str]:
    """Create, start, wait for, read and always remove one container (a failure, the deadline,
    Ctrl-C: the `finally` removes it)."""
    from docker.errors import DockerException
    from requests.exceptions import ConnectionError as RequestsConnectionError, ReadTimeout, RequestException

    argv = kwargs["command"]
    try:
        container = client.containers.create(**kwargs)
    except (DockerException, RequestException) as exc:
        raise InfraUnavailable(f"the Docker engine would not create the container for building {what}: "
                               f"{(str(exc).splitlines() or [''])[0][:200]}", hint="check the Docker daemon") from None
    try:
        container.start()
        try:
            status = container.wait(timeout=timeout_s)
        except (ReadTimeout, RequestsConnectionError) as exc:  # the deadline passed (urllib3 wraps some as ConnectionError)
            if isinstance(exc, RequestsConnectionError) and "timed out" not in str(exc).lower():
                raise
            return subprocess.CompletedProcess(argv, 124, "", f"error: building {what} did not finish in "
                                               f"{timeout_s:g} s (launchbuild stopped its container)")
        out = container.logs(stdout=True, stderr=False, tail=LOG_LINES).decode("utf-8", "replace")
        err = container.logs(stdout=False, stderr=True, tail=LOG_LINES).decode("utf-8", "replace")
        code = status.get("StatusCode")
        if status.get("Error"):
            err += f"\nerror: the container failed: {status['Error']}"
        return subprocess.CompletedProcess(argv, code if isinstance(code, int) else 125, out, err)
    except (DockerException, RequestException) as exc:
        raise InfraUnavailable(f"the Docker engine failed while building {what}: "
                               f"{(str(exc).splitlines() or [''])[0][:200]}", hint="check the Docker daemon") from None
    finally:
        try:
            container.remove(force=True)
        except Exception:  # noqa: BLE001 - gone already, or the engine went away: nothing more to do
            pass


def build_wheel(source: Path, out: Path, *, python: str, what: str, options: SandboxOptions | None = None,
                timeout_s: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """`uv build --wheel` of `source` into `out` (on the host: the wheels, if any, are there after).

    `source` is a throwaway source tree (a copy of the job's project, a fresh VCS checkout: it is
    mounted read-write, the build backend writes build/ and egg-info into it) or an sdist file
    (copied in, mounted read-only)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="launchbuild-build-") as tmp:
        dist = Path(tmp) / "out"
        dist.mkdir()
        if source.is_dir():
            src = Mount(source, f"{SANDBOX_ROOT}/src", read_only=False)
            target = src.target
            give_to_container(source)
        else:
            box = Path(tmp) / "in"
            box.mkdir()
            shutil.copyfile(source, box / source.name)
            src = Mount(box, f"{SANDBOX_ROOT}/in")
            target = f"{src.target}/{source.name}"
            box.chmod(0o755)
            (box / source.name).chmod(0o644)
        give_to_container(dist)
        mounts = (src, Mount(dist, f"{SANDBOX_ROOT}/out", read_only=False))
        # The image's own Python builds (python:X.Y-slim: the target's); no --python, so an operator's
        # fixed image of another Python still builds pure-Python wheels.
        proc = run(["uv", "build", "--wheel", "--no-config", "--no-python-downloads",
                    "--out-dir", f"{SANDBOX_ROOT}/out", target], mounts, python=python, what=what, workdir="/tmp",
                   options=options, timeout_s=timeout_s)
        for wheel in sorted(dist.glob("*.whl")):
            if is_plain_file(wheel):  # never a link the container planted to a host file
                shutil.copyfile(wheel, out / wheel.name)
        return proc

