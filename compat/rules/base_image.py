"""Base-image rules: can Python go in, does the image fit the platform, can it be read."""

from __future__ import annotations

from collections.abc import Iterator

from launchbuild.compat import data
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence, Finding, Severity
from launchbuild.core.fixes import Advice, ChangeBaseImage, Fix, SetOption
from launchbuild.core.rule import BASE_IMAGE, GPU_CUDA, Rule
from launchbuild.compat.rules._common import ev_image
from launchbuild.core.platform import Platform, docker_arch

# The accelerator image LB101 and LB208 suggest: a supported runtime image with apt.
SUGGESTED_CUDA_IMAGE = "nvidia/cuda:12.4.1-runtime-ubuntu22.04"


LB101 = Rule(
    "LB101",
    Severity.ERROR,
    "Accelerator image is not Debian-compatible",
    "The build installs Python into the accelerator image with apt-get; an image without apt "
    "(Alpine, UBI, busybox, distroless) cannot take it.",
    "Use a Debian/Ubuntu-based accelerator image, e.g. nvidia/cuda:12.4.1-runtime-ubuntu22.04.",
    ("image", "build"),
    BASE_IMAGE,
)


def accelerator_not_debian(ctx: CheckContext) -> Iterator[Finding]:
    img = ctx.image
    if img is None or not ctx.accelerator_image or img.debian_compatible is not False:
        return
    os_name = " ".join(x for x in (img.os_id, img.os_version) if x) or "unknown OS"
    yield LB101.finding(
        f"{img.reference} is {os_name} without apt-get, so Python cannot be installed into it",
        ChangeBaseImage(SUGGESTED_CUDA_IMAGE, "use a Debian/Ubuntu-based accelerator image such as {image}"),
        [ev_image(ctx, "os_id", img.os_id or "unknown"), ev_image(ctx, "has_apt", str(img.has_apt))],
    )


LB102 = Rule(
    "LB102",
    Severity.ERROR,
    "Target Python not available on the image",
    "With an accelerator image the build installs the target Python with apt; the distribution "
    "must ship that version. With a Python base image, the image must already have it. An image "
    "job runs its image as is, so the image must bring a Python of its own.",
    "Pick a target Python the distribution ships, or an image whose distribution ships yours.",
    ("image", "python"),
    BASE_IMAGE,
)


def python_not_installable(ctx: CheckContext) -> Iterator[Finding]:
    img = ctx.image
    if img is not None and not ctx.accelerator_image and not img.pythons and img.provider != "inferred" \
            and img.fact_sources and "pythons" in dict(img.fact_sources):
        # An image job runs the image as is: without any Python, `python train.py` cannot start.
        # A Python base image gets no Python either: the build's `pythonX.Y -m venv` finds none.
        if ctx.image_job:
            no_python = ChangeBaseImage("python:3.11-slim", "use an image that ships Python ({image}, pytorch/pytorch, ...) or build the job from code")
        else:
            py_name = ctx.python.value if ctx.python is not None else "3.11"
            no_python = ChangeBaseImage(f"python:{py_name}-slim", "use {image} as the Python base image, or pass it as the accelerator base image (Python then goes in with apt)")
        yield LB102.finding(
            f"{img.reference} has no Python interpreter at all ({img.source_of('pythons')})",
            no_python,
            [ev_image(ctx, "pythons", "none")],
        )
        return
    if img is None or ctx.python is None:
        return
    py = ctx.python.value
    ev_py = Evidence("target python", py, ctx.python.describe())
    # An accelerator image gets its Python from `apt-get install pythonX.Y`, whatever the image
    # already has: a conda or /usr/local interpreter of that version does not make apt offer it.
    if py in img.pythons and not ctx.accelerator_image:
        return
    if not ctx.accelerator_image:
        if img.pythons:
            yield LB102.finding(
                f"{img.reference} has Python {', '.join(img.pythons)}, not the target Python {py}",
                (ChangeBaseImage(f"python:{py}-slim", "use {image} as the Python base image"),
                 SetOption("python", img.pythons[0])),
                [ev_py, ev_image(ctx, "pythons", ", ".join(img.pythons))],
            )
        return
    apt = img.apt_pythons
    source = ev_image(ctx, "apt_pythons", ", ".join(apt)) if apt is not None else None
    if apt is None:
        apt = data.apt_pythons(img.os_id, img.os_version)
        if apt is not None:
            source = Evidence("apt pythons", ", ".join(apt), f"data/distro_pythons.json ({img.os_id} {img.os_version})")
    if apt is None or py in apt or source is None:  # source is set whenever apt is
        return
    release = " ".join(x for x in (img.os_id, img.os_version) if x) or "unknown OS"
    distro_for = [
        f"{k[0]} {k[1]}" for k, v in sorted(data.distro_pythons().items()) if py in v
    ]
    # apt may offer no Python at all (package lists of a repository without python3.X).
    fix: tuple[Fix, ...] = (SetOption("python", apt[0], f"target Python {{value}} (what {release} ships)"),) if apt else ()
    if distro_for:
        # No image of those distributions is named (the data has releases, not images): a person picks one.
        fix += (Advice(f"use an image based on {' / '.join(distro_for)}, which ships Python {py}"),)
    if not fix:
        fix = (Advice("use an image whose apt sources offer python3.X packages"),)
    offers = f"offers Python {', '.join(apt)}" if apt else "offers no python3.X package"
    present = (f" (the image's own Python {py} is not apt's: the build installs python{py} with apt-get)"
               if py in img.pythons else "")
    yield LB102.finding(
        f"apt on {img.reference} ({release}) {offers}, not the target Python {py}{present}",
        fix,
        [ev_py, ev_image(ctx, "os_version", release), source],
    )


