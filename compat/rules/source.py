"""Source rules: the entrypoint exists, nothing secret or bulky is copied into the image."""

from __future__ import annotations

from collections.abc import Iterator

from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence, Finding, Location, Severity
from launchbuild.core.fixes import IgnorePath
from launchbuild.core.rule import SOURCE, Rule


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


LB401 = Rule(
    "LB401",
    Severity.ERROR,
    "Entrypoint script not found in the source",
    "The entrypoint runs a script or module that is not in the source, so the container "
    "exits at once with 'No such file or directory'.",
    "Fix the entrypoint path (it is relative to the source root), or add the file.",
    ("source", "entrypoint"),
    SOURCE,
)


def entrypoint_missing(ctx: CheckContext) -> Iterator[Finding]:
    src = ctx.source
    if src is None or src.entrypoint is None or src.entrypoint.found is not False:
        return
    target = src.entrypoint
    what = "module" if target.kind == "module" else "script"
    # Advice only: whether the path is wrong or the file is missing is the user's to say.
    yield LB401.finding(
        f"the entrypoint runs {what} {target.name!r} ({target.command}), which is not in the source",
        f"make the entrypoint point at an existing {what} relative to the source root, or add {target.name}",
        [Evidence("entrypoint", " ".join(ctx.entrypoint or ()), "job"), Evidence("source", src.root, "source scan")],
    )


LB402 = Rule(
    "LB402",
    Severity.WARNING,
    "Secrets or bulky folders in the job's source",
    "Credentials in a job's source travel with its code archive and git history, and would land "
    "in an image layer, readable by anyone who can pull it, if an ignore rule let them through. "
    "The default ignore set keeps the usual ones out (.env, keys, .netrc, cloud credentials), "
    "so this is a warning; a secret that the job's own .dockerignore re-includes is an error. "
    "Bulky folders (.git, virtual environments, run folders) that would be copied make the "
    "image large and slow.",
    "Move secrets out of the source and pass them at run time; add bulky paths to .dockerignore.",
    ("source", "security"),
    SOURCE,
)


def secrets_or_bulk(ctx: CheckContext) -> Iterator[Finding]:
    src = ctx.source
    if src is None:
        return
    for item in src.secrets:
        # Advice only: which ignore rule re-includes a secret, and where a secret belongs instead,
        # are the user's; bulky folders below are an ignore entry to add.
        if item.copied:
            yield LB402.finding(
                f"{item.path} ({item.why}) would be copied into the image: an ignore rule re-includes it",
                f"remove the rule that re-includes {item.path} from .dockerignore, and pass the secret at run time",
                [Evidence("file", item.path, "source scan"), Evidence("copied", "yes", "ignore rules")],
                severity=Severity.ERROR,
                location=Location(item.path),
            )
        else:
            yield LB402.finding(
                f"{item.path} ({item.why}) is in the job's source; the default ignore set keeps it out of the image",
                f"move {item.path} out of the job's source (it still travels with the code) and pass it at run time",
                [Evidence("file", item.path, "source scan"), Evidence("copied", "no", "ignore rules")],
                location=Location(item.path),
            )
    for item in src.bulky:
        yield LB402.finding(
            f"{item.path}/ ({item.why}, {_size(item.size_bytes)}) would be copied into the image",
            IgnorePath(item.path),
            [Evidence("folder", f"{item.path} ({_size(item.size_bytes)})", "source scan")],
            location=Location(item.path),
        )


LB403 = Rule(
    "LB403",
    Severity.INFO,
    "No entrypoint",
    "No entrypoint was given on the command line, in the job spec or in the run metadata. "
    "`check` carries on; `build` needs one to set the image's command.",
    "Pass --entrypoint \"python train.py\" or set it in the job spec.",
    ("source", "entrypoint"),
    SOURCE,
)


def no_entrypoint(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.entrypoint or ctx.source is None:
        return
    # Advice only: the command is the user's; "python train.py" is an example, not a value.
    yield LB403.finding(
        "no entrypoint was given; the image would have no command to run",
        'pass --entrypoint "python train.py" or set entrypoint in the job spec',
        [Evidence("entrypoint", "none", "job")],
        severity=Severity.ERROR if ctx.is_build else Severity.INFO,
    )


LB404 = Rule(
    "LB404",
    Severity.ERROR,
    "Base image exists only in the local engine",
    "A cluster build (--engine kubernetes) pulls the base image from its registry, so a base "
    "that is only in the local Docker engine (built or tagged here, never pushed) fails on the "
    "cluster after the upload and the wait. Reported before anything is submitted; a warning "
    "when the registry could not be asked from this machine.",
    "Push the base image to a registry the cluster can pull from and name it there, or build "
    "with a local engine.",
    ("source", "image", "kubernetes"),
    SOURCE,
    produced_by="builder",
)
