"""LB304 reads data/wheel_libs.json: a library the locked wheel ships is no apt package the
image needs; a wheel the table has not measured keeps the warning and says so."""

from __future__ import annotations

import dataclasses

import pytest

from launchbuild.compat import data
from launchbuild.compat.catalog import RULES
from launchbuild.compat.image_facts import ImageFacts
from launchbuild.compat.rules import packages
from launchbuild.resolver.model import LockedPackage
from tests.helpers_compat import ctx

A, B, C = "a" * 64, "b" * 64, "c" * 64


def _wheel(sha, libs, version="1.0", machine="x86_64", glibc="2.28"):
    return data.WheelLibraries("demo", version, machine, glibc, sha, f"demo-{version}-{sha[:1]}.whl", frozenset(libs), "2026-12-01")


@pytest.fixture
def table(monkeypatch):
    rows: list[data.WheelLibraries] = []
    monkeypatch.setattr(data, "system_library_needs",
                        lambda: {"demo": data.SystemNeeds("demo", ("libsndfile1", "ffmpeg"), "loads libsndfile")})
    monkeypatch.setattr(data, "apt_libraries", lambda: {"libsndfile1": "libsndfile"})
    monkeypatch.setattr(data, "wheel_libraries", lambda: {"demo": tuple(rows)})
    return rows


def _check(*hashes, version="1.0", **kw):
    c = ctx(pins=(f"demo=={version}",), **kw)
    lock = dataclasses.replace(c.lock, packages=(LockedPackage("demo", version, tuple(f"sha256:{h}" for h in hashes)),))
    return list(RULES["LB304"].check(dataclasses.replace(c, lock=lock)))


def _ev(finding, fact):
    return next(e for e in finding.evidence if e.fact == fact)


def test_a_bundled_library_is_not_asked_of_the_image(table):
    table.append(_wheel(A, {"libsndfile"}))
    (f,) = _check(A)
    assert "libsndfile1" not in f.message and "ffmpeg" in f.message and "libsndfile1" not in f.fix  # ffmpeg is a binary
    ev = _ev(f, "bundled in the wheel")
    assert ev.value == "libsndfile" and "matched by sha256" in ev.source and "data/wheel_libs.json" in ev.source


def test_every_library_bundled_means_no_finding(table, monkeypatch):
    monkeypatch.setattr(data, "system_library_needs", lambda: {"demo": data.SystemNeeds("demo", ("libsndfile1",), "x")})
    table.append(_wheel(A, {"libsndfile"}))
    assert _check(A) == []
    assert _check() == []  # no hashes in the lock: matched by version and machine


def test_the_locked_hash_wins_over_other_wheels_of_the_version(table):
    table.extend([_wheel(A, {"libsndfile"}), _wheel(B, set())])
    (f,) = _check(B)
    assert "libsndfile1" in f.message and _ev(f, "bundled in the wheel").value == "none of libsndfile"


def test_only_what_every_candidate_wheel_ships_counts(table):
    table.extend([_wheel(A, {"libsndfile"}), _wheel(B, set())])
    (f,) = _check(A, B, C)
    assert "libsndfile1" in f.message  # pip may install either wheel


def test_an_unmeasured_wheel_keeps_the_warning_and_says_so(table):
    table.append(_wheel(A, {"libsndfile"}, version="0.9"))
    (f,) = _check(C, version="1.0")
    assert "libsndfile1" in f.message and f.severity.value == "warning"
    assert _ev(f, "bundled in the wheel").value == "not measured for demo 1.0 on x86_64"


def test_the_wheel_of_another_machine_does_not_count(table):
    table.append(_wheel(A, {"libsndfile"}, machine="x86_64"))
    (f,) = _check(A, platform="linux/arm64")
    assert "libsndfile1" in f.message and "not measured" in _ev(f, "bundled in the wheel").value


def test_an_image_glibc_below_the_manylinux_floor_rules_the_wheel_out(table):
    table.append(_wheel(A, {"libsndfile"}, glibc="2.28"))
    old = ImageFacts(reference="ubuntu:18.04", provider="inferred", glibc="2.27")
    (f,) = _check(A, image=old)
    assert "libsndfile1" in f.message  # pip takes the pure wheel, which uses the system library
    assert _ev(f, "bundled in the wheel").value == "no measured wheel installs: the image's glibc is 2.27"
    assert _check(A, image=ImageFacts(reference="ubuntu:22.04", provider="inferred", glibc="2.35"))[0].message.count("libsndfile1") == 0


def test_an_unreadable_image_glibc_is_ignored(table):
    table.append(_wheel(A, {"libsndfile"}))
    (f,) = _check(A, image=ImageFacts(reference="x", provider="inferred", glibc="unknown"))
    assert "libsndfile1" not in f.message


def test_locked_wheels_reports_how_it_matched(table):
    table.append(_wheel(A, {"libsndfile"}))
    c = ctx(pins=("demo==1.0",))
    assert packages.locked_wheels(c, "demo", "1.0")[1] == "version"
    assert packages.locked_wheels(c, "demo", "1.0.0")[0]  # 1.0 and 1.0.0 are one version


def test_shipped_tables_clear_soundfile_but_not_opencv():
    """On the measured data: soundfile's manylinux wheels ship libsndfile; opencv's ship no libGL
    (auditwheel leaves the manylinux system libraries out)."""
    assert list(RULES["LB304"].check(ctx(pins=("soundfile==0.13.1",)))) == []
    (f,) = RULES["LB304"].check(ctx(pins=("opencv-python==4.10.0.84",)))
    assert "libgl1 libglib2.0-0" in f.message and _ev(f, "bundled in the wheel").value == "none of libgl libglib20"
