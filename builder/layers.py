"""The environment split into layers by stability: sub-locks that partition the lock.

A one-package change to a job with torch used to reinstall the whole environment into one
new layer: gigabytes rewritten, pushed and pulled again. Here the lock is split into
sub-locks, each installed by its own COPY + RUN (`--no-deps`, hash-checked) into the same
venv, heaviest and most stable first:

    1-heavy   the big distributions (CUDA wheels, the framework) and their pinned
              dependency closure, from the lock's own `# via` graph
    2-rest    everything else
    (the job's own projects come after the code, as before: project_install.py)

Each sub-lock holds only its option lines and `name==version` entries with their hashes,
no annotations: adding an unrelated package leaves the heavy sub-lock byte-identical, so
its COPY and RUN have the same cache key, BuildKit reuses the layer, and the registry and
the nodes already have its blob.

Which packages are heavy is decided by size where the index says (the PyPI JSON API's
`size` of the target's wheel, resolver/index.py); where it does not, a name list of known
heavy frameworks is used instead and the split says so (`heuristic`). Pure functions only.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable, Mapping

from launchbuild.core.records import dataclass

# A wheel at least this big (compressed, as the index reports it) is a heavy root. numpy,
# scipy, pandas and torch's nvidia-* wheels are above it; requests, rich and tqdm far below.
HEAVY_WHEEL_BYTES = 8 * 1024 * 1024
HEAVY_BYTES_ENV = "LAUNCHBUILD_HEAVY_LAYER_BYTES"  # another threshold (bytes; 0 turns the split off)


def heavy_threshold(env: Mapping[str, str] | None = None) -> int | None:
    """The threshold in force: HEAVY_WHEEL_BYTES, or the environment's; None: no split.
    A value that is not a whole number of bytes is bad input, said in one line."""
    import os

    from launchbuild.errors import BadInput

    raw = (os.environ if env is None else env).get(HEAVY_BYTES_ENV, "").strip()
    if not raw:
        return HEAVY_WHEEL_BYTES
    if not re.fullmatch(r"[0-9]{1,15}", raw):  # ASCII digits only: str.isdigit() takes "²"
        raise BadInput(f"{HEAVY_BYTES_ENV}={raw[:40]!r} is not a number of bytes",
                       hint=f"set it to e.g. {HEAVY_WHEEL_BYTES}, 0 to install the environment as one layer, or unset it")
    return int(raw) or None

# HEURISTIC, used only for a package whose size the index did not give (another index,
# offline, a URL pin): names of distributions known to be large. Not a measurement.
HEURISTIC_HEAVY_NAMES = frozenset({
    "torch", "torchvision", "torchaudio", "triton", "jax", "jaxlib", "tensorflow", "tensorflow-cpu",
    "tensorflow-gpu", "tf-nightly", "tensorflow-io-gcs-filesystem", "xformers", "flash-attn", "bitsandbytes",
    "onnxruntime-gpu", "cupy-cuda11x", "cupy-cuda12x", "deepspeed", "vllm", "paddlepaddle-gpu",
})
HEURISTIC_HEAVY_PREFIXES = ("nvidia-", "cupy-cuda", "jax-cuda")

LAYER_DIR = ".launchbuild/layers"  # in the build context
LAYER_DIR_IN_IMAGE = "/opt/launchbuild/layers"
# A later layer compiles only what it installed (builder/layer_bytecode.py, bind-mounted into
# its step from the context, never copied into the image).
BYTECODE_HELPER = "layer_bytecode.py"
BYTECODE_IN_CONTEXT = f"{LAYER_DIR}/{BYTECODE_HELPER}"
BYTECODE_IN_IMAGE = f"/opt/launchbuild/{BYTECODE_HELPER}"


def bytecode_helper() -> bytes:
    return (Path(__file__).with_name(BYTECODE_HELPER)).read_bytes()


def bytecode_mount() -> str:
    """The RUN flag that mounts the helper into a step (the context must hold it: `place`)."""
    return f"--mount=type=bind,source={BYTECODE_IN_CONTEXT},target={BYTECODE_IN_IMAGE}"


def bytecode_step(args: str) -> str:
    """The shell that compiles what a step installed; never fails the step."""
    from launchbuild.builder.plan import VENV

    return f"{{ {VENV}/bin/python {BYTECODE_IN_IMAGE} {args} || true; }}"


def uses_bytecode_cache(plan) -> bool:
    """Install steps with a cache scope on BuildKit keep their bytecode in a cache mount of
    that scope and restore it (builder/layer_bytecode.py --cache); the heavy layer, which
    uses no cache mount, compiles as before."""
    from launchbuild.builder.plan import Frontend

    return plan.bytecode and bool(plan.cache_scope) and plan.frontend is Frontend.BUILDKIT


def project_uses_bytecode_helper(plan) -> bool:
    """The job's own project is installed in a BuildKit step of its own (builder/project_install.py):
    it compiles that project alone, with the helper, not the whole venv again on every code change."""
    from launchbuild.builder.plan import CaMode, Frontend

    return (plan.bytecode and bool(plan.install_projects) and plan.frontend is Frontend.BUILDKIT
            and plan.ca_mode is not CaMode.THROWAWAY_STAGE)

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(==|@)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Entry:
    """One entry of a lock as the layer split reads it: its requirement and --hash lines, and the
    packages its `# via` names."""

    name: str  # canonical
    lines: tuple[str, ...]  # the requirement line and its --hash continuation lines, no comments
    parents: tuple[str, ...]  # canonical names from its `# via` annotation


@dataclass(frozen=True)
class ParsedLock:
    """A lock parsed for the layer split: its option lines and its entries, in lock order."""

    options: tuple[str, ...]  # --index-url / --extra-index-url / --find-links ... lines
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class SubLock:
    """One sub-lock of the layer split ("1-heavy", "2-rest"): its packages, and the text its own
    COPY + RUN installs."""

    name: str  # "1-heavy", "2-rest"
    packages: tuple[str, ...]  # canonical names, in lock order
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def context_path(self) -> str:
        return f"{LAYER_DIR}/{self.name}.lock"

    @property
    def image_path(self) -> str:
        return f"{LAYER_DIR_IN_IMAGE}/{self.name}.lock"


@dataclass(frozen=True)
class HeavyChoice:
    """The layer split's heavy roots, picked by wheel size, and those picked by name because the
    size was unknown (the plan's `layer_roots`, `layer_roots_by_name`)."""

    roots: tuple[str, ...]  # canonical names, sorted
    heuristic: tuple[str, ...] = ()  # the roots chosen by name because their size was unknown


def _via_names(comment: str) -> list[str]:
    """`# via a, b` / `#   a` -> names; `-r file` / `-c file` are inputs, not packages."""
    body = comment.lstrip("#").strip()
    if body.startswith("via"):
        body = body[3:].strip()
    out = []
    for part in body.split(","):
        part = part.strip()
        if not part or part.startswith("-"):
            continue
        out.append(canonical(part.split()[0]))
    return out


def parse(lock_text: str) -> ParsedLock:
    """The lock's option lines and entries. Comment-only lines outside an entry are dropped."""
    options: list[str] = []
    entries: list[Entry] = []
    current: list[str] | None = None
    name = ""
    parents: list[str] = []
    in_via = False

    def flush() -> None:
        nonlocal current
        if current is not None:
            if current[-1].endswith("\\"):  # a continuation into the dropped annotation
                current[-1] = current[-1][:-1].rstrip()
            entries.append(Entry(name, tuple(current), tuple(dict.fromkeys(parents))))
        current = None

    for raw in lock_text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            continue
        if not raw[:1].isspace():
            in_via = False
            if stripped.startswith("#"):
                flush()
                continue
            match = _ENTRY.match(stripped)
            if match:
                flush()
                name, current, parents = canonical(match.group(1)), [line], []
            elif stripped.startswith("-") and current is None and not entries:
                options.append(line)
            elif stripped.startswith("-"):
                flush()
                options.append(line)
            continue
        # An indented line: a --hash continuation or an annotation of the current entry.
        if current is None:
            continue
        if stripped.startswith("#"):
            if stripped.lstrip("#").strip().startswith("via"):
                in_via = True
                parents += _via_names(stripped)
            elif in_via:
                parents += _via_names(stripped)
            continue
        in_via = False
        current.append(line)
    flush()
    return ParsedLock(tuple(options), tuple(entries))


def _is_heuristic_heavy(name: str) -> bool:
    return name in HEURISTIC_HEAVY_NAMES or name.startswith(HEURISTIC_HEAVY_PREFIXES)


def choose_heavy(names: Iterable[str], sizes: Mapping[str, int | None],
                 threshold: int | None = HEAVY_WHEEL_BYTES) -> HeavyChoice:
    """Heavy roots by the index's wheel size; the name heuristic only where the size is unknown.
    `threshold` None: no split at all."""
    roots, heuristic = set(), set()
    if threshold is None:
        return HeavyChoice(())
    for raw in names:
        name = canonical(raw)
        size = sizes.get(name)
        if size is not None:
            if size >= threshold:
                roots.add(name)
        elif _is_heuristic_heavy(name):
            roots.add(name)
            heuristic.add(name)
    return HeavyChoice(tuple(sorted(roots)), tuple(sorted(heuristic)))


def closure(parsed: ParsedLock, roots: Iterable[str]) -> frozenset[str]:
    """The roots and every entry they pull in, by the lock's `# via` graph (child via parent)."""
    children: dict[str, set[str]] = {}
    for entry in parsed.entries:
        for parent in entry.parents:
            children.setdefault(parent, set()).add(entry.name)
    present = {e.name for e in parsed.entries}
    seen = {canonical(r) for r in roots} & present
    todo = list(seen)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen and child in present:
                seen.add(child)
                todo.append(child)
    return frozenset(seen)


def _text(options: tuple[str, ...], entries: Iterable[Entry]) -> str:
    lines = list(options)
    for entry in sorted(entries, key=lambda e: e.name):  # stable whatever the lock's order
        lines += entry.lines
    return "\n".join(lines) + "\n"


# Option lines every sub-lock may carry: where to find the pinned files, nothing that installs.
_SHARED_OPTIONS = ("--index-url", "--extra-index-url", "--find-links", "-i ", "-f ", "--no-index",
                   "--trusted-host")


def split(lock_text: str, heavy_roots: Iterable[str], exclude: Iterable[str] = ()) -> tuple[SubLock, ...]:
    """The sub-locks, in install order: a partition of the lock's entries. None (`()`: install
    the lock as one layer) when nothing is heavy or the lock has an option line that installs
    something itself (`-e`, `-r`), which no sub-lock could own alone. When everything is heavy
    the heavy sub-lock stands alone, rendered as it is with a later layer: adding one light
    package must only add that layer (numpy, pandas and scikit-learn are all heavy, with their
    closure; a single-layer rendering reinstalled them all when tqdm came)."""
    parsed = parse(lock_text)
    if any(not o.strip().startswith(_SHARED_OPTIONS) for o in parsed.options):
        return ()
    excluded = {canonical(n) for n in exclude}
    heavy = closure(parsed, heavy_roots)
    # A URL pin (`name @ file://...`) or a wheel built on this host can change with the host:
    # neither goes into the heavy layer.
    heavy = frozenset(n for n in heavy if n not in excluded
                      and all(" @ " not in e.lines[0] and "@" not in e.lines[0].split("==")[0]
                              for e in parsed.entries if e.name == n))
    if not heavy:
        return ()
    layers = []
    for name, members in (("1-heavy", [e for e in parsed.entries if e.name in heavy]),
                          ("2-rest", [e for e in parsed.entries if e.name not in heavy])):
        if members:
            layers.append(SubLock(name, tuple(sorted(e.name for e in members)), _text(parsed.options, members)))
    return tuple(layers)


def for_plan(plan) -> tuple[SubLock, ...]:
    """The plan's sub-locks: BuildKit builds only (the classic builder's throwaway stage copies
    one venv, so it has nothing to reuse per layer). Wheels built on this host stay out of the
    heavy layer: only the later layers mount them."""
    from launchbuild.builder.plan import Frontend

    if plan.frontend is not Frontend.BUILDKIT or not plan.layer_roots:
        return ()
    local = {canonical(Path(w).name.split("-", 1)[0]) for w in plan.wheel_files}
    return split(plan.lock_text, plan.layer_roots, exclude=local)


def place(context_dir, plan) -> None:
    """Write the plan's sub-locks into the build context (after the context is synced). An
    unchanged sub-lock is left untouched (mtime kept), so a kept context sends nothing again."""
    import os
    import shutil

    target = Path(context_dir) / LAYER_DIR
    sub_locks = for_plan(plan)
    helper = plan.bytecode and len(sub_locks) > 1 or project_uses_bytecode_helper(plan) or uses_bytecode_cache(plan)
    if not sub_locks and not helper:
        if target.exists():
            shutil.rmtree(target)
        return
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o755)
    wanted = {Path(sub.context_path).name: sub.text.encode("utf-8") for sub in sub_locks}
    if helper:
        wanted[BYTECODE_HELPER] = bytecode_helper()
    for existing in target.iterdir():
        if existing.is_dir() and not existing.is_symlink():
            shutil.rmtree(existing)
        elif existing.name not in wanted or existing.is_symlink():
            existing.unlink()
    for name, data in wanted.items():
        path = target / name
        try:
            same = path.read_bytes() == data
        except OSError:
            same = False
        if not same:
            path.write_bytes(data)
        # COPY keeps the file's mode: 0644 on every host, never the umask's (builder/context.py).
        os.chmod(path, 0o644)
