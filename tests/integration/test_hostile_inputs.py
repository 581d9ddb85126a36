"""Hostile inputs, end to end through the real `launchbuild` command as a subprocess.

One table, one row per hostile input of the classes the bounds cover: resource bombs and
deep input (YAML aliases, huge integers, 3000-deep JSON/TOML/YAML, 1100-deep trees,
1200-deep archive members, tar extended headers too large to hold, corrupt compressed
members, symlink loops, wrongly typed TOML),
output forging and markup (control characters, `[/]`, lone surrogates), operator mistakes
(FIFOs, devices, directories and unreadable files in place of files, unicode digits and
out-of-range numbers), and a hostile registry on 127.0.0.1 (one byte a second, malformed
shapes). Each row asserts:

* the exit code (2 for the job's or operator's input, 3 for infrastructure, 0 where the
  hostile text must simply be printed literally);
* for exit 2/3: exactly one stderr line, starting with `error:`, bounded in length;
* never a traceback.

The process must finish on its own: the subprocess timeout is only a safety net against a
hang, far above what any row needs (the registry rows run with a 1.5 s network deadline).
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from tests.fakeregistry import OCI_INDEX, OCI_MANIFEST, FakeRegistry

LAUNCHBUILD = str(Path(sys.executable).with_name("launchbuild"))
SAFETY_NET_S = 120  # a hang guard, not the assertion: rows finish in seconds
MAX_ERROR_CHARS = 1200  # limits.MAX_MESSAGE plus the "error: " prefix and rich's wrapping slack
SHA0 = "sha256:" + "0" * 64


@dataclass(frozen=True)
class Row:
    id: str
    build: Callable[[Path], list[str]]  # makes the input under a fresh dir, returns argv
    exit: int
    env: dict[str, str] = field(default_factory=dict)
    stdout_has: str | None = None  # for exit 0 rows: the hostile text, printed literally
    marks: tuple = ()


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, NO_COLOR="1", COLUMNS="200", LAUNCHBUILD_CACHE_DIR=str(cwd / ".cache"), **env)
    return subprocess.run([LAUNCHBUILD, *argv], capture_output=True, text=True, errors="replace",
                          env=full_env, cwd=cwd, timeout=SAFETY_NET_S, stdin=subprocess.DEVNULL)


# --- inputs ------------------------------------------------------------------------------------


def code(root: Path, files: dict[str, str | bytes] | None = None, name: str = "job") -> Path:
    d = root / name
    d.mkdir(exist_ok=True)
    (d / "train.py").write_text("print('train')\n")
    for rel, data in (files or {}).items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return d


def check_job(files: dict[str, str | bytes], *extra: str) -> Callable[[Path], list[str]]:
    return lambda root: ["check", str(code(root, files)), "--offline", "--python", "3.11", *extra]


def spec_file(root: Path, text: str | bytes, name: str = "wandb-job.json") -> Path:
    p = root / name
    p.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return p


def check_with(option: str, make: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    return lambda root: ["check", str(code(root)), "--offline", "--python", "3.11", option, str(make(root))]


def fifo(root: Path, name: str = "fifo.json") -> Path:
    p = root / name
    os.mkfifo(p)
    return p


def a_dir(root: Path, name: str = "dir.json") -> Path:
    p = root / name
    p.mkdir()
    return p


def unreadable(root: Path, name: str = "unreadable.json") -> Path:
    """A regular file whose read fails even for root: /proc/self/mem reads EIO at offset 0.
    (Tests run as root, for whom mode 000 is readable; this is the honest stand-in.)"""
    p = root / name
    p.symlink_to("/proc/self/mem")
    return p


def written(text: str | bytes, name: str) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        p = root / name
        p.write_bytes(text.encode() if isinstance(text, str) else text)
        return p
    return make


BILLION_LAUGHS = (  # the 342-byte class of bomb: 9^6 strings from a few lines
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ndependencies: [*f]\n"
)
DEEP = 3000
BIG_INT = "9" * 5000


def deep_tree(root: Path) -> list[str]:
    d = code(root)
    here = str(d)
    for _ in range(1100):  # one level at a time: Path.mkdir(parents=True) itself recurses
        here += "/d"
        os.mkdir(here)
    Path(here, "f.py").write_text("x = 1\n")
    return ["check", str(d), "--offline", "--python", "3.11"]


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def archive(name: str, data: Callable[[], bytes]) -> Callable[[Path], list[str]]:
    def build(root: Path) -> list[str]:
        p = root / name
        p.write_bytes(data())
        return ["check", str(p), "--offline", "--python", "3.11"]
    return build


def _longname_bomb() -> bytes:
    """A GNU long-name header claiming 8 MiB: tarfile reads such a header whole into memory."""
    long = tarfile.TarInfo("././@LongLink")
    long.type, long.size = tarfile.GNUTYPE_LONGNAME, 8 * 1024 * 1024
    return long.tobuf(tarfile.GNU_FORMAT) + b"a" * long.size + tarfile.TarInfo("x").tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024


def _deep_member() -> dict[str, bytes]:
    return {"train.py": b"x = 1\n", "/".join(["d"] * 1200) + "/f.py": b"x = 1\n"}


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _corrupt(data: bytes, *offsets: int) -> bytes:
    out = bytearray(data)
    for offset in offsets:
        out[offset % len(out)] ^= 0xFF
    return bytes(out)


def _corrupt_zip(method: int) -> bytes:
    data = _zip({"train.py": b"x = 1\n" * 2000}, method)
    return _corrupt(data, 60, 70, 80)


def _corrupt_xz_tar() -> bytes:
    xz = lzma.compress(_tar_bytes({"train.py": b"x = 1\n" * 2000}))
    return _corrupt(xz, len(xz) // 2, len(xz) // 2 + 7)


def _corrupt_gz_tar() -> bytes:
    import gzip

    gz = gzip.compress(_tar_bytes({"train.py": b"x = 1\n" * 2000}))
    return _corrupt(gz, 30, 40, 50)


def _corrupt_bz2_tar() -> bytes:
    data = bz2.compress(_tar_bytes({"train.py": b"x = 1\n" * 2000}))
    return _corrupt(data, len(data) // 2)


def symlink_loop(root: Path) -> list[str]:
    d = code(root)
    os.symlink("b", d / "a")
    os.symlink("a", d / "b")
    return ["build", str(d), "--offline", "--python", "3.11", "--entrypoint", "python train.py", "--force"]


def symlink_chain(root: Path) -> list[str]:
    d = code(root)
    os.symlink("train.py", d / "l0")
    for i in range(1, 1100):
        os.symlink(f"l{i - 1}", d / f"l{i}")
    return ["check", str(d), "--offline", "--python", "3.11"]


def show_spec(spec: dict | str) -> Callable[[Path], list[str]]:
    text = spec if isinstance(spec, str) else json.dumps(spec)
    return lambda root: ["show", str(spec_file(root, text))]


def git_spec(remote: str) -> str:
    return json.dumps({"source_type": "repo", "source": {"git": {"remote": remote, "commit": "a" * 40},
                                                         "entrypoint": ["python", "train.py"]}})


MARKUP = "[/]x[bold]y[/bold][link=file:///etc/passwd]z"


def dockerfile_to(make: Callable[[Path], str]) -> Callable[[Path], list[str]]:
    return lambda root: ["dockerfile", str(code(root)), "--offline", "--python", "3.11",
                         "--entrypoint", "python train.py", "-o", make(root)]


def dockerfile_with(*extra: str) -> Callable[[Path], list[str]]:
    return lambda root: ["dockerfile", str(code(root)), "--offline", "--python", "3.11",
                         "--entrypoint", "python train.py", *extra]


def _loop(root: Path, name: str) -> Path:
    p = root / name
    p.symlink_to(name)
    return p


def _with_loop(job: Path) -> Path:
    (job / "lp").symlink_to("lp")
    return job


def dockerfile_with_made(option: str, make: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    return lambda root: ["dockerfile", str(code(root)), "--offline", "--python", "3.11",
                         "--entrypoint", "python train.py", option, str(make(root))]


ROWS: list[Row] = [
    # --- resource bombs and deep input: exit 2 ---
    Row("yaml-alias-bomb", check_job({"environment.yml": BILLION_LAUGHS}), 2),
    Row("yaml-alias-in-pip-list", check_job({"environment.yml": "x: &p [numpy]\ndependencies:\n  - pip: *p\n"}), 2),
    Row("yaml-merge-key-alias", check_job({"environment.yml": "b: &b {a: 1}\nc:\n  <<: *b\ndependencies: []\n"}), 2),
    Row("yaml-flow-3000-deep", check_job({"environment.yml": "dependencies: " + "[" * DEEP + "]" * DEEP + "\n"}), 2),
    Row("yaml-block-3000-deep", check_job({"environment.yml": "dependencies:\n" + "- " * DEEP + "x\n"}), 2),
    Row("yaml-huge-int", check_job({"environment.yml": f"dependencies: [{BIG_INT}]\n"}), 2),
    Row("yaml-not-utf8", check_job({"environment.yml": b"dependencies: [\xff\xfe]\n"}), 2),
    Row("yaml-25mb-one-line-entry", check_job({"environment.yml": "dependencies: [{x: " + "y" * 5_000_000 + "}]\n"}), 2),
    Row("spec-huge-int", lambda r: ["check", str(spec_file(r, '{"source_type": "repo", "x": ' + BIG_INT + "}")), "--offline"], 2),
    Row("spec-3000-deep", lambda r: ["check", str(spec_file(r, "[" * DEEP + "]" * DEEP)), "--offline"], 2),
    Row("spec-huge-string-echoed", lambda r: ["check", str(spec_file(r, json.dumps({"source_type": "x" * 5_000_000}))), "--offline"], 2),
    Row("queue-config-huge-int", check_with("--queue-config", written('{"builder": ' + BIG_INT + "}", "q.json")), 2),
    Row("queue-config-3000-deep", check_with("--queue-config", written("{\"a\":" * DEEP + "1" + "}" * DEEP, "q.json")), 2),
    Row("run-metadata-huge-int", check_with("--run-metadata", written('{"gpu_count": ' + BIG_INT + "}", "m.json")), 2),
    Row("run-metadata-3000-deep", check_with("--run-metadata", written("[" * DEEP + "]" * DEEP, "m.json")), 2),
    Row("toml-3000-deep-array", check_job({"launchbuild.toml": "a = " + "[" * DEEP + "]" * DEEP + "\n"}), 2),
    Row("toml-3000-deep-inline-table", check_job({"pyproject.toml": "a = " + "{b = " * DEEP + "1" + "}" * DEEP + "\n"}), 2),
    Row("toml-huge-int", check_job({"launchbuild.toml": f"uid = {BIG_INT}\n"}), 2),
    Row("toml-tool-is-int", check_job({"pyproject.toml": "tool = 5\n"}), 2),
    Row("toml-tool-is-array", check_job({"launchbuild.toml": "tool = [1, 2]\n"}), 2),
    Row("toml-tool-launchbuild-not-table", check_job({"pyproject.toml": "[tool]\nlaunchbuild = 5\n"}), 2),
    Row("toml-project-is-int", check_job({"pyproject.toml": "project = 5\n"}), 2),
    Row("toml-dynamic-is-int", check_job({"pyproject.toml": '[project]\nname = "x"\ndynamic = 5\n'}), 2),
    Row("toml-dynamic-is-table", check_job({"pyproject.toml": '[project]\nname = "x"\n[project.dynamic]\na = 1\n'}), 2),
    # Lock and Pipfile TOML goes through the same bounded reader as the job's config.
    Row("uv-lock-huge-int", check_job({"pyproject.toml": '[project]\nname = "j"\nversion = "1"\n', "uv.lock": f"version = {BIG_INT}\n"}), 2),
    Row("uv-lock-3000-deep", check_job({"pyproject.toml": '[project]\nname = "j"\nversion = "1"\n',
                                        "uv.lock": "a = " + "[" * DEEP + "]" * DEEP + "\n"}), 2),
    Row("pylock-huge-int", check_job({"pylock.toml": f"lock-version = {BIG_INT}\n"}), 2),
    Row("pipfile-3000-deep-inline-table", check_job({"Pipfile": "a = " + "{b = " * DEEP + "1" + "}" * DEEP + "\n"}), 2),
    Row("pipfile-not-utf8", check_job({"Pipfile": b"[packages]\nsix = \"\xff\"\n"}), 2),
    # Bombs by count: each dependency used to re-split the whole file to find its line (quadratic).
    Row("pyproject-100000-dependencies", check_job({"pyproject.toml": '[project]\nname = "j"\nversion = "1"\ndependencies = ['
                                                    + ",".join(f'"p{i}"' for i in range(100_000)) + "]\n"}), 2),
    Row("setup-cfg-100000-lines", check_job({"setup.cfg": "[options]\ninstall_requires =\n" + "    six\n" * 100_000}), 3),
    Row("toml-not-utf8", check_job({"launchbuild.toml": b'python = "\xff"\n'}), 2),
    Row("code-tree-1100-deep", deep_tree, 2),
    Row("tar-member-1200-deep", archive("deep.tar.gz", lambda: __import__("gzip").compress(_tar_bytes(_deep_member()))), 2),
    Row("tar-longname-header-bomb", archive("hdr.tar.gz", lambda: __import__("gzip").compress(_longname_bomb())), 2),
    Row("zip-member-1200-deep", archive("deep.zip", lambda: _zip(_deep_member())), 2),
    Row("corrupt-xz-in-tar", archive("xz.tar", _corrupt_xz_tar), 2),
    Row("corrupt-gzip-tar", archive("c.tar.gz", _corrupt_gz_tar), 2),
    Row("corrupt-bz2-in-tar", archive("b.tar", _corrupt_bz2_tar), 2),
    Row("corrupt-lzma-zip-member", archive("l.zip", lambda: _corrupt_zip(zipfile.ZIP_LZMA)), 2),
    Row("corrupt-bzip2-zip-member", archive("b.zip", lambda: _corrupt_zip(zipfile.ZIP_BZIP2)), 2),
    Row("corrupt-deflate-zip-member", archive("d.zip", lambda: _corrupt_zip(zipfile.ZIP_DEFLATED)), 2),
    Row("symlink-loop-at-build", symlink_loop, 2, marks=(pytest.mark.docker,)),
    Row("symlink-chain-1100-long", symlink_chain, 2),
    # --- output forging and markup ---
    Row("git-url-newline", lambda r: ["check", "https://example.invalid/a.git\nerror: forged", "--offline"], 2),
    Row("git-url-escape-sequence", lambda r: ["check", "https://example.invalid/a.git\x1b[2J", "--offline"], 2),
    Row("git-url-carriage-return", lambda r: ["show", "git@example.invalid:a/b.git\rerror: forged"], 2),
    Row("spec-git-remote-newline", show_spec(git_spec("https://example.invalid/a.git\nerror: forged")), 2),
    Row("job-arg-newline", lambda r: ["check", "no-such\nerror: forged", "--offline"], 2),
    Row("job-arg-invalid-utf8", lambda r: ["show", os.fsdecode(b"no-such-\xff\xfe")], 2),
    Row("entrypoint-invalid-utf8", dockerfile_with("--entrypoint", os.fsdecode(b"python \xff.py")), 2),
    Row("ignore-invalid-utf8", lambda r: ["check", str(code(r)), "--offline", "--python", "3.11",
                                          "--ignore", os.fsdecode(b"LB\xff")], 2),
    Row("report-for-a-non-utf8-path-is-written", lambda r: ["check", str(code(r, name=os.fsdecode(b"job-\xff"))),
                                                             "--offline", "--python", "3.11", "-f", "json",
                                                             "-o", str(r / "report.json")], 0),
    Row("show-entrypoint-markup", lambda r: ["show", str(code(r)), "--entrypoint", MARKUP], 0, stdout_has="[/]x[bold]y"),
    Row("show-spec-markup-and-surrogate", show_spec(
        '{"source_type": "repo", "source": {"git": {"remote": "https://example.invalid/a.git", "commit": "'
        + "a" * 40 + '"}, "entrypoint": ["python", "[/]x[bold]\\ud800"]}}'), 0, stdout_has="[/]x[bold]"),
    Row("show-verbose-markup", lambda r: ["show", str(code(r)), "-v", "--entrypoint", MARKUP], 0, stdout_has="[/]x[bold]y"),
    Row("check-verbose-markup", lambda r: ["check", str(code(r)), "--offline", "--python", "3.11", "-v",
                                            "--entrypoint", MARKUP], 0),
    # --- operator mistakes: exit 2 ---
    Row("uid-superscript-digit", dockerfile_with(), 2, env={"LAUNCHBUILD_UID": "²"}),
    Row("uid-arabic-indic-digit", dockerfile_with(), 2, env={"LAUNCHBUILD_UID": "٣"}),
    Row("uid-env-huge", dockerfile_with(), 2, env={"LAUNCHBUILD_UID": "9" * 30}),
    Row("uid-flag-2-to-the-32", dockerfile_with("--uid", "4294967296"), 2),
    Row("uid-flag-negative", dockerfile_with("--uid", "-1"), 2),
    Row("uid-flag-huge", dockerfile_with("--uid", "9" * 40), 2),
    Row("uid-flag-not-a-number", dockerfile_with("--uid", "abc"), 2),
    Row("uid-flag-float-syntax", dockerfile_with("--uid", "1e3"), 2),
    Row("uid-flag-arabic-indic-digits", dockerfile_with("--uid", "١٢"), 2),
    Row("queue-config-dev-zero", check_with("--queue-config", lambda r: Path("/dev/zero")), 2),
    Row("queue-config-fifo", check_with("--queue-config", fifo), 2),
    Row("queue-config-directory", check_with("--queue-config", a_dir), 2),
    Row("queue-config-unreadable", check_with("--queue-config", unreadable), 2),
    Row("run-metadata-fifo", check_with("--run-metadata", fifo), 2),
    Row("run-metadata-unreadable", check_with("--run-metadata", unreadable), 2),
    Row("job-spec-fifo", lambda r: ["check", str(fifo(r, "wandb-job.json")), "--offline"], 2),
    Row("job-spec-unreadable", lambda r: ["show", str(unreadable(r, "wandb-job.json"))], 2),
    Row("job-dev-zero", lambda r: ["check", "/dev/zero", "--offline"], 2),
    Row("requirements-dev-zero", check_with("--requirements", lambda r: Path("/dev/zero")), 2),
    Row("frozen-fifo", check_with("--frozen", lambda r: fifo(r, "frozen.txt")), 2),
    Row("usage-error-huge-value", lambda r: ["check", str(code(r)), "--format", "x" * 100_000], 2),
    Row("usage-error-unknown-option", lambda r: ["check", str(code(r)), "--no-such-option\nerror: forged"], 2),
    Row("output-is-a-directory", dockerfile_to(lambda r: str(r)), 2),
    Row("output-under-a-file", dockerfile_to(lambda r: str(code(r) / "train.py" / "Dockerfile")), 2),
    # A FIFO nobody reads as --output: one line, never a hang (limits.write_output opens it non-blocking).
    Row("output-fifo-without-reader", dockerfile_to(lambda r: str(fifo(r, "Dockerfile"))), 2),
    Row("report-output-fifo-without-reader", lambda r: ["check", str(code(r)), "--offline", "--python", "3.11",
                                                         "-f", "json", "-o", str(fifo(r, "report.json"))], 2),
    Row("report-output-empty-several-formats", lambda r: ["check", str(code(r)), "--offline", "--python", "3.11",
                                                           "-f", "json", "-f", "sarif", "-o", ""], 2),
    Row("config-symlink-loop", check_with("--config", lambda r: _loop(r, "ops.toml")), 2),
    Row("queue-config-symlink-loop", check_with("--queue-config", lambda r: _loop(r, "q.json")), 2),
    Row("requirements-proc-environ", check_with("--requirements", lambda r: Path("/proc/self/environ")), 2),
    Row("frozen-proc-environ", check_with("--frozen", lambda r: Path("/proc/self/environ")), 2),
    Row("requirement-path-with-nul", check_job({"requirements.txt": "six\n./wheels/a\x00b.whl\n"}), 2),
    Row("requirement-path-through-symlink-loop", lambda r: ["check", str(_with_loop(code(r, {"requirements.txt": "./lp/x\n"}))),
                                                             "--offline", "--python", "3.11"], 2),
    Row("ca-bundle-unreadable", dockerfile_with_made("--ca-bundle", unreadable), 2),
    Row("ca-bundle-fifo", dockerfile_with_made("--ca-bundle", lambda r: fifo(r, "ca.pem")), 2),
]


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id, marks=r.marks) for r in ROWS])
def test_hostile_input(row: Row, tmp_path: Path) -> None:
    try:
        proc = run(row.build(tmp_path), row.env, tmp_path)
    finally:  # rm, not shutil.rmtree: the 1100-deep tree is deeper than Python's recursion limit
        subprocess.run(["rm", "-rf", str(tmp_path / "job")], check=False)
    assert_outcome(proc, row.exit, row.stdout_has)


def assert_outcome(proc: subprocess.CompletedProcess[str], exit_code: int, stdout_has: str | None = None) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    assert proc.returncode == exit_code, (proc.returncode, proc.stderr[-2000:])
    if exit_code in (2, 3):
        lines = [line for line in proc.stderr.splitlines() if not line.startswith("==> ")]  # progress lines
        assert len(lines) == 1, proc.stderr[-3000:]
        assert lines[0].startswith("error: ")
        assert len(lines[0]) <= MAX_ERROR_CHARS, len(lines[0])
    if stdout_has is not None:
        assert stdout_has in proc.stdout, proc.stdout[-2000:]


def test_table_has_at_least_45_rows() -> None:
    assert len(ROWS) + len(REGISTRY_ROWS) >= 45


# --- a hostile registry on 127.0.0.1 ---------------------------------------------------------------


def _manifest(config_digest: str = SHA0, layers: object = ()) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 2},
                       "layers": list(layers) if isinstance(layers, tuple) else layers}).encode()


def _index(manifests: object) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()


@dataclass(frozen=True)
class RegistryRow:
    id: str
    setup: Callable[[FakeRegistry], None]  # serves "t/a:1"
    exit: int = 3


def raw(body: bytes, media: str = OCI_MANIFEST) -> Callable[[FakeRegistry], None]:
    return lambda reg: reg.add_raw_manifest("t/a", "1", media, body)


def config(body: bytes | str) -> Callable[[FakeRegistry], None]:
    data = body.encode() if isinstance(body, str) else body
    return lambda reg: reg.add_image_with_config("t/a", "1", data)


def fault(name: str) -> Callable[[FakeRegistry], None]:
    def setup(reg: FakeRegistry) -> None:
        reg.add_image("t/a", "1", layers=[{"etc/os-release": b"ID=debian\n"}])
        reg.fault = name
    return setup


def layer_longer_than_declared(reg: FakeRegistry) -> None:
    from tests.fakeregistry import OCI_LAYER_GZIP, build_layer

    blob = reg.add_blob(build_layer({"etc/os-release": b"ID=debian\n" * 5000}))
    reg.add_image_with_config("t/a", "1", b'{"architecture": "amd64", "config": {}}',
                              layers=[{"mediaType": OCI_LAYER_GZIP, "digest": blob["digest"], "size": 10}])


REGISTRY_ROWS: list[RegistryRow] = [
    RegistryRow("layer-longer-than-declared", layer_longer_than_declared),
    RegistryRow("one-byte-a-second-headers", fault("drip-headers")),
    RegistryRow("one-byte-a-second-body", fault("drip-body")),
    RegistryRow("manifest-is-a-number", raw(b"5")),
    RegistryRow("manifest-is-a-list", raw(b"[1, 2]")),
    RegistryRow("manifest-not-json", raw(b"{nope")),
    RegistryRow("manifest-3000-deep", raw(b"[" * 100_000 + b"]" * 100_000)),
    RegistryRow("manifest-huge-int", raw(b'{"schemaVersion": ' + BIG_INT.encode() + b"}")),
    RegistryRow("layers-is-a-number", raw(_manifest(layers=5))),
    RegistryRow("layer-is-a-number", raw(_manifest(layers=[5]))),
    RegistryRow("layer-digest-is-an-object", raw(_manifest(layers=[{"digest": {"a": 1}, "size": 1}]))),
    RegistryRow("config-digest-garbage", raw(_manifest(config_digest="../../etc/passwd"))),
    RegistryRow("config-is-a-list", config("[1]")),
    RegistryRow("config-config-is-a-list", config('{"architecture": "amd64", "config": [1]}')),
    RegistryRow("config-env-is-a-number", config('{"architecture": "amd64", "config": {"Env": 5}}')),
    RegistryRow("config-env-entry-is-an-object", config('{"architecture": "amd64", "config": {"Env": [{"a": 1}]}}')),
    RegistryRow("config-labels-is-a-list", config('{"architecture": "amd64", "config": {"Labels": [1]}}')),
    RegistryRow("config-huge-string", config(json.dumps({"architecture": "amd64", "config": {"Env": ["A=" + "x" * 300_000]}}))),
    RegistryRow("config-3000-deep", config("[" * DEEP + "]" * DEEP)),
    RegistryRow("config-huge-int", config('{"architecture": ' + BIG_INT + "}")),
    RegistryRow("index-manifests-is-a-number", raw(_index(5), OCI_INDEX)),
    RegistryRow("index-platform-is-a-list", raw(_index([{"digest": SHA0, "platform": [1]}]), OCI_INDEX)),
    # An object as `architecture` is not a value: the sheet says "unknown", nothing crashes.
    RegistryRow("config-architecture-is-an-object", config('{"architecture": {"x": 1}, "os": "linux", "config": {}}'), exit=0),
]


@pytest.mark.parametrize("command", ["inspect", "check"])
@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in REGISTRY_ROWS])
def test_hostile_registry(row: RegistryRow, command: str, tmp_path: Path) -> None:
    with FakeRegistry() as reg:
        row.setup(reg)
        image = f"{reg.host}/t/a:1"
        if command == "inspect":
            argv = ["inspect", image]
        else:
            argv = ["check", str(code(tmp_path)), "--python", "3.11", "--base-image", image]
        proc = run(argv, {"LAUNCHBUILD_NET_DEADLINE": "1.5"}, tmp_path)
    if command == "check" and row.exit == 0:
        assert "Traceback" not in proc.stderr and proc.returncode in (0, 1), proc.stderr[-2000:]
        return
    assert_outcome(proc, row.exit)


def test_hostile_registry_deadline_names_the_registry(tmp_path: Path) -> None:
    with FakeRegistry() as reg:
        fault("drip-body")(reg)
        host = reg.host
        proc = run(["inspect", f"{host}/t/a:1"], {"LAUNCHBUILD_NET_DEADLINE": "1"}, tmp_path)
    assert proc.returncode == 3
    assert "within the deadline of 1s" in proc.stderr and host in proc.stderr


# --- damaged caches, end to end ----------------------------------------------------------------------

CACHE_GARBAGE = [b"[1, 2]", b'{"text": 5, "files": 7, "glibc": {"x": 1}, "schema": 1}', b"[" * 5000, b"\xff\xfe",
                 b'{"schema": 1, "reference": "x", "provider": "registry", "glibc": "2.36; rm -rf /"}', b""]


@pytest.mark.network
@pytest.mark.parametrize("garbage", CACHE_GARBAGE, ids=["list", "wrong-types", "deep", "not-utf8", "bad-glibc", "empty"])
def test_every_damaged_cache_entry_is_a_miss_end_to_end(tmp_path: Path, garbage: bytes) -> None:
    """A real check fills the lock, fact and index caches; every entry is then damaged the
    same way; the next check gives the same verdict (never exit 2, never a traceback) and
    rewrites the entries it needs as valid JSON."""
    job = code(tmp_path, {"requirements.txt": "six==1.16.0\n"})
    argv = ["check", str(job), "--python", "3.11", "-f", "json"]
    first = run(argv, {}, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    entries = [p for p in (tmp_path / ".cache").rglob("*.json") if p.is_file()]
    assert entries, "the first check wrote no cache entries"
    for path in entries:
        path.write_bytes(garbage)
    again = run(argv, {}, tmp_path)
    assert "Traceback" not in again.stderr
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["verdict"] == json.loads(first.stdout)["verdict"]
    rewritten = [p for p in entries if p.exists() and p.read_bytes() != garbage]
    assert rewritten, "no damaged entry was rewritten"
    for path in rewritten:
        json.loads(path.read_text())
