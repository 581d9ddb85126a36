"""The rich report for people: verdict first, sections, NO_COLOR/quiet/verbose/plain."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.compat.image_facts import ImageFacts
from launchbuild.report.formats import OutputFormat, color_default, render
from tests.helpers_report import RULES, fixed_report, golden, passing_report, warning_report

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def rich(report, **kw):
    kw.setdefault("color", False)
    kw.setdefault("plain", False)
    kw.setdefault("width", 100)
    return render(report, OutputFormat.RICH, rules=RULES, **kw)


def test_verdict_is_the_first_line_with_counts():
    first = rich(fixed_report()).splitlines()[0]
    assert first.strip().startswith("FAIL")
    assert "2 errors, 2 warnings, 1 info" in first and "1 verification check failed" in first
    assert rich(passing_report()).splitlines()[0].strip().startswith("PASS")
    assert rich(warning_report()).splitlines()[0].strip().startswith("WARN")
    assert "warnings fail under --strict" in rich(warning_report(strict=True)).splitlines()[0]


def test_target_says_where_each_value_came_from():
    text = rich(fixed_report())
    assert re.search(r"image\s+nvidia/cuda:11\.7\.1-runtime-ubuntu22\.04\s+from queue config \(queue\.json\)", text)
    assert re.search(r"gpu\s+H100\s+from flag \(--gpu\)", text)
    assert re.search(r"entrypoint\s+python train\.py --lr 3e-4\s+from job spec \(wandb-job\.json\)", text)


def test_findings_grouped_by_severity_in_order():
    text = rich(fixed_report())
    positions = [text.index(h) for h in ("Errors (2)", "Warnings (2)", "Info (1)")]
    assert positions == sorted(positions)
    assert text.index("LB201") < text.index("LB203") < text.index("LB304") < text.index("LB302")
    assert "→ use nvidia/cuda:12.4.1-runtime-ubuntu22.04" in text


def test_verbose_shows_evidence_cleaning_and_packages():
    short, verbose = rich(fixed_report()), rich(fixed_report(), verbose=True)
    assert "--verbose shows the evidence" in short and "torch arch list" not in short
    assert "torch arch list" in verbose
    assert "pkg-resources==0.0.0" not in short and "pkg-resources==0.0.0" in verbose
    assert "typing-extensions" not in short and "typing-extensions" in verbose
    assert "3 actions (dropped 2, rerouted 1; --verbose lists them)" in short


def test_inferred_image_facts_are_marked():
    text = rich(fixed_report())
    assert "inferred from the tag: nothing could read the image" in text
    assert re.search(r"cuda\s+11\.7\.1 \(runtime, no nvcc\)\s+\(inferred\)", text)
    read = replace(fixed_report(), image=ImageFacts(
        reference="launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04", provider="docker",
        cuda_version="12.1.1", os_id="debian", os_version="12", pythons=()))
    text = rich(read)
    assert "(inferred)" not in text
    assert re.search(r"pythons\s+none", text)


def test_build_summary_marks_verification():
    text = rich(fixed_report())
    assert "✓ python version" in text and "✗ entrypoint" in text
    assert "1m23s, 3.0 GiB, buildkit" in text
    plain = rich(fixed_report(), plain=True)
    assert "FAILED entrypoint" in plain and "ok python version" in plain


def test_plain_mode_is_ascii():
    text = rich(fixed_report(), plain=True)
    non_ascii = {ch for ch in text if ord(ch) > 127}
    assert not non_ascii, non_ascii


def test_quiet_prints_only_verdict_and_errors():
    lines = rich(fixed_report(), quiet=True).strip().splitlines()
    assert lines[0].strip().startswith("FAIL")
    assert [line.split()[0] for line in lines[1:]] == ["LB201", "LB203", "✗"]
    assert "LB304" not in "\n".join(lines)
    assert len(rich(passing_report(), quiet=True).strip().splitlines()) == 1


def test_color_only_when_asked():
    assert ANSI.search(rich(fixed_report(), color=True))
    assert not ANSI.search(rich(fixed_report(), color=False))
    assert ANSI.sub("", rich(fixed_report(), color=True)) == rich(fixed_report(), color=False)


def test_no_color_env_wins_even_on_a_tty(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert color_default(Tty()) is True
    monkeypatch.setenv("NO_COLOR", "")
    assert color_default(Tty()) is False
    monkeypatch.delenv("NO_COLOR")
    assert not ANSI.search(render(fixed_report(), "rich", rules=RULES, plain=True))


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_no_line_exceeds_the_width(width):
    for line in rich(fixed_report(), width=width, verbose=True).splitlines():
        assert len(line) <= width, line


def test_environment_variables_do_not_change_the_text(monkeypatch):
    before = rich(fixed_report())
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    assert rich(fixed_report()) == before


def test_export_svg_for_the_readme():
    from launchbuild.report.formats.base import RenderOptions
    from launchbuild.report.formats.terminal import RichFormat

    svg = RichFormat().export_svg(fixed_report(), RenderOptions(color=True, width=100, rules=RULES), "launchbuild check")
    assert svg.startswith("<svg") and "LB203" in svg
    golden("rich.svg", svg)


def _through_rich(report, *, plain, width):
    from launchbuild.report.formats.base import RenderOptions
    from launchbuild.report.formats.terminal import RichFormat

    return RichFormat().render(report, RenderOptions(quiet=True, color=False, plain=plain, width=width, rules=RULES))


@pytest.mark.parametrize("plain", [True, False])
@pytest.mark.parametrize("width", [100, 60, 20])
def test_quiet_plain_text_is_what_rich_prints_or_is_left_to_rich(plain, width):
    from launchbuild.report.formats.base import RenderOptions
    from launchbuild.report.formats.quiet import plain_quiet

    for report in (fixed_report(), fixed_report(strict=True), passing_report(), warning_report(),
                   warning_report(strict=True)):
        options = RenderOptions(quiet=True, color=False, plain=plain, width=width, rules=RULES)
        fast = plain_quiet(report, options)
        assert fast is None or fast == _through_rich(report, plain=plain, width=width)
        assert rich(report, quiet=True, plain=plain, width=width) == _through_rich(report, plain=plain, width=width)
    # A log (not a TTY) is plain: ASCII symbols, the fast path. A terminal's symbols are not
    # ASCII, and colour needs rich.
    assert plain_quiet(passing_report(), RenderOptions(quiet=True, plain=True, width=100)) is not None
    assert plain_quiet(fixed_report(), RenderOptions(quiet=True, plain=True, width=100)).count("\n") == 4
    assert plain_quiet(passing_report(), RenderOptions(quiet=True, plain=False, width=100)) is None
    assert plain_quiet(passing_report(), RenderOptions(quiet=True, color=True, plain=True, width=100)) is None


@settings(max_examples=200, deadline=None)
@given(job=st.text(max_size=120), message=st.text(max_size=120), width=st.integers(min_value=20, max_value=140),
       plain=st.booleans())
def test_quiet_plain_text_never_differs_from_rich(job, message, width, plain):
    from launchbuild.core.findings import Finding, Severity
    from launchbuild.report.formats.base import RenderOptions
    from launchbuild.report.formats.quiet import plain_quiet

    report = replace(warning_report(strict=True), job=job,
                     findings=(Finding("LB402", Severity.WARNING, "title", message, "fix"),))
    fast = plain_quiet(report, RenderOptions(quiet=True, color=False, plain=plain, width=width, rules=RULES))
    assert fast is None or fast == _through_rich(report, plain=plain, width=width)


def _rich_wrapped(line: str, width: int) -> list[str]:
    """What RichFormat prints for one plain line at `width`, line by line."""
    import io

    from rich.text import Text

    from launchbuild.report.formats.base import RenderOptions
    from launchbuild.report.formats.terminal import _strip_trailing, console_for

    buf = io.StringIO()
    console_for(RenderOptions(quiet=True, color=False, plain=True, width=width), buf).print(Text(line))
    return [_strip_trailing(part) for part in buf.getvalue().split("\n")[:-1]]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" ab-:.[]()=\"x", max_size=160), st.integers(min_value=1, max_value=70))
def test_the_plain_wrap_is_rich_s_wrap(line, width):
    from launchbuild.report.formats.quiet import wrap_as_rich

    assert [part.rstrip(" ") for part in wrap_as_rich(line, width)] == _rich_wrapped(line, width)


@pytest.mark.parametrize("width", [100, 60, 33, 20, 7])
def test_a_long_quiet_line_is_wrapped_without_rich_as_rich_wraps_it(width):
    from launchbuild.report.formats.base import RenderOptions
    from launchbuild.report.formats.quiet import plain_quiet

    report = fixed_report()
    long_message = ("No set of versions satisfies your requirements for Python 3.11, linux/amd64: Because there "
                    "is no version of requests==99.0.0 and you require requests==99.0.0, we can conclude that your "
                    "requirements are unsatisfiable. [your lines: requests==99.0.0 (requirements.txt:1)] "
                    + "x" * 70)
    findings = tuple(replace(f, message=long_message) for f in report.findings)
    report = replace(report, findings=findings)
    fast = plain_quiet(report, RenderOptions(quiet=True, color=False, plain=True, width=width, rules=RULES))
    assert fast is not None and max(len(line) for line in fast.splitlines()) <= width
    assert fast == _through_rich(report, plain=True, width=width)
