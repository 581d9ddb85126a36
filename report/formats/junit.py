"""`--format junit`: every rule checked is a testcase, so CI systems show the check natively.

An error finding is a <failure>; a warning is <system-out> (a <failure> under --strict);
an info is <system-out>; an ignored rule is <skipped>. Build verification checks are
testcases too, in their own class."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from launchbuild.core.findings import Finding
from launchbuild.report.formats.base import (
    scrub,
    TOOL_NAME,
    RenderOptions,
    ReportFormat,
    evidence_text,
    fails_build,
    fallback_location,
    ordered,
    rule_group,
    workspace_path,
)
from launchbuild.report.model import Report
from launchbuild.report.paths import for_ci


def _finding_text(f: Finding) -> str:
    lines = [f"{f.rule} {f.severity.value}: {f.message}"]
    if f.location is not None:
        lines.append(f"  at {f.location.path}" + (f":{f.location.line}" if f.location.line else ""))
    lines += [f"  evidence: {e}" for e in evidence_text(f)]
    lines.append(f"  fix: {f.fix}")
    return "\n".join(lines)


class JunitFormat(ReportFormat):
    extension = "xml"

    def render(self, report: Report, options: RenderOptions) -> str:
        report = for_ci(scrub(report))
        catalog = options.catalog
        by_rule: dict[str, list[Finding]] = {}
        for f in ordered(report.findings):
            by_rule.setdefault(f.rule, []).append(f)
        ignored = set(report.ignored)
        rule_ids = sorted(set(report.rules_checked) | set(by_rule) | ignored)

        suite = ET.Element("testsuite", name=f"{TOOL_NAME} {report.job}")
        tests = failures = skipped = 0
        for rule_id in rule_ids:
            found = by_rule.get(rule_id, [])
            meta = catalog.get(rule_id)
            title = meta.title if meta else (found[0].title if found else "")
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{TOOL_NAME}.{rule_group(rule_id, catalog)}",
                name=f"{rule_id} {title}".strip(),
                time="0",
            )
            tests += 1
            if rule_id in ignored and not found:
                ET.SubElement(case, "skipped", message="ignored with --ignore")
                skipped += 1
                continue
            located = next((f.location for f in found if f.location is not None), None)
            if located is not None:  # CI shows the testcase on the file that caused it
                case.set("file", workspace_path(located.path))
                if located.line:
                    case.set("line", str(located.line))
            failing = [f for f in found if fails_build(report, f)]
            passing = [f for f in found if not fails_build(report, f)]
            if failing:
                # One <failure> per testcase: most JUnit readers show only the first.
                first = failing[0]
                more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
                failure = ET.SubElement(
                    case, "failure", message=f"{first.message}{more}", type=first.severity.value
                )
                failure.text = "\n\n".join(_finding_text(f) for f in failing)
                failures += 1
            if passing:
                out = ET.SubElement(case, "system-out")
                out.text = "\n\n".join(_finding_text(f) for f in passing)

        if report.build is not None:
            for v in report.build.verification:
                case = ET.SubElement(
                    suite, "testcase", classname=f"{TOOL_NAME}.verify", name=f"verify {v.check}", time="0"
                )
                tests += 1
                if not v.passed:
                    failure = ET.SubElement(case, "failure", message=v.detail or f"{v.check} failed", type="verification")
                    failure.text = f"{v.check}: {v.detail}" if v.detail else v.check
                    failures += 1
                elif v.detail:
                    ET.SubElement(case, "system-out").text = v.detail

        if report.failure is not None and report.failure.stage != "verify":  # verify: its checks above
            from launchbuild.report.failure import failure_rule_id, failure_text, failure_title

            stopped = report.failure
            case = ET.SubElement(suite, "testcase", classname=f"{TOOL_NAME}.{stopped.stage}", name=failure_title(stopped),
                                 time="0")
            where = fallback_location(report)
            if where is not None:
                case.set("file", workspace_path(where.path))
            tests += 1
            failure = ET.SubElement(case, "failure", message=stopped.message, type=failure_rule_id(stopped))
            failure.text = failure_text(stopped, tail_lines=40)
            failures += 1

        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        suite.set("time", f"{report.duration_s:.3f}")
        root = ET.Element(
            "testsuites",
            name=TOOL_NAME,
            tests=str(tests),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
            time=f"{report.duration_s:.3f}",
        )
        root.append(suite)
        ET.indent(root, space="  ")
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"

