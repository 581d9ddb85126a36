"""Safe extraction of code archives and the local-directory link check.

Every hostile archive is built here with tarfile/zipfile, extracted into a fresh directory,
and must be refused with a BadInput naming the archive and the member, with nothing written
outside the destination."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from launchbuild.errors import BadInput
from launchbuild.jobs.archive import extract_archive
from launchbuild.jobs.fetch import materialize
from launchbuild.jobs.local_tree import check_local_directory
from launchbuild.jobs.model import CodeSource, Job


def _file(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, None


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def make_zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return path


def _zip_symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _zip_special(name: str, kind: int) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (kind | 0o644) << 16
    return info, b""


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# (case id, archive suffix, members, words the error must contain)
UNSAFE_TAR = [
    ("absolute path", [_file("/etc/evil")], "absolute path"),
    ("dotdot", [_file("../evil")], "'..'"),
    ("dotdot inside", [_file("a/../../evil")], "'..'"),
    ("symlink absolute", [_special("link", tarfile.SYMTYPE, "/etc/passwd")], "absolute path"),
    ("symlink escape", [_special("a/link", tarfile.SYMTYPE, "../../outside")], "outside the archive"),
    ("symlink chain escape", [_special("a", tarfile.SYMTYPE, "."), _special("b", tarfile.SYMTYPE, "a/..")],
     "through other links"),
    ("write through symlink dir", [_special("d", tarfile.SYMTYPE, "."), _special("e", tarfile.SYMTYPE, "d/.."),
                                   _file("e/evil")], "link"),
    # The refusal names the link, the member the archive holds, not the target it points at.
    ("hardlink escape", [_special("h", tarfile.LNKTYPE, "../../etc/passwd")],
     "member 'h' is a hard link to '../../etc/passwd', which climbs out of the archive with '..'"),
    ("hardlink absolute", [_special("h", tarfile.LNKTYPE, "/etc/passwd")],
     "member 'h' is a hard link to '/etc/passwd', which has an absolute path"),
    ("char device", [_special("null", tarfile.CHRTYPE)], "device file"),
    ("block device", [_special("sda", tarfile.BLKTYPE)], "device file"),
    ("fifo", [_special("pipe", tarfile.FIFOTYPE)], "FIFO"),
]


@pytest.mark.parametrize("suffix,mode", [(".tar.gz", "w:gz"), (".tar", "w"), (".tgz", "w:gz")])
@pytest.mark.parametrize("case,members,words", UNSAFE_TAR, ids=[c[0] for c in UNSAFE_TAR])
def test_unsafe_tar_is_refused(tmp_path: Path, suffix, mode, case, members, words) -> None:
    archive = make_tar(tmp_path / f"code{suffix}", members, mode)
    dest = tmp_path / "out"
    with pytest.raises(BadInput) as err:
        extract_archive(archive, dest)
    message = str(err.value)
    assert str(archive) in message and words in message, message
    assert "\n" not in message
    assert not (tmp_path / "evil").exists() and not Path("/etc/evil").exists()


UNSAFE_ZIP = [
    ("absolute path", [("/etc/evil", b"x")], "absolute path"),
    ("windows drive", [("C:/evil", b"x")], "absolute path"),
    ("dotdot", [("../evil", b"x")], "'..'"),
    ("backslash dotdot", [("..\\evil", b"x")], "'..'"),
    ("symlink escape", [_zip_symlink("link", "../../outside")], "outside the archive"),
    ("symlink absolute", [_zip_symlink("link", "/etc/passwd")], "absolute path"),
    ("device", [_zip_special("dev", stat.S_IFCHR)], "device file"),
    ("fifo", [_zip_special("pipe", stat.S_IFIFO)], "FIFO"),
]


@pytest.mark.parametrize("case,members,words", UNSAFE_ZIP, ids=[c[0] for c in UNSAFE_ZIP])
def test_unsafe_zip_is_refused(tmp_path: Path, case, members, words) -> None:
    archive = make_zip(tmp_path / "code.zip", members)
    with pytest.raises(BadInput) as err:
        extract_archive(archive, tmp_path / "out")
    assert str(archive) in str(err.value) and words in str(err.value), str(err.value)
    assert not (tmp_path / "evil").exists()


def test_zip_bomb_past_the_declared_limit(tmp_path: Path) -> None:
    # 64 MiB of zeros compresses to ~64 KiB; the declared sizes already exceed the limit.
    archive = make_zip(tmp_path / "bomb.zip", [(f"z{i}", b"\0" * (16 * 1024 * 1024)) for i in range(4)])
    assert archive.stat().st_size < 1024 * 1024
    with pytest.raises(BadInput, match="declared size past the limit"):
        extract_archive(archive, tmp_path / "out", max_bytes=32 * 1024 * 1024)


def test_zip_bomb_that_lies_about_its_size_is_stopped_while_extracting(tmp_path: Path) -> None:
    """A member whose header declares 1 KiB but inflates to 8 MiB: declared sizes pass the
    check, the bytes counted while writing do not."""
    archive = make_zip(tmp_path / "liar.zip", [("big", b"\0" * (8 * 1024 * 1024))])
    raw = bytearray(archive.read_bytes())
    real = (8 * 1024 * 1024).to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    assert raw.count(real) == 2  # local header and central directory
    archive.write_bytes(bytes(raw.replace(real, fake)))
    with pytest.raises(BadInput) as err:
        extract_archive(archive, tmp_path / "out", max_bytes=4 * 1024 * 1024)
    assert "liar.zip" in str(err.value) and "'big'" in str(err.value)
    out = tmp_path / "out" / "big"
    assert not out.exists() or out.stat().st_size <= 1024 + 1024 * 1024


def test_tar_past_the_size_limit(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "big.tar.gz", [_file("a", b"\0" * 2048), _file("b", b"\0" * 2048)])
    with pytest.raises(BadInput, match="member 'b' takes the declared size past the limit of 3000 bytes"):
        extract_archive(archive, tmp_path / "out", max_bytes=3000)
    assert not (tmp_path / "out" / "a").exists(), "nothing is written before all members are checked"


def _header_bomb(kind: str) -> bytes:
    """A tar whose one extended header claims 8 MiB: tarfile would read it whole into memory
    (a 2 GiB one, compressed to 2 MB, took 6 GiB), before any member is seen."""
    if kind == "sparse":
        sparse = tarfile.TarInfo("s")
        sparse.type = tarfile.GNUTYPE_SPARSE
        return sparse.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024
    if kind == "pax":
        info = tarfile.TarInfo("x")
        info.pax_headers = {"comment": "a" * (8 * 1024 * 1024)}
        return info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 1024
    long = tarfile.TarInfo("././@LongLink")
    long.type, long.size = tarfile.GNUTYPE_LONGNAME, 8 * 1024 * 1024
    header = long.tobuf(tarfile.GNU_FORMAT)
    return header + b"a" * long.size + tarfile.TarInfo("x").tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024


@pytest.mark.parametrize("kind, words", [("longname", "extended header of 8388608 bytes"),
                                         ("pax", "extended header of"), ("sparse", "GNU sparse member")])
@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
def test_tar_extended_header_bombs_are_refused_before_they_are_read(tmp_path: Path, kind: str, words: str,
                                                                    suffix: str) -> None:
    import gzip

    data = _header_bomb(kind)
    archive = tmp_path / f"bomb{suffix}"
    archive.write_bytes(gzip.compress(data) if suffix == ".tar.gz" else data)
    with pytest.raises(BadInput, match=f"archive .*bomb.*: has .*{words}"):
        extract_archive(archive, tmp_path / "out")


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_too_many_members(tmp_path: Path, kind: str) -> None:
    names = [f"f{i}" for i in range(11)]
    if kind == "tar":
        archive = make_tar(tmp_path / "many.tar", [_file(n) for n in names], "w")
    else:
        archive = make_zip(tmp_path / "many.zip", [(n, b"x") for n in names])
    with pytest.raises(BadInput, match="more than (the limit of )?10"):
        extract_archive(archive, tmp_path / "out", max_members=10)


@pytest.mark.parametrize("content", [b"", b"not an archive at all", b"\x1f\x8b\x08garbage"])
@pytest.mark.parametrize("name", ["code.tar.gz", "code.zip", "code.tar"])
def test_corrupt_archive_is_bad_input(tmp_path: Path, name: str, content: bytes) -> None:
    archive = tmp_path / name
    archive.write_bytes(content)
    with pytest.raises(BadInput, match=name.replace(".", r"\.")):
        extract_archive(archive, tmp_path / "out")


def test_truncated_tar_gz_is_bad_input(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "t.tar.gz", [_file("a", os.urandom(200_000))])
    archive.write_bytes(archive.read_bytes()[:50_000])
    with pytest.raises(BadInput, match="t.tar.gz"):
        extract_archive(archive, tmp_path / "out")


def test_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not found"):
        extract_archive(tmp_path / "nope.tar", tmp_path / "out")


# ---- safe archives -----------------------------------------------------------------------


def _dir(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


SAFE_TAR = [
    _dir("pkg"),
    _file("pkg/train.py", b"print('hi')\n", 0o755),
    _file("./requirements.txt", b"numpy\n"),
    _file("pkg/sub/data.txt", b"data"),  # parent directory not listed: created on the way
    _special("pkg/link_inside", tarfile.SYMTYPE, "sub/data.txt"),
    _special("pkg/sub/up", tarfile.SYMTYPE, "../train.py"),  # '..' that stays inside
    _special("pkg/hard", tarfile.LNKTYPE, "pkg/train.py"),
    _file("suid", b"s", 0o4755),
]


@pytest.mark.parametrize("suffix,mode", [(".tar.gz", "w:gz"), (".tar", "w"), (".tgz", "w:gz")])
def test_safe_tar_extracts_everything(tmp_path: Path, suffix: str, mode: str) -> None:
    archive = make_tar(tmp_path / f"code{suffix}", SAFE_TAR, mode)
    out = extract_archive(archive, tmp_path / "out")
    assert _listing(out) == {"pkg", "pkg/train.py", "requirements.txt", "pkg/sub", "pkg/sub/data.txt",
                             "pkg/link_inside", "pkg/sub/up", "pkg/hard", "suid"}
    assert (out / "pkg/link_inside").read_text() == "data"
    assert (out / "pkg/sub/up").read_text() == "print('hi')\n"
    assert (out / "pkg/hard").read_text() == "print('hi')\n" and not (out / "pkg/hard").is_symlink()
    assert os.stat(out / "pkg/hard").st_ino != os.stat(out / "pkg/train.py").st_ino  # a copy
    assert os.access(out / "pkg/train.py", os.X_OK)
    assert not os.stat(out / "suid").st_mode & stat.S_ISUID, "setuid bits are not carried over"


def test_safe_zip_extracts_everything(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "code.zip", [
        ("pkg/", b""), ("pkg/train.py", b"print('hi')\n"), ("win\\style.txt", b"w"),
        _zip_symlink("pkg/alias.py", "train.py"),
    ])
    out = extract_archive(archive, tmp_path / "out")
    assert _listing(out) == {"pkg", "pkg/train.py", "win", "win/style.txt", "pkg/alias.py"}
    assert (out / "pkg/alias.py").is_symlink() and (out / "pkg/alias.py").read_text() == "print('hi')\n"


def test_materialize_archive_applies_subdir_and_removes_temp(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "code.tar.gz", SAFE_TAR)
    job = Job(CodeSource(archive, subdir="pkg"))
    (tmp_path / "tmp").mkdir()
    with materialize(job, temp_parent=tmp_path / "tmp") as ws:
        assert ws is not None and ws.commit is None
        assert (ws.path / "train.py").is_file()
        assert Path(os.fspath(ws)) == ws.path
        temp_root = ws.path.parent.parent
        assert temp_root.parent == tmp_path / "tmp"
    assert not temp_root.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_materialize_removes_temp_after_unsafe_archive(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "code.tar.gz", [_file("ok", b"fine"), *UNSAFE_TAR[4][1]])
    (tmp_path / "tmp").mkdir()
    with pytest.raises(BadInput):
        with materialize(Job(CodeSource(archive)), temp_parent=tmp_path / "tmp"):
            pass
    assert list((tmp_path / "tmp").iterdir()) == []


def test_materialize_removes_temp_on_keyboard_interrupt(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "code.tar.gz", SAFE_TAR)
    (tmp_path / "tmp").mkdir()
    with pytest.raises(KeyboardInterrupt):
        with materialize(Job(CodeSource(archive)), temp_parent=tmp_path / "tmp"):
            raise KeyboardInterrupt
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("subdir,words", [("missing", "does not exist"), ("pkg/link_inside", "does not exist")])
def test_materialize_bad_subdir(tmp_path: Path, subdir: str, words: str) -> None:
    archive = make_tar(tmp_path / "code.tar.gz", SAFE_TAR)
    with pytest.raises(BadInput, match=words):
        with materialize(Job(CodeSource(archive, subdir=subdir)), temp_parent=tmp_path):
            pass


# ---- local directories -------------------------------------------------------------------


def test_local_directory_is_used_in_place(tmp_path: Path) -> None:
    (tmp_path / "code" / "sub").mkdir(parents=True)
    (tmp_path / "code" / "train.py").write_text("x")
    os.symlink("train.py", tmp_path / "code" / "sub" / "..-alias")  # odd name, inside
    os.symlink("../train.py", tmp_path / "code" / "sub" / "alias")
    with materialize(Job(CodeSource(tmp_path / "code", subdir="sub"))) as ws:
        assert ws is not None and ws.path == (tmp_path / "code" / "sub").resolve()
    assert (tmp_path / "code" / "train.py").exists(), "a local directory is never removed"


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "/nonexistent/dangling"])
def test_local_directory_symlink_outside_is_refused(tmp_path: Path, target: str) -> None:
    code = tmp_path / "code"
    (code / "deep").mkdir(parents=True)
    os.symlink(target, code / "deep" / "escape")
    with pytest.raises(BadInput) as err:
        check_local_directory(code)
    assert "deep/escape" in str(err.value) and "points outside" in str(err.value)


def test_local_directory_skips_virtualenvs(tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / ".venv" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", code / ".venv" / "bin" / "python")
    assert check_local_directory(code) == code.resolve()


def test_local_directory_subdir_through_link_is_refused(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(BadInput):
        with materialize(Job(CodeSource(code, subdir="../elsewhere"))):
            pass


@pytest.mark.parametrize("make", ["missing", "file"])
def test_local_directory_missing_or_file(tmp_path: Path, make: str) -> None:
    path = tmp_path / "code"
    if make == "file":
        path.write_text("x")
    with pytest.raises(BadInput):
        check_local_directory(path)