LB103 = Rule(
    "LB103",
    Severity.ERROR,
    "Image CPU architecture differs from the target platform",
    "An amd64 image does not start on arm64 nodes (exec format error), and the reverse.",
    "Use the image's variant for the target platform, or change --platform.",
    ("image", "platform"),
    BASE_IMAGE,
)


def wrong_architecture(ctx: CheckContext) -> Iterator[Finding]:
    img = ctx.image
    if img is None or not img.architecture:
        return
    want = docker_arch(ctx.platform)
    # A config may spell it as uname does (x86_64, aarch64): the same architecture.
    if Platform.normalise_arch(img.architecture) == want:
        return
    yield LB103.finding(
        f"{img.reference} is built for {img.architecture}, but the target platform is {ctx.platform}",
        # Whether the image has a linux/{want} variant is not known here (it was read for one
        # platform): advice. Targeting the image's own architecture is an option to set.
        (Advice(f"use the linux/{want} variant of the image (pull or inspect it with --platform {ctx.platform})"),
         SetOption("platform", f"linux/{img.architecture}")),
        [ev_image(ctx, "architecture", img.architecture), Evidence("platform", ctx.platform, ctx.platform_origin)],
    )


LB104 = Rule(
    "LB104",
    Severity.ERROR,
    "Base image cannot be found or read",
    "Nothing else about the image can be checked when it cannot be read.",
    "Check the reference and tag, log in to the registry, or build the image locally first.",
    ("image",),
    BASE_IMAGE,
)


def image_unreadable(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.image_error is None:
        return
    # Advice only: a typo, missing credentials or an unpushed image read the same from here, and
    # no program can tell which reference or login is right.
    yield LB104.finding(
        ctx.image_error,
        "check the image reference and tag, `docker login` to its registry, or pull/build it locally",
        [Evidence("image", ctx.image.reference if ctx.image else "unknown", "flag")],
    )


LB105 = Rule(
    "LB105",
    Severity.ERROR,
    "Python base image is musl-based (Alpine)",
    "The lock is of manylinux wheels, which need glibc: pip and uv refuse them on a musl libc "
    "(Alpine), so a binary package has no wheel there and builds from source or fails. The "
    "build's non-root account is made with groupadd/useradd, which Alpine does not ship.",
    "Use a Debian-based Python base image (python:3.11-slim), whose glibc takes manylinux wheels.",
    ("image", "build", "packages"),
    BASE_IMAGE,
)


def _musl(img) -> bool:
    # Alpine is the musl distribution base images use; os-release says so (ID or ID_LIKE).
    return img.os_id == "alpine" or "alpine" in img.os_id_like


def musl_python_base(ctx: CheckContext) -> Iterator[Finding]:
    img = ctx.image
    # An accelerator image without apt is LB101's; an image job runs as it is, nothing installs.
    if img is None or ctx.accelerator_image or ctx.image_job or not _musl(img):
        return
    py = ctx.python.value if ctx.python is not None else (img.pythons[0] if img.pythons else "3.11")
    locked = len(ctx.lock.packages) if ctx.lock is not None else 0
    yield LB105.finding(
        f"{img.reference} is {' '.join(x for x in (img.os_id, img.os_version) if x)} with musl libc: "
        + (f"the lock's {locked} packages are manylinux (glibc) wheels, which do not install on it, and " if locked else "")
        + "the build's groupadd/useradd are not part of Alpine",
        ChangeBaseImage(f"python:{py}-slim", "use {image} (Debian, glibc) as the Python base image"),
        [ev_image(ctx, "os_id", img.os_id), ev_image(ctx, "glibc", img.glibc)]
        + ([Evidence("lock", f"{locked} packages for {ctx.lock.target.platform} manylinux", "resolver")] if ctx.lock is not None and locked else []),
    )


LB208 = Rule(
    "LB208",
    Severity.WARNING,
    "End-of-life CUDA image",
    "NVIDIA marks deprecated images with NVIDIA_CUDA_END_OF_LIFE=1; end-of-life tags are deleted "
    "from Docker Hub/NGC six months later, so builds from them stop working.",
    "Move to the latest point release of a supported CUDA minor.",
    ("image", "cuda"),
    GPU_CUDA,
)


def end_of_life_image(ctx: CheckContext) -> Iterator[Finding]:
    img = ctx.image
    if img is None or not img.end_of_life:
        return
    yield LB208.finding(
        f"{img.reference} is an end-of-life CUDA image (NVIDIA_CUDA_END_OF_LIFE=1); its tag may be deleted",
        ChangeBaseImage(SUGGESTED_CUDA_IMAGE, "use a supported image such as {image} (latest point release of its CUDA minor)"),
        [ev_image(ctx, "end_of_life", "NVIDIA_CUDA_END_OF_LIFE=1")],
    )
