"""The layered install in the rendered Dockerfile: one COPY + RUN per sub-lock, `--no-deps` into
the same venv, and the heavy layer's instructions unchanged by an unrelated package."""

from __future__ import annotations

import re

from launchbuild.builder import layers
from launchbuild.builder.dockerfile import render
from launchbuild.builder.plan import Frontend
from launchbuild.jobs.model import SourceKind
from tests.helpers_builder import seed_plan
from tests.unit.test_builder_layers import TORCH_LOCK, lock_of


def _plan(packages=TORCH_LOCK, **changes):
    return seed_plan(SourceKind.CODE, False, lock_text=lock_of(packages), **{"layer_roots": ("torch",), **changes})


def _runs(text: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", text)
    return [line for line in joined.splitlines() if line.startswith("RUN ") and "pip install" in line]


def test_one_copy_and_hash_checked_no_deps_run_per_sub_lock_then_the_whole_lock():
    text = render(_plan())
    heavy, rest = layers.for_plan(_plan())
    assert text.index(f"COPY {heavy.context_path} {heavy.image_path}") < text.index(
        f"COPY {rest.context_path} {rest.image_path}") < text.index(
        "COPY requirements.lock /opt/launchbuild/requirements.lock") < text.index("COPY --chown=1000:1000 code/")
    runs = _runs(text)
    assert len(runs) == 2
    assert all("--require-hashes" in r and "--no-deps" in r and "/opt/venv/bin/python" in r for r in runs)
    assert f"-r {heavy.image_path} && " in runs[0] and f"-r {rest.image_path} && " in runs[1]
    # The first install compiles nearly everything, in parallel; a later one only what it
    # installed (builder/layer_bytecode.py, tests/unit/test_layer_bytecode.py).
    # Both restore what the scope's bytecode cache holds, except the heavy layer, which mounts no cache.
    assert "compileall -q -j 0 " in runs[0] and "launchbuild-pyc" not in runs[0]
    assert f"layer_bytecode.py --cache /root/.cache/launchbuild-pyc {rest.image_path} || true" in runs[1]
    assert "--strict" not in runs[0] and "--strict" in runs[1]  # the env is whole only after the last layer
    assert "Heavy roots by the index's wheel size: torch" in text


def test_the_heavy_layer_links_from_a_temporary_cache_and_later_layers_use_the_cache_mount():
    # A cache mount is another filesystem, so uv would copy every heavy file out of it; the
    # heavy layer unpacks beside the venv instead (UV_NO_CACHE) and hard-links.
    heavy, rest = _runs(render(_plan()))
    assert "UV_NO_CACHE=1 UV_LINK_MODE=hardlink" in heavy
    assert "--mount=type=cache" not in heavy and "UV_CACHE_DIR" not in heavy
    assert "--mount=type=cache,target=/root/.cache/uv,id=launchbuild-uv" in rest
    assert "UV_LINK_MODE=copy" in rest and "UV_NO_CACHE" not in rest
    # The single install of an unsplit lock keeps the cache mount (its packages are small).
    single = _runs(render(seed_plan(SourceKind.CODE, False, lock_text=lock_of(TORCH_LOCK))))
    assert len(single) == 1 and "--mount=type=cache,target=/root/.cache/uv" in single[0]


def test_the_heuristic_is_labelled_as_such():
    text = render(_plan(layer_roots=("nvidia-cudnn-cu12", "torch"), layer_roots_by_name=("nvidia-cudnn-cu12",)))
    assert "by the name heuristic (size unknown): nvidia-cudnn-cu12" in text


def test_an_unrelated_package_keeps_every_line_up_to_the_later_layers():
    before = render(_plan())
    changed = {**TORCH_LOCK, "tqdm": ("4.67.1", ["-r requirements.txt"])}
    after = render(_plan(changed))
    rest = layers.for_plan(_plan(changed))[1]
    cut = "# layer 2-rest"
    assert after[:after.index(cut)] == before[:before.index(cut)]
    assert layers.for_plan(_plan(changed))[0].text == layers.for_plan(_plan())[0].text
    assert "tqdm" in rest.packages


def test_a_lock_that_is_all_heavy_keeps_its_layer_when_a_light_package_comes():
    everything = tuple(TORCH_LOCK)
    before = render(_plan(layer_roots=everything))
    after = render(_plan({**TORCH_LOCK, "tqdm": ("4.67.1", ["-r requirements.txt"])}, layer_roots=everything))
    assert "# layer 1-heavy" in before and "# layer 2-rest" not in before
    cut = "# layer 2-rest"
    assert after[:after.index(cut)] == before[:before.index("COPY requirements.lock")]
    assert "--strict" not in _runs(before)[0] and "--strict" in _runs(after)[1]


def test_pip_installer_layers_too_and_classic_stays_one_layer():
    pip = render(_plan(installer="pip"))
    assert len(_runs(pip)) == 2 and all("--no-deps" in r for r in _runs(pip))
    classic = render(_plan(installer="pip", frontend=Frontend.CLASSIC))
    assert "layers/" not in classic and "--no-deps" not in classic


def test_no_roots_renders_the_single_install_as_before():
    plan = seed_plan(SourceKind.CODE, False, lock_text=lock_of(TORCH_LOCK))
    assert "/opt/launchbuild/layers/" not in render(plan) and len(_runs(render(plan))) == 1


def test_place_writes_exactly_the_sub_locks_and_the_later_layers_bytecode_helper(tmp_path):
    plan = _plan()
    (tmp_path / layers.LAYER_DIR).mkdir(parents=True)
    (tmp_path / layers.LAYER_DIR / "stale.lock").write_text("old")
    layers.place(tmp_path, plan)
    written = sorted(p.name for p in (tmp_path / layers.LAYER_DIR).iterdir())
    assert written == ["1-heavy.lock", "2-rest.lock", layers.BYTECODE_HELPER]
    for sub in layers.for_plan(plan):
        assert (tmp_path / sub.context_path).read_text() == sub.text
    layers.place(tmp_path, seed_plan(SourceKind.CODE, False))  # one install: the helper restores its bytecode
    assert sorted(p.name for p in (tmp_path / layers.LAYER_DIR).iterdir()) == [layers.BYTECODE_HELPER]
    layers.place(tmp_path, seed_plan(SourceKind.CODE, False, bytecode=False))
    assert not (tmp_path / layers.LAYER_DIR).exists()


def test_place_leaves_an_unchanged_sub_lock_untouched(tmp_path):
    import os

    plan = _plan()
    layers.place(tmp_path, plan)
    heavy = tmp_path / layers.LAYER_DIR / "1-heavy.lock"
    os.utime(heavy, ns=(1_000_000_000, 1_000_000_000))
    changed = {**TORCH_LOCK, "tqdm": ("4.67.1", ["-r requirements.txt"])}
    layers.place(tmp_path, _plan(changed))
    assert heavy.stat().st_mtime_ns == 1_000_000_000  # not rewritten: BuildKit sends nothing for it
    assert "tqdm" in (tmp_path / layers.LAYER_DIR / "2-rest.lock").read_text()
