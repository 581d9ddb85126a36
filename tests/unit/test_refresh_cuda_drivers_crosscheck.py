"""cuda_drivers.json is still hand-kept (NVIDIA's release notes are not reachable here). This
cross-checks it against NVIDIA's own artifact names: each CUDA runfile is named
cuda_<toolkit>_<driver it bundles>_linux.run (recorded from pytorch/builder's install_cuda.sh
history, tests/fixtures/refresh/upstream/cuda-runfiles.txt). The table's minimum driver for that
toolkit must be on the bundled driver's branch and no newer than it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from launchbuild.compat import data

RUNFILES = Path(__file__).resolve().parent.parent / "fixtures" / "refresh" / "upstream" / "cuda-runfiles.txt"


def _runfiles() -> list[tuple[str, str, str]]:
    out = []
    for line in RUNFILES.read_text().splitlines():
        m = re.match(r"^cuda_(\d+\.\d+\.\d+)_(\d+\.\d+(?:\.\d+)?)_linux\.run (\w+)", line)
        if m:
            out.append(m.groups())
    return out


TABLE = {".".join(map(str, t.cuda)): t for t in data.toolkit_drivers()}
CHECKED = [r for r in _runfiles() if r[0] in TABLE]


def test_the_runfile_list_covers_a_useful_part_of_the_table():
    assert len(CHECKED) >= 15


@pytest.mark.parametrize("toolkit,bundled,commit", CHECKED, ids=[r[0] for r in CHECKED])
def test_the_tables_minimum_driver_is_no_newer_than_the_runfiles_own(toolkit, bundled, commit):
    row = TABLE[toolkit]
    have = data.parse_version(bundled)
    assert row.driver[0] == have[0], (toolkit, row.driver_text, bundled, commit)
    assert row.driver <= have, (toolkit, row.driver_text, bundled, commit)
