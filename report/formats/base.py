"""What every output format shares: the render options, the one-method interface, rule
metadata from the catalog, and small pure helpers (counts, ordering, locations)."""

from __future__ import annotations

import abc
import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any

from launchbuild.core.findings import Finding, Location, Severity
from launchbuild.core.records import dataclass
from launchbuild.report.model import Report, Verdict

TOOL_NAME = "launchbuild"


@dataclass(frozen=True)
class RuleMeta:
    """The catalog's description of one rule, as the renderers need it."""

    id: str
    title: str
    severity: Severity = Severity.WARNING  # the default severity
    description: str = ""
    help: str = ""  # how to fix, in general; a finding's `fix` is the concrete one
    tags: tuple[str, ...] = ()
    group: str = ""  # the rule's group ID (core/rule.py GROUPS); "" when the entry names none


@dataclass(frozen=True)
class RenderOptions:
    """How to render a report: verbosity, colour, ASCII or not, width, the rule catalog, and the
    tool's version and home page (SARIF)."""

    verbose: bool = False
    quiet: bool = False
    color: bool = False
    plain: bool = False  # ASCII boxes and symbols: not a TTY, or a terminal that can't do better
    width: int = 100
    # None: read the real catalog (launchbuild.compat.registry.ALL_RULES) when it can be imported.
    rules: Mapping[str, RuleMeta] | None = None
    tool_version: str = ""
    information_uri: str | None = None  # the project's home page, for SARIF viewers


    @property
    def catalog(self) -> Mapping[str, RuleMeta]:
        return self.rules if self.rules is not None else load_catalog()


class ReportFormat(abc.ABC):
    """One output format. Pure: the report in, text out; writing is the caller's job."""

    #: file extension used when several formats are written next to one --output FILE
    extension: str = "txt"

    @abc.abstractmethod
    def render(self, report: Report, options: RenderOptions) -> str:
        raise NotImplementedError


def installed_information_uri() -> str | None:
    """The project's home page from the installed distribution's metadata, if it names one;
    never a made-up address."""
    from importlib import metadata

    try:
        meta = metadata.metadata(TOOL_NAME)
    except metadata.PackageNotFoundError:
        return None
    for entry in meta.get_all("Project-URL") or []:
        _, _, url = entry.partition(",")
        if url.strip().startswith("https://"):
            return url.strip()
    home = meta.get("Home-page")  # type: ignore[attr-defined]  # an email Message at runtime; the protocol omits get()
    return home if home and home.startswith("https://") else None


# --- rule metadata ----------------------------------------------------------------------------

def rule_group(rule_id: str, catalog: Mapping[str, RuleMeta] | None = None) -> str:
    """The rule's group ID (JUnit classnames, SARIF tags): the given catalog's entry if it names
    one, else the registry's (groups are data there, not the ID's digits); "other" if unknown."""
    meta = catalog.get(rule_id) if catalog is not None else None
    if meta is not None and meta.group:
        return meta.group
    real = load_catalog().get(rule_id)
    return real.group if real is not None and real.group else "other"


