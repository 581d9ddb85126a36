"""Every rule's findings carry typed fixes (core/fixes.py) unless what they advise is something
only a person can do; those are named below, each with its reason.

Each rule is driven with the unit fixtures that exercise it (tests/unit/test_compat_rules.py's
table, the public cases of test_compat_public_cases.py, the branches listed here) and the
resolver's and the kubernetes engine's finding builders with small inputs. A finding whose fixes
hold nothing a program can act on (no fix, or only `Advice`) fails the test unless its rule and
fix text are in ADVICE_ONLY; an ADVICE_ONLY entry no fixture reaches fails too, so the list
cannot go stale."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from launchbuild.compat import catalog, registry
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.compat.target import Gpu
from launchbuild.core import fixes as fixes_mod
from launchbuild.core.findings import Finding, Location
from launchbuild.core.fixes import Advice, Fix, actionable, as_data, render_fix
from launchbuild.resolver.model import Target
from tests.helpers_compat import ctx, cuda_image, python_image

ROOT = Path(__file__).resolve().parents[2]

# (rule, the fix text it gives (a regular expression), why no program can act on it).
ADVICE_ONLY: tuple[tuple[str, str, str], ...] = (
    ("LB104", r"^check the image reference and tag",
     "a typo, missing credentials and an unpushed image read the same from here"),
    ("LB202", r"^use an official nvidia/cuda image, or fix NVIDIA_REQUIRE_CUDA",
     "the image's own label is malformed; no replacement image follows from it"),
    ("LB202", r"^use an image without this NVIDIA_REQUIRE_",
     "which image or GPU meets the image's own NVIDIA_REQUIRE_ARCH-style variable is not in the facts"),
    ("LB202", r"^fix NVIDIA_REQUIRE_\w+ in the image",
     "the image's own variable is malformed; no replacement image follows from it"),
    ("LB203", r"^no official torch build supports sm_",
     "there is nothing to install: no official build has kernels for the GPU"),
    ("LB203", r"^use a GPU that TensorFlow supports",
     "no tensorflow release in the data runs there; the GPU is the operator's choice"),
    ("LB203", r"^run JAX on a newer GPU$",
     "every JAX build needs this compute capability; the GPU is the operator's choice"),
    ("LB203", r"^run CuPy on a newer GPU$",
     "every CuPy build needs this compute capability; the GPU is the operator's choice"),
    ("LB203", r"^use a \S+ build that ships sm_\d+ kernels, or test the job",
     "the data names no build with those kernels; testing on the GPU is a person's step"),
    ("LB207", r"^install a torch release whose PyPI",
     "the data names no release whose wheel for this platform bundles CUDA"),
    ("LB211", r"^check \S+'s supported GPU generations",
     "the package compiles its kernels at install, so no refresh can measure them"),
    ("LB211", r"^add its compute capability to data/cuda_archs.json",
     "the row comes from NVIDIA's release notes, which a person reads"),
    ("LB211", r"^add (the|that) CUDA release (that ships this driver )?to data/cuda_drivers.json",
     "the row comes from NVIDIA's release notes (Table 3), which a person reads"),
    ("LB211", r"^let the check read the image",
     "the facts need an engine or registry, or a newer checkout of NVIDIA's repository"),
    ("LB213", r"^target a supported Python$", "the data lists no supported CPython to name"),
    ("LB214", r"^nothing to do",
     "the data is fresh: the finding states its age and proposes nothing"),
    ("LB301", r".", "the conflict, the build or the markers are the user's to fix; no value follows from the resolver's error"),
    ("LB305", r".", "where an unpublished package should come from (an index, a vendored wheel, a VCS URL) is the user's call"),
    ("LB307", r".", "which input form the unread file is meant for is the user's to say"),
    ("LB308", r".", "the job's dependencies are the user's to declare; the finding is information"),
    ("LB309", r".", "the PyPI name of the conda package is exactly what is not known"),
    ("LB310", r".", "stale hashes and a wrong pin read the same; only the user knows which"),
    ("LB311", r".", "the project's packaging is the user's code"),
    ("LB401", r".", "whether the entrypoint path is wrong or the file is missing is the user's to say"),
    ("LB402", r"^(remove the rule|move \S+ out of)",
     "which ignore rule re-includes a secret, and where the secret belongs, are the user's"),
    ("LB403", r".", "the command is the user's; \"python train.py\" is an example, not a value"),
)


def _img(base: ImageFacts, **changes) -> ImageFacts:
    return dataclasses.replace(base, **changes)


# Branches the rule tables do not reach, each named by what it drives.
EXTRA = [
    ("LB102", ctx(image=_img(python_image("3.11"), pythons=(), fact_sources=(("pythons", "image scan"),)), image_job=True)),  # LB102 no Python
    ("LB202", ctx(image=_img(cuda_image("12.4.1"), env=(("NVIDIA_REQUIRE_ARCH", "arch>=8.0"),)), gpus=("V100",), driver="550.54.15")),  # LB202: another requirement
    ("LB202", ctx(image=_img(cuda_image("12.4.1"), env=(("NVIDIA_REQUIRE_ARCH", "arch"),)), driver="550.54.15")),  # LB202: malformed one
    ("LB203", ctx(gpus=("H100",), pins=("torch==1.12.1+cu113",))),  # LB203: unmeasured build whose CUDA predates Hopper
    ("LB203", ctx(gpus=("V100",), pins=("jax==0.7.0", "jax-cuda13-plugin==0.7.0", "jax-cuda13-pjrt==0.7.0"))),  # LB203: the CUDA 12 build
    ("LB203", ctx(gpus=("K80",), pins=("cupy-cuda12x==13.3.0",))),  # LB203: CuPy
    ("LB203", ctx(gpus=("RTX 5090",), pins=("tensorflow==2.18.0", "nvidia-cudnn-cu12==9.3.0.75"))),  # LB203: PTX JIT only
    ("LB203", ctx(gpus=("sm_35",), pins=("torch==2.4.0+cu121",))),  # LB203: no official torch build for the GPU
    ("LB205", ctx(image=python_image(), gpus=("A100",), pins=("cupy-cuda12x==13.3.0",))),  # LB205: system CUDA, none in the image
    ("LB207", ctx(gpus=("A100",), pins=("torch==2.4.0",), platform="linux/arm64")),  # LB207: PyPI arm64 torch is CPU-only
    ("LB207", ctx(gpus=("A100",), pins=("tensorflow==2.18.0",), platform="linux/arm64")),  # LB207: arm64 tensorflow
    ("LB209", ctx(image=cuda_image("12.5.1", "8"), pins=("tensorflow==2.18.0",))),  # LB209: cuDNN major only
    ("LB211", ctx(gpus=("GTX 1690",), driver="550.54.15")),  # LB211: GPU inferred from its family
    ("LB211", ctx(gpus=("H100",), pins=("torch==2.4.0+cu999",))),  # LB211: torch kernels unknown
    ("LB211", ctx(gpus=("H100",), pins=("flash-attn==2.6.3",))),  # LB211: compiled at install
    ("LB211", ctx(gpus=("H100",), pins=("vllm==0.0.1",))),  # LB211: measurable, not measured
    ("LB211", ctx(image=_img(cuda_image("12.4.1"), apt_pythons=None, os_version="28.04"), python="3.12")),  # LB211: distro unknown
    ("LB211", ctx(image=_img(cuda_image("12.4.1"), provider="inferred", require_cuda=None), gpus=("H100",))),  # LB211: inferred image
    # LB211: a capability no CUDA release in the data compiles for (a GPU newer than the table)
    ("LB211", dataclasses.replace(ctx(), gpus=(Gpu("sm_130", (13, 0)),))),
    ("LB214", ctx(gpus=("H100",), today="2099-01-01")),  # LB214: stale data
    ("LB213", ctx(python="3.8", today="2099-01-01")),  # LB213: no supported Python in the data
]


def _rule_contexts() -> list:
    from tests.unit import test_compat_public_cases as public
    from tests.unit.test_compat_rules import CASES

    out = [c for _, c, _ in CASES] + [c for _, c in EXTRA]
    for case in public.CASES:
        image = public._image(case.image)
        out.append(ctx(image=image, gpus=(case.gpu,) if case.gpu else (), driver=case.driver, pins=case.pins,
                       python=case.python, accelerator=bool(image and image.cuda_version), platform=case.platform))
    return out


class _Images:
    """A docker SDK stand-in for LB404: the base is local; its registry says `answer`."""

    def __init__(self, answer: str):
        self.answer = answer

    def get(self, ref: str):
        return SimpleNamespace(id="sha256:" + "5" * 64, attrs={})

    def get_registry_data(self, ref: str):
        from docker.errors import APIError, NotFound

        raise APIError("dial tcp: connection refused") if self.answer == "unreachable" else NotFound("manifest unknown")


def _other_stage_findings(tmp_path: Path) -> list[Finding]:
    """The findings built outside compat's checks: the resolver's builders and LB404's."""
    from launchbuild.builder.engines.kubernetes import local_only_base
    from launchbuild.resolver import artifacts, cleaning
    from launchbuild.resolver.build_errors import build_failure_finding
    from launchbuild.resolver.detectors.conda import _unmapped
    from launchbuild.resolver.detectors.locks import _lock_problem
    from launchbuild.resolver.explain import unresolvable_finding
    from launchbuild.core.sourced import Origin, Sourced
    from launchbuild.resolver.own_project import unbuildable_finding
    from launchbuild.resolver.python_version import outside_requires_python
    from launchbuild.resolver.requirements import parse_text
    from launchbuild.resolver.special import no_input_findings

    target = Target("3.11")

    def parsed(text: str):
        return parse_text(text, "requirements.txt", base_dir=tmp_path).requirements

    reqs = parsed("torch==2.4.0\n")
    job = tmp_path / "job"
    job.mkdir()
    (job / "requirements-gpu.txt").write_text("torch\n")
    (tmp_path / "empty").mkdir()
    out = [
        *no_input_findings(job, []),  # LB307: a dependency file nothing reads
        *no_input_findings(tmp_path / "empty", []),  # LB308: no dependency file
        _unmapped("foo", "foo=1", Location("environment.yml")),
        _lock_problem("pylock.toml", "pkg", "a local directory"),
        unresolvable_finding("Because torch==99 does not exist", reqs, target, "uv"),
        build_failure_finding("error: Failed to build `pkg==1.0`", "requirements.txt", target, "uv", None),
        unbuildable_finding(".", "no package folder"),
        outside_requires_python(Sourced("3.11", Origin.FLAG, "--python"),
                                Sourced(">=3.12", Origin.SOURCE_FILE, "pyproject.toml requires-python")),
        artifacts._unavailable(reqs[0], "not published"),
        artifacts._unavailable_link("/elsewhere/wheels"),
    ]
    out += cleaning.clean_run_list(parsed("-e /home/alice/src/helpers\n-e git+https://example.invalid/x.git\n"), target,
                                   cleaning.OwnSource(directory=job)).findings
    out += artifacts.enforce_user_hashes("pkg==1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n",
                                         parsed("pkg==1.0 --hash=sha256:" + "b" * 64 + "\n"))[1]
    for answer in ("absent", "unreachable"):
        out.append(local_only_base(SimpleNamespace(images=_Images(answer)), "team/base:1"))
    return out


