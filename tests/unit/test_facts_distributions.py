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