def _field(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return default


def rule_meta_from(obj: Any) -> RuleMeta:
    """Adapt one catalog entry (whatever attribute names the catalog settles on) to RuleMeta."""
    if isinstance(obj, RuleMeta):
        return obj
    severity = _field(obj, "severity", "default_severity", default=Severity.WARNING)
    if not isinstance(severity, Severity):
        severity = Severity(str(getattr(severity, "value", severity)))
    help_text = _field(obj, "help", "fix", "help_text", default="")
    return RuleMeta(
        id=str(_field(obj, "id", "rule_id", "rule")),
        title=str(_field(obj, "title", "name", default="")),
        severity=severity,
        description=str(_field(obj, "description", "summary", default="")),
        help=str(help_text),
        tags=tuple(_field(obj, "tags", default=())),
        group=str(getattr(_field(obj, "group", default=""), "id", None) or _field(obj, "group", default="")),
    )


def catalog_from(entries: Mapping[str, Any] | Iterable[Any]) -> dict[str, RuleMeta]:
    values = entries.values() if isinstance(entries, Mapping) else entries
    metas = (rule_meta_from(e) for e in values)
    return {m.id: m for m in sorted(metas, key=lambda m: m.id)}


def load_catalog() -> dict[str, RuleMeta]:
    """The real rule catalog, or an empty one when the compat package doesn't provide it:
    every format still renders from the findings' own titles."""
    try:
        from launchbuild.compat.registry import ALL_RULES
    except ImportError:
        return {}
    return catalog_from(ALL_RULES)


# --- untrusted text --------------------------------------------------------------------------

# C0/C1 controls other than TAB and LF, the XML non-characters, the Unicode line and paragraph
# separators, the bidi overrides and lone surrogates (limits.printable's set, less TAB and LF).
# Finding text quotes the user's files, image labels and index metadata: an ESC there would
# drive the reader's terminal (or the Actions log, which renders ANSI); U+2028 is a line break
# to rich and to str.splitlines, so a value could start a line of its own ("::error::...", a
# workflow command in an Actions log); a bidi override shows a name reversed; most are
# illegal in XML.
@dataclass(frozen=True)
class Symbols:
    """The marks of the reports for people: Unicode for a terminal, ASCII in plain mode (logs,
    dumb terminals). Rich-free, so the quiet path prints them without importing rich."""

    ok: str
    bad: str
    arrow: str
    dot: str


FANCY_SYMBOLS = Symbols(ok="✓", bad="✗", arrow="→", dot="·")
PLAIN_SYMBOLS = Symbols(ok="ok", bad="FAILED", arrow="->", dot="-")


def symbols(plain: bool) -> Symbols:
    return PLAIN_SYMBOLS if plain else FANCY_SYMBOLS


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def visible(text: str) -> str:
    """Control characters as visible escapes: "\x1b" rather than a live escape sequence."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text)


def scrub(value: Any) -> Any:
    """The same value with every string in it passed through `visible` (frozen dataclasses
    are rebuilt; an untouched value comes back as itself)."""
    if isinstance(value, str):
        return visible(value) if _CONTROL.search(value) else value
    if isinstance(value, (enum.Enum, bytes)) or value is None:
        return value
    if is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in fields(value):
            if not f.init:
                continue
            old = getattr(value, f.name)
            new = scrub(old)
            if new is not old:
                changes[f.name] = new
        return replace(value, **changes) if changes else value
    if isinstance(value, tuple):
        items = tuple(scrub(v) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


# --- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """How many findings a report has of each severity, for the summary lines."""

    errors: int = 0
    warnings: int = 0
    infos: int = 0

    def phrase(self) -> str:
        def plural(n: int, word: str) -> str:
            return f"{n} {word}" if n == 1 else f"{n} {word}s"

        return ", ".join(
            [plural(self.errors, "error"), plural(self.warnings, "warning"), plural(self.infos, "info")]
        )


def counts(report: Report) -> Counts:
    by = {s: 0 for s in Severity}
    for f in report.findings:
        by[f.severity] += 1
    return Counts(by[Severity.ERROR], by[Severity.WARNING], by[Severity.INFO])


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by rule ID, then by place: the same order in every format."""

    def key(f: Finding) -> tuple[Any, ...]:
        loc = f.location
        return (f.severity.rank, f.rule, loc.path if loc else "", (loc.line or 0) if loc else 0, f.message)

    return sorted(findings, key=key)


def by_severity(findings: Iterable[Finding]) -> dict[Severity, list[Finding]]:
    groups: dict[Severity, list[Finding]] = {s: [] for s in sorted(Severity, key=lambda s: s.rank)}
    for f in ordered(findings):
        groups[f.severity].append(f)
    return groups


def fails_build(report: Report, finding: Finding) -> bool:
    """Whether this finding, on its own, makes the verdict FAIL (warnings do under --strict)."""
    return finding.severity is Severity.ERROR or (report.strict and finding.severity is Severity.WARNING)


SEVERITY_HEADING = {Severity.ERROR: "Errors", Severity.WARNING: "Warnings", Severity.INFO: "Info"}


def verdict_reason(report: Report) -> str:
    c = counts(report)
    parts = [c.phrase()]
    if report.build is not None and not report.build.verified:
        failed = sum(1 for v in report.build.verification if not v.passed)
        parts.append(f"{failed} verification check{'s' if failed != 1 else ''} failed")
    if report.strict and report.verdict is Verdict.FAIL and c.errors == 0 and c.warnings:
        parts.append("warnings fail under --strict")
    if report.failure is not None and report.failure.stage != "verify":  # verify: counted above
        from launchbuild.report.failure import failure_phrase

        parts.append(failure_phrase(report.failure))
    return "; ".join(parts)


def fallback_location(report: Report) -> Location | None:
    """Where to pin a finding that names no file. Code scanning needs a file for every
    result: the requirements/pyproject/environment file the environment came from, else the
    job argument when it is a relative path (a job spec or the source directory). A git URL
    or an absolute path outside the checkout gets no location."""
    env = report.environment
    if env is not None and env.input_path:
        path = workspace_path(env.input_path)
        if not path.startswith("/"):
            return Location(path, None)
    job = report.job.strip()
    if job and "://" not in job and not job.startswith(("/", "git@", "~")):
        return Location(job, None)
    return None


def workspace_path(path: str) -> str:
    """A location as CI annotations want it: relative to the checkout. Absolute paths under
    $GITHUB_WORKSPACE (else the working directory, where CI runs us) become relative; others
    are left absolute, since guessing a root would point at the wrong file."""
    import os
    from pathlib import PurePosixPath

    if not path.startswith("/"):
        return path
    root = os.environ.get("GITHUB_WORKSPACE") or os.environ.get("CI_PROJECT_DIR") or os.getcwd()
    try:
        return PurePosixPath(path).relative_to(PurePosixPath(root)).as_posix()
    except ValueError:
        return path


def fingerprint(finding: Finding, location: Location | None) -> str:
    """Stable across runs while the rule, file and message are: lets code scanning track an
    alert from one commit to the next rather than reopening it."""
    where = location.path if location else ""
    raw = "\x1f".join([finding.rule, where, finding.message])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def human_size(n: int | None) -> str:
    if n is None:
        return "unknown size"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover - loop always returns


def human_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def short_digest(digest: str | None) -> str:
    if not digest:
        return "unknown"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:12]


