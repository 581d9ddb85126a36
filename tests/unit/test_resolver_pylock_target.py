"""pylock.toml is selected for the TARGET as PEP 751's installer steps say: the lock's
`environments`, each entry's marker with the extras and dependency groups asked for (default-groups
otherwise), its `requires-python`, and a wheel (or an sdist) the target can install. A lock the
target cannot install is a finding naming the entry, never a pass that fails in the build."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchbuild.cli import app
from launchbuild.core.platform import parse_platform
from launchbuild.errors import BadInput
from launchbuild.resolver.detectors.locks import pylock_selection
from launchbuild.resolver.model import Target

ARM310 = Target("3.10", parse_platform("linux/arm64"))
AMD312 = Target("3.12", parse_platform("linux/amd64"))


def _pkg(name: str, *wheels: str, sdist: bool = False, **fields) -> dict:
    entry = {"name": name, "version": "1.0", **fields,
             "wheels": [{"name": w, "hashes": {"sha256": f"{i:x}" * 64}} for i, w in enumerate(wheels, start=1)]}
    if sdist:
        entry["sdist"] = {"name": f"{name}-1.0.tar.gz", "hashes": {"sha256": "e" * 64}}
    return entry


def _lock(*packages: dict, **top) -> dict:
    return {"lock-version": "1.0", "created-by": "test", **top, "packages": list(packages)}


def _names(body: str) -> list[str]:
    return [line.split("==")[0] for line in body.splitlines() if "==" in line]


def test_markers_on_dependency_groups_and_extras_select_by_what_is_asked():
    # `'dev' in dependency_groups` was an internal error (UndefinedEnvironmentName), exit 1.
    data = _lock(_pkg("base", "base-1.0-py3-none-any.whl"),
                 _pkg("pytest", "pytest-1.0-py3-none-any.whl", marker="'dev' in dependency_groups"),
                 _pkg("torch", "torch-1.0-py3-none-any.whl", marker="'gpu' in extras"),
                 _pkg("docs", "docs-1.0-py3-none-any.whl", marker="'docs' in dependency_groups"),
                 extras=["gpu"], **{"dependency-groups": ["dev", "docs"], "default-groups": ["docs"]})
    default, _, _ = pylock_selection(data, "pylock.toml")
    assert _names(default.for_target(ARM310)[0]) == ["base", "docs"]  # default-groups when none is asked
    asked, _, _ = pylock_selection(data, "pylock.toml", extras=("gpu",), groups=("dev",))
    body, findings = asked.for_target(ARM310)
    assert _names(body) == ["base", "pytest", "torch"] and findings == ()
    # The selected entries are written without the lock-only marker the image's installer cannot read.
    assert "dependency_groups" not in body and "extras" not in body
    with pytest.raises(BadInput, match="--group lint: pylock.toml locks no dependency group 'lint'"):
        pylock_selection(data, "pylock.toml", groups=("lint",))


def test_a_lock_for_other_environments_installs_nothing_and_says_so():
    data = _lock(_pkg("six", "six-1.0-py3-none-any.whl"), environments=["sys_platform == 'darwin'"])
    selection, _, _ = pylock_selection(data, "pylock.toml")
    body, (finding,) = selection.for_target(ARM310)
    assert body == "" and finding.rule == "LB301" and finding.severity.value == "error"
    assert "sys_platform == 'darwin'" in finding.message and "linux/arm64" in finding.message
    linux, _, _ = pylock_selection(_lock(_pkg("six", "six-1.0-py3-none-any.whl"),
                                         environments=["sys_platform == 'linux'"]), "pylock.toml")
    assert _names(linux.for_target(ARM310)[0]) == ["six"]


def test_an_entry_whose_requires_python_excludes_the_target_is_an_error():
    data = _lock(_pkg("attrs", "attrs-1.0-py3-none-any.whl", **{"requires-python": ">=3.12"}),
                 _pkg("six", "six-1.0-py3-none-any.whl"))
    selection, _, _ = pylock_selection(data, "pylock.toml")
    body, (finding,) = selection.for_target(ARM310)
    assert _names(body) == ["six"] and finding.rule == "LB301" and "attrs" in finding.message
    assert _names(selection.for_target(AMD312)[0]) == ["attrs", "six"]


def test_an_entry_with_only_wheels_for_another_platform_is_an_error_an_sdist_is_not():
    # The hashes admit only the listed files: a macOS/x86_64 lock's wheels do not install on arm64.
    numpy = _pkg("numpy", "numpy-1.0-cp310-cp310-manylinux_2_17_x86_64.whl", "numpy-1.0-cp310-cp310-macosx_11_0_arm64.whl")
    built = _pkg("pkg", "pkg-1.0-cp310-cp310-manylinux_2_17_x86_64.whl", sdist=True)
    fits = _pkg("tiny", "tiny-1.0-cp310-cp310-manylinux_2_17_aarch64.whl")
    selection, _, _ = pylock_selection(_lock(numpy, built, fits), "pylock.toml")
    body, (finding,) = selection.for_target(ARM310)
    assert _names(body) == ["pkg", "tiny"]
    assert finding.rule == "LB301" and "numpy" in finding.message and "no sdist" in finding.message
    on_amd, _, _ = pylock_selection(_lock(numpy), "pylock.toml")
    amd_body, amd_findings = on_amd.for_target(Target("3.10", parse_platform("linux/amd64")))
    assert _names(amd_body) == ["numpy"] and amd_findings == ()


def test_the_cli_resolves_a_group_marked_pylock_for_the_target(tmp_path: Path):
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "t"\ndependency-groups = ["dev"]\n'
        '[[packages]]\nname = "six"\nversion = "1.17.0"\nmarker = "\'dev\' in dependency_groups"\n'
        f'wheels = [{{name = "six-1.17.0-py2.py3-none-any.whl", hashes = {{sha256 = "{"a" * 64}"}}}}]\n'
        '[[packages]]\nname = "idna"\nversion = "3.10"\n'
        f'wheels = [{{name = "idna-3.10-py3-none-any.whl", hashes = {{sha256 = "{"b" * 64}"}}}}]\n')
    env = {"LAUNCHBUILD_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    args = ("resolve", str(tmp_path), "--python", "3.10", "--platform", "linux/arm64", "--offline")
    plain = CliRunner().invoke(app, list(args), env=env)
    assert plain.exit_code == 0, plain.output
    assert "idna==3.10" in plain.output and "six==" not in plain.output
    dev = CliRunner().invoke(app, [*args, "--group", "dev"], env=env)
    assert dev.exit_code == 0, dev.output
    assert "six==1.17.0 \\" in dev.output and "dependency_groups" not in dev.output
