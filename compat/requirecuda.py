"""`NVIDIA_REQUIRE_CUDA`: parse and evaluate it the way the NVIDIA container runtime does.

Grammar (nvidia-container-toolkit internal/requirements/constraints/factory.go):
  * a single space separates OR terms, a comma separates AND factors within a term;
  * a factor is <property><op><value>, op one of != <= >= = < > (tried in that order);
  * properties: cuda (the driver's CUDA version), driver, arch (GPU compute capability),
    brand (string); a factor with any other property is skipped, and a term whose factors
    are all skipped is dropped; no terms left means "always satisfied";
  * a factor with no operator character, or a version value that is not a semantic
    version (Go's x/mod/semver, "v"-prefixed), is an error: here, `BadInput`.
Legacy images (CUDA_VERSION but no NVIDIA_REQUIRE_CUDA) imply `cuda>=<major.minor>`
(internal/config/image/cuda_image.go).

Driver versions are compared numerically ("535.104.05" > "535.54.03"), as libnvidia-container
does; semver would reject the leading zero of real driver versions.
"""

from __future__ import annotations

import re

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

PROPERTIES = ("cuda", "driver", "arch", "brand")
VERSION_PROPERTIES = frozenset({"cuda", "driver", "arch"})
OPERATORS = ("!=", "<=", ">=", "=", "<", ">")

# Go x/mod/semver without the "v": shorthand X and X.Y allowed, but then no pre-release/build.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?$"
)


@dataclass(frozen=True)
class Condition:
    """One factor of NVIDIA_REQUIRE_CUDA, `<property><op><value>`: `cuda>=12.1`, `brand=tesla`."""

    prop: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.prop}{self.op}{self.value}"


@dataclass(frozen=True)
class Clause:
    """AND of conditions; one OR term of the requirement."""

    conditions: tuple[Condition, ...]

    @property
    def forward_compat(self) -> bool:
        """True for the brand/driver-branch terms: they hold through the image's cuda-compat
        package, not because the driver's CUDA is new enough."""
        return not any(c.prop == "cuda" for c in self.conditions)

    def __str__(self) -> str:
        return ",".join(str(c) for c in self.conditions)


@dataclass(frozen=True)
class Requirement:
    """An image's NVIDIA_REQUIRE_CUDA, parsed: OR terms of AND conditions, as the NVIDIA
    container runtime checks them."""

    text: str
    clauses: tuple[Clause, ...]  # OR; empty = always satisfied
    implied: bool = False  # derived from CUDA_VERSION on a legacy image


@dataclass(frozen=True)
class Evaluation:
    """Whether a host satisfies a requirement, as the runtime decides: the term that held and
    what it assumed, or the conditions that failed."""

    satisfied: bool
    matched: Clause | None  # the first term that held (the runtime stops there)
    assumed: tuple[str, ...] = ()  # properties taken as holding because they were unknown
    unmet: tuple[str, ...] = ()  # the first failing condition of each term, when unsatisfied

    @property
    def via_forward_compat(self) -> bool:
        return self.matched is not None and self.matched.forward_compat


def summary(req: Requirement) -> str:
    """The requirement in a person's words: the native terms, then the forward-compatibility
    driver branches, instead of one clause per brand (a real string has thirty)."""
    def branch(clause: Clause) -> str | None:
        return next((c.value for c in clause.conditions if c.prop == "driver" and c.op == ">="), None) \
            if clause.forward_compat else None

    native = [str(c) for c in req.clauses if branch(c) is None]
    branches = sorted({b for c in req.clauses if (b := branch(c)) is not None},
                      key=lambda v: tuple(int(p) if p.isdigit() else 0 for p in v.split(".")))
    parts = native + ([f"driver branch {', '.join(branches)} with forward compatibility"] if branches else [])
    return " or ".join(parts) or req.text


def _semver_key(value: str) -> tuple:
    m = _SEMVER.match(value)
    assert m is not None
    nums = tuple(int(g) if g is not None else 0 for g in m.groups()[:3])
    pre = m.group(4)
    # A pre-release sorts before its release; compare pre-release strings lexically.
    return nums + ((1, "") if pre is None else (0, pre))


