"""Golden tests: every format on one fixed report (errors, warnings, infos, a cleaned
environment, inferred image facts, a build with a failed verification).

Regenerate with UPDATE_GOLDENS=1 and review the diff: the goldens are what users see."""

from __future__ import annotations

import pytest

from tests.helpers_report import RULES, fixed_report, golden, passing_report
from launchbuild.report.formats import OutputFormat, render

FIXED = dict(rules=RULES, tool_version="0.1.0", information_uri="", width=100, color=False, plain=True)

CASES = [
    ("rich.txt", OutputFormat.RICH, dict(plain=False)),
    ("rich-plain.txt", OutputFormat.RICH, dict(plain=True)),
    ("rich-verbose.txt", OutputFormat.RICH, dict(plain=False, verbose=True)),
    ("rich-quiet.txt", OutputFormat.RICH, dict(plain=False, quiet=True)),
    ("rich-narrow.txt", OutputFormat.RICH, dict(plain=True, width=72)),
    ("report.json", OutputFormat.JSON, {}),
    ("report.junit.xml", OutputFormat.JUNIT, {}),
    ("report.sarif", OutputFormat.SARIF, {}),
    ("github.txt", OutputFormat.GITHUB, {}),
    ("report.md", OutputFormat.MARKDOWN, {}),
    ("report-verbose.md", OutputFormat.MARKDOWN, dict(verbose=True)),
]


@pytest.mark.parametrize(("name", "fmt", "extra"), CASES, ids=[c[0] for c in CASES])
def test_fixed_report_matches_golden(name, fmt, extra):
    golden(name, render(fixed_report(), fmt, **{**FIXED, **extra}))


@pytest.mark.parametrize("fmt", list(OutputFormat), ids=lambda f: f.value)
def test_passing_report_matches_golden(fmt):
    golden(f"pass.{fmt.value}.txt", render(passing_report(), fmt, **{**FIXED, "plain": True}))


def test_colour_golden_has_ansi_and_plain_text_does_not():
    coloured = render(fixed_report(), OutputFormat.RICH, **{**FIXED, "color": True, "plain": False})
    golden("rich-color.ansi", coloured)
    assert "\x1b[" in coloured
    assert "\x1b[" not in render(fixed_report(), OutputFormat.RICH, **FIXED)


@pytest.mark.parametrize("fmt", list(OutputFormat), ids=lambda f: f.value)
def test_rendering_is_deterministic(fmt):
    assert render(fixed_report(), fmt, **FIXED) == render(fixed_report(), fmt, **FIXED)
