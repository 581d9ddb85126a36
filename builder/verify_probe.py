"""Runs INSIDE the built image (stdlib only, any Python 3.8+): prints one JSON object with
the facts `verify.py` judges. Mounted or copied into a throwaway container; never part of an image.

argv[1]: the entrypoint as JSON; argv[2], argv[3]: the locked names and the names whose imports
an unchanged heavy layer carries over (imports_probe.py and entrypoint_imports.py, shipped
beside it). A uv binary may sit beside this file for `uv pip check`.
"""

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PY_OPTS_WITH_ARG = {"-W", "-X", "-Q"}


def _is_python(word):
    base = os.path.basename(word)
    return base == "python" or base == "python3" or (base.startswith("python3.") and base[8:].isdigit())


def check_entrypoint(argv):
    if not argv:
        return False, "no entrypoint"
    exe = argv[0]
    inner = _entrypoint_imports().env_command(argv)
    if inner is not None:
        # `env [NAME=VALUE]... COMMAND`, by name or by path: env must be there, and then the
        # command it runs is the entrypoint, judged as if it had been written alone.
        found = exe if "/" in exe else shutil.which(exe)
        if not found or not os.access(os.path.join(os.getcwd(), found), os.X_OK):
            return False, "%s missing or not executable" % exe
        if inner is False:
            return True, "%s is executable (its options change the run: the command is not followed)" % exe
        if not inner:
            return False, "%s without a command to run" % exe
        ok, detail = check_entrypoint(inner)
        return ok, "%s: %s" % (exe, detail)
    if _is_python(exe):
        rest = list(argv[1:])
        while rest:
            arg = rest.pop(0)
            if arg == "-m":
                if not rest:
                    return False, "`-m` without a module"
                return check_module(rest[0])
            if arg == "-c":
                return True, "inline code (-c)"
            if arg in PY_OPTS_WITH_ARG:
                rest = rest[1:]
                continue
            if arg.startswith("-"):
                continue
            path = os.path.join(os.getcwd(), arg)
            problem = python_path_problem(path)
            return not problem, ("%s exists" % path) if not problem else ("%s %s (workdir %s)" % (arg, problem, os.getcwd()))
        return False, "python without a script or module"
    if "/" in exe:
        path = os.path.join(os.getcwd(), exe)
        ok = os.path.isfile(path) and os.access(path, os.X_OK)
        if not ok:
            return False, "%s missing or not executable" % exe
        # The runtime execs it with no shell: a script without a #! line, or with a CRLF one,
        # is an "exec format error" / "no such file" at start, however executable it is.
        problem = _entrypoint_imports().exec_problem(path)
        if problem:
            return False, "%s: %s" % (exe, problem)
        if os.path.isabs(exe) and not _entrypoint_imports()._under(exe, [os.getcwd()]):
            # A launcher named by its path (/bin/sh, /opt/venv/bin/torchrun): as by its name.
            verdict = _launcher_verdict(argv)
            if verdict is not None:
                return verdict
        words = _entrypoint_imports().shebang(path)
        if words:
            return True, "%s is executable (#! %s)" % (exe, _entrypoint_imports().shebang_interpreter(words)[0])
        return True, "%s is executable" % exe
    found = shutil.which(exe)
    if not found:
        return False, "%s not on PATH" % exe
    problem = _entrypoint_imports().exec_problem(found)
    if problem:
        return False, "%s (%s): %s" % (exe, found, problem)
    verdict = _launcher_verdict(argv)
    if verdict is not None:
        return verdict
    return True, "%s on PATH" % found


def python_path_problem(path):
    """Why `python PATH` cannot start, or None: Python runs a file, or the __main__ module of a
    folder or of a zip archive (compat/facts/source_scan.py reads the source the same way)."""
    if os.path.isdir(path):
        if any(os.path.isfile(os.path.join(path, name)) for name in ("__main__.py", "__main__.pyc")):
            return None
        return "is a folder without __main__.py"
    if not os.path.isfile(path):
        return "not found"
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
            if not names & {"__main__.py", "__main__.pyc"}:
                return "is a zip archive without __main__.py"
    except (OSError, zipfile.BadZipFile, ValueError):
        pass  # not an archive Python can open: it runs the file as a script
    return None