def _parse_factor(factor: str, where: str) -> Condition | None:
    if factor.strip() == "":
        return None
    end = next((i for i, ch in enumerate(factor) if ch in "<>=!"), -1)
    if end == -1:
        raise BadInput(f"{where}: invalid condition {factor!r} (expected <property><op><value>, e.g. cuda>=12.1); fix the image's NVIDIA_REQUIRE_CUDA or pick another image")
    prop, rest = factor[:end], factor[end:]
    if prop not in PROPERTIES:
        return None
    op = next((o for o in OPERATORS if rest.startswith(o)), "")
    value = rest[len(op):]
    if op == "":
        raise BadInput(f"{where}: invalid operator in {factor!r} (use one of {' '.join(OPERATORS)}); fix the image's NVIDIA_REQUIRE_CUDA or pick another image")
    if prop in VERSION_PROPERTIES and not _SEMVER.match(value):
        raise BadInput(f"{where}: {factor!r} compares {prop} with {value!r}, not a version; fix the image's NVIDIA_REQUIRE_CUDA or pick another image")
    return Condition(prop, op, value)


def parse(text: str, where: str = "NVIDIA_REQUIRE_CUDA") -> Requirement:
    if not isinstance(text, str):
        raise BadInput(f"{where}: expected a string, got {type(text).__name__}")
    clauses = []
    for term in text.split(" "):
        conditions = tuple(c for c in (_parse_factor(f, where) for f in term.split(",")) if c is not None)
        if conditions:
            clauses.append(Clause(conditions))
    return Requirement(text, tuple(clauses))


def implied_by_cuda_version(cuda_version: str, where: str = "CUDA_VERSION") -> Requirement:
    """A legacy image's implied requirement: cuda>=<major.minor of CUDA_VERSION>."""
    m = re.match(r"^\s*(\d+)\.(\d+)", cuda_version or "")
    if not m:
        raise BadInput(f"{where}: {cuda_version!r} is not a CUDA version (expected e.g. 11.0.3)")
    text = f"cuda>={int(m.group(1))}.{int(m.group(2))}"
    return Requirement(text, (Clause((Condition("cuda", ">=", f"{int(m.group(1))}.{int(m.group(2))}"),)),), implied=True)


def _compare(left: tuple, right: tuple) -> int:
    return (left > right) - (left < right)


def _holds(cond: Condition, host: dict[str, str | None]) -> bool | None:
    """True/False, or None when the host value is unknown."""
    have = host.get(cond.prop)
    if have is None:
        return None
    if cond.prop in VERSION_PROPERTIES:
        hv = tuple(int(p) for p in re.findall(r"\d+", have)) + (0, 0, 0)
        rv = _semver_key(cond.value)
        c = _compare(hv[:3], rv[:3])
        if c == 0 and rv[3] == 0:
            c = 1  # a released host version is newer than a pre-release bound
    else:
        c = _compare((have,), (cond.value,))
    return {
        "=": c == 0,
        "!=": c != 0,
        "<": c < 0,
        "<=": c <= 0,
        ">": c > 0,
        ">=": c >= 0,
    }[cond.op]


def evaluate(
    requirement: Requirement,
    *,
    driver: str | None,
    driver_cuda: str | None,
    arch: str | None = None,
    brand: str | None = None,
) -> Evaluation:
    """Evaluate against a host: driver '535.104.05', its CUDA '12.2', the GPU CC '9.0', and
    the NVML brand ('tesla', 'geforce', ...). Unknown values are assumed to hold and listed
    in `assumed`, so a caller can say what it could not check."""
    if not requirement.clauses:
        return Evaluation(True, None)
    host = {"driver": driver, "cuda": driver_cuda, "arch": arch, "brand": brand}
    unmet = []
    for clause in requirement.clauses:
        assumed = []
        failed = None
        for cond in clause.conditions:
            result = _holds(cond, host)
            if result is None:
                assumed.append(cond.prop)
            elif result is False:
                failed = cond
                break
        if failed is None:
            return Evaluation(True, clause, tuple(dict.fromkeys(assumed)))
        unmet.append(str(failed))
    return Evaluation(False, None, (), tuple(unmet))
