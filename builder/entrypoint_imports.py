"""Runs INSIDE the built image beside probe.py and imports_probe.py (stdlib only, Python 3.8+):
the imports an entrypoint runs when the job starts, read with `ast` and never executed, for
every entrypoint form (`python script.py`, `python -m module`, a launcher's script, a console
script, an executable script with a Python shebang), followed through the job's own modules
and resolved against the image's environment. The host reads a later script with it too
(verify_imports.py: a code-only change).

Never part of an image: mounted (a local engine) or copied into the verification container only.
"""

import ast
import json
import os
import re
import subprocess
import sys
import zipfile

try:
    from importlib import metadata
except ImportError:  # pragma: no cover
    metadata = None  # type: ignore[assignment]

# An `if` on these runs its imports only on some interpreters or platforms (`if sys.platform ==
# "win32": import winreg`, `if sys.version_info < (3, 11): import tomli`): not required here.
def _conditional(test):
    text = ast.dump(test)
    return any(word in text for word in ("'version_info'", "'platform'", "'implementation'")) or (
        "Name(id='os'" in text and "attr='name'" in text)


def _type_checking(test):
    """`if TYPE_CHECKING:` / `if typing.TYPE_CHECKING:`: never true when the job runs."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _main_guard(test):
    """`if __name__ == "__main__":`"""
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _guarded(node, parents):
    """True when an ImportError (or broader) handler guards the import (an optional dependency),
    or an `if` on the interpreter or platform does (needed elsewhere, maybe not here)."""
    for parent in parents:
        if isinstance(parent, ast.If) and _conditional(parent.test):
            return True
        if isinstance(parent, ast.Try):
            for handler in parent.handlers:
                names = []
                t = handler.type
                if t is None:
                    return True
                for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    names.append(getattr(e, "id", getattr(e, "attr", "")))
                if set(names) & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}:
                    return True
    return False


def script_imports(path):
    """[(top-level module, line)] the script imports at module level (not in functions, not
    guarded), each once: `_module_imports` of the script as it is started."""
    seen, out = set(), []
    for name, line in _module_imports(path, ""):
        top = name.split(".")[0]
        if top and top not in seen and top != "__future__":
            seen.add(top)
            out.append((top, line))
    return out


def _module_imports(path, package, is_main=True):
    """[(dotted module, line)] a module imports at module level (not guarded), relative imports
    resolved against `package` (the module's own package, "" for a script), and for
    `from X import a` also X.a (which may be a submodule). `if TYPE_CHECKING:` blocks never
    run, nor does a module's `if __name__ == "__main__":` block unless it is the one started
    (`is_main`): their imports are not the job's."""
    with open(path, "rb") as fh:
        tree = ast.parse(fh.read(), filename=path)
    found = []

    def visit(node, parents):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.If) and (_type_checking(child.test) or (not is_main and _main_guard(child.test))):
                for other in child.orelse:
                    visit(ast.Module(body=[other], type_ignores=[]), parents)
                continue
            if isinstance(child, ast.Import) and not _guarded(child, parents):
                found.extend((a.name, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and not _guarded(child, parents):
                if child.level:
                    base = package.split(".") if package else []
                    if child.level - 1 > len(base) or not package:
                        continue
                    base = base[:len(base) - (child.level - 1)]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                if module and module != "__future__":
                    found.append((module, child.lineno))
                    found.extend(("%s.%s" % (module, a.name), child.lineno) for a in child.names if a.name != "*")
            visit(child, parents + [child])

    visit(tree, [])
    return found


def module_file(name, search):
    """(file, is_package) of the source of module `name` found on the path entries `search`,
    without importing anything (a parent package's __init__ is never run); None when there is
    no such source file (a namespace package's own spec has none either)."""
    from importlib.machinery import PathFinder

    parts = name.split(".")
    path = list(search)
    spec = None
    for i in range(len(parts)):
        try:
            spec = PathFinder.find_spec(".".join(parts[:i + 1]), path)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        if i < len(parts) - 1:
            if not spec.submodule_search_locations:
                return None
            path = list(spec.submodule_search_locations)
    origin = getattr(spec, "origin", None)
    if not origin or not origin.endswith(".py") or not os.path.isfile(origin):
        return None
    return origin, bool(spec.submodule_search_locations)


def _under(path, prefixes):
    real = os.path.realpath(path)
    return any(real == p or real.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes)


def local_closure(start, search, local):
    """The imports reached from `start` ([(file, package)]) through the job's own modules.

    A module whose source lies under one of the `local` folders (the script's folder, the
    workdir, the entry point's own package) is followed: its own imports count as the
    entrypoint's, as they run when it starts. Every other top-level name is reported for the
    environment to resolve. Answers ([{module, line, file}] of those names, [parse errors])."""
    local = [os.path.realpath(p) for p in local]
    todo = list(start)
    main_file = os.path.realpath(start[-1][0]) if start else None  # the one run as __main__
    seen_files = set()
    outside, errors, seen_names = [], [], set()
    while todo:
        path, package = todo.pop(0)
        real = os.path.realpath(path)
        if real in seen_files:
            continue
        seen_files.add(real)
        try:
            names = _module_imports(path, package, is_main=real == main_file)
        except (OSError, SyntaxError, ValueError) as exc:
            errors.append("%s cannot be parsed: %s" % (path, exc))
            continue
        for name, line in names:
            top = name.split(".")[0]
            hit = module_file(top, search)
            if hit is not None and _under(hit[0], local):
                parts = name.split(".")
                for i in range(len(parts)):
                    sub = ".".join(parts[:i + 1])
                    found = module_file(sub, search)
                    if found is None:
                        break
                    todo.append((found[0], sub if found[1] else sub.rpartition(".")[0]))
                continue
            if top in seen_names or top == "__future__":
                continue
            seen_names.add(top)
            outside.append({"module": top, "line": line, "file": path})
    return outside, errors


def _search_path(first=None):
    """sys.path as the job's interpreter has it: `first` (the script's folder, or the workdir
    for `python -m`) in place of this probe's own folder."""
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    rest = [p for p in sys.path if p and os.path.realpath(p) != here]
    return ([first] if first else []) + rest


def _found(name, search, builtins):
    from importlib.machinery import PathFinder

    if name in builtins:
        return True
    try:
        return PathFinder.find_spec(name, list(search)) is not None
    except (ImportError, ValueError):
        return False


def _rows(label, start, search, local, builtins=None):
    builtins = set(sys.builtin_module_names) if builtins is None else builtins
    outside, errors = local_closure(start, search, local)
    if errors:
        return {"script": label, "error": errors[0], "imports": []}
    main = start[-1][0] if start else None
    rows = []
    for item in outside:
        row = {"module": item["module"], "line": item["line"], "found": _found(item["module"], search, builtins)}
        if item["file"] != main:
            row["file"] = os.path.relpath(item["file"], os.getcwd()) if item["file"].startswith(os.getcwd()) else item["file"]
        rows.append(row)
    return {"script": label, "error": None, "imports": rows}


def resolve_script_imports(script, interpreter_path=None):
    """[{module, line, found}] for each import of the script and of the job's own modules it
    imports (followed through the script's folder), resolved with the script's own directory
    first on sys.path, as `python script.py` would. `interpreter_path`: (sys.path, builtin
    names) of another interpreter that runs the script (a shebang outside the venv)."""
    path = os.path.join(os.getcwd(), script)
    folder = path if os.path.isdir(path) else os.path.dirname(path)  # `python app`: app/__main__.py
    path = os.path.join(path, "__main__.py") if folder == path else path
    if not os.path.isfile(path) or zipfile.is_zipfile(path):
        return None  # missing: the entrypoint check says so; a zip's own __main__ is not read
    if interpreter_path is not None:
        search, builtins = [folder] + list(interpreter_path[0]), set(interpreter_path[1])
    else:
        search, builtins = _search_path(folder), None
    return _rows(script, [(path, "")], search, [folder], builtins)


def resolve_module_imports(module):
    """The same for `python -m module`: the workdir is first on sys.path; the module's parent
    packages' __init__ and, for a package, its __main__ run too."""
    search = _search_path(os.getcwd())
    start = []
    parts = module.split(".")
    for i in range(len(parts)):
        hit = module_file(".".join(parts[:i + 1]), search)
        if hit is None:
            return None  # not a source module (an extension, a namespace): the entrypoint check decides
        start.append((hit[0], ".".join(parts[:i + 1]) if hit[1] else ".".join(parts[:i])))
    if start and start[-1][0].endswith("__init__.py"):
        main = module_file(module + ".__main__", search)
        if main is None:
            return None
        start.append((main[0], module))
    local = [os.getcwd()]
    top = module_file(parts[0], search)
    if top is not None:
        local.append(os.path.dirname(top[0]) if top[1] else top[0])
    return _rows("-m " + module, start, search, local)


def console_script_module(exe):
    """The module:attr of the console (or gui) script entry point named `exe`, or None."""
    if metadata is None:
        return None
    try:
        eps = metadata.entry_points()
    except Exception:  # noqa: BLE001 - a broken distribution: no entry point to check
        return None
    if hasattr(eps, "select"):
        found = list(eps.select(group="console_scripts", name=exe)) + list(eps.select(group="gui_scripts", name=exe))
    else:  # Python 3.8/3.9: a dict of groups
        found = [e for g in ("console_scripts", "gui_scripts") for e in eps.get(g, ()) if e.name == exe]
    return found[0].value if found else None


def resolve_console_script_imports(exe):
    """The same for a console script: its entry point's module, followed through its own package."""
    value = console_script_module(exe)
    if not value:
        return None
    module = value.split(":", 1)[0].strip()
    search = _search_path(None)
    parts = module.split(".")
    start = []
    for i in range(len(parts)):
        hit = module_file(".".join(parts[:i + 1]), search)
        if hit is None:
            return {"script": exe, "error": "entry point %s: module %s not found" % (value, module), "imports": []}
        start.append((hit[0], ".".join(parts[:i + 1]) if hit[1] else ".".join(parts[:i])))
    top = start[0][0]
    local = [os.path.dirname(top) if top.endswith("__init__.py") else top, os.getcwd()]
    return _rows("%s (%s)" % (exe, value), start, search, local)


def shebang(path):
    """The `#!` line as the kernel reads it: [interpreter] or [interpreter, argument], or None
    when the file has no `#!` line (or an empty one). Linux splits the line once, at the first
    space or tab, and passes the rest as ONE argument (`#!/usr/bin/env python3 -u` asks env
    for a program named "python3 -u"); only spaces and tabs are trimmed, so a CRLF script's
    interpreter is "/bin/sh\\r", which does not exist: it must not read as "/bin/sh"."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(256)  # the kernel reads at most this much of the line
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    line = first[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip(" \t")
    if not line:
        return None
    parts = re.split(r"[ \t]+", line, maxsplit=1)
    interpreter, argument = parts[0], (parts[1] if len(parts) > 1 else "")
    return [interpreter, argument] if argument else [interpreter]


def exec_problem(path):
    """Why the kernel would refuse to start the file `path` directly (the exec-form ENTRYPOINT
    has no shell to fall back to), or None: a file that is neither an ELF binary nor starts
    with `#!` fails with "exec format error"; a `#!` line is judged by its interpreter."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        return "cannot be read (%s)" % (exc.strerror or type(exc).__name__)
    if head == b"\x7fELF":
        return None
    words = shebang(path)
    if not words:
        return "has no #! line and is not a binary: the runtime cannot exec it (exec format error)"
    interpreter, asked = shebang_interpreter(words)
    if interpreter is None:
        return "its #! interpreter %r is not in the image" % asked
    return None


def shebang_interpreter(words):
    """(resolved interpreter path or None, what was asked for): `#!/usr/bin/env NAME` is looked
    up on PATH as env would; `env -S` splits its argument, any other argument is one name."""
    import shutil

    if os.path.basename(words[0]) == "env":
        argument = words[1] if len(words) > 1 else ""
        if argument.startswith("-S"):
            names = [w for w in argument[2:].split() if not w.startswith("-")]
        elif argument.startswith("-"):
            names = []  # env's own options and no program: nothing it could run here
        else:
            names = [argument] if argument else []
        if not names:
            return None, argument or words[0]
        return shutil.which(names[0]), names[0]
    ok = os.path.isfile(words[0]) and os.access(words[0], os.X_OK)
    return (words[0] if ok else None), words[0]


_ENV_FLAGS = {"-0", "--null", "-v", "--debug"}
_ENV_WITH_ARG = {"-u", "--unset"}


def env_command(argv):
    """For `env [OPTION]... [NAME=VALUE]... COMMAND [ARG]...` (env by name or by path): the
    command env runs ([] when none). False when env's options make it a run this probe cannot
    stand for (-i clears PATH, -C changes the directory, -S splits a string); None when argv
    does not start with env."""
    if not argv or os.path.basename(argv[0]) != "env":
        return None
    rest = list(argv[1:])
    while rest:
        arg = rest[0]
        if arg == "--":
            rest.pop(0)
            break
        if arg.startswith("-") and arg not in _ENV_FLAGS and arg not in _ENV_WITH_ARG and not arg.startswith("--unset="):
            return False
        if "=" not in arg and not arg.startswith("-"):
            break
        del rest[:2 if arg in _ENV_WITH_ARG else 1]
    return rest


SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash"}
# Shell code this reading does not stand for: operators, expansions, redirections, globs.
_SHELL_CODE = re.compile(r"[;&|<>()$`\\\n*?\[\]{}~#]")


def shell_command(argv):
    """For a shell run with `-c STRING` (`sh -c "python train.py"`, `bash -lc ...`): the words
    of STRING when it is one plain command (a leading `exec` and NAME=VALUE words dropped);
    False when it is any other shell code; None when argv is not a shell given `-c`."""
    if not argv or os.path.basename(argv[0]) not in SHELLS:
        return None
    rest = list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            rest = rest[1:]
            continue
        if arg.startswith("--"):
            continue
        if arg[:1] in ("-", "+") and "c" in arg[1:]:
            break
        if arg[:1] in ("-", "+"):
            continue
        return None  # a script (or nothing to run): not a -c string
    else:
        return None
    if not rest:
        return []
    text = rest[0]
    if _SHELL_CODE.search(text):
        return False
    import shlex

    try:
        words = shlex.split(text)
    except ValueError:  # a quote left open: the shell refuses it too
        return False
    while words and (words[0] == "exec" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])):
        words.pop(0)
    return words


