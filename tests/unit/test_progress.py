"""Progress without a TTY (a line per step start and finish, N/M, the step's own time, apt's
and uv's summary lines) and on a TTY (foreign text never markup, status as wide as the
terminal, elapsed from the step's start). Clocks are fakes the test advances: no timing."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.progress import PREFIX, Mode, PlainProgress, Progress, RichProgress, StepTracker, for_cli


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


BUILDKIT = [
    "#1 [internal] load build definition from Dockerfile",
    "#1 DONE 0.0s",
    "#4 [stage-0 1/7] FROM docker.io/launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04",
    "#4 DONE 0.1s",
    "#5 [stage-0 2/7] RUN --mount=type=secret,id=ca,required=false set -eu; apt-get update",
    "#5 0.512 Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]",
    "#5 3.101 Fetched 9,170 kB in 3s (3,050 kB/s)",
    "#5 9.870 0 upgraded, 14 newly installed, 0 to remove and 0 not upgraded.",
    "#5 DONE 12.3s",
    "#6 [stage-0 3/7] RUN uv venv --python python3.11 /opt/venv",
    "#6 CACHED",
    "#8 [stage-0 5/7] RUN --mount=type=cache,target=/root/.cache/uv uv pip install -r /opt/launchbuild/requirements.lock",
    "#8 0.100 Resolved 9 packages in 12ms",
    "#8 [stage-0 5/7] RUN --mount=type=cache,target=/root/.cache/uv uv pip install -r /opt/launchbuild/requirements.lock",
    "#8 2.400 Installed 9 packages in 40ms",
    "#8 ERROR: executor failed running",
]


def test_tracker_reports_each_step_once_with_its_own_time():
    clock = FakeClock()
    tracker = StepTracker(clock)
    events = []
    for line in BUILDKIT:
        clock.now += 1.0
        events += tracker.feed(line)
    kinds = [(e.kind, e.label) for e in events]
    assert kinds == [
        ("start", "1/7"), ("done", "1/7"),
        ("start", "2/7"), ("summary", "2/7"), ("summary", "2/7"), ("done", "2/7"),
        ("start", "3/7"), ("cached", "3/7"),
        ("start", "5/7"), ("summary", "5/7"), ("summary", "5/7"), ("error", "5/7"),
    ]
    done = next(e for e in events if e.kind == "done" and e.label == "2/7")
    assert done.elapsed_s == 12.3  # BuildKit's own figure for the step, not time since the build began
    error = next(e for e in events if e.kind == "error")
    assert error.elapsed_s == 4.0  # from this step's first header, 4 lines (4 fake seconds) earlier
    assert all("--mount" not in e.command for e in events)


def test_classic_builder_steps_end_when_the_next_begins():
    clock = FakeClock()
    tracker = StepTracker(clock)
    events = tracker.feed("Step 1/3 : FROM python:3.11-slim")
    clock.now += 2
    events += tracker.feed("Step 2/3 : RUN pip install -r /opt/launchbuild/requirements.lock")
    events += tracker.feed("Successfully installed six-1.16.0")
    clock.now += 4
    events += tracker.finish()
    assert [(e.kind, e.label, e.elapsed_s) for e in events] == [
        ("start", "1/3", None), ("done", "1/3", 2.0), ("start", "2/3", None), ("summary", "2/3", None),
        ("done", "2/3", 4.0)]


def test_a_classic_step_that_failed_is_shown_failed_not_done():
    # The classic builder prints no end of a step: the build's error names the failed one, and
    # a build that stops at a step (the phase ends in an exception) ends it FAILED, never "done".
    tracker = StepTracker(FakeClock())
    events = tracker.feed("Step 1/2 : FROM python:3.11-slim") + tracker.feed("Step 2/2 : RUN false")
    events += tracker.feed("The command '/bin/sh -c false' returned a non-zero code: 1") + tracker.finish()
    assert [(e.kind, e.label) for e in events if e.kind != "start"] == [("done", "1/2"), ("error", "2/2")]
    tracker = StepTracker(FakeClock())
    events = tracker.feed("Step 1/1 : COPY missing /x") + tracker.finish(ok=False)
    assert [e.kind for e in events] == ["start", "error"]
    for progress_of in (lambda out: PlainProgress(out, clock=FakeClock()),
                        lambda out: RichProgress(Console(file=out, width=120, force_terminal=False), clock=FakeClock())):
        out = io.StringIO()
        progress = progress_of(out)
        with pytest.raises(RuntimeError):
            with progress.phase("building the image"):
                progress.build_event(SimpleNamespace(line="Step 1/1 : RUN pip install nothing-here", step=None))
                raise RuntimeError("the engine said the step failed")
        assert "[1/1] FAILED in" in out.getvalue() and "[1/1] done" not in out.getvalue(), out.getvalue()


lines = st.one_of(
    st.sampled_from(BUILDKIT),
    st.builds(lambda i, n, m: f"#{i} [stage-0 {n}/{m}] RUN x", st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)),
    st.builds(lambda i: f"#{i} DONE 1.0s", st.integers(1, 5)),
    st.builds(lambda i: f"#{i} CACHED", st.integers(1, 5)),
    st.builds(lambda i: f"#{i} ERROR: x", st.integers(1, 5)),
    st.builds(lambda n, m: f"Step {n}/{m} : RUN y", st.integers(1, 9), st.integers(1, 9)),
    st.text(max_size=80),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=40))
def test_tracker_never_raises_and_starts_and_ends_each_step_at_most_once(feed):
    tracker = StepTracker(FakeClock())
    events = [e for line in feed for e in tracker.feed(line)] + tracker.finish()
    starts = [e.step_id for e in events if e.kind == "start"]
    ends = [e.step_id for e in events if e.kind in ("done", "cached", "error")]
    assert len(starts) == len(set(starts)) and len(ends) == len(set(ends))
    for e in events:
        if e.kind in ("done", "cached", "error"):
            assert e.step_id in starts[: starts.index(e.step_id) + 1]


def test_plain_progress_prints_a_line_per_step_start_and_finish():
    out = io.StringIO()
    clock = FakeClock()
    progress = PlainProgress(out, clock=clock)
    with progress.phase("building the image"):
        for line in BUILDKIT:
            clock.now += 0.5
            progress.build_event(SimpleNamespace(line=line, step=None))
    text = out.getvalue().splitlines()
    assert all(line.startswith(PREFIX) for line in text)
    assert f"{PREFIX}[2/7] RUN set -eu; apt-get update" in text
    assert f"{PREFIX}[2/7] done in 12.3s: RUN set -eu; apt-get update" in text
    assert f"{PREFIX}[2/7] Fetched 9,170 kB in 3s (3,050 kB/s)" in text
    assert f"{PREFIX}[2/7] 0 upgraded, 14 newly installed, 0 to remove and 0 not upgraded." in text
    assert f"{PREFIX}[5/7] Installed 9 packages in 40ms" in text
    assert any(line.startswith(f"{PREFIX}[5/7] FAILED in ") for line in text)
    assert not any("Get:1" in line for line in text)  # raw lines only with --verbose
    assert text[-1].startswith(f"{PREFIX}building the image: done in ")


# What the job's own code prints while the image builds (a setup.py, a package's build
# script) reaches us raw in the engine's lines: the classic builder and BuildKit pass ESC on.
HOSTILE = [
    "Step 3/7 : RUN pip install .",
    " ---> Running in 0123abcd",
    "X\x1b]0;pwned\x07\x1b[2J\x1b[31mRED",
    "Installed 1 package in 3ms\x1b]0;title\x07",
    "#9 [stage-0 4/7] RUN uv pip install . \x1b[2J",
    "#9 0.100 \x1b]0;pwned\x07",
]


def _no_live_escape(text: str) -> None:
    assert "\x1b]" not in text and "\x07" not in text and "\x1b[2J" not in text and "\x1b[31m" not in text, text


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(HOSTILE) | st.text(max_size=30), max_size=8), st.booleans())
def test_engine_lines_never_reach_the_terminal_with_live_escapes(lines, verbose):
    from rich.console import Console

    out = io.StringIO()
    plain = PlainProgress(out, verbose=verbose, clock=FakeClock())
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    rich = RichProgress(console, verbose=verbose, clock=FakeClock())
    for progress in (plain, rich):
        with progress.phase("building the image \x1b[2J"):
            for line in HOSTILE + lines:
                progress.build_event(SimpleNamespace(line=line, step=None))
                progress.log(line)
    _no_live_escape(out.getvalue())
    _no_live_escape(console.file.getvalue())
    if verbose:
        assert "X\\x1b]0;pwned\\x07" in out.getvalue()  # shown, as the report shows it


def test_rich_status_is_escaped_full_width_and_counts_from_the_step_start():
    from rich.console import Console

    clock = FakeClock()
    console = Console(file=io.StringIO(), width=300, force_terminal=False)
    progress = RichProgress(console, clock=clock)
    long_cmd = "RUN uv pip install " + "x" * 200 + " [bold]not markup[/]"
    progress.build_event(SimpleNamespace(line="#4 [stage-0 1/7] FROM base", step=None))
    clock.now += 100  # the build has run a while before step 3 starts
    progress.build_event(SimpleNamespace(line=f"#9 [stage-0 3/7] {long_cmd}", step=None))
    clock.now += 7
    status = progress.status_text()
    assert status.plain.startswith("[3/7] RUN uv pip install xxx")
    assert "[bold]not markup[/]" in status.plain  # literal, not styling
    assert len(status.plain) > 120
    assert status.plain.endswith("  7s")  # from the step's start, not the build's


def test_library_default_is_silent_and_for_cli_picks_by_tty():
    assert type(for_cli(Mode.QUIET)) is Progress
    assert isinstance(for_cli("auto", stream=io.StringIO()), PlainProgress)  # no TTY: plain

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(for_cli("auto", stream=Tty()), RichProgress)
    assert isinstance(for_cli("plain", stream=Tty()), PlainProgress)


def test_the_classic_engines_failed_step_reaches_the_progress_as_failed(tmp_path):
    from launchbuild.builder.engines.base import BuildStepFailed
    from launchbuild.builder.engines.classic import ClassicSDK

    chunks = [{"stream": "Step 1/2 : FROM python:3.11-slim\n"}, {"stream": " ---> 0123\n"},
              {"stream": "Step 2/2 : RUN false\n"}, {"stream": " ---> Running in 4567\n"},
              {"error": "The command '/bin/sh -c false' returned a non-zero code: 1"}]
    client = SimpleNamespace(api=SimpleNamespace(build=lambda **kw: iter(chunks)))
    out = io.StringIO()
    progress = PlainProgress(out, clock=FakeClock())
    with pytest.raises(BuildStepFailed):
        with progress.phase("building the image"):
            ClassicSDK(client).build(tmp_path, on_progress=progress.build_event)
    text = out.getvalue()
    assert "[1/2] done in" in text and "[2/2] FAILED in" in text and "[2/2] done" not in text, text
