"""What the source folder holds that matters before it is copied into an image.

`scan_source` walks the folder once with the build's own ignore rules
(`launchbuild.dockerignore`: the default set plus the source's `.dockerignore`) and reports:
whether the entrypoint's script or module exists, secrets (and whether the rules keep them
out of the image), and bulky folders/files that would be copied, with their sizes. Pure
filesystem reads; no network, no Docker. "What we check" and "what we copy" are one set.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from pathlib import Path

from launchbuild.compat.source_facts import EntrypointTarget, SourceFacts, SourceItem
from launchbuild.dockerignore import IgnoreRules, parse_ignore
from launchbuild.errors import BadInput
from launchbuild.limits import walk_tree

BULKY_DIRS = {
    ".git": "version-control history",
    ".hg": "version-control history",
    ".svn": "version-control history",
    ".venv": "a virtual environment (the image installs its own packages)",
    "node_modules": "JavaScript dependencies",
    "wandb": "W&B run folders (logs, media, checkpoints)",
    "mlruns": "MLflow run folders",
    "lightning_logs": "PyTorch Lightning logs and checkpoints",
    ".tox": "tox environments",
    ".nox": "nox environments",
}
BULKY_FILE_BYTES = 100 * 1024 * 1024

_SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    (".env", "environment file with credentials"),
    (".env.*", "environment file with credentials"),
    ("*.pem", "private key or certificate"),
    ("*.key", "private key"),
    ("*.p12", "key store"),
    ("*.pfx", "key store"),
    ("id_rsa*", "SSH private key"),
    ("id_dsa*", "SSH private key"),
    ("id_ecdsa*", "SSH private key"),
    ("id_ed25519*", "SSH private key"),
    (".netrc", "login credentials"),
    ("_netrc", "login credentials"),
    (".pypirc", "package index credentials"),
    (".git-credentials", "git credentials"),
    ("credentials.json", "cloud credentials"),
    ("*credentials*.json", "cloud credentials"),
    ("service-account*.json", "cloud service-account key"),
    ("*-sa-key.json", "cloud service-account key"),
    ("kubeconfig", "Kubernetes credentials"),
)
_NOT_SECRET_SUFFIXES = (".pub", ".example", ".sample", ".template", ".dist")


def _secret_reason(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(_NOT_SECRET_SUFFIXES):
        return None
    for pattern, why in _SECRET_PATTERNS:
        if fnmatch.fnmatchcase(lower, pattern):
            return why
    return None


def _copied_tree(path: Path, rel: str, rules: IgnoreRules) -> tuple[int, int]:
    """(files, bytes) under `path` that the ignore rules let into the image."""
    count = size = 0
    for dirpath, dirnames, filenames in walk_tree(path, f"code directory {path}"):  # iterative, depth-capped
        sub = os.path.relpath(dirpath, path).replace(os.sep, "/")
        base = rel if sub == "." else f"{rel}/{sub}"
        dirnames[:] = [d for d in dirnames if rules.has_negations or not rules.excluded(f"{base}/{d}")]
        for name in filenames:
            if rules.excluded(f"{base}/{name}"):
                continue
            try:
                size += (Path(dirpath) / name).lstat().st_size
                count += 1
            except OSError:
                pass
    return count, size


def scan_source(
    path: Path | str,
    entrypoint: tuple[str, ...] | None = None,
    ignore_patterns: tuple[str, ...] | None = None,
) -> SourceFacts:
    """Scan a source folder with the build's own ignore rules (`launchbuild.dockerignore`):
    secrets are reported whether or not they are copied (`SourceItem.copied` says which);
    bulky folders and files only when they would be copied. `ignore_patterns` replace the
    defaults + .dockerignore (tests, callers with their own rules)."""
    root = Path(path)
    has_dockerignore = (root / ".dockerignore").is_file()
    rules = IgnoreRules(parse_ignore(ignore_patterns)) if ignore_patterns is not None else IgnoreRules.for_source(root)
    secrets: list[SourceItem] = []
    bulky: list[SourceItem] = []
    files = 0
    total = 0
    for dirpath, dirnames, filenames in walk_tree(root, f"code directory {root}"):  # iterative, depth-capped
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        keep = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            excluded = rules.excluded(rel)
            if excluded and not rules.has_negations:
                continue  # none of it is copied, and no `!rule` can bring part of it back
            full = Path(dirpath) / d
            why = BULKY_DIRS.get(d)
            if why is None and (full / "pyvenv.cfg").is_file():
                why = "a virtual environment (the image installs its own packages)"
            if why is not None and not excluded:
                count, size = _copied_tree(full, rel, rules)
                if count:
                    bulky.append(SourceItem(rel, why, size))
                files += count
                total += size
                continue  # reported as one item; its insides are not scanned one by one
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = Path(dirpath) / name
            try:
                size = full.lstat().st_size
            except OSError:
                continue
            copied = not rules.excluded(rel)
            why = _secret_reason(name)
            if why is not None:
                secrets.append(SourceItem(rel, why, size, copied=copied))
            if not copied:
                continue
            files += 1
            total += size
            if why is None and size >= BULKY_FILE_BYTES:
                bulky.append(SourceItem(rel, "a large file (checkpoint or data set?)", size))
    target = entrypoint_target(root, entrypoint) if entrypoint else None
    return SourceFacts(
        root=str(root),
        entrypoint=target,
        secrets=tuple(secrets),
        bulky=tuple(bulky),
        dockerignore=".dockerignore" if has_dockerignore else None,
        files=files,
        total_bytes=total,
    )


_PYTHON_RE = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHELLS = {"bash", "sh", "dash", "zsh"}
_LAUNCHERS = {"torchrun", "deepspeed", "horovodrun", "mpirun", "srun", "uv", "poetry", "pipenv"}
_PY_OPTS_WITH_ARG = {"-W", "-X", "-Q"}
_MAX_ZIP_BYTES = 256 * 1024 * 1024
# env's options as the build's probe follows them (builder/entrypoint_imports.py `env_command`).
_ENV_FLAGS = {"-0", "--null", "-v", "--debug"}
_ENV_WITH_ARG = {"-u", "--unset"}


def _exists(root: Path, rel: str) -> bool | None:
    if rel.startswith("/") or "$" in rel or "~" in rel:
        return None
    from launchbuild.jobs.confine import confine

    # A script the job names must be inside its tree: `../x.py` or a link out is refused, and
    # nothing outside the tree is even looked at (no existence oracle on the host).
    try:
        confine(root, rel, where="entrypoint", what="script", max_bytes=None, missing_ok=True)
    except BadInput as exc:
        if "does not exist" in str(exc) or "is a directory" in str(exc):
            return False
        raise
    return (root / rel).is_file()


def _python_runs(root: Path, rel: str) -> bool | None:
    """`python REL`: Python runs a file, or the __main__ module of a folder or a zip archive
    (the build's probe, builder/verify_probe.py `python_path_problem`, reads the image alike)."""
    if rel.startswith("/") or "$" in rel or "~" in rel:
        return None
    from launchbuild.jobs.confine import confine

    try:
        real = confine(root, rel, where="entrypoint", what="script", kind="any", max_bytes=None, missing_ok=True)
    except BadInput as exc:
        if "does not exist" in str(exc):
            return False
        raise
    if real.is_dir():
        return any(_exists(root, f"{rel.rstrip('/')}/{name}") for name in ("__main__.py", "__main__.pyc"))
    if not real.is_file():
        return False
    return _zip_main(real)


def _zip_main(path: Path) -> bool | None:
    """True for a file Python runs as a script, or a zip archive with a __main__; False for a
    zip without one; None for an archive too large to read its directory here."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            return True
        if path.stat().st_size > _MAX_ZIP_BYTES:
            return None
        with zipfile.ZipFile(path) as archive:
            return bool({"__main__.py", "__main__.pyc"} & set(archive.namelist()))
    except (OSError, zipfile.BadZipFile, ValueError):
        return True  # not an archive Python can open: it runs the file as a script


def _module_exists(root: Path, module: str) -> bool | None:
    parts = module.split(".")
    base = root.joinpath(*parts)
    if base.with_suffix(".py").is_file() or (base / "__main__.py").is_file() or (base / "__init__.py").is_file():
        return True
    # The top-level name may be an installed package (torch.distributed.run): unknown here.
    top = root / parts[0]
    if top.with_suffix(".py").exists() or top.is_dir():
        return False
    return None


def _python_target(root: Path, args: list[str], command: str) -> EntrypointTarget | None:
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "-c":
            return None
        if tok == "-m" or (tok.startswith("-m") and len(tok) > 2):
            module = args[i + 1] if tok == "-m" and i + 1 < len(args) else tok[2:]
            if not module:
                return None
            return EntrypointTarget("module", module, _module_exists(root, module), command)
        if tok in _PY_OPTS_WITH_ARG:
            i += 2
            continue
        if tok.startswith("-"):
            i += 1
            continue
        return EntrypointTarget("script", tok, _python_runs(root, tok), command)
    return None


def env_command(tokens: list[str]) -> list[str] | None:
    """For `env [OPTION]... [NAME=VALUE]... COMMAND [ARG]...` (env by name or by path): the
    command env runs ([] when none); None when env's options make it a run this reading does
    not stand for (-i, -C, -S). The same reading as the build's probe, which the tests pin."""
    rest = list(tokens[1:])
    while rest:
        arg = rest[0]
        if arg == "--":
            rest.pop(0)
            break
        if arg.startswith("-") and arg not in _ENV_FLAGS and arg not in _ENV_WITH_ARG and not arg.startswith("--unset="):
            return None
        if "=" not in arg and not arg.startswith("-"):
            break
        del rest[:2 if arg in _ENV_WITH_ARG else 1]
    return rest


def entrypoint_target(root: Path | str, entrypoint: tuple[str, ...]) -> EntrypointTarget | None:
    """The script or module the entrypoint runs: `python x.py`, `python -m pkg`,
    `python3.11 train.py`, `bash run.sh`, `torchrun ... train.py`, `accelerate launch
    train.py`, `./run.sh`. None for commands whose target we cannot tell."""
    root = Path(root)
    tokens = list(entrypoint)
    if len(tokens) == 1 and " " in tokens[0].strip():
        try:
            tokens = shlex.split(tokens[0])
        except ValueError:
            return None
    while tokens and (os.path.basename(tokens[0]) == "env" or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0])):
        if os.path.basename(tokens[0]) == "env":
            inner = env_command(tokens)
            if inner is None:
                return None
            tokens = inner
        else:
            tokens = tokens[1:]
    if not tokens:
        return None
    command = os.path.basename(tokens[0])
    rest = tokens[1:]
    if _PYTHON_RE.match(command):
        return _python_target(root, rest, command)
    if command in _SHELLS:
        for tok in rest:
            if tok == "-c":
                return None
            if not tok.startswith("-"):
                return EntrypointTarget("script", tok, _exists(root, tok), command)
        return None
    if command == "accelerate" and rest[:1] == ["launch"]:
        rest = rest[1:]
        command = "accelerate launch"
    if command in _LAUNCHERS or command == "accelerate launch":
        if command in ("uv", "poetry", "pipenv"):
            # `uv run python train.py` / `poetry run python -m pkg`
            if rest[:1] == ["run"] and len(rest) > 1:
                return entrypoint_target(root, tuple(rest[1:]))
            return None
        for j, tok in enumerate(rest):
            if tok in ("-m", "--module") and j + 1 < len(rest):
                return EntrypointTarget("module", rest[j + 1], _module_exists(root, rest[j + 1]), command)
            if tok.endswith((".py", ".sh")) and not tok.startswith("-"):
                return EntrypointTarget("script", tok, _exists(root, tok), command)
        return None
    if tokens[0].endswith((".py", ".sh")) or tokens[0].startswith("./"):
        return EntrypointTarget("script", tokens[0], _exists(root, tokens[0]), command)
    return None
