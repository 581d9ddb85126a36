"""Post-build verification: run the image once, offline, and judge what it reports.

One container (`network_mode="none"`, removed afterwards) runs `verify_probe.py` with the
image's own Python, as the image's own user, in its workdir. The judging is pure
(`judge(...)`), so it is table-tested without Docker.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import replace
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from launchbuild.builder.model import VerificationResult
from launchbuild.builder.plan import VENV, BuildPlan
from launchbuild.builder.probe_container import Containers, ContainerSpec, ProbeTimedOut, RunRefused
from launchbuild.resolver.versions import same_version

PROBE_DIR = "/tmp/launchbuild-verify"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s;\\]+)\s*(?:;\s*([^\\#]+))?")


def locked_pins(lock_text: str) -> tuple[tuple[str, str, str | None], ...]:
    """(canonical name, version, marker or None) for every `name==version` line of a lock."""
    pins = []
    for line in lock_text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        m = _PIN.match(stripped)
        if m:
            marker = m.group(3).strip() if m.group(3) else None
            pins.append((canonicalize_name(m.group(1)), m.group(2), marker))
    return tuple(pins)



def judge(plan: BuildPlan, probe: dict) -> tuple[VerificationResult, ...]:
    """The five checks, from the probe's JSON. Pure."""
    results = []
    got = str(probe.get("python", ""))
    results.append(VerificationResult(
        "python version",
        ".".join(got.split(".")[:2]) == plan.python,
        f"{got} at {probe.get('executable')} (target {plan.python})",
    ))
    pc = probe.get("pip_check") or {}
    if not pc.get("ran"):
        results.append(VerificationResult("pip check", False, str(pc.get("output", "not run"))))
    else:
        out = " ".join(str(pc.get("output", "")).split())[:300]
        results.append(VerificationResult("pip check", pc.get("rc") == 0, out or "no broken requirements"))
    installed: dict[str, str] = {canonicalize_name(n): v for n, v in probe.get("dists", [])}
    env = probe.get("marker_env") or None
    problems = []
    checked = 0
    for name, version, marker in locked_pins(plan.lock_text):
        if marker and env:
            try:
                if not Marker(marker).evaluate(env):
                    continue
            except InvalidMarker:
                pass
        checked += 1
        have = installed.get(name)
        if have is None:
            problems.append(f"{name}=={version} missing")
        elif not same_version(have, version):
            problems.append(f"{name} is {have}, lock says {version}")
    detail = "; ".join(problems[:10]) if problems else f"{checked} locked distributions at their pins"
    results.append(VerificationResult("locked versions", not problems, detail))
    ep = probe.get("entrypoint") or {}
    results.append(VerificationResult("entrypoint", bool(ep.get("ok")), str(ep.get("detail", ""))))
    uid = probe.get("uid")
    results.append(VerificationResult("non-root user", isinstance(uid, int) and uid != 0, f"uid {uid}"))
    from launchbuild.builder.verify_imports import judge_imports

    return tuple(results) + judge_imports(probe)


_PROBE_SOURCES = (("verify_probe.py", "probe.py"), ("imports_probe.py", "imports_probe.py"),
                  ("entrypoint_imports.py", "entrypoint_imports.py"))