def _is_python_name(path):
    base = os.path.basename(path)
    return base in ("python", "python3") or (base.startswith("python3.") and base[8:].isdigit())


def other_interpreter_path(interpreter):
    """(sys.path, builtin names) of a Python that is not this venv's, or None when it is this
    venv's own (the same bin folder) or cannot say."""
    if os.path.dirname(os.path.abspath(interpreter)) == os.path.dirname(os.path.abspath(sys.executable)):
        return None
    try:
        proc = subprocess.run([interpreter, "-c", "import json, sys; print(json.dumps([sys.path[1:], "
                               "list(sys.builtin_module_names)]))"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=30, cwd="/")
        found = json.loads(proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
        return [p for p in found[0] if p], found[1]
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return None


def resolve_entrypoint_imports(argv):
    """The entrypoint's imports, whatever its form: `python script.py`, `python -m module`, a
    launcher's script, a console script, or an executable script with a Python shebang."""
    if not argv:
        return None
    inner = env_command(argv)
    if inner is None:
        inner = shell_command(argv)
    if inner is not None:
        return resolve_entrypoint_imports(inner) if inner else None
    base = os.path.basename(argv[0])
    if _is_python_name(argv[0]):
        kind, what = _python_target(argv[1:])
        if kind == "-m" and what:
            return resolve_module_imports(what)
        return resolve_script_imports(what) if kind == "script" and what else None
    if "/" in argv[0]:
        path = os.path.join(os.getcwd(), argv[0])
        words = shebang(path) if os.path.isfile(path) else None
        if words:
            interpreter, _ = shebang_interpreter(words)
            if interpreter and _is_python_name(interpreter):
                return resolve_script_imports(argv[0], other_interpreter_path(interpreter))
        return None
    script = _script_of(argv)
    if script:
        return resolve_script_imports(script)
    if base == argv[0]:
        return resolve_console_script_imports(argv[0])
    return None


def _script_of(argv):
    if not argv:
        return None
    base = os.path.basename(argv[0])
    if not (base in ("python", "python3") or (base.startswith("python3.") and base[8:].isdigit())):
        # Launchers (torchrun, accelerate launch, deepspeed): the first .py argument is the script.
        scripts = [a for a in argv[1:] if a.endswith(".py") and not a.startswith("-")]
        return scripts[0] if scripts else None
    kind, what = _python_target(argv[1:])
    return what if kind == "script" and what and what.endswith(".py") else None


def _python_target(args):
    """What `python ARGS` runs: ("-m", module), ("-c", code), ("script", path), or (None, None)."""
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-m", "-c"):
            return arg, (rest[0] if rest else None)
        if arg in ("-W", "-X"):
            rest = rest[1:]
            continue
        if arg.startswith("-"):
            continue
        return "script", arg
    return None, None