def _launcher_verdict(argv):
    """Launchers (torchrun, accelerate launch, bash): the script they run must exist too. A
    shell's `-c` string that is one plain command (`sh -c "python train.py"`) is that command,
    judged as an entrypoint; other shell code is not followed. (ok, detail), or None when there
    is nothing more to check than the launcher itself."""
    inner = _entrypoint_imports().shell_command(argv)
    if inner is False:
        return True, "%s -c: shell code, not followed" % argv[0]
    if inner is not None:
        ok, detail = check_entrypoint(inner) if inner else (False, "an empty command")
        return ok, "%s -c: %s" % (argv[0], detail)
    for arg in argv[1:]:
        if not arg.startswith("-") and arg.endswith((".py", ".sh")):
            if not os.path.isfile(os.path.join(os.getcwd(), arg)):
                return False, "%s not found (workdir %s)" % (arg, os.getcwd())
            return True, "%s and %s exist" % (argv[0], arg)
    return None


def check_module(mod):
    """`python -m mod`: Python puts the workdir first on sys.path, so the job's own modules
    there count (this probe's sys.path[0] is its own folder instead); a package needs a
    __main__. Found without running any of the job's code."""
    probe = _entrypoint_imports()
    search = probe._search_path(os.getcwd())
    hit = probe.module_file(mod, search)
    if hit is None:
        sys.path.insert(0, os.getcwd())
        try:
            found = importlib.util.find_spec(mod) is not None  # an extension or stdlib module
        except Exception:  # noqa: BLE001 - a parent package that fails to import
            found = False
        finally:
            sys.path.pop(0)
        return found, ("module %s importable" % mod) if found else ("module %s not found" % mod)
    if hit[1] and probe.module_file(mod + ".__main__", search) is None:
        return False, "%s is a package without a __main__ module: `python -m %s` cannot run it" % (mod, mod)
    return True, "module %s found at %s" % (mod, hit[0])


def start_pip_check():
    """The dependency check, started in the background (it reads only metadata, so it runs
    while the imports are checked): a (process, tool) pair, or the result when none can run."""
    uv = os.path.join(HERE, "uv")
    env = dict(os.environ, UV_NO_CACHE="1", UV_PYTHON_DOWNLOADS="never")
    if os.access(uv, os.X_OK):
        cmd = [uv, "pip", "check", "--python", sys.executable]
    elif importlib.util.find_spec("pip") is not None:
        cmd = [sys.executable, "-m", "pip", "check", "--disable-pip-version-check"]
    else:
        return {"ran": False, "rc": None, "output": "neither uv nor pip available to check"}
    try:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env), cmd[0]
    except OSError as exc:
        return {"ran": False, "rc": None, "output": "%s could not run: %s" % (cmd[0], exc)}


def finish_pip_check(started):
    if isinstance(started, dict):
        return started
    proc, tool = started
    out, _ = proc.communicate()
    return {"ran": True, "rc": proc.returncode, "output": out.decode("utf-8", "replace")[-2000:], "tool": tool}


def _entrypoint_imports():
    """entrypoint_imports.py, shipped beside this file as imports_probe.py is, which loads it."""
    return _imports_probe()._entrypoint_imports()


def _imports_probe():
    """imports_probe.py, always shipped beside this file (builder/imports_probe.py). The image's
    own modules never shadow it: this folder comes first, and only while it is imported."""
    sys.path.insert(0, HERE)
    try:
        import imports_probe  # type: ignore[import-not-found]  # beside this file in the image
    finally:
        sys.path.remove(HERE)
    return imports_probe


def main():
    argv = json.loads(sys.argv[1]) if len(sys.argv) > 1 else []
    pip_checking = start_pip_check()
    ok, detail = check_entrypoint(argv)
    imports_probe = _imports_probe()
    installed = imports_probe.installed_distributions()
    dists = [[name, version] for _, name, version, _ in installed if name]
    env = {
        "implementation_name": sys.implementation.name,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_system": platform.system(),
        "platform_release": platform.release(),
        "python_version": "%d.%d" % sys.version_info[:2],
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "sys_platform": sys.platform,
    }
    locked = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
    reused = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []  # imports known from the heavy layer
    extra = imports_probe.probe(argv, locked, reused, installed)
    print(json.dumps(dict(extra, **{
        "python": platform.python_version(),
        "executable": sys.executable,
        "uid": os.getuid(),
        "cwd": os.getcwd(),
        "entrypoint": {"ok": ok, "detail": detail},
        "dists": sorted(dists),
        "pip_check": finish_pip_check(pip_checking),
        "marker_env": env,
    })))


if __name__ == "__main__":
    main()
