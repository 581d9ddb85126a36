"""Render the Dockerfile for a build plan. Pure and deterministic: golden-tested per table row.

Layer order puts what changes least first, so a code-only change reuses every layer up to
the final COPY:  base → apt → user → venv → lock → install → code → labels/entrypoint.

Build and run share one base image: there is no separate "build" stage on another distro
whose venv would be copied into a runtime image with a different glibc or interpreter path.
The classic builder's CA stage is the one multi-stage case, and both of its stages are
FROM the same base with the same apt layer.
"""

from __future__ import annotations

import json

from launchbuild.errors import BadInput
from launchbuild.builder.ca_secret import CA_MOUNT, CA_PRESENT as _CA_PRESENT, SECRET_CA, ca_export as _ca_export, ca_mount as _ca_mount
from launchbuild.builder.plan import LOCK_IN_IMAGE, VENV, BuildPlan, Frontend, compile_bytecode

# Paths inside the build context (see context.py).
CONTEXT_LOCK = "requirements.lock"
CONTEXT_CODE = "code/"
CONTEXT_UV = ".launchbuild/uv"
CONTEXT_CA = ".launchbuild/ca.pem"  # classic throwaway stage only
SECRET_NETRC = "/run/secrets/netrc"  # index credentials taken out of the job's URLs
UV_CACHE = "/root/.cache/uv"  # install steps run as root; uv's cache dir, set explicitly too
PIP_CACHE = "/root/.cache/pip"
PYC_CACHE = "/root/.cache/launchbuild-pyc"  # checked-hash .pyc by source (builder/layer_bytecode.py)


def render(plan: BuildPlan) -> str | None:
    """The Dockerfile text, or None for an image job: there is nothing to build, and
    `api.build_image` reports it as skipped with the job's own image as the tag."""
    plan.validate()
    if not plan.builds_image:
        return None
    lines: list[str] = [
        f"# launchbuild: {plan.source_kind.value} job, Python {plan.python}, "
        f"{'accelerator base' if plan.accelerator else 'Python base'}, {plan.frontend.value} builder.",
        "# Rendered by `launchbuild dockerfile`; edits are overwritten on the next build.",
    ]
    if not plan.bytecode:
        lines.append("# --no-bytecode: no step compiles bytecode; the job's modules compile at each start.")
    if plan.frontend is Frontend.CLASSIC:
        # Always the throwaway stage, CA bundle or not: the Dockerfile (and the content tag)
        # must not depend on the host's CA settings. Without a bundle its slot is empty.
        lines += _classic_install_stage(plan)
        lines += ["", f"FROM {plan.base_image}"]
        lines += _env()
        lines += _apt(plan)
        lines += _user(plan)
        lines += [
            "# The venv was filled in the install stage (same base, same apt layer): the CA",
            "# bundle used there stays in that stage and never reaches this image.",
            f"COPY --from=install {VENV} {VENV}",
        ]
        if _has_requirements(plan):
            lines += [f"COPY {CONTEXT_LOCK} {LOCK_IN_IMAGE}"]
    else:
        lines += [f"FROM {plan.base_image}"]
        lines += _env()
        lines += _apt(plan)
        lines += _user(plan)
        lines += _venv(plan)
        lines += _install(plan)
    lines += _code_and_metadata(plan)
    return "\n".join(lines) + "\n"


def _has_requirements(plan: BuildPlan) -> bool:
    return any(
        line.strip() and not line.lstrip().startswith(("#", "-"))
        for line in plan.lock_text.splitlines()
    )


def _env() -> list[str]:
    return [
        f"ENV VIRTUAL_ENV={VENV} \\",
        f"    PATH={VENV}/bin:$PATH \\",
        "    PYTHONUNBUFFERED=1 \\",
        "    PYTHONDONTWRITEBYTECODE=1",
    ]


def _apt(plan: BuildPlan) -> list[str]:
    packages = list(plan.apt_packages)
    if plan.accelerator:
        packages = [f"python{plan.python}", f"python{plan.python}-venv", *packages]
    if not packages:
        return []
    # apt ignores SSL_CERT_FILE; its own option covers bases whose sources are https.
    buildkit = plan.frontend is Frontend.BUILDKIT
    apt = "apt-get $ca" if buildkit else "apt-get"
    ca_option = [f'    ca=""; if {_CA_PRESENT}; then ca="-o Acquire::https::CAInfo={SECRET_CA}"; fi; \\'] if buildkit else []
    return [
        f"RUN {_ca_mount(plan)}set -eu; \\",
        "    export DEBIAN_FRONTEND=noninteractive; \\",
        *ca_option,
        f"    {apt} update; \\",
        f"    {apt} install -y --no-install-recommends {' '.join(packages)}; \\",
        # Downloaded .debs and package lists are ~90 MB the image never needs.
        "    apt-get clean; rm -rf /var/lib/apt/lists/*",
    ]


