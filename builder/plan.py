"""The build plan: every decision the Dockerfile and the tag depend on, as one frozen value.

`render(plan)` and `content_tag(...)` read only this value (plus the code tree), so two
machines that agree on the plan agree on the Dockerfile and the tag.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
from dataclasses import field
from pathlib import Path

from launchbuild.core.imageref import validate_image_ref
from launchbuild.core.platform import SUPPORTED_PLATFORMS, docker_arch
from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput
from launchbuild.paths import expand_user
from launchbuild.jobs.model import SourceKind
from launchbuild.jobs.urls import redact_url, url_problem

VENV = "/opt/venv"
LOCK_IN_IMAGE = "/opt/launchbuild/requirements.lock"
DEFAULT_USER = "launchbuild"
DEFAULT_WORKDIR = "/app"
DEFAULT_PYTHON_BASE = "python:{python}-slim"

# Every install step ends with compile_bytecode (after `&&`: a failed install still fails the
# step). The job's user cannot write __pycache__ into the root-owned venv, so bytecode not
# written then is compiled again at every start of the job, on every rank and node: numpy,
# pandas and sklearn imported in 2.1 s from it, 7.3 s without (bench "job start"). Test folders
# are left out: over half the files and bytes of numpy/scipy/pandas/sklearn, and a job does not
# import them. A valid .pyc is never rewritten, so a later layer compiles only its own files; a
# source that does not compile (a template named .py) is left to Python at import, as pip and uv do.
# `--no-bytecode` (BuildPlan.bytecode False) drops every such step: the image is smaller by the
# bytecode (~45 MB for numpy/pandas/sklearn) and each start compiles in memory instead.


def compile_bytecode(*, parallel: bool) -> str:
    """The step's shell. `parallel` for the first install, which compiles nearly everything;
    a later one finds nearly every .pyc valid, and compileall's workers take each file as one
    task (2.1 s for numpy/scipy/pandas/sklearn's 3,900 files with nothing to do, 0.26 s in one process)."""
    return f"{{ {VENV}/bin/python -m compileall -q -j {0 if parallel else 1} -x '/tests?/' {VENV}/lib || true; }}"


_PYTHON_XY = re.compile(r"3\.[0-9]{1,2}")
# Characters that could end a Dockerfile instruction or start a comment/heredoc.
_UNSAFE_REF = re.compile(r"[\s#\"'\\$`]")
_APT_NAME = re.compile(r"[a-z0-9][a-z0-9+.\-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:\-]+)?")
_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_CACHE_SCOPE = re.compile(r"(?:[0-9a-f]{16})?")


def cache_scope_of(operator_scope: str | None, source_identity: str) -> str:
    """The install steps' cache scope: 16 hex digits of the operator's scope (`--cache-scope`),
    else of the job's source (its git remote, or the real path of its code on this host). Two
    jobs share downloaded wheels only inside one scope, because whatever runs in an install step
    (the base image's shell, a wheel's .pth at the bytecode step, an sdist's build) can edit the
    cache it mounts. The operator's scope, when given, replaces the source: a tenant's name on a
    shared queue, or one name for a single user's machine that wants every job to share."""
    import hashlib

    key = f"operator\0{operator_scope}" if operator_scope else f"source\0{source_identity}"
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
# An interpreter name as a source run records it ("python3.10", "python3", "python").
PYTHON_EXECUTABLE = re.compile(r"(?:.*/)?python(?:3(?:\.\d+)?)?")


class Frontend(str, enum.Enum):
    """Which Dockerfile dialect the engine understands."""

    BUILDKIT = "buildkit"  # cache/secret/bind mounts
    CLASSIC = "classic"  # the legacy builder: plain RUN, multi-stage only


class CaMode(str, enum.Enum):
    NONE = "none"
    # BuildKit secret mounted at /run/secrets/ca during install steps only.
    SECRET = "secret"
    # Classic builder: COPY'd into a throwaway install stage; only the venv leaves that stage.
    THROWAWAY_STAGE = "throwaway-stage"


@dataclass(frozen=True)
class BuildPlan:
    """Every decision the Dockerfile and the content tag depend on: `render` and `content_tag`
    read this value (and the code tree), nothing else."""

    source_kind: SourceKind
    base_image: str
    python: str  # "3.11"
    accelerator: bool = False  # True: base has no Python; install pythonX.Y with apt
    lock_text: str = ""
    entrypoint: tuple[str, ...] = ()
    apt_packages: tuple[str, ...] = ()  # extra packages from compat fixes (LB304)
    uid: int = 1000
    gid: int = 1000
    user: str = DEFAULT_USER  # used only when the image has no account with `uid`
    workdir: str = DEFAULT_WORKDIR
    source_label: str = ""  # redacted remote, or "code" / archive name
    commit: str | None = None
    version: str = ""  # launchbuild version, for the label
    frontend: Frontend = Frontend.BUILDKIT
    ca_mode: CaMode = CaMode.NONE
    index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    platform: str = "linux/amd64"
    installer: str = "uv"  # "uv" (host binary bind-mounted) or "pip" (the venv's own)
    repository: str = "launchbuild/job"  # local repository the content tag goes under
    extra_labels: tuple[tuple[str, str], ...] = field(default=())
    # The lock's indexes need credentials: the install step mounts them as the `netrc` BuildKit
    # secret (NETRC=/run/secrets/netrc). Only this flag is in the plan, never a credential.
    index_credentials: bool = False
    install_projects: tuple[str, ...] = ()  # the job's own projects (paths in the code), see project_install.py
    # Host paths of wheels (built from VCS lines, or the job's own wheel files) that the build
    # copies into its context; only their names and the lock's hashes reach the Dockerfile.
    wheel_files: tuple[str, ...] = ()
    # The heavy roots of the layer split (builder/layers.py), canonical names chosen by size:
    # the lock's install is split into sub-locks, these and their closure first. () : one layer.
    layer_roots: tuple[str, ...] = ()
    layer_roots_by_name: tuple[str, ...] = ()  # the roots chosen by the name HEURISTIC (size unknown)
    # False (--no-bytecode): no install step compiles; a smaller image, compiled at each start.
    bytecode: bool = True
    # Who shares the install steps' download cache (hex, see cache_scope_of): job code runs in
    # those steps, so only builds of one scope may see what another wrote. "" : no shared
    # cache at all. Not in the content tag: it changes where wheels come from, not the image.
    cache_scope: str = ""

    @property
    def lock_sha256(self) -> str:
        return hashlib.sha256(self.lock_text.encode()).hexdigest()

    @property
    def builds_image(self) -> bool:
        return self.source_kind is not SourceKind.IMAGE

    @property
    def arch(self) -> str:
        return docker_arch(self.platform)

    def labels(self) -> tuple[tuple[str, str], ...]:
        """OCI labels where one fits, io.launchbuild.* for the rest; sorted for a stable text."""
        out = {
            "io.launchbuild.source-kind": self.source_kind.value,
            "io.launchbuild.lock-sha256": self.lock_sha256,
            "io.launchbuild.python": self.python,
            "io.launchbuild.version": self.version,
            "org.opencontainers.image.base.name": self.base_image,
        }
        if self.source_label:
            out["org.opencontainers.image.source"] = self.source_label
        if self.commit:
            out["org.opencontainers.image.revision"] = self.commit
        out.update(dict(self.extra_labels))
        return tuple(sorted(out.items()))

    def validate(self) -> None:
        """Refuse values that would break or inject into the Dockerfile. One line each."""
        if not self.builds_image:
            return  # an image job renders nothing: its Python is the image's own, whatever it is
        if not _PYTHON_XY.fullmatch(self.python):
            raise BadInput(f"python version {self.python!r} is not X.Y", hint="pass e.g. --python 3.11")
        if not self.base_image or _UNSAFE_REF.search(self.base_image):
            raise BadInput(
                f"base image reference {self.base_image!r} is empty or has whitespace/quotes/'#'/'$'",
                hint="pass a plain reference such as python:3.11-slim",
            )
        validate_image_ref(self.base_image, "build plan base image")  # the one grammar (core/imageref.py)
        if not self.entrypoint:
            raise BadInput("the job has no entrypoint", hint="pass --entrypoint 'python train.py'")
        if self.uid == 0 or self.gid == 0:
            raise BadInput(f"uid/gid {self.uid}:{self.gid} would run the job as root", hint="pass --uid 1000")
        if self.uid < 0 or self.gid < 0:
            raise BadInput(f"uid/gid {self.uid}:{self.gid} is negative", hint="pass a positive uid, e.g. --uid 1000")
        if not _USER_NAME.fullmatch(self.user):
            raise BadInput(f"user name {self.user!r} is not a valid account name", hint="use lowercase letters and digits")
        if not self.workdir.startswith("/") or _UNSAFE_REF.search(self.workdir):
            raise BadInput(f"workdir {self.workdir!r} must be an absolute path without spaces", hint="e.g. /app")
        for pkg in self.apt_packages:
            if not _APT_NAME.fullmatch(pkg):
                raise BadInput(f"apt package name {pkg!r} is not valid", hint="check the compat fix that proposed it")
        if self.platform not in SUPPORTED_PLATFORMS:
            raise BadInput(f"platform {self.platform!r} is not supported", hint="use linux/amd64 or linux/arm64")
        if not _CACHE_SCOPE.fullmatch(self.cache_scope):
            raise BadInput(f"cache scope {self.cache_scope[:40]!r} is not a hex digest", hint="let the plan derive it")
        if self.installer not in ("uv", "pip"):
            raise BadInput(f"installer {self.installer!r} is unknown", hint="use uv or pip")
        if self.frontend is Frontend.CLASSIC and self.installer == "uv":
            raise BadInput("the classic builder cannot bind-mount uv", hint="use installer pip with the classic engine")
        if self.frontend is Frontend.BUILDKIT and self.ca_mode is CaMode.THROWAWAY_STAGE:
            raise BadInput("BuildKit builds pass the CA bundle as a secret", hint="use ca_mode secret")
        if self.frontend is Frontend.CLASSIC and self.ca_mode is CaMode.SECRET:
            raise BadInput("the classic builder has no secret mounts", hint="use ca_mode throwaway-stage")
        for url in (*self.index_urls, *(u for u in self.find_links if "://" in u)):
            problem = url_problem(url)
            if problem or "@" in url.partition("://")[2].split("/", 1)[0]:
                raise BadInput(f"index URL {redact_url(url)!r} {problem or 'still holds credentials'}",
                               hint="fix the index URL")
        if self.index_credentials and self.frontend is not Frontend.BUILDKIT:
            raise BadInput("the job's index credentials reach the install step only as a BuildKit secret; "
                           "the classic builder has no secrets", hint="build with --engine buildkit")


def normalize_entrypoint(argv: tuple[str, ...]) -> tuple[str, ...]:
    """A run records its own interpreter ("python3.10"); inside the image that name may not
    exist or be another version, so point it at the venv's `python`."""
    if argv and PYTHON_EXECUTABLE.fullmatch(argv[0]):
        return ("python", *argv[1:])
    return tuple(argv)


def find_ca_bundle(explicit: str | None = None, env: dict[str, str] | None = None, *,
                   where: str = "--ca-bundle") -> Path | None:
    """The user's CA bundle: an explicit option wins, then SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
    PIP_CERT. A named file that does not exist is bad input, not a silent skip. `where` is
    where the option was set (the flag, LAUNCHBUILD_CA_BUNDLE, the operator config's key)."""
    env = dict(os.environ) if env is None else env
    for source, value in (
        (where, explicit),
        ("SSL_CERT_FILE", env.get("SSL_CERT_FILE")),
        ("REQUESTS_CA_BUNDLE", env.get("REQUESTS_CA_BUNDLE")),
        ("PIP_CERT", env.get("PIP_CERT")),
    ):
        if not value:
            continue
        path = expand_user(value)
        if not path.is_file():
            raise BadInput(f"CA bundle {value!r} from {source} is not a file", hint=f"fix or unset {source}")
        # Readable, regular and bounded now, rather than a failed secret mount in the middle of
        # a build (an unreadable file, /proc/self/mem, a multi-GB file).
        from launchbuild.limits import MAX_CA_BUNDLE_BYTES, read_bounded

        read_bounded(path, f"CA bundle from {source}", MAX_CA_BUNDLE_BYTES)
        return path
    return None
