"""The optional CA secret of BuildKit renderings: where it is mounted and how a RUN step
points its tools at it. Shared by the Dockerfile and the job's own-project install steps.
"""

from __future__ import annotations

from launchbuild.builder.plan import BuildPlan, Frontend

SECRET_CA = "/run/secrets/ca"  # where BuildKit mounts `--secret id=ca`

# The CA bundle is an optional secret in every BuildKit rendering: the Dockerfile, and so the
# content tag, are the same on a runner behind a TLS proxy and on one without; the engine is
# handed the secret only where the host has a bundle. `[ -s ]`: an absent secret is no file.
CA_MOUNT = "--mount=type=secret,id=ca,required=false"
CA_PRESENT = f"[ -s {SECRET_CA} ]"


def ca_mount(plan: BuildPlan) -> str:
    return f"{CA_MOUNT} " if plan.frontend is Frontend.BUILDKIT else ""


def ca_export(plan: BuildPlan, *names: str) -> str:
    """Shell that points `names` at the CA secret only when it was given."""
    if plan.frontend is not Frontend.BUILDKIT:
        return ""
    return f"if {CA_PRESENT}; then export {' '.join(f'{n}={SECRET_CA}' for n in names)}; fi; "