def _user(plan: BuildPlan) -> list[str]:
    # An image may already have an account with this uid (Ubuntu 24.04 ships `ubuntu`=1000):
    # reuse it instead of failing, and let any real useradd/groupadd failure stop the build.
    uid, gid, name = plan.uid, plan.gid, plan.user
    return [
        "RUN set -eu; \\",
        f"    if ! getent group {gid} >/dev/null; then groupadd --gid {gid} {name}; fi; \\",
        f"    if getent passwd {uid} >/dev/null; then \\",
        f"        echo \"launchbuild: reusing account $(getent passwd {uid} | cut -d: -f1) for uid {uid}\" >&2; \\",
        "    else \\",
        f"        useradd --uid {uid} --gid {gid} --create-home --shell /bin/sh {name}; \\",
        "    fi; \\",
        f"    test \"$(id -u \"$(getent passwd {uid} | cut -d: -f1)\")\" = {uid}; \\",
        f"    install -d -o {uid} -g {gid} {plan.workdir}",
    ]


def _uv_mount() -> str:
    return f"--mount=type=bind,source={CONTEXT_UV},target=/usr/local/bin/uv"


def _venv(plan: BuildPlan) -> list[str]:
    if plan.installer == "uv":
        # uv needs no ensurepip; UV_NO_CACHE keeps its scratch cache out of the layer.
        return [
            f"RUN {_uv_mount()} \\",
            f"    UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never uv venv --python python{plan.python} {VENV}",
        ]
    return [f"RUN python{plan.python} -m venv {VENV}"]


def _index_args(plan: BuildPlan) -> str:
    # Index URLs come from the job: they are never rendered into a shell line. The installer
    # reads them as data from the lock file itself (its --index-url / --extra-index-url /
    # --find-links lines, written by the resolver), and the default index is PyPI. Only the
    # fixed in-image folder of wheels built or copied on the host is named here.
    from launchbuild.builder.wheels_in_context import IMAGE_WHEELS

    return f" --find-links {IMAGE_WHEELS}" if plan.wheel_files else ""


def _install(plan: BuildPlan) -> list[str]:
    if not _has_requirements(plan):
        return ["# The lock has no packages: nothing to install."]
    from launchbuild.builder import layers, wheels_in_context

    sub_locks = layers.for_plan(plan)
    if sub_locks:
        return _layered_install(plan, sub_locks)
    lines = wheels_in_context.copy_lines(plan) + [f"COPY {CONTEXT_LOCK} {LOCK_IN_IMAGE}"]
    return lines + _install_run(plan, LOCK_IN_IMAGE, strict=True, wheels=True)


