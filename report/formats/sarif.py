"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

GitHub needs, per result, a location with an artifact URI relative to the repository and a
region.startLine; a finding without its own place is pinned to line 1 of the file the
environment came from (requirements.txt, pyproject.toml, the job spec), and left without a
location only when there is no such file."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from launchbuild.core.findings import Finding, Location, Severity
from launchbuild.report.formats.base import (
    TOOL_NAME,
    RenderOptions,
    ReportFormat,
    RuleMeta,
    fallback_location,
    fingerprint,
    ordered,
    rule_group,
    workspace_path,
)
from launchbuild.report.model import Report
from launchbuild.report.paths import for_ci

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "launchbuildFinding/v1"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _relative_uri(path: str) -> str:
    # SARIF URIs use forward slashes; "./x" and "x" must fingerprint alike. A file name is
    # not yet a URI: "%", " ", "#", "?", "|" ... are percent-encoded (a literal "%0A" in a name
    # must not read back as a line break), and so is ":" (a first segment "a:b" would be a scheme).
    uri = path.replace("\\", "/")
    while uri.startswith(("./", "/")):
        # A leading "/" (a job's "\\x" once its backslash is a slash) would make the reference
        # absolute, and "//" an authority: relative to %SRCROOT% it is the same file without it.
        uri = uri[2:] if uri.startswith("./") else uri[1:]
    return quote(uri, safe="/!$&'()*+,;=@")


def _pascal(title: str) -> str:
    # reportingDescriptor.name is an identifier-like label ("CudaToolkitCannotTargetTheGpu").
    words = ("".join(ch for ch in w if ch.isalnum()) for w in title.replace("-", " ").replace("/", " ").split())
    return "".join(w[:1].upper() + w[1:].lower() for w in words if w)


def _descriptor(meta: RuleMeta) -> dict[str, Any]:
    help_text = meta.help or meta.description or meta.title
    descriptor: dict[str, Any] = {
        "id": meta.id,
        "name": _pascal(meta.title) or meta.id,
        "shortDescription": {"text": meta.title or meta.id},
        "fullDescription": {"text": meta.description or meta.title or meta.id},
        "help": {"text": help_text, "markdown": f"**{meta.id}: {meta.title}**\n\n{help_text}"},
        "defaultConfiguration": {"level": _LEVEL[meta.severity]},
        "properties": {"tags": sorted({meta.group or rule_group(meta.id), *meta.tags})},
    }
    return descriptor


def _location(loc: Location) -> dict[str, Any]:
    path = workspace_path(loc.path)
    if path.startswith("/"):
        # Outside the checkout: an absolute file URI is valid SARIF (viewers show it unlinked).
        from pathlib import PurePosixPath

        artifact: dict[str, Any] = {"uri": PurePosixPath(path).as_uri()}
    else:
        artifact = {"uri": _relative_uri(path), "uriBaseId": SRCROOT}
    return {
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {"startLine": loc.line if loc.line and loc.line > 0 else 1},
        }
    }


def _result(report: Report, f: Finding, rule_index: int) -> dict[str, Any]:
    own = f.location
    where = own or fallback_location(report)
    text = f"{f.message} Fix: {f.fix}" if f.fix else f.message
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": text},
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, where)},
        "properties": {
            "title": f.title,
            "fix": f.fix,
            "evidence": [{"fact": e.fact, "value": e.value, "source": e.source} for e in f.evidence],
            "inferred": f.inferred,
            "pinnedToFallbackLocation": own is None and where is not None,
        },
    }
    if f.fixes:  # typed fixes as data, in SARIF's open property bag (the text stays in "fix")
        from launchbuild.core.fixes import as_data

        result["properties"]["fixes"] = [as_data(x) for x in f.fixes]
    if where is not None:
        result["locations"] = [_location(where)]
    return result


def _failure_results(report: Report) -> list[tuple[RuleMeta, dict[str, Any]]]:
    """Build and verification failures as results of their own (launchbuild/build-failed,
    launchbuild/verification-failed), pinned where findings without a place are pinned."""
    from launchbuild.report.failure import failure_rule_id, failure_text, failure_title

    out: list[tuple[RuleMeta, dict[str, Any]]] = []
    where = fallback_location(report)

    def result(rule_id: str, title: str, text: str, properties: dict[str, Any]) -> None:
        meta = RuleMeta(id=rule_id, title=title, severity=Severity.ERROR,
                        description=f"launchbuild {title}: reported by the engine or the verifier, not a check rule")
        res: dict[str, Any] = {
            "ruleId": rule_id,
            "level": "error",
            "message": {"text": text},
            "partialFingerprints": {FINGERPRINT_KEY: hashlib.sha256(
                f"{rule_id}\x1f{text.splitlines()[0] if text else title}".encode()).hexdigest()[:32]},
            "properties": properties,
        }
        if where is not None:
            res["locations"] = [_location(where)]
        out.append((meta, res))

    f = report.failure
    if f is not None and f.stage != "verify":
        result(failure_rule_id(f), failure_title(f), failure_text(f, tail_lines=20),
               {"stage": f.stage, "step": f.step, "fix": f.fix, "predictedBy": list(f.predicted_by)})
    if report.build is not None:
        for v in report.build.verification:
            if not v.passed:
                result("launchbuild/verification-failed", "verification failed",
                       f"verification check {v.check!r} failed" + (f": {v.detail}" if v.detail else ""),
                       {"check": v.check, "fix": f.fix if f is not None else ""})
    return out


class SarifFormat(ReportFormat):
    extension = "sarif"

    def render(self, report: Report, options: RenderOptions) -> str:
        report = for_ci(report)
        catalog = dict(options.catalog)
        # Findings from rules the catalog doesn't know (passed through from another stage)
        # still need a descriptor: ruleIndex must point somewhere.
        for f in report.findings:
            if f.rule not in catalog:
                catalog[f.rule] = RuleMeta(id=f.rule, title=f.title, severity=f.severity)
        failures = _failure_results(report)
        for meta, _ in failures:
            catalog.setdefault(meta.id, meta)
        rules = sorted(catalog.values(), key=lambda m: m.id)
        index = {m.id: i for i, m in enumerate(rules)}

        driver: dict[str, Any] = {"name": TOOL_NAME, "rules": [_descriptor(m) for m in rules]}
        if options.tool_version:
            driver["version"] = options.tool_version
            driver["semanticVersion"] = options.tool_version
        if options.information_uri:
            driver["informationUri"] = options.information_uri

        run: dict[str, Any] = {
            "tool": {"driver": driver},
            "originalUriBaseIds": {
                SRCROOT: {"description": {"text": "The root of the job's source (the checked-out repository)."}}
            },
            "automationDetails": {"id": f"{TOOL_NAME}/{report.job}/"},
            "invocations": [
                {
                    # False only when infrastructure or input stopped the run (exit 2/3).
                    "executionSuccessful": report.failure is None or report.failure.exit_code == 1,
                    "exitCode": report.exit_code,
                    "properties": {"verdict": report.verdict.value, "rulesChecked": sorted(report.rules_checked)},
                }
            ],
            "results": [_result(report, f, index[f.rule]) for f in ordered(report.findings)]
            + [{**result, "ruleIndex": index[meta.id]} for meta, result in failures],
        }
        doc = {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
