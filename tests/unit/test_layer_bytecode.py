"""builder/layer_bytecode.py, the later layer's bytecode step (it runs in the image): it
compiles the files of the distributions its sub-lock names, leaves test folders and every
other distribution alone, and never fails the step. The real layer is checked on the engine
in tests/integration/test_layers_docker.py (idna's .pyc in the later layer, none of pygments')."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from launchbuild.builder import layers
from launchbuild.builder.dockerfile import render
from launchbuild.builder import layer_bytecode as helper
from tests.unit.test_builder_layers_render import _plan, _runs


class FakeDist:
    def __init__(self, name: str, root: Path, files: list[str]):
        self.metadata = {"Name": name}
        self._root, self._files = root, files

    @property
    def files(self):
        return [FakeEntry(self._root, f) for f in self._files]


class FakeEntry:
    def __init__(self, root: Path, rel: str):
        self.root, self.rel = root, rel

    def __str__(self) -> str:
        return self.rel

    def locate(self) -> Path:
        return self.root / self.rel


def _site(tmp_path: Path) -> list[FakeDist]:
    files = {"tqdm": ["tqdm/__init__.py", "tqdm/std.py", "tqdm/tests/test_x.py", "tqdm-4.0.dist-info/RECORD"],
             "Pygments": ["pygments/__init__.py"], "typing_extensions": ["typing_extensions.py"]}
    dists = []
    for name, rels in files.items():
        for rel in rels:
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x = 1\n")
        dists.append(FakeDist(name, tmp_path, rels))
    return dists


def _pycs(tmp_path: Path) -> set[str]:
    return {str(p.relative_to(tmp_path).parent.parent / p.name.split(".")[0]) for p in tmp_path.rglob("*.pyc")}


def test_only_the_sub_locks_distributions_are_compiled_and_tests_left_out(tmp_path, monkeypatch):
    monkeypatch.setattr(helper.metadata, "distributions", lambda: _site(tmp_path))
    lock = tmp_path / "2-rest.lock"
    lock.write_text("tqdm==4.0 \\\n    --hash=sha256:aa\ntyping-extensions==4.12.2 \\\n    --hash=sha256:bb\n")
    assert helper.main(["layer_bytecode.py", str(lock)]) == 0
    assert _pycs(tmp_path) == {"tqdm/__init__", "tqdm/std", "typing_extensions"}  # no pygments, no tests


def test_a_missing_sub_lock_or_no_argument_is_no_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(helper.metadata, "distributions", lambda: _site(tmp_path))
    assert helper.main(["layer_bytecode.py", str(tmp_path / "absent.lock")]) == 0
    assert helper.main(["layer_bytecode.py"]) == 0
    assert _pycs(tmp_path) == set()


def test_a_file_that_does_not_compile_is_skipped_not_fatal(tmp_path, monkeypatch):
    dists = _site(tmp_path)
    (tmp_path / "tqdm/std.py").write_text("def broken(:\n")
    monkeypatch.setattr(helper.metadata, "distributions", lambda: dists)
    lock = tmp_path / "l.lock"
    lock.write_text("tqdm==4.0\n")
    assert helper.main(["layer_bytecode.py", str(lock)]) == 0
    assert _pycs(tmp_path) == {"tqdm/__init__"}


_NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True)


@given(st.lists(st.tuples(_NAMES, st.sampled_from(["==1.0", " == 2.0.1", "[socks]==1", " @ https://x/y.whl"])),
                max_size=5),
       st.lists(st.sampled_from(["    --hash=sha256:ab \\", "# via torch", "", "--index-url https://x/simple",
                                 "-e ./local"]), max_size=4))
def test_locked_names_reads_every_pin_and_nothing_else(entries, noise):
    lines = [f"{name}{pin} \\" for name, pin in entries] + noise
    assert helper.locked_names("\n".join(lines)) == {helper.canonical(n) for n, _ in entries}


def test_the_later_layer_mounts_the_helper_and_the_context_carries_it(tmp_path):
    heavy, rest = _runs(render(_plan()))
    assert "compileall -q -j 0 " in heavy and layers.BYTECODE_IN_IMAGE not in heavy
    assert (f"--mount=type=bind,source={layers.BYTECODE_IN_CONTEXT},target={layers.BYTECODE_IN_IMAGE}" in rest
            and f"/opt/venv/bin/python {layers.BYTECODE_IN_IMAGE} --cache /root/.cache/launchbuild-pyc "
                "/opt/launchbuild/layers/2-rest.lock || true" in rest)
    layers.place(tmp_path, _plan())
    placed = tmp_path / layers.BYTECODE_IN_CONTEXT
    assert placed.read_bytes() == Path(helper.__file__).read_bytes()
    # Python 3.8 in the image: the helper parses there (no newer syntax).
    ast.parse(placed.read_text(), feature_version=(3, 8))


def test_newer_than_picks_the_distributions_installed_after_the_stamp(tmp_path, monkeypatch):
    import os

    dists = _site(tmp_path)
    stamp = tmp_path / "stamp"
    stamp.write_text("")
    os.utime(stamp, ns=(2_000, 2_000))
    installed = {"tqdm": 3_000, "Pygments": 1_000, "typing_extensions": None}  # None: no folder to read
    for dist in dists:
        folder = tmp_path / f"{dist.metadata['Name']}.dist-info"
        if installed[dist.metadata["Name"]] is not None:
            folder.mkdir()
            os.utime(folder, ns=(installed[dist.metadata["Name"]],) * 2)
            dist._path = folder
    monkeypatch.setattr(helper.metadata, "distributions", lambda: dists)
    assert helper.main(["layer_bytecode.py", "--newer-than", str(stamp)]) == 0
    assert _pycs(tmp_path) == {"tqdm/__init__", "tqdm/std"}
    assert helper.main(["layer_bytecode.py", "--newer-than", str(tmp_path / "no-stamp")]) == 0  # nothing, no failure


def test_the_projects_buildkit_step_compiles_the_project_alone_and_classic_keeps_compileall(tmp_path):
    from launchbuild.builder.plan import CaMode, Frontend
    from tests.unit.test_builder_dockerfile import _own_project_plan

    buildkit = render(_own_project_plan(ca_mode=CaMode.SECRET))
    joined = buildkit.replace("\\\n", " ")
    [step] = [ln for ln in joined.splitlines() if "mkdir -p /tmp/launchbuild-project;" in ln and ln.startswith("RUN ")]
    assert f"--mount=type=bind,source={layers.BYTECODE_IN_CONTEXT},target={layers.BYTECODE_IN_IMAGE}" in step
    assert step.index(": > /tmp/launchbuild-project.stamp") < step.index("uv pip install") < step.index(
        f"{layers.BYTECODE_IN_IMAGE} --newer-than /tmp/launchbuild-project.stamp || true") < step.index(
        "rm -f /tmp/launchbuild-project.stamp")
    assert "compileall" not in step
    layers.place(tmp_path, _own_project_plan(ca_mode=CaMode.SECRET))
    assert (tmp_path / layers.BYTECODE_IN_CONTEXT).is_file()  # no layer split, but the project uses it
    classic = render(_own_project_plan(frontend=Frontend.CLASSIC, installer="pip", ca_mode=CaMode.THROWAWAY_STAGE))
    assert layers.BYTECODE_IN_IMAGE not in classic and "compileall -q -j 1" in classic


def test_the_helpers_lock_reader_names_exactly_what_each_sub_lock_holds():
    # Two readers of one format: the helper runs in the image and cannot import builder/layers.py.
    from tests.unit.test_builder_layers import TORCH_LOCK

    plan = _plan({**TORCH_LOCK, "tqdm": ("4.67.1", ["-r requirements.txt"])})
    for sub in layers.for_plan(plan):
        assert helper.locked_names(sub.text) == {layers.canonical(p) for p in sub.packages}


def _many(tmp_path: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = tmp_path / "pkg" / f"m{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"x = {i}\n" if i != 3 else "def broken(:\n")
        paths.append(str(path))
    return paths


def _compiled(tmp_path: Path) -> set[str]:
    return {p.name.split(".")[0] for p in (tmp_path / "pkg" / "__pycache__").glob("*.pyc")}


def test_many_files_compile_in_a_worker_pool_and_a_broken_one_is_skipped(tmp_path):
    paths = _many(tmp_path, helper.PARALLEL_MIN_FILES + 6)
    helper.compile_files(paths, workers=2)
    assert _compiled(tmp_path) == {f"m{i}" for i in range(len(paths))} - {"m3"}


def test_a_pool_that_cannot_start_falls_back_to_one_process(tmp_path, monkeypatch):
    import concurrent.futures

    class NoPool:
        def __init__(self, *args, **kwargs):
            raise OSError("no /dev/shm")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", NoPool)
    paths = _many(tmp_path, helper.PARALLEL_MIN_FILES)
    helper.compile_files(paths, workers=4)
    assert _compiled(tmp_path) == {f"m{i}" for i in range(len(paths))} - {"m3"}


def test_few_files_or_one_cpu_never_start_a_pool(tmp_path, monkeypatch):
    import concurrent.futures

    started = []
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", lambda *a, **k: started.append(a) or 1 / 0)
    helper.compile_files(_many(tmp_path, helper.PARALLEL_MIN_FILES - 1), workers=8)
    helper.compile_files(_many(tmp_path / "one", helper.PARALLEL_MIN_FILES + 1), workers=1)
    assert not started
    assert len(_compiled(tmp_path)) == helper.PARALLEL_MIN_FILES - 2
