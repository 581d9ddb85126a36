"""An archive whose files all sit in one top-level folder (`git archive --prefix`, GitHub's zip,
`tar czf proj.tgz proj`) is unwrapped: the folder is the job's root, so its requirements file
and entrypoint are found. Through the real extraction path, tar and zip."""

from __future__ import annotations

import tarfile
import zipfile

import pytest

from launchbuild.jobs.fetch import materialize
from launchbuild.jobs.model import CodeSource, Job


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, src in members:
            tar.add(src, arcname=name)


@pytest.mark.parametrize("kind", ["tgz", "zip"])
def test_single_top_level_folder_is_the_job_root(tmp_path, kind):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "requirements.txt").write_text("six\n")
    (proj / "train.py").write_text("print(1)\n")
    archive = tmp_path / f"proj.{kind}"
    if kind == "tgz":
        _tar(archive, [("proj", proj)])
    else:
        with zipfile.ZipFile(archive, "w") as zf:
            for f in ("requirements.txt", "train.py"):
                zf.write(proj / f, f"proj/{f}")
            zf.writestr("__MACOSX/._train.py", b"")
    with materialize(Job(source=CodeSource(archive))) as workspace:
        assert workspace.path.name == "proj"
        assert sorted(p.name for p in workspace.path.iterdir()) == ["requirements.txt", "train.py"]


def test_several_top_level_entries_stay_as_they_are(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b.txt").write_text("x")
    archive = tmp_path / "two.tgz"
    _tar(archive, [("a", tmp_path / "a"), ("b.txt", tmp_path / "b.txt")])
    with materialize(Job(source=CodeSource(archive))) as workspace:
        assert sorted(p.name for p in workspace.path.iterdir()) == ["a", "b.txt"]
