"""Progress: what a long check or build shows while it runs.

The model is pip-audit's `_state.py`: the pipeline talks to a small interface whose default
does nothing (library users embed `launchbuild.check(...)` and get no output), and the CLI
passes an implementation:

- `PlainProgress` (no TTY, CI logs): one line per phase and per engine step, at its start and
  at its finish, with the step's `N/M` and its own elapsed time, plus the summary lines apt
  and uv print (`Fetched 12 MB in 3s`, `Installed 9 packages in 40ms`). Every line starts
  with `==> `, so a log reader (or a test) can tell progress from the report.
- `RichProgress` (a TTY): a spinner whose status is the current step and its elapsed time,
  counted from the step's start. All foreign text (BuildKit's `[stage-0 3/7]`, a package's
  name) is a `rich.text.Text`, never markup, and the status is as wide as the terminal.

`StepTracker` turns raw engine lines into step events; it is pure (its clock is passed in)
and shared by both implementations.
"""

from __future__ import annotations

import contextlib
import enum
import re
import sys
import time
from typing import IO, Any, Callable, Iterator

from launchbuild.core.records import dataclass
from launchbuild.errors import inert_commands
from launchbuild.limits import printable

PREFIX = "==> "


class Mode(str, enum.Enum):
    AUTO = "auto"
    TTY = "tty"
    PLAIN = "plain"
    QUIET = "quiet"


class Progress:
    """The interface, and the default for library users: every method does nothing."""

    @contextlib.contextmanager
    def phase(self, title: str) -> Iterator[None]:
        yield

    def log(self, line: str, status: str | None = None) -> None:
        """A raw line from a tool (shown with --verbose); `status`: a short live summary."""

    def build_event(self, event: Any) -> None:
        """One line of engine output (`builder.engine.ProgressEvent`: .line, .step)."""
        self.log(getattr(event, "line", "") or "")

    def options(self, options: Any) -> None:
        pass


# --- engine lines -> steps -------------------------------------------------------------------------

_BK_HEADER = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")
_BK_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s\s*$")
_BK_CACHED = re.compile(r"^#(\d+) CACHED\s*$")
_BK_ERROR = re.compile(r"^#(\d+) ERROR\b")
_BK_OUTPUT = re.compile(r"^#(\d+) \d+\.\d+ (.*)$")
_CLASSIC_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
# The classic builder's error for a failed step (builder/engines/classic.py passes it on).
_CLASSIC_ERROR = re.compile(r"^The command .* returned a non-zero code: \d+\s*$")
_COUNT = re.compile(r"(?:^|\s)(\d+)/(\d+)$")

# Summary lines worth a line of their own in a CI log: apt's and uv's (and pip's) totals.
SUMMARY = re.compile(
    r"^(?:Fetched \S+ \S*B in |\d+ upgraded, \d+ newly installed|"
    r"(?:Resolved|Prepared|Installed|Uninstalled|Audited|Downloaded) \d+ packages? in |"
    r"Successfully installed )"
)


@dataclass(frozen=True)
class StepEvent:
    """One step event of a build (start, done, cached, error) or a summary line, as `StepTracker`
    makes them from engine lines for the progress display."""

    kind: str  # "start", "done", "cached", "error", "summary"
    step_id: str
    label: str  # "5/7" (or "" when the engine gave no count)
    command: str  # "RUN uv pip install ..." (mount flags dropped)
    elapsed_s: float | None = None  # the step's own time, for done/error
    text: str = ""  # the summary line


def _short_command(command: str) -> str:
    return " ".join(w for w in command.split() if not w.startswith("--mount="))