def _install_run(plan: BuildPlan, lock_path: str, *, strict: bool, wheels: bool, no_deps: bool = False,
                 first: bool = True, link_from_temp: bool = False, later_layer: bool = False) -> list[str]:
    """One hash-checked install step from `lock_path` in the image (BuildKit or classic);
    `first`: the first install into the venv (its bytecode is compiled in parallel);
    `link_from_temp`: uv unpacks into a temporary cache on the image's own filesystem and
    hard-links from it, instead of copying out of the shared cache mount (the heavy layer);
    `later_layer`: compile the bytecode of what this sub-lock installed, not the whole venv."""
    from launchbuild.builder import layers, wheels_in_context

    compile_step: str | None = compile_bytecode(parallel=first)
    helper_mount: list[str] = []
    if not plan.bytecode:
        compile_step = None
    elif layers.uses_bytecode_cache(plan) and not link_from_temp:
        # Bytecode from the scope's cache where this Python compiled the same file before
        # (builder/layer_bytecode.py): a dependency change reinstalls the whole layer.
        helper_mount = [f"    {layers.bytecode_mount()} \\",
                        f"    --mount=type=cache,target={PYC_CACHE},id={cache_id('pyc', plan)} \\"]
        compile_step = layers.bytecode_step(f"--cache {PYC_CACHE} " + (lock_path if later_layer else f"--all {VENV}/lib"))
    elif later_layer:
        helper_mount = [f"    {layers.bytecode_mount()} \\"]
        compile_step = layers.bytecode_step(lock_path)
    netrc_mount = ["    --mount=type=secret,id=netrc \\"] if plan.index_credentials else []
    netrc_env = f"NETRC={SECRET_NETRC} " if plan.index_credentials else ""
    wheel_mounts = wheels_in_context.mount_lines(plan) if wheels else []
    index_args = _index_args(plan) if wheels else ""
    deps = " --no-deps" if no_deps else ""
    if plan.installer == "uv":
        if link_from_temp:
            # A cache mount is another filesystem: uv must copy every file out of it (12.9 s of a
            # 39 s torch install on 2 cores, for 5.5 GB) and the mount keeps a second unpacked
            # copy. Unpacked into a temporary cache beside the venv, the files are hard-linked
            # (0.2 s), and the temporary cache is gone before the layer is taken. The price: a
            # changed heavy sub-lock downloads its wheels again; a new torch is not cached anyway.
            env = netrc_env + "UV_NO_CACHE=1 UV_LINK_MODE=hardlink UV_PYTHON_DOWNLOADS=never"
            mounts = [f"RUN {_uv_mount()} \\"]
        elif not plan.cache_scope:
            env = netrc_env + "UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never"
            mounts = [f"RUN {_uv_mount()} \\"]
        else:
            env = netrc_env + f"UV_CACHE_DIR={UV_CACHE} UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never"
            mounts = [f"RUN {_uv_mount()} \\", f"    --mount=type=cache,target={UV_CACHE},id={cache_id('uv', plan)} \\"]
        return mounts + wheel_mounts + netrc_mount + helper_mount + [
            f"    {CA_MOUNT} \\",
            f"    {_ca_export(plan, 'SSL_CERT_FILE')}\\",
            f"    {env} \\",
            *_then(f"    uv pip install --python {VENV}/bin/python --require-hashes{' --strict' if strict else ''}{deps}"
                   f"{index_args} -r {lock_path}", compile_step),
        ]
    # --no-compile: the bytecode comes from compile_bytecode, without the test folders.
    pip = f"{VENV}/bin/python -m pip install --require-hashes --no-input --disable-pip-version-check --no-compile{deps}"
    if plan.frontend is Frontend.BUILDKIT:
        if plan.cache_scope:
            first_line, cache_env, no_cache = (f"RUN --mount=type=cache,target={PIP_CACHE},id={cache_id('pip', plan)} \\",
                                               f"PIP_CACHE_DIR={PIP_CACHE} ", "")
        else:
            first_line, cache_env, no_cache = "RUN \\", "", " --no-cache-dir"
        return [first_line] + wheel_mounts + netrc_mount + helper_mount + [
            f"    {CA_MOUNT} \\",
            f"    {_ca_export(plan, 'PIP_CERT')}\\",
            *([f"    {netrc_env}{cache_env}\\"] if netrc_env or cache_env else []),
            *_then(f"    {pip}{no_cache}{index_args} -r {lock_path}", compile_step),
        ]
    return _then(f"RUN {pip} --no-cache-dir{index_args} -r {lock_path}", compile_step)


def cache_id(kind: str, plan: BuildPlan) -> str:
    """The BuildKit cache id of one installer's cache in one scope (plan.cache_scope): a job's
    steps never mount the cache another scope's steps wrote (BuildPlan.cache_scope says why)."""
    return f"launchbuild-{kind}-{plan.cache_scope}"


TAG_SCOPE = "0" * 16  # the scope every content tag is computed with (api.fit_and_tag)


def _then(install: str, compile_step: str | None) -> list[str]:
    """An install line, and the bytecode step after it where the plan compiles (after `&&`: a
    failed install still fails the step)."""
    return [f"{install} && \\", f"    {compile_step}"] if compile_step else [install]


