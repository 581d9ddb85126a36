"""Poetry 2 projects keep their dependencies in `[project]` and name each one's index in
[tool.poetry.dependencies] (`torch = {source = "pytorch-cpu"}`) with its [[tool.poetry.source]]:
that index is the lock's, static or compiled by the backend, never silently dropped (torch came
from PyPI's CUDA build instead of the CPU index the job named)."""

from __future__ import annotations

from pathlib import Path

from launchbuild.jobs.model import CodeSource, Job
from launchbuild.resolver import backends
from launchbuild.resolver.api import ResolveOptions, resolve
from launchbuild.resolver.backends import CompileOutcome
from launchbuild.resolver.detectors.pyproject import ProjectInput

CPU = "https://download.pytorch.org/whl/cpu"
POETRY2 = (
    '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.10"\ndependencies = ["torch>=2.1", "numpy"]\n'
    '[tool.poetry]\npackage-mode = false\n'
    '[tool.poetry.dependencies]\ntorch = { source = "pytorch-cpu" }\nunused = { source = "mirror" }\n'
    f'[[tool.poetry.source]]\nname = "pytorch-cpu"\nurl = "{CPU}"\npriority = "explicit"\n'
    '[[tool.poetry.source]]\nname = "mirror"\nurl = "https://mirror.example/simple"\npriority = "explicit"\n'
)
BUILD_SYSTEM = '[build-system]\nrequires = ["poetry-core>=2"]\nbuild-backend = "poetry.core.masonry.api"\n'


def test_static_project_dependencies_take_the_poetry_source_they_name(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(POETRY2)
    loaded = ProjectInput(tmp_path / "pyproject.toml", tmp_path).load()
    assert [r.name for r in loaded.parsed.requirements] == ["torch", "numpy"]
    # Only the source a [project] dependency names: Poetry ignores an entry [project] does not list.
    assert loaded.parsed.options.extra_index_urls == (CPU,)
    assert any(n.startswith("torch: from Poetry source 'pytorch-cpu'") for n in loaded.not_used)
    assert any("'mirror'" in n and "no asked-for dependency names it" in n for n in loaded.not_used)


def test_a_project_the_backend_compiles_gets_the_poetry_source_and_the_lock_names_it(tmp_path: Path, monkeypatch):
    job = tmp_path / "job"
    job.mkdir()
    (job / "pyproject.toml").write_text(BUILD_SYSTEM + POETRY2.replace("package-mode = false\n", ""))
    seen = []

    class Recording:
        name = "uv"

        def version(self) -> str:
            return "test"

        def compile(self, request):
            seen.append(request)
            return CompileOutcome(ok=True, body=f"numpy==2.0.0 \\\n    --hash=sha256:{'a' * 64}\n")

    monkeypatch.setattr(backends, "make_backend", lambda name, target, sandbox=None: Recording())
    result = resolve(job, Job(source=CodeSource(job)),
                     ResolveOptions(cache_dir=tmp_path / "cache", fetch_package_facts=False))
    [request] = seen
    assert request.project_file == "pyproject.toml" and request.extra_index_urls == (CPU,)
    # The install in the image reads its indexes from the lock file itself.
    assert f"--extra-index-url {CPU}" in result.lock.text.splitlines()
