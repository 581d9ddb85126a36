"""Property tests: arbitrary bytes and text into every parser of job, operator and server input.

Whatever they are fed, only launchbuild's own errors may escape (one line, bounded), and
cache readers never raise at all: a damaged entry is a miss. The inputs mix uniform noise
with near-grammar text and generated JSON/TOML/YAML shapes, deep nesting and huge numbers
included, because that is where parsers break.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launchbuild import limits
from launchbuild.builder.context import _valid_stamp
from launchbuild.builder.verify import VerificationCache
from launchbuild.compat import requirecuda
from launchbuild.compat.facts import factcache
from launchbuild.core.imageref import parse_image_ref, validate_image_ref
from launchbuild.compat.facts.providers import registry_shapes as shapes
from launchbuild.core.platform import Platform
from launchbuild.compat.facts.providers.registry import select_platform
from launchbuild.errors import BadInput, InfraUnavailable, LaunchbuildError
from launchbuild.jobs import git_url, job_spec, queue_config
from launchbuild.options import read_config_file, resolve_options
from launchbuild.core import cache
from launchbuild.resolver import metadata
from launchbuild.resolver.index import facts_for_target, valid_release
from launchbuild.resolver.requirements import parse_text
from launchbuild.resolver.sources import EnvironmentFile, PyprojectFile, RunPackageList

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
REF = parse_image_ref("127.0.0.1:5000/t/a:1")

_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=16))
_json = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                     max_leaves=16)
_noise = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))


def _deep(opener: str, closer: str, middle: str = "") -> st.SearchStrategy[str]:
    return st.integers(min_value=50, max_value=4000).map(lambda n: opener * n + middle + closer * n)


_hostile_text = st.one_of(
    st.text(max_size=200),
    _deep("[", "]"), _deep("{\"a\":", "}", "1"), _deep("a = [", "]"), _deep("- ", "", "x"),
    st.integers(min_value=4300, max_value=6000).map(lambda n: "9" * n),
    st.sampled_from(["*a", "&a [1]\nb: *a", "{\"a\": \"\\ud800\"}", "\x00", "tool = 5", "[tool]\nlaunchbuild = 5",
                     "[project]\ndynamic = 5", "project = 5", "dependencies: 5", "dependencies: [{pip: 5}]"]),
)
_hostile_bytes = st.one_of(_noise, _hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                           _json.map(lambda v: json.dumps(v).encode()))


def only_ours(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except LaunchbuildError as exc:
        text = str(exc)
        assert text.strip() and "\n" not in text and "\r" not in text, repr(text)
        assert len(text) <= limits.MAX_MESSAGE
        return None


def _file(data: bytes, name: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix="lb-prop-"))
    p = d / name
    p.write_bytes(data)
    return p


# --- bounded parsing ----------------------------------------------------------------------------


@SETTINGS
@given(_hostile_bytes)
def test_limits_loaders(data):
    for loader in (limits.load_json, limits.load_toml, limits.load_yaml):
        value = only_ours(loader, data, "input")
        if value is not None:
            only_ours(limits.check_tree, value, "input")  # whatever loads is within the depth cap


@SETTINGS
@given(st.text(max_size=2000), st.integers(min_value=1, max_value=700))
def test_one_line_is_one_bounded_line(text, cap):
    line = limits.one_line(text, cap)
    assert len(line) <= cap
    assert not any(ch in line for ch in "\n\r\x1b\x00\u2028\u2029")
    line.encode("utf-8")  # never a lone surrogate


@SETTINGS
@given(_json, st.integers(min_value=0, max_value=6))
def test_check_tree_depth_is_exact(value, cap):
    def depth(v):
        stack, deepest = [(v, 0)], 0
        while stack:
            item, d = stack.pop()
            if isinstance(item, (list, dict)):
                deepest = max(deepest, d + 1)
                stack.extend((x, d + 1) for x in (item.values() if isinstance(item, dict) else item))
        return deepest
    try:
        limits.check_tree(json.loads(json.dumps(value)), "x", max_depth=cap)
        assert depth(value) <= cap
    except BadInput:
        assert depth(value) > cap


def test_read_bounded_refuses_special_files_without_blocking(tmp_path):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(BadInput, match="not a regular file"):
            limits.read_bounded(path, "x")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(BadInput, match="over the limit of 100"):
        limits.read_bounded(big, "x", cap=100)


def test_read_bounded_read_error_is_bad_input():
    # /proc/self/mem is a regular file whose read fails even for root (EIO at offset 0).
    with pytest.raises(BadInput, match="cannot be read"):
        limits.read_bounded("/proc/self/mem", "x")


def test_walk_tree_unlistable_directory_is_bad_input(tmp_path, monkeypatch):
    # Root can list a mode-000 directory, so the failure is simulated at os.scandir.
    (tmp_path / "sub").mkdir()
    real = os.scandir

    def scandir(path):
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(limits.os, "scandir", scandir)
    with pytest.raises(BadInput, match="directory sub cannot be read .Permission denied."):
        list(limits.walk_tree(tmp_path, "code directory"))


def test_walk_tree_is_iterative_and_capped(tmp_path):
    here = str(tmp_path)
    for _ in range(limits.MAX_TREE_DEPTH + 5):
        here += "/d"
        os.mkdir(here)
    with pytest.raises(BadInput, match="directory levels deep"):
        list(limits.walk_tree(tmp_path, "code directory"))
    walked = [d for d, _, _ in limits.walk_tree(tmp_path, "code directory", max_depth=1000)]
    assert len(walked) == limits.MAX_TREE_DEPTH + 6


# --- job and operator files ----------------------------------------------------------------------


@SETTINGS
@given(_hostile_bytes)
def test_job_spec_and_queue_config(data):
    path = _file(data, "wandb-job.json")
    only_ours(job_spec.parse_job_spec, data, path)
    only_ours(queue_config.load_queue_config, path)
    only_ours(metadata.read_run_metadata, path)


@SETTINGS
@given(_json)
def test_job_spec_shapes(value):
    for doc in (value, {"source_type": "repo", "source": value}, {"source_type": "repo", "source": {"git": value}},
                {"builder": value}, {"builder": {"accelerator": value}}):
        data = json.dumps(doc).encode()
        path = _file(data, "wandb-job.json")
        only_ours(job_spec.parse_job_spec, data, path)
        only_ours(queue_config.load_queue_config, path)
        only_ours(metadata.read_run_metadata, path)


@SETTINGS
@given(_hostile_bytes)
def test_toml_config_and_pyproject(data):
    for name in ("launchbuild.toml", "pyproject.toml"):
        path = _file(data, name)
        only_ours(read_config_file, path.parent)
        only_ours(resolve_options, {}, source_dir=path.parent)
    pyproject = PyprojectFile(_file(data, "pyproject.toml"), extras=("gpu",))
    only_ours(pyproject.unusable_reason)
    only_ours(pyproject.load)


@SETTINGS
@given(_hostile_bytes)
def test_environment_yml_requirements_and_frozen(data):
    only_ours(EnvironmentFile(_file(data, "environment.yml")).load)
    only_ours(RunPackageList(_file(data, "requirements.frozen.txt")).load)
    text = data.decode("utf-8", "replace")
    only_ours(parse_text, text, "requirements.txt", base_dir=None)


@SETTINGS
@given(st.one_of(st.text(max_size=80), st.sampled_from(["²", "٣", "4294967296", "-1", "9" * 40, " 7 "])))
def test_int_options_from_env(value):
    options = only_ours(resolve_options, {}, env={"LAUNCHBUILD_UID": value})
    if options is not None and value.strip():
        uid = options["uid"]
        assert isinstance(uid, int) and 0 <= uid <= 2**31 - 1
        assert value.strip().isascii()


@SETTINGS
@given(st.one_of(st.text(max_size=120), st.binary(max_size=60).map(lambda b: b.decode("latin-1"))))
def test_image_refs_and_require_cuda(text):
    only_ours(parse_image_ref, text)
    only_ours(validate_image_ref, text, "image")
    only_ours(requirecuda.parse, text)
    only_ours(git_url.parse_git_url, text)


# --- what a registry sends -----------------------------------------------------------------------


@SETTINGS
@given(_json)
def test_registry_shapes_never_crash(value):
    for check in (lambda: shapes.image_config_parts(value, REF),
                  lambda: shapes.check_descriptor(value, "x", REF),
                  lambda: shapes.check_layers(value if isinstance(value, list) else [value], REF)):
        try:
            check()
        except InfraUnavailable as exc:
            assert "\n" not in str(exc)
    index = value if isinstance(value, dict) else {"manifests": value}
    for entry in shapes.index_entries(index):
        assert isinstance(entry["platform"], dict) and all(isinstance(v, str) for v in entry["platform"].values())
    try:
        select_platform(index, Platform.parse("linux/amd64"))
    except InfraUnavailable:
        pass


@SETTINGS
@given(_json)
def test_image_config_parts_types(value):
    try:
        _config, inner, env, labels = shapes.image_config_parts({"config": value}, REF)
    except InfraUnavailable:
        return
    assert isinstance(inner, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in {**env, **labels}.items())


# --- cache entries: a miss, never an error ----------------------------------------------------------


@SETTINGS
@given(_hostile_bytes)
def test_cache_readers_never_raise(data):
    path = _file(data, "entry.json")
    entry = cache.read_json(path)
    assert entry is None or isinstance(entry, dict)
    assert limits.read_cache_json(path) is None or data.strip()
    verified = VerificationCache(path.parent)
    (path.parent / "verified").mkdir()
    (path.parent / "verified" / "k.json").write_bytes(data)
    checks = verified.get("k")
    assert checks is None or all(isinstance(v, str) for v in checks.values())


@SETTINGS
@given(_json, st.sampled_from(sorted(factcache._FIELD_OK)))
def test_fact_sheet_with_any_field_value_is_valid_or_a_miss(value, key):
    good = {"schema": factcache.SCHEMA, "reference": "python:3.11-slim", "provider": "registry",
            "image_id": "sha256:" + "a" * 64, "glibc": "2.36", "pythons": ["3.11"]}
    facts = factcache.from_json({**good, key: value})
    if facts is not None:
        glibc = facts.glibc
        assert glibc is None or glibc.replace(".", "").isdigit()
        assert all(isinstance(p, str) for p in facts.pythons)
        assert isinstance(facts.env, tuple)


def test_damaged_fact_sheet_is_a_miss_and_rewritten(tmp_path):
    from launchbuild.compat.image_facts import ImageFacts

    store = factcache.FactCache(tmp_path)
    facts = ImageFacts(reference="x:1", provider="registry", image_id="sha256:" + "b" * 64, glibc="2.36")
    store.put(facts, references=("x:1",), platform="linux/amd64")
    sheet = next((tmp_path / "by-id").iterdir())
    data = json.loads(sheet.read_text())
    for garbage in ({"x": 1}, "2.36; rm -rf /", 5, ["2", "36"]):
        sheet.write_text(json.dumps({**data, "glibc": garbage}))
        assert store.get(facts.image_id) is None  # a miss, not the user's fault
    store.put(facts, references=("x:1",), platform="linux/amd64")
    assert store.get(facts.image_id).glibc == "2.36"  # rewritten whole
    assert not [p for p in sheet.parent.iterdir() if p.name.startswith(".tmp-")]


@SETTINGS
@given(_json)
def test_index_release_and_context_stamps(value):
    if valid_release(value) and not value.get("missing"):
        from launchbuild.resolver.model import Target

        facts_for_target("x", "1", value, Target(python="3.11", platform="linux/amd64"))
        # A damaged "sha256" map (any JSON) held against a lock's hashes never raises either.
        facts_for_target("x", "1", {**value, "sha256": value.get("sha256", value)}, Target(python="3.11"),
                         ("sha256:" + "a" * 64, "md5:x"))
    _valid_stamp(value)
    for item in (value.values() if isinstance(value, dict) else value if isinstance(value, list) else []):
        _valid_stamp(item)


def test_damaged_lock_entry_is_a_miss():
    from launchbuild.resolver.api import _usable_lock_entry

    header = "# launchbuild lock\n"
    for entry in (None, [], {"text": 5}, {"text": "other header\n"}, {"nope": 1}):
        assert not _usable_lock_entry(entry, header, ())
    assert _usable_lock_entry({"text": header + "numpy==1.26.4\n"}, header, ())


def test_cli_last_resort_for_nesting_no_cap_foresaw(monkeypatch):
    """The CLI's one error handler turns a RecursionError (input deeper than any cap foresaw)
    into one line, exit 2: never a traceback."""
    from typer.testing import CliRunner

    from launchbuild import api
    from launchbuild.cli import app

    def deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(api, "show", deep)
    result = CliRunner().invoke(app, ["show", "."])
    assert result.exit_code == 2
    assert "nested too deeply" in result.output and "Traceback" not in result.output


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab x\n\r\x0b\x0c\x1c\x85\u2028", max_size=40), st.text(alphabet="ab x\n", min_size=0, max_size=4))
def test_line_of_is_the_first_line_holding_the_needle(text: str, needle: str) -> None:
    """detectors.base.line_of locates a dependency with one find and a bisect (it was a
    splitlines per dependency, quadratic in a 100000-entry list); the answer is unchanged."""
    from launchbuild.resolver.detectors.base import line_of

    expected = next((n for n, line in enumerate(text.splitlines(), start=1) if needle and needle in line), None)
    assert line_of(text, needle) == expected
