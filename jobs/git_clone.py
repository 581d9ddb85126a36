"""A git source on this machine: a shallow clone of the exact commit, branch or tag.

`clone_git` runs git under one overall deadline, kills git's whole process group on timeout
or Ctrl-C, retries a fetch whose connection broke mid-transfer, and turns git's stderr into
one clear error that never contains the remote's credentials."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.jobs.fields import validate_ref
from launchbuild.jobs.urls import redact_text, redact_url

DEFAULT_GIT_TIMEOUT = 120.0


_UNKNOWN_REF = re.compile(
    r"couldn't find remote ref|not our ref|no such remote ref|unadvertised object|"
    r"did not match any|invalid refspec|bad object|unknown revision|is not a valid",
    re.IGNORECASE,
)
_NEEDS_CREDENTIALS = re.compile(
    r"could not read (username|password)|authentication failed|terminal prompts disabled|"
    r"permission denied \(publickey|invalid username or password|HTTP Basic: Access denied",
    re.IGNORECASE,
)
# The remote answered, and has no such repository: HTTP 404 ("repository '<url>/' not found"),
# or a host's own message over ssh ("ERROR: Repository not found."), or git's own when the path
# (file://, or ssh:// on a host that runs git-upload-pack) holds no repository ("fatal: '/x' does
# not appear to be a git repository"). The job named it: bad input.
_NO_SUCH_REPOSITORY = re.compile(r"repository '[^']*' not found|^ERROR: Repository not found|"
                                 r"^fatal: '[^'\n]*' does not appear to be a git repository",
                                 re.IGNORECASE | re.MULTILINE)
_ABBREVIATED_SHA = re.compile(r"[0-9a-fA-F]{4,39}")
# What git says when a remote that answered goes away during the transfer: reachable, then lost.
_FETCH_RETRIES = 2
_CONNECTION_LOST = re.compile(
    r"early EOF|index-pack failed|invalid index-pack output|connection reset by peer|"
    r"unexpected disconnect while reading sideband packet|RPC failed",
    re.IGNORECASE,
)


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",  # never wait for a password on a terminal nobody watches
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_SSH_COMMAND=env.get("GIT_SSH_COMMAND", "ssh") + " -o BatchMode=yes",
        LC_ALL="C",  # stderr is classified by its English text
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def _run_git(args: list[str], cwd: Path, *, timeout: float, remote: str,
             budget: float | None = None) -> subprocess.CompletedProcess[str]:
    """git, killed with its whole process group (remote helpers, ssh) on timeout or Ctrl-C.

    `budget` is the whole operation's deadline, which the message names; `timeout` is what is
    left of it for this call."""
    try:
        proc = subprocess.Popen(["git", *args], cwd=cwd, env=_git_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=True)
    except FileNotFoundError:
        raise InfraUnavailable("git is not installed: cannot fetch a git source",
                               hint="install git, or pass a directory or archive as JOB") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise InfraUnavailable(f"git remote {redact_url(remote)}: no answer within {budget or timeout:g}s",
                               hint="check the network and that the remote answers") from None
    except BaseException:
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(["git", *args], proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)


def _last_line(stderr: str) -> str:
    lines = [ln.strip() for ln in redact_text(stderr).splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.lower().startswith(("fatal:", "error:"))]
    # git's first fatal line names the cause; later ones are generic ("Could not read ...")
    return (fatal or lines[-1:] or ["no output"])[0][:300]


def clone_git(remote: str, ref: str | None, dest: Path, *, timeout: float = DEFAULT_GIT_TIMEOUT) -> str:
    """A shallow checkout of `ref` (commit, branch or tag; None = the remote's HEAD) into
    `dest`; returns the full commit sha. Errors never contain the remote's credentials."""
    shown = redact_url(remote)
    if remote.startswith("-"):
        raise BadInput(f"git remote {shown!r} starts with '-'", hint="pass a URL")
    if ref is not None:
        validate_ref(ref, f"git ref for {shown}")
    # file:// is disabled for submodules and transports since git 2.38.1; we allow it only for
    # the remote the user named (tests and local mirrors), never implicitly.
    protocol = ["-c", "protocol.file.allow=always"] if remote.lower().startswith("file://") else []
    dest.mkdir(parents=True)

    # One deadline for the whole clone, not one per git call: init, fetch, a second fetch
    # for an abbreviated sha and the checkout together never take longer than `timeout`.
    deadline = time.monotonic() + timeout

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise InfraUnavailable(f"git remote {shown}: no answer within {timeout:g}s",
                                   hint="check the network and that the remote answers")
        return _run_git([*protocol, *args], dest, timeout=left, remote=remote, budget=timeout)

    result = git("init", "-q")
    if result.returncode != 0:
        raise InfraUnavailable(f"git init failed in {dest}: {_last_line(result.stderr)}")

    # The remote is fetched by its URL, never saved as a named remote: `git remote add` would
    # write the URL, credentials included, into the checkout's .git/config, and a job whose
    # .dockerignore says `!.git` would copy the operator's token into its image. FETCH_HEAD
    # holds the URL without its userinfo (git strips it).
    wanted = ref or "HEAD"
    fetched = git("fetch", "-q", "--depth", "1", "--no-tags", remote, wanted)
    # A connection reset mid-transfer is usually transient (a proxy, a busy server): the fetch
    # is idempotent, so it is tried again, within the same deadline, before it is an error.
    # A retry cut before any byte says only "could not read": the first cause is the one told.
    broke: subprocess.CompletedProcess[str] | None = None
    for _ in range(_FETCH_RETRIES):
        if fetched.returncode == 0 or not _CONNECTION_LOST.search(fetched.stderr):
            break
        broke = fetched
        fetched = git("fetch", "-q", "--depth", "1", "--no-tags", remote, wanted)
    if fetched.returncode != 0 and broke is not None and not _CONNECTION_LOST.search(fetched.stderr):
        fetched = broke
    if fetched.returncode != 0 and ref is not None and _ABBREVIATED_SHA.fullmatch(ref) and _UNKNOWN_REF.search(fetched.stderr):
        # An abbreviated sha cannot be fetched by name: fetch the branches' history and resolve
        # it here. Full shas never take this path: a typo must not cost a full clone.
        fetched = git("fetch", "-q", "--no-tags", remote, "+refs/heads/*:refs/remotes/origin/*")
        if fetched.returncode == 0:
            resolved = git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
            if resolved.returncode != 0:
                raise BadInput(f"git remote {shown}: unknown commit {ref!r}",
                               hint="check the sha / --ref against the repository")
            wanted = resolved.stdout.strip()
            fetched = git("update-ref", "FETCH_HEAD", wanted)
    if fetched.returncode != 0:
        _raise_fetch_error(shown, ref, fetched.stderr)

    checkout = git("-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD")
    if checkout.returncode != 0:
        raise BadInput(f"git remote {shown}: cannot check out {ref or 'HEAD'}: {_last_line(checkout.stderr)}",
                       hint="the commit may hold paths this file system cannot store")
    head = git("rev-parse", "HEAD")
    if head.returncode != 0:  # pragma: no cover - a checkout that succeeded has a HEAD
        raise InfraUnavailable(f"git remote {shown}: cannot read the checked-out commit: {_last_line(head.stderr)}")
    return head.stdout.strip()


def _raise_fetch_error(shown: str, ref: str | None, stderr: str) -> None:
    line = _last_line(stderr)
    if _NEEDS_CREDENTIALS.search(stderr):
        raise BadInput(f"git remote {shown}: access denied ({line})",
                       hint="put credentials in a git credential helper or the URL; they are never printed")
    if _NO_SUCH_REPOSITORY.search(stderr):
        raise BadInput(f"git remote {shown}: no such repository (the host answered: not found)",
                       hint="check the repository URL; a private repository needs credentials in a git credential helper")
    if ref is not None and _UNKNOWN_REF.search(stderr):
        raise BadInput(f"git remote {shown}: unknown commit, branch or tag {ref!r}",
                       hint="check the ref (URL@REF / --ref / source.git.commit) against the repository")
    if _CONNECTION_LOST.search(stderr):
        raise InfraUnavailable(f"git remote {shown}: the connection broke during the fetch ({line})",
                               hint="the remote went away mid-transfer; check it and the network, then rerun")
    raise InfraUnavailable(f"git remote {shown}: cannot be reached ({line})",
                           hint="check the URL and the network")