def _layered_install(plan: BuildPlan, sub_locks) -> list[str]:
    """One COPY + RUN per sub-lock, heaviest first, `--no-deps` into the same venv (the lock is
    already complete: together the sub-locks are exactly its entries). An unchanged sub-lock
    keeps its instructions and input bytes, so BuildKit reuses its layer. Wheels built on this
    host are never in the heavy layer (layers.py), so only the later layers mount them."""
    by_size = [r for r in plan.layer_roots if r not in plan.layer_roots_by_name]
    lines = ["# The environment in layers by stability (builder/layers.py): the heavy, rarely",
             "# changing part first, each from its own hash-checked sub-lock; verified as one.",
             f"# Heavy roots by the index's wheel size: {', '.join(by_size) or 'none'}"
             + (f"; by the name heuristic (size unknown): {', '.join(plan.layer_roots_by_name)}"
                if plan.layer_roots_by_name else "")]
    for i, sub in enumerate(sub_locks):
        # --strict only on a later last layer: the heavy layer's line must not depend on whether
        # a later layer follows (a heavy-only lock is still checked whole by the verification).
        strict = i > 0 and i == len(sub_locks) - 1
        lines += [f"# layer {sub.name}: {len(sub.packages)} packages, sub-lock sha256 {sub.sha256[:16]}",
                  f"COPY {sub.context_path} {sub.image_path}"]
        lines += _install_run(plan, sub.image_path, strict=strict, wheels=i > 0, no_deps=True, first=i == 0,
                              link_from_temp=i == 0, later_layer=i > 0)
    # The whole lock, for `check image:` and the verification, after the installs: a small file.
    return lines + [f"COPY {CONTEXT_LOCK} {LOCK_IN_IMAGE}"]


def _classic_install_stage(plan: BuildPlan) -> list[str]:
    lines = [
        "# The classic builder has no secret mounts: the CA bundle is used in this throwaway",
        "# stage only. It stays in the local engine's build cache, never in the final image.",
        f"FROM {plan.base_image} AS install",
    ]
    # Same ENV and apt steps as the final stage, so the classic cache gives the final stage
    # this very apt layer: the venv's interpreter is bit-for-bit the one it was built with.
    lines += _env()
    lines += _apt(plan)
    lines += _venv(plan)
    if _has_requirements(plan):
        pip = (f"{VENV}/bin/python -m pip install --require-hashes --no-input --disable-pip-version-check "
               "--no-cache-dir --no-compile")
        from launchbuild.builder import wheels_in_context

        lines += wheels_in_context.copy_lines(plan) + [
            f"COPY {CONTEXT_LOCK} {LOCK_IN_IMAGE}",
            f"COPY {CONTEXT_CA} /tmp/launchbuild-ca.pem",
            # An empty slot (no bundle on this host) is not a CA: pip keeps its own then.
            "RUN if [ -s /tmp/launchbuild-ca.pem ]; then export PIP_CERT=/tmp/launchbuild-ca.pem; fi; \\",
            *_then(f"    {pip}{_index_args(plan)} -r {LOCK_IN_IMAGE}",
                   compile_bytecode(parallel=True) if plan.bytecode else None),
        ]
    from launchbuild.builder import project_install

    lines += project_install.throwaway_stage_lines(plan, _index_args(plan))
    return lines


def _code_and_metadata(plan: BuildPlan) -> list[str]:
    owner = f"{plan.uid}:{plan.gid}"
    lines = [
        f"USER {owner}",
        f"WORKDIR {plan.workdir}",
        # --chown on COPY: a later `chown -R` layer would store every file twice.
        f"COPY --chown={owner} {CONTEXT_CODE} {plan.workdir}/",
    ]
    from launchbuild.builder import project_install

    lines += project_install.lines(plan, _uv_mount(), _index_args(plan))
    # A label longer than one Dockerfile line is left out, as a lock too big for its label is
    # (core/labels.py): the lock is still in the image at its path.
    pairs = [f"{k}={_label_value(v)}" for k, v in plan.labels()]
    pairs = [p for p in pairs if _fits(f"LABEL {p} \\")]
    lines.append("LABEL " + " \\\n      ".join(pairs))
    # Exec form: no shell between the runtime and the job, so signals reach it.
    entrypoint = "ENTRYPOINT " + json.dumps(list(plan.entrypoint), ensure_ascii=False)
    if not _fits(entrypoint):
        raise BadInput(f"the entrypoint is {len(entrypoint.encode())} bytes as one Dockerfile line, longer than "
                       f"the {MAX_LINE_BYTES} the engine's parser takes",
                       hint="pass long arguments in a file or a config the job reads, not on its command line")
    lines.append(entrypoint)
    return lines


# The engine's Dockerfile parser refuses a physical line longer than this ("dockerfile line
# greater than max allowed size of 65535"), after the build has started.
MAX_LINE_BYTES = 65535


def _fits(line: str) -> bool:
    return len(line.encode("utf-8")) <= MAX_LINE_BYTES


def _label_value(value: str) -> str:
    # LABEL expands $VARS and ends at a newline; quote so the value arrives verbatim.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + " ".join(escaped.splitlines()) + '"'
