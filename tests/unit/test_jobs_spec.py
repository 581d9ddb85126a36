"""JOB argument classification, job spec parsing, queue/job/flag precedence, validation."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launchbuild.errors import BadInput, LaunchbuildError
from launchbuild.core.imageref import validate_image_ref
from launchbuild.jobs.model import CodeSource, GitSource, ImageSource, SourceKind
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.fields import parse_entrypoint, parse_python_version, validate_ref
from launchbuild.jobs.git_url import parse_git_url
from launchbuild.jobs.job_spec import parse_job_spec
from launchbuild.jobs.spec import JobOverrides, load_job, require_entrypoint

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "ab" * 32


def write_spec(directory: Path, spec: dict | str | bytes, name: str = "wandb-job.json") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if isinstance(spec, bytes):
        path.write_bytes(spec)
    else:
        path.write_text(spec if isinstance(spec, str) else json.dumps(spec), encoding="utf-8")
    return path


# ---- JOB argument classification -------------------------------------------------------

GIT_ARGS = [
    # (JOB, remote, ref)
    ("https://github.com/org/repo.git", "https://github.com/org/repo.git", None),
    ("https://github.com/org/repo.git@v1.2", "https://github.com/org/repo.git", "v1.2"),
    ("https://github.com/org/repo@" + SHA, "https://github.com/org/repo", SHA),
    ("https://user:pa:ss@github.com/org/repo.git", "https://user:pa:ss@github.com/org/repo.git", None),
    ("https://user:token@github.com/org/repo.git@main", "https://user:token@github.com/org/repo.git", "main"),
    ("https://TOKEN@github.com/org/repo.git", "https://TOKEN@github.com/org/repo.git", None),
    ("https://github.com/org/repo.git@feature/x", "https://github.com/org/repo.git", "feature/x"),
    ("http://127.0.0.1:8080/repo.git@main", "http://127.0.0.1:8080/repo.git", "main"),
    ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git", None),
    ("ssh://git@github.com:2222/org/repo.git@dev", "ssh://git@github.com:2222/org/repo.git", "dev"),
    ("git@github.com:org/repo.git", "git@github.com:org/repo.git", None),
    ("git@github.com:org/repo.git@" + SHA, "git@github.com:org/repo.git", SHA),
    ("deploy@gitlab.example.com:group/sub/repo@v2", "deploy@gitlab.example.com:group/sub/repo", "v2"),
    ("file:///srv/repos/x", "file:///srv/repos/x", None),
    ("file:///srv/repos/x@main", "file:///srv/repos/x", "main"),
    ("git://host/repo.git@main", "git://host/repo.git", "main"),
]


@pytest.mark.parametrize("arg,remote,ref", GIT_ARGS)
def test_git_url_parsing(arg: str, remote: str, ref: str | None) -> None:
    job = load_job(arg, JobOverrides())
    assert isinstance(job.source, GitSource)
    assert (job.source.remote, job.source.ref) == (remote, ref)
    assert job.kind is SourceKind.GIT and job.builds_image
    if ref:
        assert job.ref == Sourced(ref, Origin.FLAG, "JOB @REF")


def test_file_url_with_at_in_an_existing_path_is_not_a_ref(tmp_path: Path) -> None:
    repo = tmp_path / "me@work"
    repo.mkdir()
    assert parse_git_url(f"file://{repo}") .ref is None


@pytest.mark.parametrize("arg", [
    "ftp://host/repo.git", "https://host", "https://host/repo.git@", "s3://bucket/code.tar.gz",
])
def test_bad_urls(arg: str) -> None:
    with pytest.raises(BadInput) as err:
        load_job(arg, JobOverrides())
    assert "\n" not in str(err.value)


IMAGE_ARGS = [
    "image:nvidia/cuda:12.1.1-runtime-ubuntu22.04",
    "image:python:3.11-slim",
    "image:127.0.0.1:5055/x/y@" + DIGEST,
    "image:127.0.0.1:5055/x/y:tag@" + DIGEST,
    "image:localhost/a_b/c-d.e__f:1",
    "image:registry.example.com:443/team/img",
    "image:[::1]:5000/img:v",
]


@pytest.mark.parametrize("arg", IMAGE_ARGS)
def test_image_jobs(arg: str) -> None:
    job = load_job(arg, JobOverrides())
    assert job.source == ImageSource(arg[len("image:"):])
    assert not job.builds_image


BAD_IMAGES = [
    ("nvidia/cuda:12.1 ", "whitespace"),
    ("nvidia/cuda\n:12", "whitespace"),
    ("ubuntu#latest", "'#'"),
    ("ubuntu:22.04\nRUN rm -rf /", "whitespace"),
    ("x/y@sha256:abc", "not a valid image reference"),
    ("x/y@sha256:" + "A" * 64, "malformed digest"),
    ("x/y@sha256:" + "a" * 63 + "g", "not a valid image reference"),
    ("UPPER/case", "not a valid image reference"),
    ("x//y", "not a valid image reference"),
    ("x/y:", "not a valid image reference"),
    ("-x/y", "not a valid image reference"),
    ("x/y:" + "t" * 129, "not a valid image reference"),
    ("", "empty"),
]


@pytest.mark.parametrize("ref,words", BAD_IMAGES)
def test_unsafe_image_references(ref: str, words: str) -> None:
    with pytest.raises(BadInput) as err:
        load_job("image:" + ref, JobOverrides())
    assert words in str(err.value) and "\n" not in str(err.value)


def test_image_placeholder_only_where_allowed() -> None:
    assert validate_image_ref("python:{python}-slim", "x", allow_python_placeholder=True)
    with pytest.raises(BadInput):
        validate_image_ref("python:{python}-slim", "x")


def test_local_path_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dir").mkdir()
    for name in ("c.tar", "c.tar.gz", "c.tgz", "c.zip"):
        (tmp_path / name).write_bytes(b"")
    for name, expected in [("dir", "dir"), ("c.tar", "c"), ("c.tar.gz", "c"), ("c.tgz", "c"), ("c.zip", "c")]:
        job = load_job(str(tmp_path / name), JobOverrides())
        assert job.source == CodeSource((tmp_path / name).resolve()) and job.name == expected
    monkeypatch.chdir(tmp_path / "dir")
    assert load_job(None, JobOverrides()).source == CodeSource(tmp_path / "dir")
    assert load_job(".", JobOverrides()).source == CodeSource(tmp_path / "dir")


def test_scp_like_name_that_exists_locally_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "me@host:dir").mkdir()
    assert isinstance(load_job("me@host:dir", JobOverrides()).source, CodeSource)


@pytest.mark.parametrize("arg,words", [
    ("does/not/exist", "not found"),
    ("   ", "JOB is empty"),
    ("a\x00b", "NUL"),
])
def test_missing_path(arg: str, words: str) -> None:
    with pytest.raises(BadInput, match=words):
        load_job(arg, JobOverrides())


def test_unknown_file_kind(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BadInput, match="neither a directory, a code archive nor a job spec"):
        load_job(str(tmp_path / "notes.txt"), JobOverrides())


def test_ref_on_a_non_git_job_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="--ref: a git ref was given but JOB is not a git source"):
        load_job(str(tmp_path), JobOverrides(ref="main"))


def test_contradicting_refs_are_refused() -> None:
    with pytest.raises(BadInput, match="give the ref once"):
        load_job("https://h/r.git@main", JobOverrides(ref="dev"))
    same = load_job("https://h/r.git@main", JobOverrides(ref="main"))
    assert same.source.ref == "main"
    # the environment is overridden by the command line, not contradicted
    env = load_job("https://h/r.git@main", JobOverrides(ref=Sourced("dev", Origin.ENV, "LAUNCHBUILD_REF")))
    assert env.source.ref == "main"


@pytest.mark.parametrize("ref", ["-upload-pack=touch /tmp/x", "a b", "a..b", "a:b", "a~1", "x^", "x.lock",
                                 "ref/", "", "@{-1}", "a\\b", "*"])
def test_unsafe_refs(ref: str) -> None:
    with pytest.raises(BadInput, match="invalid git ref"):
        validate_ref(ref, "--ref")


# ---- single values -----------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("3.11", "3.11"), ("3.10.12", "3.10"), (" 3.9 ", "3.9"), ("python-3.12", "3.12"), ("3.13.0", "3.13"),
])
def test_python_versions(value: str, expected: str) -> None:
    assert parse_python_version(value, "x") == expected


@pytest.mark.parametrize("value", ["2.7", "3", "3.", "3.x", "3.11.2.1", "311", "03.11", "4.0", "", "3.011", 3.11, None])
def test_invalid_python_versions(value) -> None:
    with pytest.raises(BadInput) as err:
        parse_python_version(value, "--python")
    assert str(err.value).startswith("--python: ")


@pytest.mark.parametrize("value,expected", [
    ("python train.py", ("python", "train.py")),
    ("python -m pkg.train --lr '1e-3 2'", ("python", "-m", "pkg.train", "--lr", "1e-3 2")),
    (["torchrun", "--nproc_per_node=8", "train.py"], ("torchrun", "--nproc_per_node=8", "train.py")),
    (("a",), ("a",)),
    ("", None),
    ([], None),
])
def test_entrypoints(value, expected) -> None:
    assert parse_entrypoint(value, "x") == expected


@pytest.mark.parametrize("value", ["python 'unbalanced", ["ok", 1], {"a": 1}, 7])
def test_invalid_entrypoints(value) -> None:
    with pytest.raises(BadInput):
        parse_entrypoint(value, "--entrypoint")


# ---- job specs ---------------------------------------------------------------------------

REPO_SPEC = {
    "_version": "v0", "source_type": "repo",
    "source": {"git": {"remote": "https://github.com/org/repo.git", "commit": SHA},
               "entrypoint": ["python3.10", "train.py"], "notebook": False},
    "input_types": {}, "output_types": {}, "runtime": "3.10.12",
}
ARTIFACT_SPEC = {"_version": "v0", "source_type": "artifact",
                 "source": {"artifact": "wandb-artifact://_id/QXJ0aWZhY3Q6MTIz", "entrypoint": ["python", "main.py"]},
                 "runtime": "3.11.4"}
IMAGE_SPEC = {"_version": "v0", "source_type": "image", "source": {"image": "127.0.0.1:5055/team/trainer:v3"}}


def test_repo_spec(tmp_path: Path) -> None:
    path = write_spec(tmp_path, REPO_SPEC)
    job = load_job(str(path), JobOverrides())
    assert job.source == GitSource("https://github.com/org/repo.git", SHA)
    assert job.entrypoint == Sourced(("python3.10", "train.py"), Origin.JOB_SPEC, f"{path}: source.entrypoint")
    assert job.python == Sourced("3.10", Origin.JOB_SPEC, f"{path}: runtime")
    assert job.ref.origin is Origin.JOB_SPEC and job.name == "repo" and job.spec_path == path
    assert job.frozen_requirements is None and job.run_metadata is None


def test_repo_spec_without_commit_uses_remote_head(tmp_path: Path) -> None:
    spec = json.loads(json.dumps(REPO_SPEC))
    del spec["source"]["git"]["commit"]
    job = load_job(str(write_spec(tmp_path, spec)), JobOverrides())
    assert job.source.ref is None and job.ref is None


@pytest.mark.parametrize("layout,expected", [
    ([], "."),
    (["code/"], "code"),
    (["code.tar.gz"], "code.tar.gz"),
    (["code.zip"], "code.zip"),
    (["code/", "code.tar.gz"], "code"),
    (["code.tgz", "code.zip"], "code.tgz"),
])
def test_artifact_spec_code_location(tmp_path: Path, layout: list[str], expected: str) -> None:
    job_dir = tmp_path / "job"
    path = write_spec(job_dir, ARTIFACT_SPEC)
    for item in layout:
        (job_dir / item.rstrip("/")).mkdir() if item.endswith("/") else (job_dir / item).write_bytes(b"")
    job = load_job(str(path), JobOverrides())
    assert job.source == CodeSource((job_dir / expected).resolve() if expected != "." else job_dir.resolve())
    assert job.python.value == "3.11" and job.entrypoint.value == ("python", "main.py") and job.name == "job"


def test_image_spec(tmp_path: Path) -> None:
    job = load_job(str(write_spec(tmp_path, IMAGE_SPEC)), JobOverrides())
    assert job.source == ImageSource("127.0.0.1:5055/team/trainer:v3")
    assert job.entrypoint is None and not job.builds_image and job.name == "trainer"


def test_files_beside_the_spec(tmp_path: Path) -> None:
    path = write_spec(tmp_path, REPO_SPEC)
    (tmp_path / "requirements.frozen.txt").write_text("numpy==1.26.4\n")
    (tmp_path / "wandb-metadata.json").write_text("{}")
    job = load_job(str(path), JobOverrides())
    assert job.frozen_requirements == tmp_path / "requirements.frozen.txt"
    assert job.run_metadata == tmp_path / "wandb-metadata.json"
    other = tmp_path / "other.txt"
    other.write_text("x")
    flagged = load_job(str(path), JobOverrides(frozen=other, run_metadata=other))
    assert flagged.frozen_requirements == other.resolve() and flagged.run_metadata == other.resolve()


def test_spec_extras(tmp_path: Path) -> None:
    spec = json.loads(json.dumps(REPO_SPEC))
    spec["name"] = "my-job"
    spec["source"]["subdir"] = "src/./trainer/"
    spec["source"]["base_image"] = "python:3.10-slim"
    spec["builder"] = {"type": "docker", "accelerator": {"base_image": "nvidia/cuda:12.1.1-runtime-ubuntu22.04"}}
    path = write_spec(tmp_path, spec)
    job = load_job(str(path), JobOverrides())
    assert job.name == "my-job"
    assert job.source.subdir == "src/trainer" and job.subdir.detail == f"{path}: source.subdir"
    assert job.python_base_image == Sourced("python:3.10-slim", Origin.JOB_SPEC, f"{path}: source.base_image")
    assert job.accelerator_base_image == Sourced("nvidia/cuda:12.1.1-runtime-ubuntu22.04", Origin.JOB_SPEC,
                                                 f"{path}: builder.accelerator.base_image")


def _mutate(spec: dict, dotted: str, value) -> dict:
    spec = json.loads(json.dumps(spec))
    *parents, last = dotted.split(".")
    node = spec
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return spec


BAD_SPECS = [
    # (case, spec, words in the one-line message)
    ("not json", '{"source_type": "repo",\n  "source": }', "malformed JSON at line 2 column"),
    ("trailing comma", '{"a": 1,}', "malformed JSON at line 1"),
    ("empty file", "", "malformed JSON at line 1 column 1"),
    ("array", "[]", "expected a JSON object at the top, got an array"),
    ("string", '"repo"', "got a string"),
    ("no source_type", _mutate(REPO_SPEC, "source_type", KeyError), "missing required field 'source_type'"),
    ("unknown source_type", _mutate(REPO_SPEC, "source_type", "notebook"), "unknown source_type 'notebook'"),
    ("source_type number", _mutate(REPO_SPEC, "source_type", 3), "'source_type' must be a string, got a number"),
    ("no source", _mutate(REPO_SPEC, "source", KeyError), "missing required field 'source'"),
    ("source list", _mutate(REPO_SPEC, "source", []), "'source' must be an object, got an array"),
    ("no git", _mutate(REPO_SPEC, "source.git", KeyError), "missing required field 'git'"),
    ("no remote", _mutate(REPO_SPEC, "source.git.remote", KeyError), "missing required field 'remote'"),
    ("remote number", _mutate(REPO_SPEC, "source.git.remote", 5), "'remote' must be a string"),
    ("remote not url", _mutate(REPO_SPEC, "source.git.remote", "just words"), "is not a git URL"),
    ("bad commit", _mutate(REPO_SPEC, "source.git.commit", "-oops"), "invalid git ref"),
    ("commit list", _mutate(REPO_SPEC, "source.git.commit", ["a"]), "'commit' must be a string"),
    ("entrypoint string", _mutate(REPO_SPEC, "source.entrypoint", "python train.py"), "must be an array of strings"),
    ("entrypoint ints", _mutate(REPO_SPEC, "source.entrypoint", [1, 2]), "entrypoint must be a list of strings"),
    ("runtime bad", _mutate(REPO_SPEC, "runtime", "2.7.18"), "invalid Python version '2.7.18'"),
    ("runtime number", _mutate(REPO_SPEC, "runtime", 3.1), "Python version must be a string"),
    ("no image", _mutate(IMAGE_SPEC, "source.image", KeyError), "missing required field 'image'"),
    ("image unsafe", _mutate(IMAGE_SPEC, "source.image", "ubuntu\nRUN evil"), "whitespace or '#'"),
    ("image bad digest", _mutate(IMAGE_SPEC, "source.image", "x@sha256:12"), "not a valid image reference"),
    ("base_image bad", _mutate(REPO_SPEC, "source.base_image", "a b"), "source.base_image"),
    ("builder list", _mutate(REPO_SPEC, "builder", []), "'builder' must be an object"),
    ("accelerator str", _mutate(REPO_SPEC, "builder", {"accelerator": "x"}), "'accelerator' must be an object"),
    ("accel image bad", _mutate(REPO_SPEC, "builder", {"accelerator": {"base_image": "a#b"}}),
     "builder.accelerator.base_image"),
    ("subdir escape", _mutate(REPO_SPEC, "source.subdir", "../x"), "must be a relative path inside"),
    ("subdir absolute", _mutate(REPO_SPEC, "source.subdir", "/etc"), "must be a relative path inside"),
    ("name number", _mutate(REPO_SPEC, "name", 1), "'name' must be a string"),
]


@pytest.mark.parametrize("case,spec,words", BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_specs(tmp_path: Path, case: str, spec, words: str) -> None:
    path = write_spec(tmp_path, spec)
    with pytest.raises(BadInput) as err:
        load_job(str(path), JobOverrides())
    message = str(err.value)
    assert words in message, message
    assert str(path) in message and "\n" not in message


def test_non_utf8_spec(tmp_path: Path) -> None:
    path = write_spec(tmp_path, b'{"source_type": "repo", "x": "\xff\xfe"}')
    with pytest.raises(BadInput, match=r"not UTF-8 text \(invalid byte at offset 30\)"):
        load_job(str(path), JobOverrides())


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write_spec(tmp_path, b"\xef\xbb\xbf" + json.dumps(IMAGE_SPEC).encode())
    assert load_job(str(path), JobOverrides()).source.kind is SourceKind.IMAGE


# ---- precedence ----------------------------------------------------------------------------

ACCEL_Q = "127.0.0.1:5055/queue/cuda:12.1.1"
ACCEL_LEGACY = "127.0.0.1:5055/legacy/cuda:11.8.0"
ACCEL_SPEC = "127.0.0.1:5055/spec/cuda:12.1.1"
ACCEL_FLAG = "127.0.0.1:5055/flag/cuda:12.1.1"


def _queue(tmp_path: Path, builder: dict) -> Path:
    path = tmp_path / "queue.json"
    path.write_text(json.dumps({"builder": builder}))
    return path


@pytest.mark.parametrize("queue_builder,spec_builder,flag,expected,origin,detail_end", [
    ({"accelerator": {"base_image": ACCEL_Q}}, None, None, ACCEL_Q, Origin.QUEUE_CONFIG, "builder.accelerator.base_image"),
    ({"cuda": {"base_image": ACCEL_LEGACY}}, None, None, ACCEL_LEGACY, Origin.QUEUE_CONFIG, "builder.cuda.base_image"),
    ({"accelerator": {"base_image": ACCEL_Q}, "cuda": {"base_image": ACCEL_LEGACY}}, None, None, ACCEL_Q,
     Origin.QUEUE_CONFIG, "builder.accelerator.base_image"),
    ({"accelerator": {"base_image": ACCEL_Q}}, {"accelerator": {"base_image": ACCEL_SPEC}}, None, ACCEL_SPEC,
     Origin.JOB_SPEC, "builder.accelerator.base_image"),
    ({"cuda": {"base_image": ACCEL_LEGACY}}, {"cuda": {"base_image": ACCEL_SPEC}}, None, ACCEL_SPEC,
     Origin.JOB_SPEC, "builder.cuda.base_image"),
    ({"accelerator": {"base_image": ACCEL_Q}}, {"accelerator": {"base_image": ACCEL_SPEC}}, ACCEL_FLAG, ACCEL_FLAG,
     Origin.FLAG, "--base-image"),
    ({"accelerator": {"base_image": ACCEL_Q}}, None, ACCEL_FLAG, ACCEL_FLAG, Origin.FLAG, "--base-image"),
    ({"type": "kaniko", "destination": "x"}, None, None, None, None, None),
])
def test_accelerator_precedence(tmp_path: Path, queue_builder, spec_builder, flag, expected, origin, detail_end) -> None:
    spec = dict(REPO_SPEC, **({"builder": spec_builder} if spec_builder else {}))
    path = write_spec(tmp_path, spec)
    job = load_job(str(path), JobOverrides(accelerator_base_image=flag, queue_config=_queue(tmp_path, queue_builder)))
    if expected is None:
        assert job.accelerator_base_image is None
    else:
        assert job.accelerator_base_image.value == expected
        assert job.accelerator_base_image.origin is origin
        assert job.accelerator_base_image.detail.endswith(detail_end)


@pytest.mark.parametrize("origin,detail", [
    (Origin.CONFIG_FILE, "launchbuild.toml"), (Origin.ENV, "LAUNCHBUILD_PYTHON"), (Origin.FLAG, "--python"),
])
def test_options_layer_values_override_the_spec(tmp_path: Path, origin: Origin, detail: str) -> None:
    job = load_job(str(write_spec(tmp_path, REPO_SPEC)),
                   JobOverrides(python=Sourced("3.12", origin, detail),
                                entrypoint=Sourced("python other.py", origin, detail)))
    assert job.python == Sourced("3.12", origin, detail)
    assert job.entrypoint == Sourced(("python", "other.py"), origin, detail)


def test_default_origin_does_not_override_the_spec(tmp_path: Path) -> None:
    job = load_job(str(write_spec(tmp_path, dict(REPO_SPEC, source=dict(REPO_SPEC["source"], base_image="python:3.10-slim")))),
                   JobOverrides(python_base_image=Sourced("python:{python}-slim", Origin.DEFAULT, "default")))
    assert job.python_base_image.value == "python:3.10-slim" and job.python_base_image.origin is Origin.JOB_SPEC


def test_plain_override_values_are_flags(tmp_path: Path) -> None:
    job = load_job(str(tmp_path), JobOverrides(entrypoint=["python", "t.py"], python="3.11.9",
                                               python_base_image="python:{python}-slim", subdir="."))
    assert job.entrypoint == Sourced(("python", "t.py"), Origin.FLAG, "--entrypoint")
    assert job.python == Sourced("3.11", Origin.FLAG, "--python")
    assert job.python_base_image.detail == "--python-base-image" and job.subdir is None


@pytest.mark.parametrize("queue_text,words", [
    ("{", "malformed JSON at line 1"),
    ('{"builder": []}', "'builder' must be an object"),
    ('{"builder": {"accelerator": {"base_image": 3}}}', "'base_image' must be a string"),
    ('{"builder": {"cuda": {"base_image": "bad image"}}}', "builder.cuda.base_image"),
    (b"\xff", "not UTF-8"),
])
def test_bad_queue_config(tmp_path: Path, queue_text, words: str) -> None:
    path = tmp_path / "q.json"
    path.write_bytes(queue_text if isinstance(queue_text, bytes) else queue_text.encode())
    with pytest.raises(BadInput) as err:
        load_job(str(tmp_path), JobOverrides(queue_config=path))
    assert words in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("field", ["queue_config", "frozen", "run_metadata"])
def test_missing_files_named_by_flags(tmp_path: Path, field: str) -> None:
    with pytest.raises(BadInput, match="not found|does not exist"):
        load_job(str(tmp_path), JobOverrides(**{field: tmp_path / "missing.json"}))


@pytest.mark.parametrize("overrides,words", [
    (JobOverrides(python="3.x"), "--python: invalid Python version"),
    (JobOverrides(accelerator_base_image="a b"), "--base-image: image reference"),
    (JobOverrides(entrypoint=""), "--entrypoint: entrypoint is empty"),
    (JobOverrides(subdir="../up"), "--subdir: subdirectory"),
    (JobOverrides(python=Sourced("9", Origin.ENV, "LAUNCHBUILD_PYTHON")), "LAUNCHBUILD_PYTHON: invalid Python"),
])
def test_bad_overrides(tmp_path: Path, overrides: JobOverrides, words: str) -> None:
    with pytest.raises(BadInput, match=words.replace("(", r"\(")):
        load_job(str(tmp_path), overrides)


def test_require_entrypoint(tmp_path: Path) -> None:
    job = load_job(str(tmp_path), JobOverrides())
    with pytest.raises(BadInput, match="no entrypoint"):
        require_entrypoint(job)
    assert require_entrypoint(load_job(str(tmp_path), JobOverrides(entrypoint="python t.py"))) == ("python", "t.py")


# ---- properties: any input raises only our own errors ---------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
spec_like = st.fixed_dictionaries(
    {"source_type": st.sampled_from(["repo", "artifact", "image", "other"]) | json_values},
    optional={
        "source": st.fixed_dictionaries({}, optional={
            "git": st.fixed_dictionaries({}, optional={"remote": st.text(max_size=40) | json_values,
                                                      "commit": st.text(max_size=40) | json_values}) | json_values,
            "entrypoint": st.lists(st.text(max_size=10), max_size=3) | json_values,
            "image": st.text(max_size=40) | json_values,
            "base_image": st.text(max_size=40) | json_values,
            "subdir": st.text(max_size=20) | json_values,
        }) | json_values,
        "runtime": st.text(max_size=10) | json_values,
        "builder": json_values,
        "name": json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=spec_like)
def test_any_spec_object_raises_only_bad_input(tmp_path: Path, spec: dict) -> None:
    try:
        job = parse_job_spec(json.dumps(spec).encode(), tmp_path / "wandb-job.json")
    except BadInput as err:
        assert "\n" not in str(err)
    else:
        assert job.source.kind in SourceKind


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_spec_bytes_raise_only_bad_input(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(BadInput):
        parse_job_spec(data, tmp_path / "wandb-job.json")  # never a valid spec: no source_type


job_args = st.one_of(
    st.text(max_size=80),
    st.builds(lambda scheme, body: scheme + body,
              st.sampled_from(["https://", "http://", "ssh://", "file://", "git://", "ftp://", "image:", "git@h:"]),
              st.text(alphabet=string.printable, max_size=60)),
    st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=30), st.text(max_size=30)),
)


@settings(max_examples=500, deadline=None)
@given(arg=job_args)
def test_any_job_argument_raises_only_our_errors(arg: str) -> None:
    try:
        job = load_job(arg, JobOverrides())
    except LaunchbuildError as err:
        assert isinstance(err, BadInput) and "\n" not in str(err)
    else:
        assert job.source.kind in SourceKind


@settings(max_examples=300, deadline=None)
@given(ref=st.text(max_size=80))
def test_any_image_reference_raises_only_bad_input(ref: str) -> None:
    try:
        assert validate_image_ref(ref, "x") == ref
    except BadInput as err:
        assert "\n" not in str(err)
    else:
        assert not any(c.isspace() or c == "#" for c in ref)


def test_a_tilde_user_no_one_can_be_called_is_bad_input_not_a_traceback():
    # Found by the property test above: `~` then a NUL byte made Path.expanduser raise ValueError.
    with pytest.raises(BadInput, match="NUL"):
        load_job("~\x00", JobOverrides())
