"""Source scan: entrypoint targets, secrets and bulky folders, .dockerignore semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchbuild.compat.facts.source_scan import entrypoint_target, scan_source
from launchbuild.dockerignore import DEFAULT_IGNORES, IgnoreRules, parse_ignore


@pytest.fixture()
def src(tmp_path: Path) -> Path:
    import zipfile

    for name, member in (("app.zip", "__main__.py"), ("nomain.zip", "lib.py")):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr(member, "")
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "run.sh").write_text("python train.py\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "main.py").write_text("")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__main__.py").write_text("")
    return tmp_path


@pytest.mark.parametrize(
    "entrypoint,kind,name,found",
    [
        (("python", "train.py"), "script", "train.py", True),
        (("python train.py --epochs 3",), "script", "train.py", True),
        (("python3.11", "-u", "train.py"), "script", "train.py", True),
        (("/usr/bin/python3", "-X", "dev", "train.py"), "script", "train.py", True),
        (("python", "missing.py"), "script", "missing.py", False),
        (("python", "-m", "pkg.main"), "module", "pkg.main", True),
        (("python", "-m", "app"), "module", "app", True),
        (("python", "-m", "pkg.nothere"), "module", "pkg.nothere", False),
        (("python", "-m", "torch.distributed.run", "train.py"), "module", "torch.distributed.run", None),
        (("bash", "run.sh"), "script", "run.sh", True),
        (("sh", "-e", "missing.sh"), "script", "missing.sh", False),
        (("torchrun", "--nproc_per_node=8", "train.py", "--lr", "1e-3"), "script", "train.py", True),
        (("torchrun", "--nnodes", "2", "--standalone", "nothere.py"), "script", "nothere.py", False),
        (("accelerate", "launch", "--num_processes", "2", "train.py"), "script", "train.py", True),
        (("deepspeed", "train.py"), "script", "train.py", True),
        (("uv", "run", "python", "train.py"), "script", "train.py", True),
        (("./run.sh",), "script", "./run.sh", True),
        (("train.py",), "script", "train.py", True),
        (("CUDA_VISIBLE_DEVICES=0", "python", "train.py"), "script", "train.py", True),
        (("python", "/opt/app/train.py"), "script", "/opt/app/train.py", None),
        # env in front, by name or by path, with its NAME=VALUE and -u: the command it runs.
        (("/usr/bin/env", "python", "missing.py"), "script", "missing.py", False),
        (("env", "-u", "X", "OMP_NUM_THREADS=1", "--", "python", "train.py"), "script", "train.py", True),
        (("/usr/bin/env", "python", "-m", "pkg.nothere"), "module", "pkg.nothere", False),
        # Python runs a folder's or a zip archive's __main__.
        (("python", "app"), "script", "app", True),
        (("python", "app/"), "script", "app/", True),
        (("python", "pkg"), "script", "pkg", False),  # a folder without __main__.py
        (("python", "app.zip"), "script", "app.zip", True),
        (("python", "nomain.zip"), "script", "nomain.zip", False),
    ],
)
def test_entrypoint_target(src, entrypoint, kind, name, found):
    t = entrypoint_target(src, entrypoint)
    assert (t.kind, t.name, t.found) == (kind, name, found)


@pytest.mark.parametrize("entrypoint", [("python", "-c", "print(1)"), ("my-cli", "serve"), ("bash", "-c", "echo"), ("python",),
                                        ("env", "-S", "python missing.py"), ("/usr/bin/env", "-i", "python", "missing.py")])
def test_entrypoint_we_cannot_read(src, entrypoint):
    assert entrypoint_target(src, entrypoint) is None


def test_secrets_and_bulky_folders_are_found_with_sizes(src):
    for name in (".env", "server.pem", "id_rsa", "deploy.key", ".netrc", "gcp-credentials.json"):
        (src / name).write_text("secret")
    for name in (".env.example", "id_rsa.pub"):
        (src / name).write_text("not secret")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (src / "wandb" / "run-20240101_000000-abc").mkdir(parents=True)
    (src / "wandb" / "run-20240101_000000-abc" / "output.log").write_bytes(b"x" * 5000)
    (src / "env").mkdir()
    (src / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    facts = scan_source(src, ("python", "train.py"))
    secrets = {s.path: s.copied for s in facts.secrets}
    # Every secret is reported; the default ignore set (the build's own) keeps them all out.
    assert secrets == {".env": False, ".netrc": False, "deploy.key": False, "gcp-credentials.json": False,
                       "id_rsa": False, "server.pem": False}
    bulky = {b.path: b.size_bytes for b in facts.bulky}
    # .git and wandb/run-* are never copied; a venv under another name is, and is reported.
    assert bulky == {"env": 16}
    assert facts.entrypoint.found is True and facts.dockerignore is None


def test_a_secret_re_included_by_dockerignore_would_be_copied(src):
    (src / ".env").write_text("K=1")
    (src / "id_rsa").write_text("k")
    (src / ".dockerignore").write_text("!.env\n")
    facts = scan_source(src)
    assert {s.path: s.copied for s in facts.secrets} == {".env": True, "id_rsa": False}


def test_the_scan_and_the_build_context_agree(src):
    from launchbuild.builder.context import scan as context_entries

    for name in (".env", "server.pem", "notes.txt"):
        (src / name).write_text("x")
    (src / "sub").mkdir()
    (src / "sub" / "credentials.json").write_text("{}")
    (src / ".dockerignore").write_text("!server.pem\n")
    copied_paths = {e.path for e in context_entries(src) if e.kind == "f"}
    for item in scan_source(src).secrets:
        assert item.copied is (item.path in copied_paths), item


def test_dockerignore_is_honoured(src):
    (src / "node_modules").mkdir()
    (src / "data").mkdir()
    (src / "data" / "big.key").write_text("k")
    (src / ".dockerignore").write_text("# comment\nnode_modules\n")
    facts = scan_source(src)
    assert facts.bulky == () and facts.dockerignore == ".dockerignore"
    assert [(s.path, s.copied) for s in facts.secrets] == [("data/big.key", False)]


def test_explicit_ignore_patterns_replace_the_defaults(src):
    (src / ".env").write_text("K=1")
    (src / "id_rsa").write_text("k")
    facts = scan_source(src, ignore_patterns=(".env",))
    assert {s.path: s.copied for s in facts.secrets} == {".env": False, "id_rsa": True}


@pytest.mark.parametrize(
    "patterns,path,ignored",
    [
        ((".git",), ".git", True),
        ((".git",), ".git/objects/ab", True),
        ((".git",), "sub/.git", False),
        (("**/.git",), "sub/.git", True),
        (("*.pem",), "a.pem", True),
        (("*.pem",), "dir/a.pem", False),
        (("**/*.pem",), "dir/a.pem", True),
        (("data/*",), "data/x.csv", True),
        (("data/*", "!data/keep.csv"), "data/keep.csv", False),
        (("/wandb",), "wandb/run-1/files", True),
        (("wandb", "!wandb"), "wandb", False),
        (("te?t.py",), "test.py", True),
        ((), "anything", False),
    ],
)
def test_ignore_rules(patterns, path, ignored):
    assert IgnoreRules(parse_ignore(patterns)).excluded(path) is ignored


def test_default_ignores_drop_caches_secrets_and_vcs():
    rules = IgnoreRules(parse_ignore(DEFAULT_IGNORES))
    for path in ("pkg/__pycache__/x.pyc", "a.pyc", ".git", ".env", "sub/id_rsa", "gcp-credentials.json",
                 "wandb/run-20240101_000000-abc/files"):
        assert rules.excluded(path), path
    for path in ("train.py", "pkg/model.py", "wandb/settings", "config.json"):
        assert not rules.excluded(path), path


@pytest.mark.parametrize("argv", [
    ["/usr/bin/env", "python", "missing.py"], ["/usr/bin/env", "python", "train.py"],
    ["env", "A=1", "-u", "X", "python", "app"], ["env", "--", "python", "nomain.zip"],
    ["env", "-0", "--unset=X", "python", "pkg"], ["python", "app.zip"], ["python", "app/"],
    ["env", "-S", "python missing.py"], ["env", "-i", "python", "missing.py"], ["env", "A=1"],
])
def test_the_preflight_reads_the_command_as_the_builds_probe_does(src, monkeypatch, argv):
    """LB401 before the build and the entrypoint check after it are one reading: env's
    options, a folder's or a zip's __main__ (builder/verify_probe.py runs in the image)."""
    from launchbuild.builder import entrypoint_imports, verify_probe

    inner = entrypoint_imports.env_command(argv)
    from launchbuild.compat.facts.source_scan import env_command

    if inner is not None:  # argv starts with env
        assert env_command(argv) == (None if inner is False else inner)
    monkeypatch.chdir(src)
    target = entrypoint_target(src, tuple(argv))
    probe_ok = verify_probe.check_entrypoint(argv)[0]
    if target is None or target.found is None:
        assert inner is False or inner == [] or probe_ok  # not followed before the build: the probe decides
    else:
        assert target.found is probe_ok
