"""Installed distributions from image layers: METADATA headers, the overlay (upper layers win,
whiteouts hide), the interpreter that owns the most packages, and a `docker save` stream."""

from __future__ import annotations

import io
import json
import tarfile

from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.compat.facts.providers.distributions import main_python, merge, parse_metadata, read_export, scan_layer

SITE = "usr/local/lib/python3.11/site-packages"


def member(name: str, data: bytes | None = None, kind: str = "file"):
    info = tarfile.TarInfo(name)
    if kind == "dir":
        info.type = tarfile.DIRTYPE
        return info, None
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "python3.11"
        return info, None
    info.size = len(data or b"")
    return info, io.BytesIO(data or b"")


def meta(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nName: not-a-header\n".encode()


def test_metadata_headers_only():
    assert parse_metadata(meta("torch", "2.1.0+cu121")) == ("torch", "2.1.0+cu121")
    assert parse_metadata(b"Metadata-Version: 2.1\nName: x\n") is None  # no version
    assert parse_metadata(b"\n\nName: x\nVersion: 1\n") is None  # body, not headers


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_parse_metadata_never_raises(data):
    parsed = parse_metadata(data)
    assert parsed is None or (parsed[0] and parsed[1])


def test_overlay_upper_layers_win_and_whiteouts_hide():
    lower = scan_layer([
        member("usr/local/bin/python3.11", b"ELF"),
        member(f"{SITE}/torch-1.13.1.dist-info/METADATA", meta("torch", "1.13.1")),
        member(f"{SITE}/six-1.16.0.dist-info/METADATA", meta("six", "1.16.0")),
        member(f"{SITE}/gone-1.0.dist-info/METADATA", meta("gone", "1.0")),
        member("opt/old/lib/python3.9/site-packages/x-1.dist-info/METADATA", meta("x", "1")),
    ])
    upper = scan_layer([
        member(f"{SITE}/torch-1.13.1.dist-info/METADATA", meta("torch", "1.13.1+cu117")),  # rewritten
        member(f"{SITE}/.wh.gone-1.0.dist-info"),
        member("opt/old/.wh..wh..opq"),
        member("usr/bin/python3", kind="symlink"),
    ])
    installed = merge([upper, lower])
    assert installed.distributions == (("six", "1.16.0", "3.11"), ("torch", "1.13.1+cu117", "3.11"))
    assert installed.pythons == ("3.11",) and main_python(installed) == "3.11"


def test_no_python_anywhere():
    installed = merge([scan_layer([member("etc/debian_version", b"12\n")])])
    assert installed.pythons == () and main_python(installed) is None


def _tar(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_docker_save_stream_is_ordered_by_its_manifest():
    bottom = _tar([(f"{SITE}/torch-2.0.0.dist-info/METADATA", meta("torch", "2.0.0")), ("usr/bin/python3.11", b"ELF")])
    top = _tar([(f"{SITE}/torch-2.0.0.dist-info/METADATA", meta("torch", "2.1.0+cu121"))])
    # The top layer is written first in the stream: only manifest.json says which is on top.
    export = _tar([("bbb/layer.tar", top), ("aaa/layer.tar", bottom),
                   ("manifest.json", json.dumps([{"Layers": ["aaa/layer.tar", "bbb/layer.tar"]}]).encode())])
    installed = read_export(io.BytesIO(export))
    assert installed.distributions == (("torch", "2.1.0+cu121", "3.11"),) and installed.layers_read == 2


def test_an_unreadable_layer_leaves_the_environment_unknown(monkeypatch):
    from launchbuild.compat.facts import image_env
    from launchbuild.compat.image_facts import ImageFacts
    from launchbuild.compat.facts.providers import distributions
    from launchbuild.compat.facts.providers.base import ProviderUnavailable
    from launchbuild.progress import Progress

    def broken(*args, **kwargs):
        raise ProviderUnavailable("registry 127.0.0.1:9: the layer stream was cut")

    monkeypatch.setattr(distributions, "read_installed", broken)
    facts = ImageFacts(reference="team/x:1", provider="registry", pythons=("3.11",))
    assert image_env.installed_environment(facts, None, "linux/amd64", Progress()) == (facts, None, None)


def test_an_image_job_without_any_python_is_lb102_but_a_base_image_is_not():
    from launchbuild.compat.catalog import evaluate
    from launchbuild.compat.context import CheckContext
    from launchbuild.compat.image_facts import ImageFacts

    no_python = ImageFacts(reference="team/cuda:12", provider="registry", pythons=(),
                           fact_sources=(("pythons", "no python3.X in the image layers (registry)"),))
    findings, _ = evaluate(CheckContext(image=no_python, image_job=True))
    assert [f.rule for f in findings if f.rule == "LB102"] == ["LB102"]
    # The same image as an accelerator base gets Python from apt: no such finding.
    findings, _ = evaluate(CheckContext(image=no_python, accelerator_image=True))
    assert "LB102" not in {f.rule for f in findings}
    # Facts inferred from a tag know nothing of the files: no claim either way.
    inferred = ImageFacts(reference="team/cuda:12", provider="inferred")
    findings, _ = evaluate(CheckContext(image=inferred, image_job=True))
    assert "LB102" not in {f.rule for f in findings}


def test_egg_info_is_read_as_a_directory_or_a_file():
    # setuptools/distutils installs and Debian's python3-* packages leave egg-info, not dist-info.
    layer = scan_layer([
        member("usr/bin/python3.11", b"ELF"),
        member("usr/lib/python3/dist-packages/setuptools-66.1.1.egg-info", kind="dir"),
        member("usr/lib/python3/dist-packages/setuptools-66.1.1.egg-info/PKG-INFO", meta("setuptools", "66.1.1")),
        member(f"{SITE}/legacy-0.3.egg-info", meta("legacy", "0.3")),  # distutils: one file
        member(f"{SITE}/legacy-0.3.egg-info.bak", meta("nope", "1")),
    ])
    installed = merge([layer])
    assert installed.distributions == (("legacy", "0.3", "3.11"), ("setuptools", "66.1.1", ""))


def test_an_installed_cache_entry_of_another_schema_is_a_miss():
    from launchbuild.compat.facts.providers.distributions import Installed

    entry = Installed(("3.11",), (("six", "1.17.0", "3.11"),), 2)
    assert Installed.from_json(json.loads(json.dumps(entry.to_json()))) == entry
    old = {k: v for k, v in entry.to_json().items() if k != "schema"}  # written before egg-info was read
    try:
        Installed.from_json(old)
    except ValueError:
        pass
    else:
        raise AssertionError("an entry without the schema was used")


def _installed(monkeypatch, installed):
    from launchbuild.compat.facts import image_env
    from launchbuild.compat.facts.providers import distributions
    from launchbuild.compat.image_facts import ImageFacts
    from launchbuild.progress import Progress

    monkeypatch.setattr(distributions, "read_installed", lambda *a, **k: installed)
    facts = ImageFacts(reference="team/x:1", provider="registry")
    return image_env.installed_environment(facts, None, "linux/amd64", Progress())


def test_a_python_with_nothing_installed_is_a_known_empty_environment(monkeypatch):
    from launchbuild.compat.facts.providers.distributions import Installed

    _, env, python = _installed(monkeypatch, Installed(("3.11",), (), 1))
    assert env is not None and env.lock is not None and env.lock.packages == () and python.value == "3.11"
    _, env, python = _installed(monkeypatch, Installed((), (), 1))
    assert env is None and python is None  # no Python at all: LB102's to say


def test_an_image_job_whose_packages_were_not_read_is_lb211_with_a_gpu_or_driver():
    from launchbuild.compat.catalog import evaluate
    from launchbuild.compat.context import CheckContext
    from launchbuild.compat.image_facts import ImageFacts
    from launchbuild.resolver.model import Lock, Target
    from tests.helpers_compat import parse_gpu

    image = ImageFacts(reference="team/x:1", provider="registry", pythons=("3.11",),
                       fact_sources=(("pythons", "image config"),))
    gpu = (parse_gpu("A100"),)
    findings, _ = evaluate(CheckContext(image=image, image_job=True, gpus=gpu))
    unknown = [f for f in findings if f.rule == "LB211"]
    assert len(unknown) == 1 and "what team/x:1 installs is not known" in unknown[0].message
    # Read (even empty), no GPU or driver asked about, or no Python at all (LB102): nothing unknown here.
    empty = Lock(packages=(), text="", target=Target(python="3.11", platform="linux/amd64"), backend="installed distributions",
                 input_hash="")
    no_python = ImageFacts(reference="team/x:1", provider="registry", pythons=(),
                           fact_sources=(("pythons", "no python3.X in the image layers (registry)"),))
    for ctx in (CheckContext(image=image, image_job=True, gpus=gpu, lock=empty), CheckContext(image=image, image_job=True),
                CheckContext(image=no_python, image_job=True, gpus=gpu), CheckContext(image=image, gpus=gpu)):
        assert not any("installs is not known" in f.message for f in evaluate(ctx)[0])
