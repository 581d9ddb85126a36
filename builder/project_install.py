"""Install the job's own project (`-e .`, a pyproject with a build system, setup.py) into the
venv from the code copied into the image: a normal, non-editable install without
dependencies (they are the hash-checked lock, installed before), as root, from a throwaway
copy so the build leaves no egg-info or build/ folder in the workdir.

Its build backend (setuptools, poetry-core, hatchling...) is fetched from the index for this
step only; the project itself is the job's own code, part of the content tag.
"""

from __future__ import annotations

import re

from launchbuild.builder.ca_secret import CA_MOUNT, ca_export
from launchbuild.builder.plan import VENV, BuildPlan, Frontend, compile_bytecode
from launchbuild.errors import BadInput

_SAFE = re.compile(r"[A-Za-z0-9._/+-]+")
SCRATCH = "/tmp/launchbuild-project"


def validate(paths: tuple[str, ...]) -> None:
    for path in paths:
        if not _SAFE.fullmatch(path) or path.startswith("/") or ".." in path.split("/"):
            raise BadInput(f"project path {path!r} is not a plain relative path inside the job",
                           hint="name the project with a relative path such as . or libs/mylib")


def _without_wheels(index_args: str) -> str:
    # --no-deps: the project needs only its build backend from the index, not the lock's wheels
    # (which are mounted for the lock's install step alone).
    from launchbuild.builder.wheels_in_context import IMAGE_WHEELS

    return index_args.replace(f" --find-links {IMAGE_WHEELS}", "")


def throwaway_stage_lines(plan: BuildPlan, index_args: str) -> list[str]:
    """The classic builder: the project is installed in the throwaway install stage (where the
    CA bundle is, when the host has one), so only the venv, never the bundle, reaches the image.
    Always there, bundle or not: the classic Dockerfile, and so the content tag, must not depend
    on the host's CA settings (dockerfile.render always renders the throwaway stage for this)."""
    if not plan.install_projects or plan.frontend is not Frontend.CLASSIC:
        return []
    index_args = _without_wheels(index_args)
    validate(plan.install_projects)
    out = ["# The job's own project, installed here where the CA bundle is: no dependencies, not editable.",
           "COPY code/ /tmp/launchbuild-code/"]
    for path in plan.install_projects:
        src = "/tmp/launchbuild-code" if path == "." else f"/tmp/launchbuild-code/{path}"
        # An empty CA slot (no bundle on this host) is not a CA: pip keeps its own then.
        out.append("RUN if [ -s /tmp/launchbuild-ca.pem ]; then export PIP_CERT=/tmp/launchbuild-ca.pem; fi; "
                   f"{VENV}/bin/python -m pip install --no-deps --no-cache-dir --no-compile "
                   f"--no-input --disable-pip-version-check{index_args} {src}"
                   + (f" && {compile_bytecode(parallel=False)}" if plan.bytecode else ""))
    return out


def lines(plan: BuildPlan, uv_mount: str, index_args: str) -> list[str]:
    projects = plan.install_projects
    if not projects or plan.frontend is Frontend.CLASSIC:
        return []  # installed in the classic throwaway stage (throwaway_stage_lines)
    index_args = _without_wheels(index_args)
    validate(projects)
    # The build backend comes from an index: the optional CA secret is mounted in every
    # BuildKit rendering (used only when the host gave one), so the tag is the same on any host.
    buildkit = plan.frontend is Frontend.BUILDKIT
    ca_mount = f"{CA_MOUNT} " if buildkit else ""
    out = ["# The job's own project, from the copied code: no dependencies (the lock has them), not editable.",
           "USER root"]
    from launchbuild.builder import layers

    # On BuildKit only the project's own files are compiled (builder/layer_bytecode.py, mounted
    # from the context): the distributions installed after the stamp, made just before.
    stamp = f"{SCRATCH}.stamp"
    if not plan.bytecode:
        helper_mount, make_stamp, compile_step = "", "", ""
    elif layers.project_uses_bytecode_helper(plan):
        helper_mount, make_stamp = f"{layers.bytecode_mount()} ", f": > {stamp}; "
        compile_step = f"; {layers.bytecode_step(f'--newer-than {stamp}')}; rm -f {stamp}"
    else:
        helper_mount, make_stamp, compile_step = "", "", f"; {compile_bytecode(parallel=False)}"
    for path in projects:
        src = plan.workdir if path == "." else f"{plan.workdir}/{path}"
        copy = f"cp -a {src}/. {SCRATCH}"
        if plan.installer == "uv":
            env = ca_export(plan, "SSL_CERT_FILE") + "UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never"
            install = f"{env} uv pip install --python {VENV}/bin/python --no-deps{index_args} {SCRATCH}"
            mounts = f"{uv_mount} {ca_mount}"
        else:
            env = ca_export(plan, "PIP_CERT")
            install = (f"{env}{VENV}/bin/python -m pip install --no-deps --no-cache-dir --no-compile --no-input "
                       f"--disable-pip-version-check{index_args} {SCRATCH}")
            mounts = ca_mount
        out += [f"RUN {mounts}{helper_mount}set -eu; {make_stamp}mkdir -p {SCRATCH}; {copy}; \\",
                f"    {install}; \\",
                f"    rm -rf {SCRATCH}{compile_step}"]
    out.append(f"USER {plan.uid}:{plan.gid}")
    return out
