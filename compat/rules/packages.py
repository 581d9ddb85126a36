"""Python-package rules, on the resolver's lock and index facts."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from launchbuild.compat import data
from launchbuild.compat.context import CheckContext
from launchbuild.core.findings import Evidence, Finding, Severity
from launchbuild.core.platform import wheel_machine
from launchbuild.core.fixes import Advice, AptPackages, ChangeBaseImage, Fix, PinPackage, ReplacePackage, SetOption
from launchbuild.core.rule import PYTHON_PACKAGES, Rule
from launchbuild.compat.rules._common import ev_image, ev_lock, has_wheel_for_target, tf_build, torch_build
from launchbuild.resolver.versions import same_version


def _has_compiler(ctx: CheckContext) -> bool | None:
    # Devel images carry nvcc and build-essential; runtime and slim images carry neither.
    return ctx.image.has_nvcc if ctx.image is not None else None


LB302 = Rule(
    "LB302",
    Severity.WARNING,
    "No wheel for the target: builds from source",
    "Without a wheel for the target Python/platform/glibc, pip builds the sdist: it needs a "
    "compiler and headers the image may lack, and is slow. With no sdist either, it cannot "
    "be installed at all.",
    "Pin a version with a wheel for the target, change the target Python, or use a devel image.",
    ("packages", "build"),
    PYTHON_PACKAGES,
)


def no_wheel(ctx: CheckContext) -> Iterator[Finding]:
    target = f"Python {ctx.python.value}" if ctx.python else "the target Python"
    for pf in ctx.packages:
        if pf.has_target_wheel is not False:
            continue
        ev = [ev_lock(pf.name, pf.version), Evidence("wheel for target", f"none for {target} on {ctx.platform}", "index")]
        if pf.has_sdist is False:
            yield LB302.finding(
                f"{pf.name} {pf.version} has neither a wheel for {target} on {ctx.platform} nor an sdist: it cannot be installed",
                # Which Python the package does publish for is not in the facts: that alternative is advice.
                (PinPackage(pf.name, phrase=f"pin a {{package}} version that publishes a wheel for {target}"),
                 Advice("change the target Python")),
                ev + [Evidence("sdist", "none", "index")],
                severity=Severity.ERROR,
            )
            continue
        compiler = _has_compiler(ctx)
        note = "; the image has no compiler" if compiler is False else ""
        if pf.wheel_not_locked:
            yield LB302.finding(
                f"{pf.name} {pf.version}: the index has a wheel for {target} on {ctx.platform}, but the lock's hashes "
                f"allow only its sdist, so it builds from source{note}",
                (Advice("lock it again for the target, so the hash of its wheel is in the lock"),),
                [ev_lock(pf.name, pf.version), Evidence("wheel for target", "on the index, not in the lock's hashes",
                                                        "index digests")]
                + ([ev_image(ctx, "has_nvcc", "False (runtime image: no build tools)")] if compiler is False else []),
            )
            continue
        yield LB302.finding(
            f"{pf.name} {pf.version} has no wheel for {target} on {ctx.platform} and builds from source{note}",
            # No devel image matches every base (a Python image has none): that alternative is advice.
            (PinPackage(pf.name, phrase=f"pin a {{package}} version with a wheel for {target}"),
             Advice("use a -devel- image with a compiler")),
            ev + ([ev_image(ctx, "has_nvcc", "False (runtime image: no build tools)")] if compiler is False else []),
        )


LB303 = Rule(
    "LB303",
    Severity.ERROR,
    "Package needs nvcc at install time",
    "flash-attn, apex, mamba-ssm and friends compile CUDA code when installed from source; "
    "runtime and Python images have no nvcc, so the install fails. Only when no wheel of the "
    "pinned version exists for the target Python and platform.",
    "Use a -devel- CUDA image (nvcc included), or pin a version with a prebuilt wheel for your "
    "torch/CUDA/Python.",
    ("packages", "cuda", "build"),
    PYTHON_PACKAGES,
)


def needs_nvcc(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.lock is None:
        return
    for name, why in data.nvcc_needs().items():
        version = ctx.locked(name)
        if version is None:
            continue
        if has_wheel_for_target(ctx, name, version) is True:
            continue  # a prebuilt wheel installs on the target: nothing is compiled
        img = ctx.image
        has_nvcc = img.has_nvcc if img is not None else None
        if not ctx.accelerator_image and img is not None and img.cuda_version is None:
            has_nvcc = False
        if has_nvcc is True:
            continue
        cuda = img.cuda_version if img is not None and img.cuda_version else "12.4.1"
        fix = ChangeBaseImage(f"nvidia/cuda:{cuda}-devel-ubuntu22.04",
                              "use {image} (or another -devel- image) as the accelerator base image")
        if has_nvcc is None or img is None:  # no image: has_nvcc is None
            yield LB303.finding(
                f"{name} {version} {why}; whether the image has nvcc is unknown",
                fix,
                [ev_lock(name, version), Evidence("package needs", "nvcc", "data/packages.json")],
                severity=Severity.WARNING,
            )
            continue
        yield LB303.finding(
            f"{name} {version} {why}, but {img.reference} has no nvcc",
            fix,
            [ev_lock(name, version), Evidence("package needs", "nvcc", "data/packages.json"), ev_image(ctx, "has_nvcc", "False")],
        )


LB304 = Rule(
    "LB304",
    Severity.WARNING,
    "Package needs system libraries",
    "Some wheels load system libraries at import (opencv-python needs libGL.so.1) or call "
    "system binaries (ffmpeg); minimal images lack them and the import fails at run time.",
    "Add the listed apt packages to the image, or use a variant that needs none (opencv-python-headless).",
    ("packages", "image"),
    PYTHON_PACKAGES,
)



def locked_wheels(ctx: CheckContext, name: str, version: str) -> tuple[tuple[data.WheelLibraries, ...], str]:
    """The measured wheels pip may install for the locked pin on the target machine, and how
    they were matched: by the lock's sha256 hashes when the table has one of them, else by
    version and machine. An image glibc below a wheel's manylinux floor rules it out ("glibc":
    measured wheels exist, none installs)."""
    machine = wheel_machine(ctx.platform)
    rows = [w for w in data.wheel_libraries().get(name, ()) if w.machine == machine]
    pkg = next((p for p in ctx.lock.packages if p.name == name), None) if ctx.lock is not None else None
    hashes = {h.split(":", 1)[1] for h in (pkg.hashes if pkg else ()) if h.startswith("sha256:")}
    matched, how = tuple(w for w in rows if w.sha256 in hashes), "sha256"
    if not matched:
        matched, how = tuple(w for w in rows if same_version(w.version, version)), "version"
    glibc = ctx.image.glibc if ctx.image is not None else None
    if matched and glibc:
        try:
            have = data.parse_version(glibc)
        except ValueError:
            return matched, how
        fits = tuple(w for w in matched if data.parse_version(w.glibc) <= have)
        return (fits, how) if fits else ((), "glibc")
    return matched, how


def _bundled(wheels: tuple[data.WheelLibraries, ...]) -> frozenset[str]:
    # Only what every candidate wheel ships: pip may pick any of them for the target Python.
    return frozenset.intersection(*(w.libraries for w in wheels)) if wheels else frozenset()


def needs_system_libraries(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.lock is None:
        return
    table = data.system_library_needs()
    for name in ctx.locked_names:
        needs = table.get(name)
        if needs is None:
            continue
        provides = data.apt_libraries()  # read only when a locked package needs apt packages
        version = ctx.locked(name) or ""
        wheels, matched = locked_wheels(ctx, name, version)
        bundled = _bundled(wheels)
        apt = tuple(a for a in needs.apt if provides.get(a) not in bundled)
        ev = [ev_lock(name, version)]
        libs = [provides[a] for a in needs.apt if a in provides]
        if wheels and libs:
            where = f"data/wheel_libs.json ({', '.join(w.wheel for w in wheels)}; matched by {matched}; checked {wheels[0].checked})"
            shipped = sorted(set(libs) & bundled)
            ev.append(Evidence("bundled in the wheel", " ".join(shipped) if shipped else f"none of {' '.join(libs)}", where))
        elif libs and matched == "glibc":
            ev.append(Evidence("bundled in the wheel", f"no measured wheel installs: the image's glibc is {ctx.image.glibc if ctx.image else '?'}",
                               "data/wheel_libs.json (manylinux floors)"))
        elif libs:
            ev.append(Evidence("bundled in the wheel", f"not measured for {name} {version} on {wheel_machine(ctx.platform)}",
                               "data/wheel_libs.json"))
        if not apt:
            continue  # the locked wheel ships every library the row names: the image needs none of them
        fix: tuple[Fix, ...] = (AptPackages(apt),)
        if name in ("opencv-python", "opencv-contrib-python"):
            fix += (ReplacePackage(name, name.replace("python", "python-headless")),)
        if ctx.image is not None and ctx.image.debian_compatible is False:
            fix = (AptPackages(apt, apt=False),)
        yield LB304.finding(
            f"{name} {version} needs {' '.join(apt)} ({needs.why})",
            fix,
            [ev[0], Evidence("apt packages", " ".join(apt), "data/packages.json"), *ev[1:]],
        )


def _python_in(spec: str, py: str) -> bool | None:
    try:
        s = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    # "X.Y" satisfies a specifier if some X.Y.z release does: try the first and a late patch.
    return any(s.contains(f"{py}.{patch}", prereleases=True) for patch in (0, 99))


def _in_range(py: str, lo: str, hi: str) -> bool:
    v = data.parse_version(py)[:2]
    return data.parse_version(lo)[:2] <= v <= data.parse_version(hi)[:2]


LB306 = Rule(
    "LB306",
    Severity.ERROR,
    "Target Python outside what a pinned package supports",
    "A pinned release declares the Pythons it supports (Requires-Python), and framework "
    "releases publish wheels only for a range of Pythons; outside it, the install fails or "
    "builds from source.",
    "Change the target Python, or pin a release that supports it.",
    ("packages", "python"),
    PYTHON_PACKAGES,
)


def python_unsupported(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.python is None:
        return
    py = ctx.python.value
    ev_py = Evidence("target python", py, ctx.python.describe())
    for pf in ctx.packages:
        if not pf.requires_python:
            continue
        if _python_in(pf.requires_python, py) is False:
            yield LB306.finding(
                f"{pf.name} {pf.version} requires Python {pf.requires_python}; the target is Python {py}",
                # The specifier is data, not one Python to set: the first alternative is advice.
                (Advice(f"target a Python that satisfies {pf.requires_python}"), PinPackage(pf.name, why=f"that supports {py}")),
                [ev_py, Evidence(f"{pf.name} Requires-Python", pf.requires_python, "index")],
            )
    tb = torch_build(ctx)
    release = data.torch_releases().get(tb.minor) if tb else None
    if tb is not None and tb.wheel is not None:
        # The wheels themselves (data/pypi_wheels.json) say which Pythons the release serves; its
        # +cuXYZ variants are built for the same Pythons.
        if tb.wheel.pythons and py not in tb.wheel.pythons and not any(pf.name == "torch" for pf in ctx.packages):
            yield LB306.finding(
                f"torch {tb.version} publishes {measured_machine(ctx)} wheels for Python {', '.join(tb.wheel.pythons)}; the target is Python {py}",
                (SetOption("python", tb.wheel.pythons[-1]), PinPackage("torch", why=f"that supports Python {py}")),
                [ev_py, ev_lock("torch", tb.version), Evidence(f"torch {tb.version} wheel Pythons", " ".join(tb.wheel.pythons), f"data/pypi_wheels.json (checked {tb.wheel.checked})")],
            )
    elif tb is not None and release is not None and not _in_range(py, *release.python):
        yield LB306.finding(
            f"torch {tb.minor} publishes wheels for Python {release.python[0]}-{release.python[1]}; the target is Python {py}",
            (SetOption("python", release.python[1]), PinPackage("torch", why=f"that supports Python {py}")),
            [ev_py, ev_lock("torch", tb.version), Evidence(f"torch {tb.minor} Python range", "-".join(release.python), "data/torch.json")],
        )
    tf = tf_build(ctx)
    tfr = tf.release() if tf else None
    if tf is not None and tfr is not None and not _in_range(py, *tfr.python):
        yield LB306.finding(
            f"tensorflow {tf.minor} supports Python {tfr.python[0]}-{tfr.python[1]}; the target is Python {py}",
            (SetOption("python", tfr.python[1]), PinPackage("tensorflow", why=f"that supports Python {py}")),
            [ev_py, ev_lock(tf.name, tf.version), Evidence(f"tensorflow {tf.minor} Python range", "-".join(tfr.python), "data/tensorflow.json")],
        )


def measured_machine(ctx: CheckContext) -> str:
    from launchbuild.compat.measured import MACHINE

    return MACHINE.get(ctx.platform, "x86_64")
