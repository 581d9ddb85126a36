"""Bad input, end to end through the CLI (typer's runner on `launchbuild.cli.app`).

One table, one row per distinct bad input. Each row builds its input in a fresh directory,
runs the command, and asserts the documented outcome:

* exit 2 (bad input) or 3 (infrastructure): exactly one line, starting with `error:`,
  naming the input, with no traceback;
* exit 1 for the inputs the pipeline reports as findings (an unknown package or version is
  LB301, a script the entrypoint names but the source lacks is LB401, an image or tag that
  does not exist is an error finding): the finding is in the report, still no traceback;
* exit 0 with LB202 for a malformed NVIDIA_REQUIRE_CUDA inside an image: the user did not
  write it and cannot fix it except by choosing another image, so it is a warning that
  names the variable (exit 1 under --strict).

Rows that need the Docker engine / the local registry carry `docker`, rows that reach PyPI
carry `network`; the rest are pure and fast.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGISTRY = "127.0.0.1:5055"
SECRET = "s3cr3t-Canary-7f3a"
runner = CliRunner()


# --- inputs ------------------------------------------------------------------------------------


def job_dir(root: Path, *, requirements: bytes | str | None = None, toml: bytes | str | None = None,
            entrypoint: bool = True) -> Path:
    d = root / "job"
    d.mkdir()
    (d / "train.py").write_text("print('train')\n")
    if toml is None:
        toml = 'python = "3.11"\n' + ('entrypoint = "python train.py"\n' if entrypoint else "")
    (d / "launchbuild.toml").write_bytes(toml.encode() if isinstance(toml, str) else toml)
    if requirements is not None:
        data = requirements.encode() if isinstance(requirements, str) else requirements
        (d / "requirements.txt").write_bytes(data)
    return d


def req(text: bytes | str, *extra: str) -> Callable[[Path], list[str]]:
    return lambda root: ["check", str(job_dir(root, requirements=text)), "--offline", *extra]


def toml(text: bytes | str) -> Callable[[Path], list[str]]:
    return lambda root: ["check", str(job_dir(root, toml=text)), "--offline"]


def flags(*extra: str, command: str = "check") -> Callable[[Path], list[str]]:
    return lambda root: [command, str(job_dir(root)), *extra] + (["--offline"] if command == "check" else [])


def spec(content: bytes | str | object) -> Callable[[Path], list[str]]:
    def make(root: Path) -> list[str]:
        path = root / "wandb-job.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content))
        return ["show", str(path)]
    return make


def file_flag(flag: str, content: bytes | str | None) -> Callable[[Path], list[str]]:
    def make(root: Path) -> list[str]:
        path = root / "given.json"
        if content is not None:
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        return ["check", str(job_dir(root)), flag, str(path), "--offline"]
    return make


def _tar_member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b"x") -> tuple:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, (data if kind == tarfile.REGTYPE else None)


def tar(*members: tuple) -> Callable[[Path], list[str]]:
    def make(root: Path) -> list[str]:
        path = root / "code.tar.gz"
        with tarfile.open(path, "w:gz") as archive:
            archive.addfile(*_tar_member("train.py", data=b"print(1)\n")[:1], io.BytesIO(b"print(1)\n"))
            for info, data in members:
                archive.addfile(info, io.BytesIO(data) if data is not None else None)
        return ["check", str(path), "--entrypoint", "python train.py", "--offline"]
    return make


def zip_bomb(root: Path) -> list[str]:
    """A small zip whose headers declare 3.75 GiB: refused from the declared sizes, before a
    byte is inflated (the default limit is 2 GiB)."""
    path = root / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.py", b"print(1)\n")
        archive.writestr("zeros.bin", b"\0" * 65536)
    raw = bytearray(path.read_bytes())
    real, claimed = (65536).to_bytes(4, "little"), (0xF0000000).to_bytes(4, "little")
    assert raw.count(real) == 2  # local header and central directory
    path.write_bytes(bytes(raw.replace(real, claimed)))
    return ["check", str(path), "--entrypoint", "python train.py", "--offline"]


def symlink_outside(root: Path) -> list[str]:
    d = job_dir(root)
    (d / "data").symlink_to("/etc")
    return ["check", str(d), "--offline"]


def frozen_100k_bad_tail(root: Path) -> list[str]:
    """100k pins with one malformed line at the end: the error must name line 100001."""
    path = root / "requirements.frozen.txt"
    path.write_text("".join(f"pkg{i}==1.{i}\n" for i in range(100_000)) + "pkg-x>=[\n")
    return ["check", str(job_dir(root)), "--frozen", str(path), "--offline"]


def python_version_file(root: Path) -> list[str]:
    d = job_dir(root, toml='entrypoint = "python train.py"\n')
    (d / ".python-version").write_text("3.99\n")
    return ["check", str(d), "--offline"]


BAD_REQUIRE_CUDA_IMAGE = "launchbuild-reliability/bad-require-cuda:1"


def bad_require_cuda(strict: bool) -> Callable[[Path], list[str]]:
    def make(root: Path) -> list[str]:
        ctx = root / "image"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(
            "FROM launchbuild-test/cuda:12.1.1-runtime-ubuntu22.04\n"
            'ENV NVIDIA_REQUIRE_CUDA="cuda>=twelve brand=tesla,driver>=470"\n')
        subprocess.run(["docker", "build", "-q", "-t", BAD_REQUIRE_CUDA_IMAGE, str(ctx)], check=True,
                       capture_output=True, timeout=120)
        return ["check", str(job_dir(root)), "--base-image", BAD_REQUIRE_CUDA_IMAGE, "--gpu", "H100",
                "--driver", "535.104.05"] + (["--strict"] if strict else [])
    return make


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], list[str]]
    exit_code: int
    needles: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # must appear nowhere in the output (secrets)


D, N = pytest.mark.docker, pytest.mark.network

CASES = [
    # requirements lines
    pytest.param(Case(req("requests>=\n"), 2, ("requests>=", "requirements.txt:1")), id="req-dangling-operator"),
    pytest.param(Case(req("requests[\n"), 2, ("requests[", "requirements.txt:1")), id="req-open-extras"),
    pytest.param(Case(req("==1.0\n"), 2, ("==1.0", "package name")), id="req-no-name"),
    pytest.param(Case(req('pkg; python_version >>> "3"\n'), 2, ("requirements.txt:1",)), id="req-bad-marker"),
    pytest.param(Case(req("pkg==1.0 --hash=sha256:zz\n"), 2, ("sha256:zz",)), id="req-malformed-hash"),
    pytest.param(Case(req("-e\n"), 2, ("-e", "requirements.txt:1")), id="req-option-without-value"),
    pytest.param(Case(req("--frobnicate\n"), 2, ("--frobnicate",)), id="req-unknown-option"),
    pytest.param(Case(req("-r missing.txt\n"), 2, ("missing.txt",)), id="req-missing-include"),
    pytest.param(Case(req(b"\x00\x01\x02\xff\xfe\x89PNG\r\n"), 2, ("requirements.txt", "UTF-8")), id="req-binary"),
    pytest.param(Case(req("r\xe9quests==1.0\n".encode("latin-1")), 2, ("requirements.txt", "UTF-8")), id="req-latin1"),
    pytest.param(Case(lambda r: ["check", str(job_dir(r, requirements="requests==2.31.0\nrequests==2.30.0\n"))],
                      1, ("LB301", "requests")), id="req-contradictory-pins", marks=N),
    pytest.param(Case(lambda r: ["check", str(job_dir(r, requirements="launchbuild-no-such-package-q7x==1.0\n"))],
                      1, ("LB301", "launchbuild-no-such-package-q7x")), id="req-unknown-package", marks=N),
    pytest.param(Case(lambda r: ["check", str(job_dir(r, requirements="requests==0.0.999\n"))],
                      1, ("LB301", "requests")), id="req-nonexistent-version", marks=N),
    # Python versions
    pytest.param(Case(flags("--python", "2.7"), 2, ("2.7", "--python")), id="python-2"),
    pytest.param(Case(flags("--python", "3.99"), 2, ("3.99", "3.13")), id="python-unsupported"),
    pytest.param(Case(flags("--python", "three"), 2, ("three",)), id="python-word"),
    pytest.param(Case(toml("python = 3.11\n"), 2, ("python", "str")), id="python-toml-float"),
    pytest.param(Case(python_version_file, 2, ("3.99",)), id="python-version-file"),
    # GPUs, drivers, platform
    pytest.param(Case(flags("--gpu", "RTX9999"), 2, ("RTX9999", "compute capability")), id="gpu-unknown-name"),
    pytest.param(Case(flags("--gpu", "sm_999"), 2, ("sm_999",)), id="gpu-unknown-cc"),
    pytest.param(Case(flags("--driver", "535"), 2, ("535", "535.104.05")), id="driver-one-part"),
    pytest.param(Case(flags("--driver", "535.abc.05"), 2, ("535.abc.05",)), id="driver-letters"),
    pytest.param(Case(flags("--driver", "-1"), 2, ("-1",)), id="driver-negative"),
    pytest.param(Case(toml('platform = "linux/s390x"\nentrypoint = "python train.py"\n'), 2, ("linux/s390x", "linux/amd64")),
                 id="platform-unsupported"),
    # option files and environment
    pytest.param(Case(toml('python = "3.11\n'), 2, ("launchbuild.toml", "TOML")), id="toml-syntax"),
    pytest.param(Case(toml(b"py\xe9 = 1\n"), 2, ("launchbuild.toml", "UTF-8")), id="toml-latin1"),
    pytest.param(Case(flags(), 2, ("LAUNCHBUILD_UID",), env={"LAUNCHBUILD_UID": "root"}), id="env-wrong-type"),
    pytest.param(Case(flags("--ignore", "LB999"), 2, ("LB999",)), id="ignore-unknown-rule"),
    pytest.param(Case(flags("--uid", "0", command="build"), 2, ("uid", "--uid 1000")), id="build-uid-root"),
    # job specs, queue config, run metadata
    pytest.param(Case(spec('{"source_type": "repo", "source": {'), 2, ("wandb-job.json", "JSON")), id="spec-truncated-json"),
    pytest.param(Case(spec([1, 2]), 2, ("wandb-job.json", "array")), id="spec-array"),
    pytest.param(Case(spec({"source_type": "repo", "source": {"git": {"remote": 5}}}), 2, ("remote", "string")),
                 id="spec-wrong-type-remote"),
    pytest.param(Case(spec({"source_type": "artifact", "source": {"artifact": "x"}, "runtime": 3}), 2, ("runtime",)),
                 id="spec-wrong-type-runtime"),
    pytest.param(Case(spec({"source_type": "notebook", "source": {}}), 2, ("notebook",)), id="spec-unknown-source-type"),
    pytest.param(Case(spec(b"\xff\xfe\x00{"), 2, ("wandb-job.json", "UTF-8")), id="spec-not-utf8"),
    pytest.param(Case(file_flag("--queue-config", "{"), 2, ("queue config", "JSON")), id="queue-config-truncated"),
    pytest.param(Case(file_flag("--queue-config", '{"builder": {"accelerator": {"base_image": 5}}}'), 2, ("base_image",)),
                 id="queue-config-wrong-type"),
    pytest.param(Case(file_flag("--run-metadata", "{"), 2, ("run metadata", "JSON")), id="run-metadata-truncated"),
    pytest.param(Case(file_flag("--frozen", None), 2, ("--frozen", "given.json")), id="frozen-missing"),
    pytest.param(Case(frozen_100k_bad_tail, 2, ("100001",)), id="frozen-100k-bad-tail"),
    # sources
    pytest.param(Case(lambda r: ["show", str(r / "nope")], 2, ("nope",)), id="job-path-missing"),
    pytest.param(Case(flags("--ref", ".."), 2, ("--ref", "..")), id="ref-dotdot"),
    pytest.param(Case(flags("--subdir", "../x"), 2, ("--subdir", "../x")), id="subdir-escape"),
    pytest.param(Case(tar(_tar_member("/etc/evil")), 2, ("code.tar.gz", "/etc/evil")), id="tar-absolute"),
    pytest.param(Case(tar(_tar_member("../evil")), 2, ("code.tar.gz", "../evil")), id="tar-dotdot"),
    pytest.param(Case(tar(_tar_member("link", tarfile.SYMTYPE, "/etc/passwd")), 2, ("code.tar.gz", "link")),
                 id="tar-symlink-escape"),
    pytest.param(Case(tar(_tar_member("hard", tarfile.LNKTYPE, "../../etc/passwd")), 2, ("code.tar.gz", "hard")),
                 id="tar-hardlink-escape"),
    pytest.param(Case(tar(_tar_member("dev", tarfile.CHRTYPE)), 2, ("code.tar.gz", "dev")), id="tar-device"),
    pytest.param(Case(zip_bomb, 2, ("bomb.zip", "limit")), id="zip-bomb"),
    pytest.param(Case(symlink_outside, 2, ("symlink", "/etc")), id="code-dir-symlink-outside"),
    pytest.param(Case(flags("--entrypoint", ""), 2, ("--entrypoint", "empty")), id="entrypoint-empty"),
    pytest.param(Case(lambda r: ["build", str(job_dir(r, entrypoint=False))], 2, ("entrypoint",)), id="entrypoint-missing"),
    pytest.param(Case(flags("--entrypoint", "python missing.py", command="build"), 1, ("LB401", "missing.py"), ),
                 id="entrypoint-script-missing", marks=D),
    pytest.param(Case(lambda r: ["check", f"https://user:{SECRET}@127.0.0.1:9/team/repo.git", "--verbose"], 3,
                      ("127.0.0.1:9", "***"), absent=(SECRET,)), id="git-url-credentials"),
    pytest.param(Case(lambda r: ["check", f"https://{SECRET}@127.0.0.1:9/team/repo.git@main"], 3,
                      ("127.0.0.1:9",), absent=(SECRET,)), id="git-url-token"),
    # images
    pytest.param(Case(lambda r: ["inspect", "not a valid ref"], 2, ("not a valid ref",)), id="image-ref-invalid"),
    pytest.param(Case(lambda r: ["inspect", f"{REGISTRY}/launchbuild-test/nothere:1"], 2, ("nothere", "not found")),
                 id="image-nonexistent", marks=D),
    pytest.param(Case(lambda r: ["inspect", f"{REGISTRY}/launchbuild-test/debian:nosuchtag"], 2, ("nosuchtag", "not found")),
                 id="image-tag-nonexistent", marks=D),
    pytest.param(Case(lambda r: ["check", str(job_dir(r)), "--base-image", f"{REGISTRY}/launchbuild-test/debian:nosuchtag"],
                 1, ("nosuchtag", "not found")),
                 id="check-base-image-tag-nonexistent", marks=D),
    pytest.param(Case(bad_require_cuda(strict=False), 0, ("LB202", "NVIDIA_REQUIRE_CUDA", "twelve")),
                 id="image-bad-require-cuda", marks=D),
    pytest.param(Case(bad_require_cuda(strict=True), 1, ("LB202", "NVIDIA_REQUIRE_CUDA")),
                 id="image-bad-require-cuda-strict", marks=D),
]


@pytest.fixture(scope="module", autouse=True)
def _remove_built_image():
    yield
    subprocess.run(["docker", "rmi", "-f", BAD_REQUIRE_CUDA_IMAGE], capture_output=True, timeout=60)


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: Case, tmp_path: Path) -> None:
    args = case.make(tmp_path)
    result = runner.invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": "400", **case.env})
    output = result.output
    assert result.exit_code == case.exit_code, output
    assert "Traceback" not in output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), repr(result.exception)
    if case.exit_code in (2, 3):
        # Plain progress lines ("==> ...", no TTY here) are progress, not errors.
        lines = [line for line in output.splitlines() if line.strip() and not line.startswith("==> ")]
        assert len(lines) == 1, output
        assert lines[0].startswith("error:"), output
    for needle in case.needles:
        assert needle in output, (needle, output)
    for secret in case.absent:
        assert secret not in output


def test_bad_input_count() -> None:
    assert len(CASES) >= 40
    print(f"\n{len(CASES)} distinct bad inputs through the CLI")


def test_frozen_100k_lines_parse_and_clean_fast() -> None:
    """Parse + clean of a 100k-line frozen list. Printed for the record; the bound is only
    a sanity guard against quadratic behaviour, not a benchmark. It counts this process's
    own CPU time (process_time), which CPU hogs beside the suite do not stretch."""
    from launchbuild.resolver.cleaning import OwnSource, clean_run_list
    from launchbuild.resolver.model import Target
    from launchbuild.resolver.requirements import parse_text

    text = "".join(f"pkg{i}==1.{i % 100}.{i}\n" for i in range(100_000))
    start = time.process_time()
    parsed = parse_text(text, "requirements.frozen.txt", base_dir=Path("/work"))
    cleaned = clean_run_list(parsed.requirements, Target(python="3.11", platform="linux/amd64"), OwnSource(),
                             "https://download.pytorch.org/whl")
    elapsed = time.process_time() - start
    print(f"\nparse+clean of 100k frozen lines: {elapsed:.2f}s")
    assert len(cleaned.requirements) == 100_000
    assert elapsed < 30
