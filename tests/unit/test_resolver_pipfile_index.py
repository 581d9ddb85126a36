"""A Pipfile package's `index = "name"`: one of its [[source]]s, said to be an index of the whole
lock (pip has no per-package index); a name no [[source]] defines is bad input, as pipenv says.
Both were silent: the key was read and dropped."""

from __future__ import annotations

import pytest

from launchbuild.errors import BadInput
from launchbuild.resolver.detectors.pipfile import PipfileInput

SOURCES = ('[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\n'
           '[[source]]\nname = "pytorch"\nurl = "https://download.pytorch.org/whl/cpu"\n')


def test_a_package_index_is_said_and_its_source_is_an_index(tmp_path):
    (tmp_path / "Pipfile").write_text(SOURCES + '[packages]\ntorch = {version = "*", index = "pytorch"}\nsix = "*"\n')
    loaded = PipfileInput(tmp_path / "Pipfile", tmp_path).load()
    assert loaded.parsed.options.extra_index_urls == ("https://download.pytorch.org/whl/cpu",)
    assert [n for n in loaded.not_used if "index" in n] == [
        "torch: from [[source]] 'pytorch', an index of the whole lock here (pip has no per-package index)"]


def test_an_index_no_source_defines_is_bad_input(tmp_path):
    (tmp_path / "Pipfile").write_text(SOURCES + '[packages]\ntorch = {version = "*", index = "pytorch-cu121"}\n')
    with pytest.raises(BadInput, match="'torch' in Pipfile names index 'pytorch-cu121', which no \\[\\[source\\]\\] defines"):
        PipfileInput(tmp_path / "Pipfile", tmp_path).load()
