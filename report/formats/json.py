"""`--format json`: the documented, versioned report (report/schemas/report-v1.schema.json).

Keys are only ever added within a schema version; a rename or a change of meaning bumps
`schema_version`."""

from __future__ import annotations

import json
from typing import Any

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.core.findings import Finding, Location
from launchbuild.core.fixes import as_data
from launchbuild.core.sourced import Sourced
from launchbuild.report.formats.base import (
    TOOL_NAME,
    RenderOptions,
    ReportFormat,
    counts,
    ordered,
)
from launchbuild.report.model import Failure, Report, TargetSummary
from launchbuild.builder.model import BuildSummary
from launchbuild.resolver.model import ResolveResult

SCHEMA_VERSION = 1


def _sourced(value: Sourced[Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    raw = value.value
    return {
        "value": list(raw) if isinstance(raw, tuple) else raw,
        "origin": value.origin.value,
        "detail": value.detail,
    }


def _location(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"path": loc.path, "line": loc.line}


def finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": f.rule,
        "severity": f.severity.value,
        "title": f.title,
        "message": f.message,
        "evidence": [{"fact": e.fact, "value": e.value, "source": e.source} for e in f.evidence],
        "fix": f.fix,
    }
    if f.fixes:  # the typed fixes as data, in order, as SARIF's properties.fixes: for programs
        out["fixes"] = [as_data(x) for x in f.fixes]
    out["inferred"] = f.inferred
    if f.location is not None:
        out["location"] = _location(f.location)
    return out


def target_dict(t: TargetSummary) -> dict[str, Any]:
    return {
        "image": _sourced(t.image),
        "python": _sourced(t.python),
        "platform": _sourced(t.platform),
        "gpus": [_sourced(g) for g in t.gpus],
        "driver": _sourced(t.driver),
        "entrypoint": _sourced(t.entrypoint),
    }


def environment_dict(env: ResolveResult | None) -> dict[str, Any] | None:
    if env is None:
        return None
    lock = env.lock
    return {
        "input_kind": env.input_kind,
        "input_path": env.input_path,
        "skipped_inputs": [{"path": p, "reason": why} for p, why in env.skipped_inputs],
        "cleaning": [
            {"line": c.line, "action": c.action, "reason": c.reason, "location": _location(c.location)}
            for c in env.cleaning
        ],
        "cache_hit": env.cache_hit,
        "conda_only": list(env.conda_only),
        "extras": list(env.extras),
        **({"input": {"reason": env.input_reason, "read": list(env.input_read), "not_used": list(env.input_not_used),
                      "groups": list(env.groups)}}
           if env.input_reason or env.input_read or env.input_not_used else {}),
        "lock": None
        if lock is None
        else {
            "backend": lock.backend,
            "target": {"python": lock.target.python, "platform": lock.target.platform, "glibc": lock.target.glibc},
            "input_hash": lock.input_hash,
            "sha256": lock.sha256,
            "package_count": len(lock.packages),
            "packages": [
                {"name": p.name, "version": p.version, "via": list(p.via), "hashes": list(p.hashes)}
                for p in sorted(lock.packages, key=lambda p: p.name)
            ],
            "index_urls": list(lock.index_urls),
            "find_links": list(lock.find_links),
            "cuda_variants": {pkg: variant for pkg, variant in lock.cuda_variants},
        },
    }


def image_dict(img: ImageFacts | None) -> dict[str, Any] | None:
    # The image's ENV is left out on purpose: private images carry tokens there.
    if img is None:
        return None
    return {
        "reference": img.reference,
        "provider": img.provider,
        "digest": img.digest,
        "os_id": img.os_id,
        "os_id_like": list(img.os_id_like),
        "os_version": img.os_version,
        "os_codename": img.os_codename,
        "debian_version": img.debian_version,
        "debian_compatible": img.debian_compatible,
        "has_apt": img.has_apt,
        "glibc": img.glibc,
        "architecture": img.architecture,
        "variant": img.variant,
        "pythons": list(img.pythons),
        "apt_pythons": None if img.apt_pythons is None else list(img.apt_pythons),
        "cuda_version": img.cuda_version,
        "cudnn_version": img.cudnn_version,
        "require_cuda": img.require_cuda,
        "has_nvcc": img.has_nvcc,
        "end_of_life": img.end_of_life,
        "user": img.user,
        "labels": {k: v for k, v in img.labels},
        "fact_sources": {k: v for k, v in img.fact_sources},
    }


def build_dict(b: BuildSummary | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {
        "tag": b.tag,
        "skipped": b.skipped,
        "reason": b.reason,
        "duration_s": round(b.duration_s, 3),
        "size_bytes": b.size_bytes,
        "digest": b.digest,
        "pushed": b.pushed,
        "engine": b.engine,
        "verified": b.verified,
        "verification": [{"check": v.check, "passed": v.passed, "detail": v.detail} for v in b.verification],
        # Only after a push whose bytes the registry could tell (builder/push_bytes.py).
        **({} if b.push_bytes_sent is None else {"push": {
            "bytes_sent": b.push_bytes_sent, "image_bytes": b.push_image_bytes,
            "blobs_sent": b.push_blobs[0] if b.push_blobs else None,
            "blobs_total": b.push_blobs[1] if b.push_blobs else None,
        }}),
    }


def failure_dict(f: Failure | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {
        "stage": f.stage,
        "message": f.message,
        "fix": f.fix,
        "step": f.step,
        "log_tail": list(f.log_tail),
        "exit_code": f.exit_code,
        "predicted_by": list(f.predicted_by),
    }


def report_dict(report: Report, tool_version: str = "") -> dict[str, Any]:
    c = counts(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version},
        "job": report.job,
        "verdict": report.verdict.value,
        "exit_code": report.exit_code,
        "strict": report.strict,
        "summary": {"errors": c.errors, "warnings": c.warnings, "infos": c.infos},
        "findings": [finding_dict(f) for f in ordered(report.findings)],
        "target": target_dict(report.target),
        "environment": environment_dict(report.environment),
        "image": image_dict(report.image),
        "build": build_dict(report.build),
        "rules_checked": sorted(report.rules_checked),
        "ignored": sorted(report.ignored),
        "duration_s": round(report.duration_s, 3),
        "notes": list(report.notes),
        "failure": failure_dict(report.failure),
    }


class JsonFormat(ReportFormat):
    extension = "json"

    def render(self, report: Report, options: RenderOptions) -> str:
        return json.dumps(report_dict(report, options.tool_version), indent=2, ensure_ascii=False) + "\n"