def _entry(f: Finding):
    return next((e for e in ADVICE_ONLY if e[0] == f.rule and re.search(e[1], f.fix)), None)


def test_every_finding_carries_a_typed_fix_unless_its_rule_says_why_not(tmp_path):
    findings = [f for c in _rule_contexts() for f in catalog.evaluate(c)[0]] + _other_stage_findings(tmp_path)
    untyped, used = [], set()
    for f in findings:
        if f.fixes:
            assert f.fix == render_fix(f.fixes), f  # the text is rendered from the values
        if actionable(f.fixes):
            continue
        entry = _entry(f)
        if entry is None:
            untyped.append((f.rule, f.fix))
        else:
            used.add(entry)
    assert not untyped, f"findings without a typed fix and no reason in ADVICE_ONLY: {untyped}"
    assert {r.id for r in registry.ALL_RULES} <= {f.rule for f in findings}, "a rule no fixture drives"
    assert [e for e in ADVICE_ONLY if e not in used] == [], "ADVICE_ONLY entries no finding needs"


def test_the_typed_fixes_of_every_finding_are_plain_json_data(tmp_path):
    findings = [f for c in _rule_contexts() for f in catalog.evaluate(c)[0]] + _other_stage_findings(tmp_path)
    kinds = set()
    for f in findings:
        for fx in f.fixes:
            data = as_data(fx)
            assert json.loads(json.dumps(data)) == data and "phrase" not in data
            kinds.add(data["kind"])
    declared = {name for name, v in vars(fixes_mod).items() if isinstance(v, type) and issubclass(v, Fix) and v is not Fix}
    assert kinds == declared, f"fix kinds no rule emits, or undeclared: {kinds ^ declared}"