class StepTracker:
    """Feeds on engine lines, yields `StepEvent`s. Each step starts once and ends once, however
    often BuildKit repeats its header when output of parallel steps interleaves."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._started: dict[str, tuple[float, str, str]] = {}  # id -> (start, label, command)
        self._ended: set[str] = set()
        self._classic: str | None = None
        self.current: str | None = None

    def _start(self, step_id: str, label: str, command: str) -> list[StepEvent]:
        if step_id in self._started:
            self.current = step_id if step_id not in self._ended else self.current
            return []
        self._started[step_id] = (self.clock(), label, command)
        self.current = step_id
        return [StepEvent("start", step_id, label, command)]

    def _end(self, kind: str, step_id: str, own: float | None = None) -> list[StepEvent]:
        if step_id not in self._started or step_id in self._ended:
            return []
        self._ended.add(step_id)
        began, label, command = self._started[step_id]
        elapsed = own if own is not None else max(0.0, self.clock() - began)
        if self.current == step_id:
            self.current = None
        return [StepEvent(kind, step_id, label, command, elapsed_s=elapsed)]

    def elapsed(self, step_id: str) -> float:
        return max(0.0, self.clock() - self._started[step_id][0]) if step_id in self._started else 0.0

    def describe(self, step_id: str) -> tuple[str, str]:
        _, label, command = self._started[step_id]
        return label, command

    def feed(self, line: str) -> list[StepEvent]:
        line = line.rstrip("\r\n")
        m = _BK_HEADER.match(line)
        if m:
            step_id, name, command = m.groups()
            if name.startswith("internal") or name.startswith("auth"):
                return []
            count = _COUNT.search(name)
            label = f"{count.group(1)}/{count.group(2)}" if count else name
            return self._start(step_id, label, _short_command(command))
        m = _BK_DONE.match(line)
        if m:
            return self._end("done", m.group(1), float(m.group(2)))
        m = _BK_CACHED.match(line)
        if m:
            return self._end("cached", m.group(1), 0.0)
        m = _BK_ERROR.match(line)
        if m:
            return self._end("error", m.group(1))
        m = _CLASSIC_STEP.match(line)
        if m:
            # The classic builder says only when the next step begins: that ends the last one.
            events = self._end("done", self._classic) if self._classic else []
            self._classic = f"classic-{m.group(1)}"
            return events + self._start(self._classic, f"{m.group(1)}/{m.group(2)}", _short_command(m.group(3)))
        if self._classic and _CLASSIC_ERROR.match(line):
            return self._end("error", self._classic)
        m = _BK_OUTPUT.match(line)
        text = (m.group(2) if m else line).strip()
        if SUMMARY.match(text):
            step_id = m.group(1) if m else (self._classic or "")
            label = self._started.get(step_id, (0.0, "", ""))[1]
            return [StepEvent("summary", step_id, label, "", text=text)]
        return []

    def finish(self, ok: bool = True) -> list[StepEvent]:
        """End the classic builder's last step (it prints no end of its own): done when the
        build went on past it, failed when the build stopped there (`ok` False)."""
        return self._end("done" if ok else "error", self._classic) if self._classic else []


def step_line(event: StepEvent, width: int | None = None) -> str:
    """One plain line for a step event (no markup, no colour)."""
    label = f"[{event.label}] " if event.label else ""
    if event.kind == "summary":
        return f"{PREFIX}{label}{event.text}"
    command = event.command
    if width is not None and len(command) > width:
        command = command[: max(10, width - 1)] + "…"
    if event.kind == "start":
        return f"{PREFIX}{label}{command}"
    what = {"done": "done", "cached": "cached", "error": "FAILED"}[event.kind]
    # The finish line names the step again, shorter: the start line above has it in full.
    short = command if len(command) <= 60 else command[:59] + "…"
    return f"{PREFIX}{label}{what} in {event.elapsed_s or 0.0:.1f}s: {short}"


# --- the two implementations --------------------------------------------------------------------


class PlainProgress(Progress):
    """Line-per-event progress for logs. Writes to `stream` (stderr) and flushes each line."""

    def __init__(self, stream: IO[str] | None = None, *, verbose: bool = False,
                 clock: Callable[[], float] = time.monotonic, command_width: int = 160) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.verbose = verbose
        self.clock = clock
        self.command_width = command_width
        self.tracker = StepTracker(clock)

    def _print(self, text: str) -> None:
        # Engine lines carry what the job's own code prints while it builds (a setup.py, a
        # package's build): an ESC there must not reach the terminal or the CI log alive.
        self.stream.write(inert_commands(printable(text)) + "\n")  # a job's "::add-mask::" runs nothing
        self.stream.flush()

    @contextlib.contextmanager
    def phase(self, title: str) -> Iterator[None]:
        start = self.clock()
        self._print(f"{PREFIX}{title}")
        ok = False
        try:
            yield
            ok = True
        finally:
            for event in self.tracker.finish(ok):
                self._print(step_line(event, self.command_width))
            self.tracker = StepTracker(self.clock)
            self._print(f"{PREFIX}{title}: {'done' if ok else 'stopped'} in {self.clock() - start:.1f}s")

    def log(self, line: str, status: str | None = None) -> None:
        if self.verbose and line:
            self._print(line)

    def build_event(self, event: Any) -> None:
        line = getattr(event, "line", "") or ""
        for step in self.tracker.feed(line):
            self._print(step_line(step, self.command_width))
        self.log(line)

    def options(self, options: Any) -> None:
        if not self.verbose:
            return
        for name, value, origin in options.describe():
            # A job's value with a newline must not forge a line of its own ("error: ...").
            self._print(printable(f"{PREFIX}option {name} = {value} (from {origin})"))


class RichProgress(Progress):
    """A spinner on a TTY: the phase, then the current step and its own elapsed time."""

    def __init__(self, console: Any = None, *, verbose: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        from rich.console import Console

        self.console = console if console is not None else Console(stderr=True, highlight=False)
        self.verbose = verbose
        self.clock = clock
        self.tracker = StepTracker(clock)
        self._status: Any = None
        self._title = ""

    def status_text(self) -> Any:
        """What the spinner shows now: never markup, as wide as the terminal allows."""
        from rich.text import Text

        text = Text(printable(f"{self._title}…"))
        step_id = self.tracker.current
        if step_id is not None:
            label, command = self.tracker.describe(step_id)
            text = Text(printable(f"[{label}] ") if label else "")
            text.append(printable(command))
            text.append(f"  {self.tracker.elapsed(step_id):.0f}s", style="dim")
        text.no_wrap = True
        text.overflow = "ellipsis"
        # Spinner and padding take a few columns; the rest is the step, cut with an ellipsis.
        text.truncate(max(20, self.console.width - 4), overflow="ellipsis")
        return text

    @contextlib.contextmanager
    def phase(self, title: str) -> Iterator[None]:
        from rich.text import Text

        start = self.clock()
        self._title = title
        ok = False
        with self.console.status(Text(printable(f"{title}…"))) as status:
            self._status = status
            try:
                yield
                ok = True
            finally:
                self._status = None
                for event in self.tracker.finish(ok):  # the classic builder's last step: done or FAILED
                    if not self.verbose:
                        self.console.print(Text(printable(step_line(event, self.console.width - 4)[len(PREFIX):]),
                                                style="dim"), no_wrap=True, overflow="ellipsis")
                self.tracker = StepTracker(self.clock)
        self.console.print(Text(printable(f"✓ {title} ({self.clock() - start:.1f}s)"), style="dim"))

    def log(self, line: str, status: str | None = None) -> None:
        from rich.text import Text

        if self._status is not None:
            self._status.update(self.status_text() if status is None else Text(printable(status)))
        if self.verbose and line:
            self.console.print(Text(inert_commands(printable(line)), style="dim"))

    def build_event(self, event: Any) -> None:
        from rich.text import Text

        line = getattr(event, "line", "") or ""
        for step in self.tracker.feed(line):
            if step.kind in ("done", "cached", "error", "summary") and not self.verbose:
                line_text = Text(printable(step_line(step, self.console.width - 4)[len(PREFIX):]), style="dim")
                line_text.truncate(self.console.width, overflow="ellipsis")
                self.console.print(line_text, no_wrap=True, overflow="ellipsis")
        if self._status is not None:
            self._status.update(self.status_text())
        if self.verbose and line:
            self.console.print(Text(inert_commands(printable(line)), style="dim"))

    def options(self, options: Any) -> None:
        if not self.verbose:
            return
        from rich.table import Table

        from rich.text import Text

        table = Table(title="resolved options", show_edge=False, title_justify="left")
        for col in ("option", "value", "from"):
            table.add_column(col)
        for name, value, origin in options.describe():
            # Text cells: a str cell would be parsed as markup ("[extra]" would vanish).
            table.add_row(Text(printable(name)), Text(printable(value)), Text(printable(origin)))
        self.console.print(table)


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def for_cli(mode: Mode | str = Mode.AUTO, *, verbose: bool = False, stream: IO[str] | None = None) -> Progress:
    """The progress the CLI uses: `auto` is `tty` on a terminal and `plain` otherwise."""
    mode = Mode(mode)
    stream = stream if stream is not None else sys.stderr
    if mode is Mode.QUIET:
        return Progress()
    if mode is Mode.AUTO:
        mode = Mode.TTY if _is_tty(stream) else Mode.PLAIN
    if mode is Mode.PLAIN:
        return PlainProgress(stream, verbose=verbose)
    from rich.console import Console

    return RichProgress(Console(file=stream, highlight=False, force_terminal=True), verbose=verbose)
