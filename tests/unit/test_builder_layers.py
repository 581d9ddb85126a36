"""The environment's layer split (builder/layers.py): sub-locks partition the lock, the heavy one
holds its roots' dependency closure, and an unrelated change leaves it byte-identical."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from launchbuild.builder import layers
from launchbuild.errors import BadInput

HEADER = ("# Locked by launchbuild (uv) for Python 3.11 on linux/amd64, manylinux_2_28\n"
          "# from requirements.txt (requirements)\n")


def _hash(name: str, version: str, i: int) -> str:
    return hashlib.sha256(f"{name}{version}{i}".encode()).hexdigest()


def entry(name: str, version: str, parents: list[str], hashes: int = 2) -> str:
    """One entry as `uv pip compile --generate-hashes --annotation-style split` writes it."""
    lines = [f"{name}=={version} \\"]
    lines += [f"    --hash=sha256:{_hash(name, version, i)}" + (" \\" if i < hashes - 1 else "") for i in range(hashes)]
    if len(parents) == 1:
        lines.append(f"    # via {parents[0]}")
    elif parents:
        lines.append("    # via")
        lines += [f"    #   {p}" for p in parents]
    return "\n".join(lines) + "\n"


def lock_of(packages: dict[str, tuple[str, list[str]]], options: str = "") -> str:
    return HEADER + options + "".join(entry(n, v, p) for n, (v, p) in sorted(packages.items()))


TORCH_LOCK = {
    "filelock": ("3.16.1", ["torch"]),
    "jinja2": ("3.1.4", ["torch"]),
    "markupsafe": ("3.0.2", ["jinja2"]),
    "numpy": ("2.1.3", ["-r requirements.txt"]),
    "nvidia-cublas-cu12": ("12.4.5.8", ["nvidia-cudnn-cu12", "torch"]),
    "nvidia-cudnn-cu12": ("9.1.0.70", ["torch"]),
    "requests": ("2.32.3", ["-r requirements.txt"]),
    "idna": ("3.10", ["requests"]),
    "torch": ("2.5.1", ["-r requirements.txt"]),
    "typing-extensions": ("4.12.2", ["torch"]),
}


def test_parse_reads_entries_hashes_and_the_via_graph():
    parsed = layers.parse(lock_of(TORCH_LOCK, "--index-url https://pypi.org/simple\n"))
    assert parsed.options == ("--index-url https://pypi.org/simple",)
    by_name = {e.name: e for e in parsed.entries}
    assert set(by_name) == set(TORCH_LOCK)
    assert by_name["nvidia-cublas-cu12"].parents == ("nvidia-cudnn-cu12", "torch")
    assert by_name["torch"].parents == ()  # `-r requirements.txt` is an input, not a package
    assert all(not line.lstrip().startswith("#") for e in parsed.entries for line in e.lines)
    assert not by_name["torch"].lines[-1].endswith("\\")


def test_heavy_layer_is_the_roots_and_their_closure_in_lock_order():
    sub = layers.split(lock_of(TORCH_LOCK), ["torch"])
    assert [s.name for s in sub] == ["1-heavy", "2-rest"]
    assert sub[0].packages == ("filelock", "jinja2", "markupsafe", "nvidia-cublas-cu12", "nvidia-cudnn-cu12",
                               "torch", "typing-extensions")
    assert sub[1].packages == ("idna", "numpy", "requests")
    assert sub[0].text.splitlines()[0] == "filelock==3.16.1 \\"
    assert "# via" not in sub[0].text and "# Locked" not in sub[0].text


def test_option_lines_go_to_every_sub_lock():
    sub = layers.split(lock_of(TORCH_LOCK, "--extra-index-url https://example.invalid/simple\n"), ["torch"])
    assert all(s.text.startswith("--extra-index-url https://example.invalid/simple\n") for s in sub)


@pytest.mark.parametrize("roots", [[], ["not-in-the-lock"]])
def test_no_split_when_nothing_is_heavy(roots):
    assert layers.split(lock_of(TORCH_LOCK), roots) == ()


def test_everything_heavy_is_the_heavy_sub_lock_alone_as_it_would_be_with_a_rest():
    (alone,) = layers.split(lock_of(TORCH_LOCK), list(TORCH_LOCK))
    assert alone.name == "1-heavy" and alone.packages == tuple(sorted(TORCH_LOCK))
    with_rest = layers.split(lock_of({**TORCH_LOCK, "tqdm": ("4.67.1", ["-r requirements.txt"])}), list(TORCH_LOCK))
    assert with_rest[0] == alone and with_rest[1].packages == ("tqdm",)


def test_no_split_when_an_option_line_installs_something():
    assert layers.split(lock_of(TORCH_LOCK, "-e ./vendored\n"), ["torch"]) == ()


def test_url_pins_and_host_built_wheels_stay_out_of_the_heavy_layer():
    text = lock_of(TORCH_LOCK) + "mylib @ file:///tmp/wheels/mylib-1.0-py3-none-any.whl\n    # via torch\n"
    sub = layers.split(text, ["torch"], exclude=["Jinja2"])
    assert "mylib" not in sub[0].packages and "mylib" in sub[1].packages
    assert "jinja2" not in sub[0].packages and "jinja2" in sub[1].packages


def test_choose_heavy_by_size_and_the_heuristic_only_where_size_is_unknown():
    names = ["torch", "nvidia-nccl-cu12", "numpy", "requests", "tqdm", "jax"]
    sizes = {"torch": 900_000_000, "nvidia-nccl-cu12": None, "numpy": 16_000_000, "requests": 64_000,
             "tqdm": 78_000, "jax": 2_000_000}  # jax's size is known and small: size wins over its name
    choice = layers.choose_heavy(names, sizes)
    assert choice.roots == ("numpy", "nvidia-nccl-cu12", "torch")
    assert choice.heuristic == ("nvidia-nccl-cu12",)
    assert layers.choose_heavy(names, sizes, threshold=None).roots == ()


def test_choose_heavy_uses_canonical_names():
    assert layers.choose_heavy(["PyTorch_Lightning", "Torch"], {"torch": 10**9}).roots == ("torch",)


@pytest.mark.parametrize("raw, expected", [("", layers.HEAVY_WHEEL_BYTES), ("0", None), ("1000", 1000)])
def test_heavy_threshold_from_the_environment(raw, expected):
    assert layers.heavy_threshold({layers.HEAVY_BYTES_ENV: raw}) == expected


@pytest.mark.parametrize("raw", ["-1", "8MB", "1e6", "9" * 20])
def test_a_bad_threshold_is_one_line_of_bad_input(raw):
    with pytest.raises(BadInput, match=layers.HEAVY_BYTES_ENV):
        layers.heavy_threshold({layers.HEAVY_BYTES_ENV: raw})


# --- properties ---------------------------------------------------------------------------------

NAMES = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True), min_size=2, max_size=14,
                 unique=True)


@st.composite
def locks(draw):
    """A lock whose `# via` graph is a DAG over its entries (plus the input file)."""
    names = draw(NAMES)
    packages = {}
    for i, name in enumerate(names):
        earlier = names[:i]
        parents = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        if not parents or draw(st.booleans()):
            parents = ["-r requirements.txt", *parents]
        packages[name] = (f"{draw(st.integers(0, 30))}.{draw(st.integers(0, 9))}", parents)
    roots = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
    return packages, roots


@settings(max_examples=150)
@given(locks())
def test_sub_locks_are_a_partition_of_the_lock_and_the_heavy_one_is_closed(case):
    packages, roots = case
    text = lock_of(packages)
    sub = layers.split(text, roots)
    entries = {e.name: e for e in layers.parse(text).entries}
    if not sub:
        return
    members = [name for s in sub for name in s.packages]
    assert sorted(members) == sorted(entries)  # every package in exactly one layer
    # The sub-locks' lines together are exactly the lock's entry lines.
    assert sorted(line for s in sub for line in s.text.splitlines()) == sorted(
        line for e in entries.values() for line in e.lines)
    heavy = set(sub[0].packages)
    assert set(layers.canonical(r) for r in roots) <= heavy
    for name in heavy:  # closed: whatever a heavy package pulls in is heavy too
        children = {n for n, e in entries.items() if name in e.parents}
        assert children <= heavy


@settings(max_examples=150)
@given(locks(), st.data())
def test_adding_an_unrelated_package_leaves_the_heavy_sub_lock_byte_identical(case, data):
    packages, roots = case
    before = layers.split(lock_of(packages), roots)
    if not before or len(before) < 2:
        return
    new = data.draw(st.from_regex(r"zz[a-z]{1,5}", fullmatch=True))
    assume(new not in packages)
    changed = dict(packages)
    # The new package may itself pull in packages of either layer: their `# via` lines change.
    pulls = data.draw(st.lists(st.sampled_from(sorted(packages)), unique=True, max_size=3))
    for child in pulls:
        version, parents = changed[child]
        changed[child] = (version, sorted({*parents, new}))
    changed[new] = ("1.0", ["-r requirements.txt"])
    after = layers.split(lock_of(changed), roots)
    assert after[0].text == before[0].text
    assert after[0].sha256 == before[0].sha256
    assert new in after[-1].packages


@given(st.text(max_size=30))
def test_the_threshold_parser_gives_a_number_none_or_one_line_of_bad_input(raw):
    try:
        value = layers.heavy_threshold({layers.HEAVY_BYTES_ENV: raw})
    except BadInput as exc:
        assert "\n" not in str(exc) and layers.HEAVY_BYTES_ENV in str(exc)
        return
    assert value is None or (isinstance(value, int) and value > 0)


@given(st.text(max_size=400))
def test_parse_never_raises_on_any_text(text):
    parsed = layers.parse(text)
    assert all(e.lines and e.name for e in parsed.entries)
    layers.split(text, [e.name for e in parsed.entries[:1]])