def test_every_fix_kind_is_documented_with_its_fields():
    doc = (ROOT / "docs" / "rules.md").read_text("utf-8")
    section = doc[doc.index("## Fix kinds"):]
    for name, v in vars(fixes_mod).items():
        if isinstance(v, type) and issubclass(v, Fix) and v is not Fix:
            row = next((ln for ln in section.splitlines() if ln.startswith(f"| `{name}` |")), None)
            assert row is not None, f"{name} is not in docs/rules.md's fix kinds"
            for field in dataclasses.fields(v):
                if field.name != "phrase":
                    assert f"`{field.name}`" in row, (name, field.name)


def test_advice_is_never_acted_on_and_phrases_keep_each_rules_wording():
    assert actionable((Advice("read the notes"),)) == ()
    assert fixes_mod.UpgradeDriver().text() == "upgrade the node driver"
    assert fixes_mod.UpgradeDriver("525.60.13", cuda="12.x").text() == "upgrade the node driver to >= 525.60.13 (CUDA 12.x)"
    assert fixes_mod.UpgradeDriver(cuda="12.4.1", native=True).text() == \
        "upgrade the node driver to a branch that supports CUDA 12.4.1 natively"
    assert fixes_mod.RefreshData(("--only", "distros")).text() == "run `launchbuild data refresh --only distros`"
    assert fixes_mod.SetOption("gpu", "sm_90", phrase="pass --gpu {value}").text() == "pass --gpu sm_90"
    assert as_data(fixes_mod.ChangeBaseImage("python:3.11-slim", "use {image} now")) == {"kind": "ChangeBaseImage", "image": "python:3.11-slim"}


@pytest.mark.parametrize("rule_id,c", EXTRA, ids=[f"{r}-{i}" for i, (r, _) in enumerate(EXTRA)])
def test_each_extra_fixture_drives_the_rule_it_names(rule_id, c):
    assert rule_id in {f.rule for f in catalog.evaluate(c)[0]}
