"""The import checks: what the probe reads from a script (ast), how the results are judged,
and the host-side check a code-only rebuild uses. Pure; the in-image run is covered by
tests/integration/test_builder_inputs_docker.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathlib import Path

from launchbuild.builder import entrypoint_imports, imports_probe, verify_probe
from launchbuild.builder.verify_imports import judge_imports, reused_import_checks


def test_script_imports_skip_functions_and_guarded_imports(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "from __future__ import annotations\nimport os, yaml\nfrom rich.console import Console\n"
        "from . import local\ntry:\n    import wandb\nexcept ImportError:\n    wandb = None\n"
        "def f():\n    import only_when_called\nif True:\n    import numpy as np\n"
        "class C:\n    import json\n")
    assert entrypoint_imports.script_imports(str(script)) == [("os", 2), ("yaml", 2), ("rich", 3), ("numpy", 12),
                                                          ("json", 14)]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_script_import_reader_raises_only_syntax_errors(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("s") / "s.py"
    path.write_text(text, encoding="utf-8")
    try:
        entrypoint_imports.script_imports(str(path))
    except (SyntaxError, ValueError):
        pass


def test_gpu_only_import_failures_are_classified_not_failed():
    probe = {"imports": [
        {"dist": "six", "module": "six", "ok": True, "gpu": False, "error": ""},
        {"dist": "pynvml", "module": "pynvml", "ok": False, "gpu": True,
         "error": "pynvml.NVMLError_LibraryNotFound: NVML Shared Library Not Found"},
    ], "script_imports": {"script": "train.py", "error": None,
                          "imports": [{"module": "six", "line": 1, "found": True}]}}
    imports, script = judge_imports(probe)
    assert imports.passed and "needs a GPU" in imports.detail and "pynvml" in imports.detail
    assert script.passed
    assert imports_probe.GPU_ERRORS.search("OSError: libcuda.so.1: cannot open shared object file")


def test_a_failing_import_and_an_undeclared_one_fail_naming_them():
    probe = {"imports": [{"dist": "asynctest", "module": "asynctest", "ok": False, "gpu": False,
                          "error": "AttributeError: module 'asyncio' has no attribute 'coroutine'"}],
             "script_imports": {"script": "train.py", "error": None,
                                "imports": [{"module": "yaml", "line": 3, "found": False}]}}
    imports, script = judge_imports(probe)
    assert not imports.passed and "import asynctest (asynctest) failed: AttributeError" in imports.detail
    assert not script.passed and "import yaml (train.py:3)" in script.detail


def test_a_code_only_change_is_checked_against_the_stored_importable_names(tmp_path):
    (tmp_path / "train.py").write_text("import six\nimport helpers\nimport yaml\n")
    copied = frozenset({"train.py", "helpers.py"})
    extra = {"imports": "2 top-level modules import", "importable": ["six", "os"]}
    imports, script = reused_import_checks(extra, tmp_path / "train.py", "train.py", copied)
    assert imports.passed and "(reused)" in imports.detail
    assert not script.passed and "import yaml (train.py:3)" in script.detail and "helpers" not in script.detail


def test_imports_left_after_the_time_budget_are_reported_not_failed():
    probe = {"imports": [{"dist": "six", "module": "six", "ok": True, "gpu": False, "error": ""},
                         {"dist": "torch", "module": "torch", "ok": None, "gpu": False,
                          "error": "not checked: time budget spent"}]}
    [imports] = judge_imports(probe)
    assert imports.passed and "1 not checked within the time budget: torch" in imports.detail


def test_the_probe_imports_real_distributions_in_their_own_interpreters():
    got = {(i["module"], i["ok"]) for i in imports_probe.import_distributions({"packaging", "six"})}
    assert ("packaging", True) in got


def test_the_script_of_an_entrypoint_python_or_a_launcher():
    of = entrypoint_imports._script_of
    assert of(["python", "-u", "train.py", "--lr", "1"]) == "train.py"
    assert of(["torchrun", "--nproc_per_node", "8", "train.py"]) == "train.py"
    assert of(["accelerate", "launch", "scripts/finetune.py"]) == "scripts/finetune.py"
    assert of(["python", "-m", "pkg.train"]) is None and of(["bash", "run.sh"]) is None



def test_modules_import_together_first_and_a_failure_is_decided_in_its_own_interpreter(tmp_path, monkeypatch):
    """A module that fails in the shared interpreter is imported again alone, which decides."""
    import json as _json
    import types

    (tmp_path / "good_mod.py").write_text("X = 1\n")
    (tmp_path / "bad_mod.py").write_text("raise ImportError('libfoo.so: cannot open shared object file')\n")
    (tmp_path / "order_mod.py").write_text("import sys\nif 'good_mod' in sys.modules:\n    raise RuntimeError('order')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))

    class Dist:
        def __init__(self, name, module):
            self._texts = {"top_level.txt": module, "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"}
            self.files = [f"{module}.py"]

        def read_text(self, name):
            return self._texts.get(name)

    fake = [Dist("good", "good_mod"), Dist("bad", "bad_mod"), Dist("order", "order_mod")]
    monkeypatch.setattr(imports_probe, "metadata", types.SimpleNamespace(distributions=lambda: fake))
    calls = []
    real_run = imports_probe.subprocess.run
    monkeypatch.setattr(imports_probe.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or real_run(cmd, **kw))
    got = {i["module"]: i for i in imports_probe.import_distributions({"good", "bad", "order"})}
    assert got["good_mod"]["ok"] is True
    assert got["order_mod"]["ok"] is True  # failed only after good_mod, in the shared interpreter
    assert got["bad_mod"]["ok"] is False and "libfoo.so" in got["bad_mod"]["error"]
    assert _json.loads(calls[0][-1]) == ["bad_mod", "good_mod", "order_mod"]  # one interpreter for all first
    assert len(calls) == 3  # then only the two that failed there, each alone


class _TextDist:
    def __init__(self, texts):
        self._texts = texts

    def read_text(self, name):
        return self._texts.get(name)


def test_header_fields_agree_with_importlib_metadata_on_every_installed_distribution():
    from importlib import metadata

    dists = list(metadata.distributions())
    assert len(dists) > 20  # this venv: the project's own dependencies
    for dist in dists:
        assert imports_probe.header_fields(dist) == (dist.metadata["Name"] or "", dist.version or ""), dist


_field = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1, max_size=12)
_value = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Name", "Version", "Summary", "License", "name", "VERSION"]) | _field,
                          _value, st.booleans()), max_size=8),
       st.text(max_size=80), st.booleans(), st.sampled_from(["METADATA", "PKG-INFO"]))
def test_header_fields_read_what_the_email_parser_reads(headers, body, crlf, filename):
    """Name and Version are one-line fields (core metadata); other fields may be folded, and
    a folded line that looks like `Name: x` is a continuation, never the field."""
    import email

    lines = []
    for key, value, folded in headers:
        lines.append(f"{key}: {value}")
        if folded and key.lower() not in ("name", "version"):
            lines.append(f"        Name: folded-{value}")
    text = "\n".join(lines) + "\n\n" + body
    if crlf:
        text = text.replace("\n", "\r\n")
    parsed = email.message_from_string(text.replace("\r\n", "\n"))
    want = ((parsed["Name"] or "").strip(), (parsed["Version"] or "").strip())
    assert imports_probe.header_fields(_TextDist({filename: text})) == want


def test_header_fields_of_a_distribution_without_metadata_are_empty():
    assert imports_probe.header_fields(_TextDist({})) == ("", "")
    assert imports_probe.header_fields(_TextDist({"METADATA": "Version: 1\n\nName: in-the-body\n"})) == ("", "1")


# --- every entrypoint form is resolved, through the job's own modules --------------------------

def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _missing(result):
    return sorted((i["module"], i.get("file")) for i in result["imports"] if not i["found"])


def test_a_local_module_the_script_imports_is_followed_to_its_own_imports(tmp_path, monkeypatch):
    # train.py -> helper.py -> an undeclared package: `python train.py` fails at start.
    _write(tmp_path, {"train.py": "import helper\n", "helper.py": "import os\nimport no_such_dist_xyz\n",
                      "good.py": "import json\nimport lib.util\n", "lib/__init__.py": "", "lib/util.py": "import os\n"})
    monkeypatch.chdir(tmp_path)
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["python", "train.py"])) == [("no_such_dist_xyz", "helper.py")]
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["python", "good.py"])) == []
    assert judge_imports({"script_imports": entrypoint_imports.resolve_entrypoint_imports(["python", "train.py"])})[0].passed is False


def test_an_env_or_sh_c_wrapped_entrypoint_resolves_the_commands_imports(tmp_path, monkeypatch):
    _write(tmp_path, {"train.py": "import no_such_dist_xyz\n"})
    monkeypatch.chdir(tmp_path)
    for argv in (["/usr/bin/env", "python", "train.py"], ["env", "A=1", "python", "-u", "train.py"],
                 ["sh", "-c", "exec python train.py"]):
        assert _missing(entrypoint_imports.resolve_entrypoint_imports(argv)) == [("no_such_dist_xyz", None)]


def test_a_folder_python_runs_is_read_through_its_main_and_a_zip_is_not_parsed(tmp_path, monkeypatch):
    # `python app` runs app/__main__.py with app/ first on sys.path; a zip is not Python source.
    import zipfile

    _write(tmp_path, {"app/__main__.py": "import helper\n", "app/helper.py": "import no_such_dist_xyz\n"})
    with zipfile.ZipFile(tmp_path / "app.zip", "w") as archive:
        archive.writestr("__main__.py", "import json\n")
    monkeypatch.chdir(tmp_path)
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["python", "app"])) == [
        ("no_such_dist_xyz", "app/helper.py")]
    assert entrypoint_imports.resolve_entrypoint_imports(["python", "app.zip"]) is None


def test_python_dash_m_finds_the_workdirs_package_and_follows_its_main(tmp_path, monkeypatch):
    # `python -m pkg` puts the workdir first on sys.path; the probe's own sys.path[0] is its folder.
    _write(tmp_path, {"pkg/__init__.py": "import os\n", "pkg/__main__.py": "from pkg import sub\n",
                      "pkg/sub.py": "import no_such_dist_xyz\n", "nomain/__init__.py": "", "ok/__init__.py": "",
                      "ok/__main__.py": "from . import core\n", "ok/core.py": "import json\n"})
    monkeypatch.chdir(tmp_path)
    assert verify_probe.check_entrypoint(["python", "-m", "pkg"])[0] is True
    assert verify_probe.check_entrypoint(["python", "-m", "ok"])[0] is True
    assert verify_probe.check_entrypoint(["python", "-m", "pkg.sub"])[0] is True
    assert verify_probe.check_entrypoint(["python", "-m", "nomain"])[0] is False
    assert verify_probe.check_entrypoint(["python", "-m", "json.tool"])[0] is True
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["python", "-m", "pkg"])) == [
        ("no_such_dist_xyz", str(Path("pkg/sub.py")))]
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["python", "-m", "ok"])) == []


def test_a_shebang_script_needs_its_interpreter_and_its_imports_in_that_interpreter(tmp_path, monkeypatch):
    import os
    import sys

    _write(tmp_path, {"gone.py": "#!/nonexistent/bin/python3\nimport os\n",
                      "env.py": "#!/usr/bin/env no-such-python-xyz\nimport os\n",
                      "ok.py": f"#!{sys.executable}\nimport json\n", "bad.py": f"#!{sys.executable}\nimport no_such_dist_xyz\n"})
    for name in ("gone.py", "env.py", "ok.py", "bad.py"):
        os.chmod(tmp_path / name, 0o755)
    monkeypatch.chdir(tmp_path)
    assert verify_probe.check_entrypoint(["./gone.py"])[0] is False
    assert verify_probe.check_entrypoint(["./env.py"])[0] is False
    assert verify_probe.check_entrypoint(["./ok.py"])[0] is True
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["./ok.py"])) == []
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["./bad.py"])) == [("no_such_dist_xyz", None)]


@pytest.mark.parametrize("content,ok", [
    (b"echo hello\n", False),  # no #! line: the runtime's exec fails, "exec format error"
    (b"#!/bin/sh\r\necho crlf\r\n", False),  # CRLF: the kernel looks for "/bin/sh\r"
    (b"#!/usr/bin/env sh\r\necho crlf\r\n", False),  # env looks for "sh\r"
    (b"#!/usr/bin/env sh -e\necho\n", False),  # one argument "sh -e": no such program
    (b"#!/usr/bin/env -S sh -e\necho\n", True),
    (b"#!/bin/sh\necho ok\n", True),
    (b"#! /bin/sh -e  \necho ok\n", True),
    (b"\x7fELF\x02\x01\x01", True),
])
def test_an_executable_entrypoint_must_be_one_the_kernel_can_start(tmp_path, monkeypatch, content, ok):
    # An exec-form ENTRYPOINT has no shell to fall back to: what execve refuses never starts.
    import os

    (tmp_path / "run").write_bytes(content)
    os.chmod(tmp_path / "run", 0o755)
    monkeypatch.chdir(tmp_path)
    passed, detail = verify_probe.check_entrypoint(["./run"])
    assert passed is ok, detail
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert verify_probe.check_entrypoint(["run"])[0] is ok  # the same file found on PATH


def test_a_console_scripts_entry_module_is_resolved_through_its_package(tmp_path, monkeypatch):
    import sys

    site = tmp_path / "site"
    _write(site, {"tool-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tool\nVersion: 0.1\n",
                  "tool-0.1.dist-info/entry_points.txt": "[console_scripts]\ngoodtool = tool.cli:main\n"
                                                         "badtool = tool.bad:main\n",
                  "tool/__init__.py": "", "tool/cli.py": "import json\n", "tool/bad.py": "from tool import helpers\n",
                  "tool/helpers.py": "import no_such_dist_xyz\n"})
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.chdir(tmp_path)
    assert _missing(entrypoint_imports.resolve_entrypoint_imports(["goodtool"])) == []
    assert [m for m, _ in _missing(entrypoint_imports.resolve_entrypoint_imports(["badtool"]))] == ["no_such_dist_xyz"]


def test_a_code_only_rebuild_follows_the_scripts_local_modules_too(tmp_path):
    _write(tmp_path, {"train.py": "import helper\n", "helper.py": "import yaml\n"})
    out = reused_import_checks({"imports": "1 import"}, tmp_path / "train.py", "train.py",
                               frozenset({"train.py", "helper.py"}))
    assert not out[-1].passed and "helper.py" in out[-1].detail
    ok = reused_import_checks({"imports": "1 import", "importable": ["yaml"]}, tmp_path / "train.py", "train.py",
                              frozenset({"train.py", "helper.py"}))
    assert ok[-1].passed


def test_imports_that_do_not_run_here_are_not_required(tmp_path, monkeypatch):
    """`if TYPE_CHECKING:`, an `if` on the platform or the Python version, and a helper module's
    own `if __name__ == "__main__":` never run when the job starts here: no false failure. The
    started script's own main block does run, and so does a helper's plain import."""
    (tmp_path / "train.py").write_text(
        "import sys\nfrom typing import TYPE_CHECKING\nimport helper\n"
        "if TYPE_CHECKING:\n    import lb_absent_typing\n"
        "if sys.platform == 'win32':\n    import winreg\n"
        "if sys.version_info < (3, 8):\n    import lb_absent_backport\n"
        "if __name__ == '__main__':\n    import lb_absent_main\n")
    (tmp_path / "helper.py").write_text(
        "if __name__ == '__main__':\n    import lb_absent_helper_main\n"
        "import typing\nif typing.TYPE_CHECKING:\n    import lb_absent_typing2\nelse:\n    import lb_absent_else\n")
    monkeypatch.chdir(tmp_path)
    result = entrypoint_imports.resolve_script_imports("train.py")
    missing = {row["module"] for row in result["imports"] if not row["found"]}
    assert missing == {"lb_absent_main", "lb_absent_else"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["-u", "-W", "error", "-X", "dev", "-m", "-c", "pkg", "train.py", "--", "-O"]),
                max_size=8))
def test_the_python_argv_reader_names_what_python_would_run(args):
    kind, what = entrypoint_imports._python_target(args)
    rest, expected = list(args), (None, None)
    while rest:  # python's own reading: -W/-X take a value, other options none, the first word runs
        arg = rest.pop(0)
        if arg in ("-m", "-c"):
            expected = (arg, rest[0] if rest else None)
            break
        if arg in ("-W", "-X"):
            rest = rest[1:]
        elif not arg.startswith("-"):
            expected = ("script", arg)
            break
    assert (kind, what) == expected
    assert entrypoint_imports._script_of(["python", *args]) == (what if kind == "script" and what.endswith(".py") else None)


def test_record_paths_are_what_dist_files_names_on_every_installed_distribution():
    from importlib import metadata

    dists = list(metadata.distributions())
    assert len(dists) > 20
    for dist in dists:
        assert imports_probe.record_paths(dist) == [str(p) for p in dist.files or ()], dist.metadata["Name"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x85"), max_size=30)
                .map(lambda s: s.replace("\\", "/")), max_size=6))
def test_record_paths_read_quoted_csv_as_dist_files_does(names):
    """Paths with commas, quotes, empty parts or `./` (quoted in RECORD as csv writes them) are
    read back as importlib.metadata reads them (no path holds a line separator)."""
    import csv
    import io
    from importlib.metadata import PathDistribution
    from pathlib import Path
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        info = Path(tmp) / "demo-1.0.dist-info"
        info.mkdir()
        buf = io.StringIO()
        csv.writer(buf).writerows([(n, "", "") for n in names])
        (info / "RECORD").write_text(buf.getvalue(), encoding="utf-8")
        dist = PathDistribution(info)
        assert imports_probe.record_paths(dist) == [str(p) for p in dist.files or ()]


def test_a_distribution_without_a_record_goes_by_its_files():
    class NoRecord:
        files = ["pkg/__init__.py", "pkg/mod.py"]

        def read_text(self, name):
            return None

    assert imports_probe.record_paths(NoRecord()) == ["pkg/__init__.py", "pkg/mod.py"]
