"""Property tests for the parsers that had none yet: whatever text a user, a config file or
an image hands them, the only exceptions that may escape are our own (LaunchbuildError
subclasses), so the CLI turns them into one line and an exit code.

Parsers already covered elsewhere (not repeated here): requirements lines and files
(test_resolver_requirements), frozen lists (test_resolver_cleaning), NVIDIA_REQUIRE_CUDA
(test_compat_requirecuda), job specs / job arguments / image: refs (test_jobs_spec),
image references (test_facts_imageref), URL redaction (test_jobs_urls).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launchbuild.builder import tags
from launchbuild.compat import gpus, target
from launchbuild.core import platform
from launchbuild.errors import LaunchbuildError
from launchbuild.jobs import fields, git_url, queue_config
from launchbuild.core.imageref import validate_image_ref
from launchbuild.options import resolve_options
from launchbuild.resolver import metadata, platforms, python_version

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text near the grammar finds more corners than uniform noise: mix both.
_versionish = st.from_regex(r"[0-9a-z.+\-_ ]{0,16}", fullmatch=True)
_any_text = st.one_of(st.text(max_size=40), _versionish, st.binary(max_size=20).map(lambda b: b.decode("latin-1")))
_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12))
_json = st.recursive(_json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                     max_leaves=12)


def only_ours(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except LaunchbuildError as exc:
        assert str(exc).strip() and "\n" not in str(exc), repr(str(exc))
        return None


@SETTINGS
@given(st.one_of(_any_text, st.from_regex(r"(sm_|compute_)?[0-9]{1,3}(\.[0-9]{1,3})?", fullmatch=True),
                 st.sampled_from(["H100", "NVIDIA A100-SXM4-40GB", "t4", "sm_90", "9.0", "auto", " ", ""])))
def test_gpu_names(text):
    gpu = only_ours(target.parse_gpu, text)
    only_ours(gpus.lookup, text)
    only_ours(gpus.close_matches, text)
    if gpu is not None:
        assert gpu.cc  # every accepted GPU has a compute capability


@SETTINGS
@given(st.one_of(_any_text, st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,4}){0,3}", fullmatch=True)))
def test_driver_versions(text):
    only_ours(target.parse_driver, text)


@SETTINGS
@given(st.one_of(_any_text, st.from_regex(r"linux/(amd64|arm64|arm|s390x)(/v[0-9])?", fullmatch=True)))
def test_platforms(text):
    result = only_ours(platform.parse_platform, text)
    if result is not None:
        assert result in ("linux/amd64", "linux/arm64")
        assert only_ours(platform.docker_arch, result)


@SETTINGS
@given(st.one_of(_any_text, st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,3}){0,3}", fullmatch=True), _json_scalar))
def test_python_version_strings(value):
    if isinstance(value, str):
        only_ours(python_version.normalize, value, "--python")
        only_ours(python_version.from_requires_python, value, "pyproject.toml")
    only_ours(fields.parse_python_version, value, "job spec runtime")


@SETTINGS
@given(st.binary(max_size=40))
def test_python_version_files(data):
    with tempfile.TemporaryDirectory() as tmp:
        for name, reader in ((".python-version", python_version.from_python_version_file),
                             ("runtime.txt", python_version.from_runtime_txt)):
            path = Path(tmp) / name
            path.write_bytes(data)
            only_ours(reader, path)


@SETTINGS
@given(st.one_of(_json, st.lists(st.text(max_size=10), max_size=4)))
def test_entrypoints(value):
    result = only_ours(fields.parse_entrypoint, value, "entrypoint")
    if result is not None:
        assert all(isinstance(part, str) for part in result)


@SETTINGS
@given(_json)
def test_git_refs_and_subdirs(value):
    ref = only_ours(fields.validate_ref, value, "--ref")
    if ref is not None:
        assert ".." not in ref and " " not in ref
    sub = only_ours(fields.validate_subdir, value, "--subdir")
    if sub:
        assert not sub.startswith("/") and ".." not in Path(sub).parts


@SETTINGS
@given(st.one_of(_any_text, st.from_regex(r"(https?|ssh|git|file)://[a-z0-9:@./_-]{0,30}(@[a-z0-9]{1,8})?", fullmatch=True),
                 st.from_regex(r"git@[a-z0-9.]{1,10}:[a-z/]{1,10}(\.git)?(@[a-z0-9]{0,8})?", fullmatch=True)))
def test_git_urls(text):
    only_ours(git_url.parse_git_url, text)


@SETTINGS
@given(st.one_of(_any_text, _json_scalar))
def test_image_references_in_options_and_build_repositories(value):
    only_ours(validate_image_ref, value, "--base-image")
    only_ours(validate_image_ref, value, "--python-base-image", allow_python_placeholder=True)
    if isinstance(value, str):
        only_ours(tags.validate_repository, value)
        only_ours(tags.split_ref, value)


@SETTINGS
@given(st.one_of(_any_text, st.none()))
def test_glibc_versions(value):
    only_ours(platforms.validate_glibc, value)


_toml_value = st.one_of(st.integers(), st.booleans(), st.text(max_size=12),
                        st.lists(st.text(max_size=8), max_size=3), st.floats(allow_nan=False))
_option_names = st.sampled_from(["python", "entrypoint", "platform", "base-image", "gpu", "driver", "ignore", "strict",
                                 "offline", "resolver", "engine", "uid", "push", "ca-bundle", "bogus"])


def _toml_line(name: str, value: object) -> str:
    return f"{name} = {json.dumps(value)}\n"


@SETTINGS
@given(st.one_of(st.dictionaries(_option_names, _toml_value, max_size=5).map(
                     lambda d: "".join(_toml_line(k, v) for k, v in d.items()).encode()),
                 st.binary(max_size=60)),
       st.dictionaries(st.sampled_from(["LAUNCHBUILD_UID", "LAUNCHBUILD_STRICT", "LAUNCHBUILD_GPU", "LAUNCHBUILD_PYTHON",
                                        "LAUNCHBUILD_OFFLINE", "LAUNCHBUILD_ENGINE"]), st.text(max_size=10), max_size=3))
def test_config_files_and_environment(data, env):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "launchbuild.toml").write_bytes(data)
        only_ours(resolve_options, {}, source_dir=Path(tmp), env=env)


@SETTINGS
@given(st.one_of(_json.map(lambda v: json.dumps(v).encode()), st.binary(max_size=60),
                 st.fixed_dictionaries({}, optional={"python": _json, "os": _json, "cuda": _json, "gpu": _json,
                                                     "gpu_count": _json, "program": _json, "codePath": _json,
                                                     "git": _json, "executable": _json}).map(lambda v: json.dumps(v).encode())))
def test_run_metadata_files(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wandb-metadata.json"
        path.write_bytes(data)
        only_ours(metadata.read_run_metadata, path)


@SETTINGS
@given(st.one_of(_json.map(lambda v: json.dumps(v).encode()), st.binary(max_size=60),
                 st.fixed_dictionaries({"builder": st.dictionaries(st.sampled_from(["accelerator", "cuda", "base_image",
                                                                                    "python"]), _json, max_size=3)})
                 .map(lambda v: json.dumps(v).encode())))
def test_queue_config_files(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue.json"
        path.write_bytes(data)
        only_ours(queue_config.load_queue_config, path)


@pytest.mark.parametrize("text", ["", " ", "\x00", "sm_", "sm_9a", "9.", ".9", "H100\n", "535.104.05\n", "linux/amd64 "])
def test_edge_cases_stay_ours(text):
    for parse in (target.parse_gpu, target.parse_driver, platform.parse_platform):
        only_ours(parse, text)
