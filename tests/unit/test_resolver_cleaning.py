"""Every cleaning rule for a run's package list, table-driven. Pure: no network."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from launchbuild.errors import BadInput
from launchbuild.resolver.cleaning import OwnSource, clean_run_list, version_from_path
from launchbuild.resolver.model import Target
from launchbuild.resolver.requirements import parse_text

TARGET = Target(python="3.11", platform="linux/amd64")


def clean(text, own=OwnSource(), target=TARGET, torch_index="https://download.pytorch.org/whl"):
    parsed = parse_text(text, "requirements.frozen.txt", base_dir=Path("/work"))
    return clean_run_list(parsed.requirements, target, own, torch_index)


def kept(result):
    return [r.text for r in result.requirements]


@pytest.mark.parametrize(
    "line, action, reason_part",
    [
        ("pip==24.0", "dropped", "build tool"),
        ("setuptools==69.0.3", "dropped", "build tool"),
        ("wheel==0.42.0", "dropped", "build tool"),
        ("pkg-resources==0.0.0", "dropped", "artifact"),
        ("pywin32==306", "dropped", "Windows"),
        ("appnope==0.1.4", "dropped", "macOS"),
        ("pyobjc-framework-Cocoa==10.1", "dropped", "macOS"),
        ("colorama==0.4.6 ; sys_platform == 'win32'", "dropped", "marker"),
        ("uvloop==0.19.0 ; platform_machine == 'aarch64'", "dropped", "marker"),
    ],
)
def test_dropped_lines(line, action, reason_part):
    result = clean(line + "\nsix==1.16.0\n")
    assert kept(result) == ["six==1.16.0"]
    (act,) = result.actions
    assert act.action == action and reason_part in act.reason and act.location.line == 1


def test_markers_are_evaluated_for_the_target_not_the_host():
    text = "tomli==2.0.1 ; python_version < '3.11'\nexceptiongroup==1.2.0 ; python_version < '3.11'\n"
    assert kept(clean(text)) == []
    assert len(kept(clean(text, target=Target(python="3.10")))) == 2
    arm = "uvloop==0.19.0 ; platform_machine == 'aarch64'\n"
    assert kept(clean(arm, target=Target(python="3.11", platform="linux/arm64"))) == [
        "uvloop==0.19.0 ; platform_machine == 'aarch64'"]


@pytest.mark.parametrize(
    "line, pinned",
    [
        ("numpy @ file:///home/conda/feedstock_root/build_artifacts/numpy_1707225342954/work/dist/"
         "numpy-1.26.4-cp311-cp311-linux_x86_64.whl", "numpy==1.26.4"),
        ("PyYAML @ file:///croot/pyyaml_1698096049011/work/dist/PyYAML-6.0.1-cp311-cp311-linux_x86_64.whl",
         "pyyaml==6.0.1"),
        ("tqdm @ file:///opt/conda/pkgs/tqdm-4.66.1-py311h06a4308_0/info/test", "tqdm==4.66.1"),
        ("six @ file:///tmp/build/80754af9/six_1644875935023/work/six-1.16.0.tar.gz", "six==1.16.0"),
    ],
)
def test_conda_lines_are_repinned_to_the_recorded_version(line, pinned):
    result = clean(line + "\n")
    assert kept(result) == [pinned]
    assert result.actions[0].action == "repinned"


def test_conda_line_without_version_is_flagged_and_unpinned():
    result = clean("certifi @ file:///croot/certifi_1700501669400/work/certifi\n")
    assert kept(result) == ["certifi"]
    assert result.actions[0].action == "flagged" and "no version" in result.actions[0].reason


def test_conda_line_takes_the_version_from_a_name_pin_in_the_same_list():
    result = clean("certifi @ file:///croot/certifi_1700501669400/work/certifi\ncertifi==2023.11.17\n")
    assert kept(result) == ["certifi==2023.11.17"]
    assert [a.action for a in result.actions] == ["flagged", "merged"]


def test_editable_of_own_source_is_dropped_by_path_and_by_name():
    own = OwnSource(directory=Path("/work/job"), project_name="trainer")
    result = clean("-e /work/job\ntrainer==0.1.0\nmylib @ file:///work/job/libs/mylib\nsix==1.16.0\n", own=own)
    assert kept(result) == ["six==1.16.0"]
    assert all(a.action == "dropped" and "own source" in a.reason for a in result.actions)
    assert not result.findings


def test_editable_outside_source_is_flagged_lb305():
    own = OwnSource(directory=Path("/work/job"), project_name="trainer")
    result = clean("-e /home/alice/src/helpers\nhelpers2 @ file:///home/alice/helpers2\n", own=own)
    assert kept(result) == []
    assert [f.rule for f in result.findings] == ["LB305", "LB305"]
    assert result.findings[0].location.line == 1 and result.findings[1].location.line == 2


def test_editable_vcs_becomes_a_regular_pinned_install():
    result = clean("-e git+https://example.invalid/org/tool.git@0123abc#egg=tool\n")
    assert kept(result) == ["tool @ git+https://example.invalid/org/tool.git@0123abc#egg=tool"]
    assert result.actions[0].action == "repinned"


@pytest.mark.parametrize(
    "line, variant",
    [("torch==2.4.0+cu121", "cu121"), ("torchvision==0.19.0+cu118", "cu118"),
     ("torch==2.4.0+cpu", "cpu"), ("torch==2.3.1+rocm6.0", "rocm6.0")],
)
def test_local_variant_versions_are_routed_to_their_index(line, variant):
    result = clean(line + "\n", torch_index="http://127.0.0.1:9/whl/")
    assert kept(result) == [line]
    assert result.extra_index_urls == (f"http://127.0.0.1:9/whl/{variant}",)
    assert result.cuda_variants == ((line.split("==")[0], variant),)
    assert result.actions[0].action == "rerouted"


def test_ordinary_local_versions_are_not_routed():
    result = clean("mypkg==1.0+local.build\n")
    assert result.extra_index_urls == () and result.cuda_variants == ()


def test_duplicates_and_case_variants():
    result = clean("PyYAML==6.0.1\npyyaml==6.0.1\nNumpy==1.26.4\nnumpy==1.26.3\n")
    assert kept(result) == ["PyYAML==6.0.1", "Numpy==1.26.4"]
    merged = [a for a in result.actions if a.action == "merged"]
    assert "duplicate" in merged[0].reason
    assert "conflicts" in merged[1].reason and "requirements.frozen.txt:3" in merged[1].reason


@pytest.mark.parametrize(
    "name, url, version",
    [
        ("numpy", "file:///x/dist/numpy-1.26.4-cp311-cp311-linux_x86_64.whl", "1.26.4"),
        ("typing-extensions", "file:///croot/typing_extensions-4.9.0-py311_1/work", "4.9.0"),
        ("certifi", "file:///croot/certifi_1700501669400/work/certifi", None),
        ("requests", "file:///x/requests-2.31.0rc1.tar.gz", "2.31.0rc1"),
    ],
)
def test_version_from_path(name, url, version):
    assert version_from_path(name, url) == version


_line = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,10}==[0-9]{1,2}(\.[0-9]{1,2}){0,2}(\+(cu1[0-9]{2}|cpu))?", fullmatch=True),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8} @ file:///croot/[a-z_0-9]{1,12}/work", fullmatch=True),
    st.sampled_from(["pip==24.0", "-e /tmp/x", "-e git+https://h.invalid/r.git#egg=r", "# comment", ""]),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=15))
@example(lines=["~0"])  # found by hypothesis in CI: Path.expanduser raised RuntimeError
def test_frozen_list_parse_and_clean_raise_only_our_errors(lines):
    text = "\n".join(lines) + "\n"
    try:
        result = clean(text)
    except BadInput:
        return
    names = [r.name for r in result.requirements if r.name]
    assert len(names) == len(set((r.name, r.marker) for r in result.requirements if r.name))
    assert "pip" not in names
