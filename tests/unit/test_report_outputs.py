"""write_outputs(): what the CLI calls for --format/--output; and render()'s argument checks."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from launchbuild.errors import BadInput
from launchbuild.report.formats import OutputFormat, output_paths, render, write_outputs
from tests.helpers_report import fixed_report, passing_report


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_default_is_rich_to_stdout_plain_when_not_a_tty():
    out, err = io.StringIO(), io.StringIO()
    assert write_outputs(fixed_report(), [], stdout=out, stderr=err) == {}
    text = out.getvalue()
    assert text.lstrip().startswith("FAIL") and "\x1b[" not in text
    assert all(ord(ch) < 128 for ch in text)
    assert err.getvalue() == ""


def test_rich_on_a_tty_is_coloured_unless_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Tty()
    write_outputs(fixed_report(), ["rich"], stdout=out, stderr=io.StringIO())
    assert "\x1b[" in out.getvalue() and "✓" in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    out = Tty()
    write_outputs(fixed_report(), ["rich"], stdout=out, stderr=io.StringIO())
    assert "\x1b[" not in out.getvalue()


def test_machine_format_to_stdout_is_never_coloured(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Tty()
    write_outputs(fixed_report(), ["json"], stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["verdict"] == "fail"


def test_quiet_rich_prints_verdict_and_errors_only():
    out = io.StringIO()
    write_outputs(fixed_report(), [], quiet=True, stdout=out, stderr=io.StringIO())
    assert "Warnings" not in out.getvalue() and "LB203" in out.getvalue()


def test_several_formats_each_to_its_own_file(tmp_path: Path):
    err = io.StringIO()
    written = write_outputs(fixed_report(), ["json", "junit", "sarif", "markdown", "github", "rich"],
                            output=tmp_path / "out" / "report.json", stdout=io.StringIO(), stderr=err)
    names = {fmt.value: p.name for fmt, p in written.items()}
    assert names == {"json": "report.json", "junit": "report.xml", "sarif": "report.sarif",
                     "markdown": "report.md", "github": "report.github.txt", "rich": "report.rich.txt"}
    assert json.loads(written[OutputFormat.JSON].read_text())["schema_version"] == 1
    ET.fromstring(written[OutputFormat.JUNIT].read_bytes())
    assert json.loads(written[OutputFormat.SARIF].read_text())["version"] == "2.1.0"
    assert "\x1b[" not in written[OutputFormat.RICH].read_text()
    assert err.getvalue().startswith("launchbuild: FAIL (2 errors")


def test_single_format_goes_to_the_exact_file(tmp_path: Path):
    target = tmp_path / "lb.sarif"
    out = io.StringIO()
    written = write_outputs(passing_report(), ["sarif"], output=target, stdout=out, stderr=io.StringIO())
    assert written == {OutputFormat.SARIF: target}
    assert out.getvalue() == ""


def test_duplicate_formats_collapse(tmp_path: Path):
    written = write_outputs(passing_report(), ["json", "JSON"], output=tmp_path / "r", stderr=io.StringIO())
    assert list(written) == [OutputFormat.JSON] and written[OutputFormat.JSON] == tmp_path / "r"


def test_several_formats_without_output_is_bad_input():
    with pytest.raises(BadInput, match="--output FILE"):
        write_outputs(fixed_report(), ["json", "junit"], stdout=io.StringIO())


def test_unknown_format_is_bad_input():
    with pytest.raises(BadInput, match="unknown report format 'yaml'.*rich, json, junit, sarif, github, markdown"):
        render(fixed_report(), "yaml")


def test_unwritable_output_is_bad_input(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BadInput, match="cannot write the json report"):
        write_outputs(fixed_report(), ["json"], output=blocker / "report.json", stderr=io.StringIO())


def test_github_format_writes_the_step_summary(tmp_path: Path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = io.StringIO()
    write_outputs(fixed_report(), ["github"], stdout=out)
    assert out.getvalue().startswith("::error ")
    assert "## ❌ launchbuild: FAIL" in summary.read_text()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("report", {"json": "report.json", "junit": "report.xml"}),
        ("report.json", {"json": "report.json", "junit": "report.xml"}),
        ("ci/lb.xml", {"json": "lb.json", "junit": "lb.xml"}),
        ("lb.results", {"json": "lb.results.json", "junit": "lb.results.xml"}),
    ],
)
def test_output_paths(output, expected):
    paths = output_paths(Path(output), [OutputFormat.JSON, OutputFormat.JUNIT])
    assert {f.value: p.name for f, p in paths.items()} == expected
