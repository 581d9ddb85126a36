"""`--format github`: workflow-command annotations on the right file and line, escaped the way
the Actions runner decodes them; and the step summary."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.core.findings import Finding, Location, Severity
from launchbuild.report.formats import render, write_github_step_summary
from launchbuild.report.formats.github import escape_data, escape_property
from tests.helpers_report import RULES, fixed_report, warning_report

COMMAND = re.compile(r"^::(?P<level>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def parse_props(props: str) -> dict[str, str]:
    out = {}
    for item in props.split(","):
        key, _, value = item.partition("=")
        out[key] = value.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
    return out


def annotations(report):
    lines = render(report, "github", rules=RULES).splitlines()
    return [COMMAND.match(line).groupdict() for line in lines if line.startswith("::")]


def test_annotation_points_at_the_requirement_line(tmp_path: Path):
    # A real requirements.txt; the finding's location says which line asked for torch.
    req = tmp_path / "requirements.txt"
    req.write_text("# training deps\nnumpy==1.26.4\ntorch==1.12.1+cu113\nomegaconf==2.3.0\nopencv-python==4.10.0.84\n")
    found = {a["props"] and parse_props(a["props"]).get("title", "").split(" ")[0]: a for a in annotations(fixed_report())}
    props = parse_props(found["LB203"]["props"])
    assert props["file"] == "requirements.txt" and props["line"] == "3"
    assert req.read_text().splitlines()[int(props["line"]) - 1].startswith("torch==")
    props = parse_props(found["LB304"]["props"])
    assert req.read_text().splitlines()[int(props["line"]) - 1].startswith("opencv-python==")
    assert found["LB203"]["level"] == "error" and found["LB304"]["level"] == "warning"
    assert found["LB302"]["level"] == "notice"


def test_finding_without_location_has_no_file_property():
    found = [a for a in annotations(fixed_report()) if "LB201" in a["props"]][0]
    assert "file=" not in found["props"]


def test_strict_turns_warnings_into_errors():
    levels = [a["level"] for a in annotations(warning_report(strict=True))]
    assert levels == ["error"]
    assert [a["level"] for a in annotations(warning_report())] == ["warning"]


def test_failed_verification_is_an_error_annotation():
    verify = [a for a in annotations(fixed_report()) if "verify" in (a["props"] or "")]
    assert len(verify) == 1 and verify[0]["message"] == "train.py: not found in /app"


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\nb", "a%0Ab", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("k: v, w", "k: v, w", "k%3A v%2C w"),
        ("%0A", "%250A", "%250A"),
    ],
)
def test_escaping(raw, data, prop):
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_hostile_message_stays_one_command():
    report = replace(warning_report(), findings=(Finding(
        "LB402", Severity.WARNING, "title, with: colon", "line one\n::error::injected", "fix 100%",
        location=Location("dir,with:odd/requirements.txt", 2)),))
    lines = render(report, "github").splitlines()
    assert len([line for line in lines if line.startswith("::")]) == 1
    parsed = COMMAND.match(lines[0]).groupdict()
    props = parse_props(parsed["props"])
    assert props == {"file": "dir,with:odd/requirements.txt", "line": "2", "title": "LB402 title, with: colon"}
    assert "%0A::error::injected" in parsed["message"]


def test_step_summary_appends_markdown(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert write_github_step_summary(fixed_report()) == summary
    text = summary.read_text()
    assert text.startswith("previous step\n## ❌ launchbuild: FAIL")
    assert "| `LB203` |" in text


def test_step_summary_is_skipped_without_the_variable(monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert write_github_step_summary(fixed_report()) is None


def test_step_summary_unwritable_is_bad_input(tmp_path, monkeypatch):
    from launchbuild.errors import BadInput

    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "summary.md"))
    with pytest.raises(BadInput, match="GITHUB_STEP_SUMMARY"):
        write_github_step_summary(fixed_report())


def test_step_summary_to_a_fifo_nobody_reads_is_bad_input_not_a_hang(tmp_path, monkeypatch):
    """GITHUB_STEP_SUMMARY on a FIFO (or /dev/stdin) blocked the step for ever after the
    report was printed; like --output, it is refused at once."""
    import os

    from launchbuild.errors import BadInput

    fifo = tmp_path / "summary"
    os.mkfifo(fifo)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(fifo))
    with pytest.raises(BadInput, match="GITHUB_STEP_SUMMARY=.*a FIFO that no process reads"):
        write_github_step_summary(fixed_report())


def test_step_summary_is_appended_as_utf8_whatever_the_text(tmp_path, monkeypatch):
    from dataclasses import replace

    target = tmp_path / "summary.md"
    target.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    write_github_step_summary(replace(fixed_report(), job="jobs/b\udc80d"))  # a non-UTF-8 byte in argv
    text = target.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n") and "\\udc80" in text


@pytest.mark.parametrize(
    ("workspace", "path", "expected_file"),
    [
        ("/ci/checkout", "/ci/checkout/jobs/a/requirements.txt", "jobs/a/requirements.txt"),
        ("/ci/checkout", "/elsewhere/frozen.txt", "/elsewhere/frozen.txt"),
        ("/ci/checkout", "requirements.txt", "requirements.txt"),
        ("/ci/checkout", "/ci/checkout-other/r.txt", "/ci/checkout-other/r.txt"),
    ],
)
def test_absolute_locations_become_workspace_relative(monkeypatch, workspace, path, expected_file):
    monkeypatch.setenv("GITHUB_WORKSPACE", workspace)
    report = replace(warning_report(), findings=(Finding(
        "LB305", Severity.WARNING, "Local package", "m", "f", location=Location(path, 3)),))
    props = parse_props(COMMAND.match(render(report, "github").splitlines()[0]).group("props"))
    assert props["file"] == expected_file and props["line"] == "3"
    import json

    where = json.loads(render(report, "sarif", rules={}))["runs"][0]["results"][0]["locations"][0]
    artifact = where["physicalLocation"]["artifactLocation"]
    if expected_file.startswith("/"):
        assert artifact == {"uri": "file://" + expected_file}
    else:
        assert artifact == {"uri": expected_file, "uriBaseId": "%SRCROOT%"}


def _unescape_data(text: str) -> str:
    # The runner's decoding (ActionCommand.UnescapeData): the reverse of escape_data, in order.
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


_hostile = st.lists(st.sampled_from(list("ab:,%=\r\n \\\x1b\t\x0b\x0c\x85\u2028\u00a0") + [
    "%0A", "%25", "::", "%2C", "\n  ::add-mask::", "\r\t::stop-commands::x", " ::error::"]), max_size=12).map("".join)
# How the Actions runner splits its output into lines (CR, LF or CRLF), and how it finds a
# command on one: leading whitespace trimmed, then "::".
_RUNNER_LINES = re.compile(r"\r\n|\r|\n")


def runner_commands(out: str) -> list[str]:
    return [line for line in _RUNNER_LINES.split(out) if line.lstrip().startswith("::")]


@settings(max_examples=200, deadline=None)
@given(_hostile, _hostile, _hostile, st.none() | st.integers(1, 10_000))
def test_any_finding_is_one_command_the_runner_decodes_back(message, title, path, line):
    """Every annotation is one line the runner reads as one command, and its message and
    properties decode to the finding's own text (scrubbed: no control characters but LF)."""
    from launchbuild.report.formats.base import visible

    finding = Finding("LB402", Severity.WARNING, title, message, "",
                      location=Location(path, line) if path.strip() else None)
    out = render(replace(warning_report(), findings=(finding,)), "github", rules=RULES)
    commands = [raw for raw in out.split("\n") if raw.startswith("::")]
    assert len(commands) == 1 and "\r" not in out
    assert runner_commands(out) == commands  # no other line reads as a command, whatever its whitespace
    parsed = COMMAND.match(commands[0])
    assert parsed is not None, commands[0]
    assert _unescape_data(parsed["message"]) == visible(message)
    props = parse_props(parsed["props"] or "")
    assert props["title"] == f"LB402 {visible(title)}"
    if finding.location is not None:
        assert props["file"] == visible(path)
        assert props.get("line") == (str(line) if line else None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_any_format_name_parses_or_is_one_bad_input_line(name):
    from launchbuild.errors import BadInput
    from launchbuild.report.formats import OutputFormat

    try:
        parsed = OutputFormat.parse(name)
    except BadInput as exc:
        assert "\n" not in str(exc) and "use one of rich, json" in str(exc)
    else:
        assert parsed.value == name.strip().lower()


@settings(max_examples=150, deadline=None)
@given(_hostile, _hostile, st.sampled_from(["rich", "markdown", "junit", "json", "sarif"]), st.booleans())
def test_no_other_format_prints_a_line_the_runner_reads_as_a_command(message, tail, fmt, verbose):
    """A job's text (a finding's message, a failed build's log tail) in a terminal report or
    any file format never gives the runner a line that is, after whitespace, a `::command::`."""
    from launchbuild.report.model import Failure

    finding = Finding("LB402", Severity.WARNING, "t", message, "fix " + message)
    report = replace(warning_report(), findings=(finding,),
                     failure=Failure(stage="build", message="build failed: " + message, exit_code=1,
                                     log_tail=tuple(tail.split("\n"))))
    out = render(report, fmt, rules=RULES, verbose=verbose, color=False, plain=True, width=100)
    assert runner_commands(out) == [], out


def test_progress_never_prints_a_build_line_the_runner_reads_as_a_command():
    import io
    from types import SimpleNamespace

    from launchbuild.progress import PlainProgress

    out = io.StringIO()
    progress = PlainProgress(out, verbose=True)
    with progress.phase("building the image"):
        for line in ("Step 1/1 : RUN python setup.py", "  ::add-mask::x", "\t::stop-commands::tok", "::error::pwned"):
            progress.build_event(SimpleNamespace(line=line, step=None))
    assert runner_commands(out.getvalue()) == [] and "  \\::add-mask::x" in out.getvalue()
