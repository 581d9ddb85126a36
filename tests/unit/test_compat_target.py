"""--gpu, --driver and --platform parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchbuild.compat.target import parse_driver, parse_gpu
from launchbuild.core.platform import parse_platform
from launchbuild.errors import BadInput


@pytest.mark.parametrize(
    "text,name,cc,datacenter",
    [
        ("H100", "H100", (9, 0), True),
        ("h100", "H100", (9, 0), True),
        ("NVIDIA A100-SXM4-40GB", "A100 SXM4 40GB", (8, 0), True),
        ("A100-PCIE-40GB", "A100 PCIe 40GB", (8, 0), True),
        ("NVIDIA A100-SXM4-80GB", "A100 SXM4 80GB", (8, 0), True),
        ("Tesla T4", "Tesla T4", (7, 5), True),
        ("H100 PCIe", "H100 PCIe", (9, 0), True),
        ("NVIDIA H100 80GB HBM3", "H100", (9, 0), True),
        ("GeForce RTX 4090", "GeForce RTX 4090", (8, 9), False),
        ("NVIDIA GeForce RTX 5090", "GeForce RTX 5090", (12, 0), False),
        ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada Generation", (8, 9), False),
        ("Quadro RTX 6000", "Quadro RTX 6000", (7, 5), False),
        ("A10G", "A10G", (8, 6), True),
        ("A10", "A10", (8, 6), True),
        ("L40S", "L40S", (8, 9), True),
        ("Tesla K80", "Tesla K80", (3, 7), True),
        ("GeForce GT 720", "GT 720", (3, 5), False),
        ("B200", "B200", (10, 0), True),
        ("sm_90", "sm_90", (9, 0), True),
        ("SM_80", "sm_80", (8, 0), None),  # pci.ids lists 8.0 parts outside the data center too (CMP 170HX)
        ("sm86", "sm_86", (8, 6), None),
        ("9.0", "sm_90", (9, 0), True),
        ("12.0", "sm_120", (12, 0), None),
        ("compute_75", "sm_75", (7, 5), None),
    ],
)
def test_parse_gpu(text, name, cc, datacenter):
    # names are pci.ids' (the table's source): the model nvidia-smi's spelling resolves to
    gpu = parse_gpu(text)
    assert (gpu.name, gpu.cc, gpu.datacenter) == (name, cc, datacenter)


@pytest.mark.parametrize("text,suggests", [("H1000", "H100"), ("A10X", "A10"), ("rtx4090", "RTX 4090"), ("sm_99", "sm_90"), ("", "")])
def test_unknown_gpu_is_bad_input_with_close_matches(text, suggests):
    with pytest.raises(BadInput) as exc:
        parse_gpu(text)
    msg = str(exc.value)
    assert "\n" not in msg and suggests in msg


@pytest.mark.parametrize(
    "text,parts,cuda",
    [("535.104.05", (535, 104, 5), (12, 2)), ("570.26", (570, 26), (12, 8)), ("470.86", (470, 86), (11, 4)),
     (" 550.54.15 ", (550, 54, 15), (12, 4)), ("580.65.06", (580, 65, 6), (13, 0))],
)
def test_parse_driver(text, parts, cuda):
    d = parse_driver(text)
    assert d.parts == parts and d.cuda == cuda


def test_driver_ordering():
    assert parse_driver("535.54.03") < parse_driver("535.104.05") < parse_driver("550.54.14")
    assert parse_driver("570.26") == parse_driver("570.26")


@pytest.mark.parametrize("text,hint", [("12.1", "CUDA version"), ("535", "535.104.05"), ("abc", "nvidia-smi"),
                                       ("535.104.05.1", "nvidia-smi"), ("", "nvidia-smi"), ("v535.104", "nvidia-smi")])
def test_malformed_driver_is_bad_input(text, hint):
    with pytest.raises(BadInput) as exc:
        parse_driver(text)
    assert hint in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "text,expected",
    [("linux/amd64", "linux/amd64"), ("LINUX/AMD64", "linux/amd64"), ("linux/x86_64", "linux/amd64"),
     ("linux/arm64", "linux/arm64"), ("linux/arm64/v8", "linux/arm64"), ("linux/aarch64", "linux/arm64")],
)
def test_parse_platform(text, expected):
    assert parse_platform(text) == expected


@pytest.mark.parametrize("text", ["windows/amd64", "linux/ppc64le", "linux/arm/v7", "amd64", "", "linux"])
def test_other_platforms_are_bad_input(text):
    with pytest.raises(BadInput):
        parse_platform(text)


@given(st.text(max_size=30))
def test_only_bad_input_escapes_the_parsers(text):
    for parse in (parse_gpu, parse_driver, parse_platform):
        try:
            parse(text)
        except BadInput:
            pass