def entrypoint_text(value: tuple[str, ...] | None) -> str:
    import shlex

    return shlex.join(value) if value else ""


@dataclass(frozen=True)
class ImageLine:
    """One image fact as the report shows it at a glance; flagged when inferred from the tag."""

    label: str
    value: str
    inferred: bool = False


def image_lines(report: Report) -> list[ImageLine]:
    """The image facts people want at a glance, each flagged when the value was inferred
    from the tag rather than read from the image. A fact nobody could read says "unknown";
    "none" is kept for what a real provider looked for and did not find."""
    img = report.image
    if img is None:
        return []
    guessed = img.provider == "inferred"
    missing = "unknown" if guessed else "none"

    def inferred(fact: str, value: object) -> bool:
        return value not in (None, ()) and img.source_of(fact) == "inferred"

    os_text = " ".join(p for p in (img.os_id, img.os_version) if p) or "unknown"
    if img.os_codename:
        os_text += f" ({img.os_codename})"
    arch = img.architecture or "unknown"
    if img.variant:
        arch += f"/{img.variant}"
    cuda = img.cuda_version or missing
    if img.has_nvcc is not None:
        cuda += " (devel, with nvcc)" if img.has_nvcc else " (runtime, no nvcc)"
    provider = {
        "docker": "docker (read from the local engine)",
        "registry": "registry (read from the registry, no pull)",
        "inferred": "inferred from the tag: nothing could read the image",
    }.get(img.provider, img.provider)
    lines = [
        ImageLine("reference", img.reference),
        ImageLine("provider", provider, guessed),
        ImageLine("os", os_text, inferred("os_id", img.os_id)),
        ImageLine("arch", arch, inferred("architecture", img.architecture)),
        ImageLine("cuda", cuda, inferred("cuda_version", img.cuda_version)),
        ImageLine("cudnn", img.cudnn_version or missing, inferred("cudnn_version", img.cudnn_version)),
        ImageLine("pythons", ", ".join(img.pythons) or missing, inferred("pythons", img.pythons)),
        ImageLine("digest", short_digest(img.digest)),
    ]
    if img.end_of_life:
        lines.append(ImageLine("end of life", "yes: this CUDA tag no longer gets fixes"))
    return lines


def evidence_text(finding: Finding) -> list[str]:
    return [f"{e.fact} = {e.value} ({e.source})" for e in finding.evidence]


__all__ = [
    "Counts",
    "ImageLine",
    "RenderOptions",
    "ReportFormat",
    "RuleMeta",
    "TOOL_NAME",
    "by_severity",
    "catalog_from",
    "counts",
    "entrypoint_text",
    "evidence_text",
    "fails_build",
    "fallback_location",
    "fingerprint",
    "human_duration",
    "human_size",
    "image_lines",
    "load_catalog",
    "ordered",
    "rule_group",
    "rule_meta_from",
    "scrub",
    "short_digest",
    "visible",
    "verdict_reason",
]