def _probe_tar(uv_binary: Path | None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        d = tarfile.TarInfo("launchbuild-verify")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(d)
        for source, name in _PROBE_SOURCES:
            probe = (Path(__file__).with_name(source)).read_bytes()
            info = tarfile.TarInfo(f"launchbuild-verify/{name}")
            info.size, info.mode = len(probe), 0o644
            tar.addfile(info, io.BytesIO(probe))
        if uv_binary is not None:
            info = tarfile.TarInfo("launchbuild-verify/uv")
            info.size, info.mode = uv_binary.stat().st_size, 0o755
            with open(uv_binary, "rb") as f:
                tar.addfile(info, f)
    return buf.getvalue()


def _probe_binds(uv_binary: Path | None) -> tuple[tuple[str, str], ...]:
    """The probe's files as read-only bind mounts (host path, container path)."""
    binds = tuple((str(Path(__file__).with_name(source)), f"{PROBE_DIR}/{name}") for source, name in _PROBE_SOURCES)
    return binds + (((str(uv_binary), f"{PROBE_DIR}/uv"),) if uv_binary is not None else ())


def _local_engine() -> bool:
    """True when the engine shares this host's filesystem (a unix socket on Linux), so the probe
    and the host's uv can be bind-mounted into the probe container instead of copied into it
    (uv is 38 MB; unpacking even the two small scripts costs the engine a mount, ~70 ms)."""
    import sys

    from launchbuild.docker_socket import socket_path

    return sys.platform.startswith("linux") and socket_path() is not None


def verify_image(containers: Containers, image: str, plan: BuildPlan, *, uv_binary: Path | None = None,
                 timeout_s: int = 180, carried_imports: tuple[tuple[str, ...], tuple[dict, ...]] | None = None,
                 ) -> tuple[VerificationResult, ...]:
    """Run the probe in one offline container and judge it. The container is always removed."""
    from launchbuild.compat.facts.providers.docker import owner_labels

    entrypoint, command = probe_command(plan, carried=carried_imports[0] if carried_imports else ())
    # The repository and the owner too: whoever shares the engine can tell whose probe this is.
    spec = ContainerSpec(image, tuple(entrypoint), tuple(command), tuple(sorted(
        {"io.launchbuild.role": "verify", "io.launchbuild.repository": plan.repository, **owner_labels()}.items())))
    container = None
    try:
        mounted = False
        if _local_engine():
            try:
                container = containers.create(replace(spec, binds=_probe_binds(uv_binary)))
                mounted = True
            except RunRefused:
                container = None  # a host path the engine cannot see: copy the files in instead
        if container is None:
            container = containers.create(spec)
        # The probe (and uv, for `uv pip check`) exist only in this container's mounts or its
        # writable layer, never in the image.
        run = containers.run(container, "/tmp", None if mounted else _probe_tar(uv_binary), timeout_s)
    except RunRefused as exc:
        return (VerificationResult("run image", False, f"could not run the image: {exc}"),)
    except ProbeTimedOut:
        return (VerificationResult("run image", False, f"probe did not finish within {timeout_s}s"),)
    finally:
        if container is not None:
            containers.remove(container)
    results, probe = judge_run(plan, run.exit_code, run.stdout, run.stderr,
                               carried=carried_imports[1] if carried_imports else ())
    if probe is not None:
        LAST_IMPORTABLE[image] = tuple(probe.get("importable") or ())
        imports = probe.get("imports")
        LAST_IMPORTS[image] = imports if isinstance(imports, list) else []
    return results


def probe_command(plan: BuildPlan, *, carried: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(entrypoint, arguments) of the probe run: the same on every engine. `carried`: modules
    whose import results an unchanged heavy layer carries over (builder/verify_layers.py)."""
    return ([f"{VENV}/bin/python", f"{PROBE_DIR}/probe.py"],
            [json.dumps(list(plan.entrypoint)), json.dumps(sorted({name for name, _, _ in locked_pins(plan.lock_text)})),
             json.dumps(sorted(carried))])


def probe_files() -> dict[str, str]:
    """The probe's files by their name in PROBE_DIR (the cluster engine ships them in a ConfigMap)."""
    here = Path(__file__).parent
    return {name: (here / source).read_text(encoding="utf-8") for source, name in _PROBE_SOURCES}


def judge_run(plan: BuildPlan, exit_code, out: str, err: str, *, carried: tuple[dict, ...] = (),
              ) -> tuple[tuple[VerificationResult, ...], dict | None]:
    """The verdict on one probe run, from its exit code and output: the same for a local
    container and a cluster Pod. Also the probe's JSON, when it printed one."""
    if exit_code != 0:
        last = (err.strip().splitlines() or out.strip().splitlines() or ["no output"])[-1]
        return (VerificationResult("run image", False, f"probe exited {exit_code}: {last[:200]}"),), None
    try:
        probe = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError, RecursionError):
        return (VerificationResult("run image", False, f"probe printed no JSON: {out[-200:]!r}"),), None
    if not isinstance(probe, dict):  # the image's own code may print last; never crash on its shape
        return (VerificationResult("run image", False, f"probe printed no JSON object: {out[-200:]!r}"),), None
    if carried:  # builder/verify_layers.py: an unchanged heavy layer's import results
        from launchbuild.builder.verify_layers import merged_probe

        probe = merged_probe(probe, carried)
    return judge(plan, probe), probe


# What the last probe of an image said it can import (for reusing its verification later).
LAST_IMPORTABLE: dict[str, tuple[str, ...]] = {}
LAST_IMPORTS: dict[str, list] = {}  # the probe's per-module import results, for builder/verify_layers.py


# --- reusing a verification ------------------------------------------------------------------
# A code-only change rebuilds only the last layer (COPY code/). Every check but the
# entrypoint's reads the layers below it, so when those layers are byte-identical to an image
# that already passed, re-running the probe container (about a second) proves nothing new.
# The key is the chain of layer diff IDs without the top one: if the top layer is not the
# code layer after all, the key simply changes with the code and nothing is reused.

ENVIRONMENT_CHECKS = ("python version", "pip check", "locked versions", "non-root user")
_PY_OPTS_WITH_ARG = {"-W", "-X"}


def environment_key(image_attrs: dict, plan: BuildPlan) -> str | None:
    """What the environment checks depend on, or None when the image cannot be keyed."""
    import hashlib

    layers = (image_attrs.get("RootFS") or {}).get("Layers") or []
    if len(layers) < 2:
        return None
    config = image_attrs.get("Config") or {}
    data = {"layers": layers[:-1], "user": config.get("User"), "python": plan.python,
            "lock": plan.lock_sha256, "uid": plan.uid}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def script_in_code(entrypoint: tuple[str, ...], copied_files: frozenset[str]) -> str | None:
    """For `python [options] script.py`: the script, when it is among the files copied into
    the workdir. None for anything else (modules, shells, absolute paths, a folder or a zip
    archive Python runs the __main__ of, a name without .py): run the probe."""
    if not entrypoint or not re.fullmatch(r"(?:.*/)?python(?:3(?:\.\d+)?)?", entrypoint[0]):
        return None
    rest = list(entrypoint[1:])
    while rest:
        arg = rest.pop(0)
        if arg in ("-m", "-c"):
            return None
        if arg in _PY_OPTS_WITH_ARG:
            rest = rest[1:]
            continue
        if arg.startswith("-"):
            continue
        path = arg[2:] if arg.startswith("./") else arg
        if path.startswith("/") or ".." in path.split("/"):
            return None
        return path if path in copied_files and path.endswith(".py") else None
    return None


class VerificationCache:
    """Environment checks that passed, by environment key, under the launchbuild cache dir."""

    def __init__(self, root: Path) -> None:
        self.dir = Path(root) / "verified"

    def get(self, key: str) -> dict[str, str] | None:
        from launchbuild.core.cache import read_json

        data = read_json(self.dir / f"{key}.json")  # damaged, deep or huge: a miss
        checks = data.get("checks") if isinstance(data, dict) else None
        if (not isinstance(checks, dict) or set(checks) != set(ENVIRONMENT_CHECKS)
                or not all(isinstance(v, str) for v in checks.values())):
            return None
        return checks

    def extra(self, key: str) -> dict:
        """The import facts stored with a passed environment: {"imports": detail, "importable": [...]}."""
        from launchbuild.core.cache import read_json

        data = read_json(self.dir / f"{key}.json")  # bounded like every cache read
        return data.get("extra", {}) if isinstance(data, dict) and isinstance(data.get("extra"), dict) else {}

    def put(self, key: str, results: tuple[VerificationResult, ...], importable: tuple[str, ...] = ()) -> None:
        checks = {r.check: r.detail for r in results if r.check in ENVIRONMENT_CHECKS and r.passed}
        if set(checks) != set(ENVIRONMENT_CHECKS):
            return
        imports = [r.detail for r in results if r.check == "imports" and r.passed]
        extra: dict[str, object] = {"imports": imports[-1]} if imports else {}
        if importable:
            extra["importable"] = list(importable)
        from launchbuild.core.cache import write_json

        # A cache that cannot be written only costs the next build a probe run.
        write_json(self.dir / f"{key}.json", {"checks": checks, "extra": extra})


def reused_verification(checks: dict[str, str], script: str) -> tuple[VerificationResult, ...]:
    """The report still lists every check, and says which ones were carried over and why."""
    out = [VerificationResult(name, True, f"{checks[name]} (reused: environment layers identical "
                                          "to an image that passed)") for name in ENVIRONMENT_CHECKS[:3]]
    out.append(VerificationResult("entrypoint", True, f"{script} is in the code copied to the workdir"))
    out.append(VerificationResult(ENVIRONMENT_CHECKS[3], True, f"{checks[ENVIRONMENT_CHECKS[3]]} (reused)"))
    return tuple(out)
