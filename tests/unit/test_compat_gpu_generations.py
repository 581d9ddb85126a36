"""GPU names as nvidia-smi prints them for notebook parts and GeForce models the table lacks,
and the rule mechanisms the second pass over public reports exposed (public-case rows cite them)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from launchbuild.compat import data, gpus
from launchbuild.compat.catalog import evaluate
from launchbuild.core.findings import Severity
from tests.helpers_compat import ctx

GEFORCE = [r for r in data.gpu_rows() if gpus._GEFORCE_NUMBER.match(gpus.normalize(r.name))]


def test_notebook_suffixes_name_the_same_chip_generation():
    assert gpus.lookup("NVIDIA GeForce RTX 3050 Laptop GPU").cc == (8, 6)
    assert gpus.lookup("GeForce RTX 2070 with Max-Q Design").cc == (7, 5)
    assert gpus.lookup("NVIDIA GeForce RTX 5070 Ti Laptop GPU").cc == (12, 0)


def test_an_unlisted_geforce_model_takes_its_generations_capability_and_is_no_datacenter_part():
    row = gpus.lookup("NVIDIA GeForce RTX 4050")
    assert row is not None and row.cc == (8, 9) and row.datacenter is False


def test_a_generation_the_table_does_not_know_or_one_that_mixes_capabilities_stays_unknown():
    assert gpus.lookup("RTX 6090") is None  # no RTX 60 generation is listed: not guessed from the 50 series
    assert "GeForce GTX 1660" in gpus.lookup("GTX 1690").inferred_from  # the GTX 16 models say 7.5
    assert gpus.lookup("NVIDIA A900 80GB PCIe") is None  # A100/A30 are 8.0, A10/A40 8.6: the letter mixes them
    assert gpus.lookup("B150") is None  # B200 10.0 and B300 10.3


def test_models_pci_ids_names_get_their_chips_capability():
    # pci.ids (pciutils/pciids): GM107GL [Tesla M10], TU117/TU116 [GeForce GTX 1650], GP104GL [Quadro P5000],
    # GP102 [TITAN Xp], GA100 [A800 80GB PCIe], GB100/GB102 [B100]; the chip's CC (GM107 5.0, not GM20x 5.2).
    for name, cc, datacenter in (("Tesla M10", (5, 0), True), ("GTX 1650", (7, 5), False), ("Quadro P5000", (6, 1), False),
                                 ("NVIDIA TITAN Xp", (6, 1), False), ("NVIDIA A800 80GB PCIe", (8, 0), True),
                                 ("B100", (10, 0), True), ("GeForce GTX 1660 SUPER", (7, 5), False)):
        row = gpus.lookup(name)
        assert row is not None and (row.cc, row.datacenter) == (cc, datacenter) and not row.inferred_from, name


def test_a_name_listed_only_by_its_variants_takes_what_they_share():
    assert gpus.lookup("A100").cc == (8, 0)  # A100 SXM4 40GB, A100 PCIe 80GB, ...
    row = gpus.lookup("RTX PRO 6000")  # Workstation (false) and Server (true) Editions: class unknown
    assert row.cc == (12, 0) and row.datacenter is None


def test_workstation_and_data_center_names_take_their_familys_capability_and_class():
    assert gpus.lookup("RTX 2000 Ada").cc == (8, 9)  # workstation numbering is not a GeForce generation
    assert gpus.lookup("NVIDIA RTX 4000 Ada Generation").cc == (8, 9)
    row = gpus.lookup("NVIDIA RTX A4000")
    assert row.cc == (8, 6) and row.datacenter is False
    for name, cc in (("NVIDIA H800 80GB HBM3", (9, 0)), ("NVIDIA L20", (8, 9))):
        row = gpus.lookup(name)
        assert row.cc == cc and row.datacenter is True


@given(st.sampled_from(GEFORCE), st.sampled_from(["", " Laptop GPU", " Laptop", " with Max-Q Design", " Mobile"]))
def test_suffixes_never_change_a_listed_models_capability(row, suffix):
    found = gpus.lookup(f"NVIDIA GeForce {row.name}{suffix}")
    assert found is not None and found.cc == row.cc


@given(st.text(max_size=40))
def test_lookup_of_any_text_returns_a_row_or_none(text):
    found = gpus.lookup(text)
    assert found is None or isinstance(found.cc, tuple)


def _rules(findings, severity):
    return {f.rule for f in findings if f.severity is severity}


def test_tensorflow_reaching_blackwell_only_through_ptx_jit_is_a_warning_naming_the_ptx():
    findings, _ = evaluate(ctx(gpus=("RTX 5090",), driver="570.124.06", pins=("tensorflow==2.19.0",), python="3.12"))
    jit = [f for f in findings if f.rule == "LB203"]
    assert jit and all(f.severity is Severity.WARNING for f in jit)
    assert "compute_90" in jit[0].message and "sm_120" in jit[0].message


def test_tensorflow_with_cubins_for_the_gpu_gets_no_jit_warning():
    findings, _ = evaluate(ctx(gpus=("A100",), driver="550.54.15", pins=("tensorflow==2.19.0",), python="3.12"))
    assert "LB203" not in _rules(findings, Severity.WARNING) | _rules(findings, Severity.ERROR)


def test_a_driver_older_than_the_data_against_a_cuda_the_data_lacks_is_unknown_not_a_verdict():
    from launchbuild.compat.facts.inspect import _with_table_pythons
    from launchbuild.core.imageref import parse_image_ref
    from launchbuild.compat.facts.providers.inference import infer_facts

    def image(ref):
        return _with_table_pythons(infer_facts(parse_image_ref(ref)))

    old = evaluate(ctx(image=image("nvidia/cuda:9.1-base-ubuntu16.04"), driver="390.157", pins=("numpy==1.19.5",), python="3.6", accelerator=True))[0]
    assert "LB202" not in {f.rule for f in old} and "LB211" in _rules(old, Severity.WARNING)
    known = evaluate(ctx(image=image("nvidia/cuda:10.0-base-ubuntu18.04"), driver="390.157", pins=("numpy==1.19.5",), python="3.6", accelerator=True))[0]
    assert "LB202" in {f.rule for f in known}


def test_a_package_that_builds_its_kernels_at_install_with_no_measured_wheel_is_an_unknown_for_the_gpu():
    findings, _ = evaluate(ctx(gpus=("T4",), driver="535.104.05", pins=("flash-attn==2.5.0",), python="3.10"))
    unknown = [f for f in findings if f.rule == "LB211" and "flash-attn 2.5.0" in f.message]
    assert unknown and unknown[0].severity is Severity.WARNING and "T4 (sm_75)" in unknown[0].message
    without_gpu, _ = evaluate(ctx(pins=("flash-attn==2.5.0",), python="3.10"))
    assert not [f for f in without_gpu if f.rule == "LB211" and "flash-attn" in f.message]


def _lb212(gpu, driver):
    return [f for f in evaluate(ctx(gpus=(gpu,), driver=driver, pins=("numpy==2.1.3",)))[0] if f.rule == "LB212"]


def test_a_driver_branch_between_the_last_pre_architecture_toolkit_and_the_first_one_predates_the_gpu():
    # R565 shipped with no CUDA toolkit: newer than CUDA 12.6's 560.35.05, older than CUDA 12.8's R570
    found = _lb212("RTX 5090", "566.36")
    assert found and found[0].severity is Severity.ERROR and "570" in found[0].fix
    assert _lb212("B200", "565.57.01")
    assert not _lb212("RTX 5090", "570.124.06")


def test_the_last_pre_architecture_toolkits_own_branch_is_not_an_error_but_an_unknown():
    # R515 drove H100 before CUDA 11.8 compiled sm_90, but R560 (CUDA 12.6's) drives no
    # Blackwell: whether that branch carries early support is per GPU, and not in the data.
    assert _lb212("H100", "470.82.01")
    for gpu, driver, first in (("H100", "515.48.07", "11.8"), ("B200", "560.35.05", "12.8"),
                               ("RTX 4090", "515.65.01", "11.8")):
        findings = evaluate(ctx(gpus=(gpu,), driver=driver, pins=("numpy==2.1.3",)))[0]
        assert not [f for f in findings if f.rule == "LB212"], gpu
        unknown = [f for f in findings if f.rule == "LB211" and f"driver {driver}" in f.message]
        assert unknown and unknown[0].severity is Severity.WARNING, gpu
        assert "early" in unknown[0].message and f"CUDA {first}" in unknown[0].fix, gpu
    # The first toolkit's own branch is known to drive it: no unknown.
    findings = evaluate(ctx(gpus=("B200",), driver="570.124.06", pins=("numpy==2.1.3",)))[0]
    assert not [f for f in findings if f.rule in ("LB211", "LB212") and "driver" in f.message]


def test_a_measured_package_whose_release_no_row_measured_is_an_unknown_for_the_gpu():
    findings, _ = evaluate(ctx(gpus=("GTX 1080 Ti",), pins=("torch==2.7.0+cu126", "vllm==0.9.1"), python="3.10"))
    unknown = [f for f in findings if f.rule == "LB211" and "vllm 0.9.1" in f.message]
    assert unknown and "--package vllm" in unknown[0].fix


def test_same_major_ptx_jit_is_routine_and_gets_no_warning():
    # TensorFlow <= 2.15 ships sm_75 cubins and compute_80 PTX: Ampere JIT-compiles it routinely
    findings, _ = evaluate(ctx(gpus=("RTX 3090",), driver="535.104.05", pins=("tensorflow==2.15.0",), python="3.10"))
    assert "LB203" not in {f.rule for f in findings}


def test_a_major_only_cudnn_tag_meets_an_x0_minimum_without_an_unknown():
    from launchbuild.core.imageref import parse_image_ref
    from launchbuild.compat.facts.inspect import _with_table_pythons
    from launchbuild.compat.facts.providers.inference import infer_facts

    image = _with_table_pythons(infer_facts(parse_image_ref("nvidia/cuda:11.0.3-cudnn8-runtime-ubuntu18.04")))
    findings, _ = evaluate(ctx(image=image, gpus=("V100",), pins=("tensorflow==2.4.1",), python="3.8", accelerator=True))
    assert not [f for f in findings if "cuDNN" in f.message]


def test_a_torch_build_whose_cuda_predates_the_gpu_cannot_have_its_cubins():
    findings, _ = evaluate(ctx(gpus=("A100",), driver="450.80.02", pins=("torch==1.8.1+cu102",), python="3.8"))
    bound = [f for f in findings if f.rule == "LB203"]
    assert bound and bound[0].severity is Severity.WARNING and "CUDA 10.2" in bound[0].message
    # CUDA 11.1 compiles sm_80: an unmeasured cu111 build is only an unknown
    findings, _ = evaluate(ctx(gpus=("A100",), driver="450.80.02", pins=("torch==1.8.1+cu111",), python="3.8"))
    assert "LB203" not in {f.rule for f in findings} and "LB211" in {f.rule for f in findings}


def test_an_inferred_gpu_is_said_to_be_inferred_never_taken_as_a_table_fact():
    from launchbuild.compat.target import parse_gpu

    h800 = parse_gpu("H300")  # no such model: inferred from the H letter's models
    assert h800.inferred_from and "H100" in h800.inferred_from
    assert parse_gpu("H100").inferred_from == ""
    findings, _ = evaluate(ctx(gpus=("H300",), driver="550.54.15", pins=("numpy==1.26.4",)))
    said = [f for f in findings if f.rule == "LB211" and "H300 is not in data/gpus.json" in f.message]
    assert len(said) == 1 and said[0].severity is Severity.WARNING and "inferred" in said[0].message
    findings, _ = evaluate(ctx(gpus=("H100",), driver="550.54.15", pins=("numpy==1.26.4",)))
    assert not [f for f in findings if f.rule == "LB211" and "data/gpus.json" in f.message]


def test_nvidia_smi_spellings_resolve_to_the_pci_ids_models():
    # nvidia-smi says "NVIDIA A100 80GB PCIe" where pci.ids says "A100 PCIe 80GB"; "K40" is listed as K40c/K40m/...
    assert gpus.lookup("NVIDIA A100 80GB PCIe").cc == (8, 0)
    assert gpus.lookup("Tesla K40").cc == (3, 5)
    row = gpus.lookup("RTX PRO 6000 Server Edition")  # pci.ids: "RTX PRO 6000 Blackwell Server Edition"
    assert row.cc == (12, 0) and row.datacenter is True
    assert gpus.lookup("RTX PRO 4500 Blackwell Server").datacenter is True  # its Server Edition, not the workstation card
    assert gpus.lookup("DGX Spark") is None  # a system name, not a GPU model: nvidia-smi names its GB10
