"""The overlay view of layers read top-down: whiteouts, opaque dirs, symlinks. Pure."""

from __future__ import annotations

import io
import tarfile

from launchbuild.compat.facts.providers.filefacts import facts_from_files
from launchbuild.compat.facts.providers.layers import OverlayView

OS_RELEASE = b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'


def layer(**spec):
    """Members for add_layer: path -> bytes (file), ("sym", target), ("dir",)."""
    out = []
    for path, value in spec.items():
        path = path.replace("__", "/")
        info = tarfile.TarInfo(path)
        if isinstance(value, tuple) and value[0] == "sym":
            info.type, info.linkname = tarfile.SYMTYPE, value[1]
            out.append((info, None))
        elif isinstance(value, tuple) and value[0] == "dir":
            info.type = tarfile.DIRTYPE
            out.append((info, None))
        else:
            info.size = len(value)
            out.append((info, io.BytesIO(value)))
    return out


def base_layer():
    return layer(
        **{
            "etc__os-release": ("sym", "../usr/lib/os-release"),
            "usr__lib__os-release": OS_RELEASE,
            "etc__debian_version": b"12.5\n",
            "bin": ("sym", "usr/bin"),
            "usr__bin__apt-get": b"ELF",
            "usr__bin__python3.9": b"ELF",
            "usr__lib__x86_64-linux-gnu__libc.so.6": b"\x00GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\n",
        }
    )


def test_symlinked_os_release_and_usrmerge_bin_resolve():
    view = OverlayView()
    view.add_layer(base_layer())
    assert view.resolve("etc/os-release") == "usr/lib/os-release"
    assert view.is_file("/bin/apt-get")
    facts, _ = facts_from_files(view.scan(complete=True))
    assert facts["os_id"] == "debian" and facts["has_apt"] is True
    assert facts["glibc"] == "2.36"
    assert facts["pythons"] == ("3.9",)


def test_upper_layer_wins_and_whiteout_hides_lower_file():
    view = OverlayView()
    upper = layer(**{"usr__local__bin__python3.12": b"ELF", "usr__bin__.wh.python3.9": b""})
    view.add_layer(upper)
    view.add_layer(base_layer())
    facts, _ = facts_from_files(view.scan(complete=True))
    assert facts["pythons"] == ("3.12",)


def test_whiteout_of_a_directory_hides_everything_below():
    view = OverlayView()
    view.add_layer(layer(**{"usr__local__.wh.cuda": b""}))
    view.add_layer(layer(**{"usr__local__cuda__version.json": b'{"cuda": {"version": "12.1.1"}}',
                            "usr__local__cuda__bin__nvcc": b"ELF"}))
    scan = view.scan(complete=True)
    assert scan.cuda_version_json is None and scan.nvcc == ""


def test_opaque_directory_hides_lower_children_but_not_its_own_layer():
    view = OverlayView()
    view.add_layer(layer(**{"usr__local__bin__.wh..wh..opq": b"", "usr__local__bin__python3.11": b"ELF"}))
    view.add_layer(layer(**{"usr__local__bin__python3.8": b"ELF"}))
    facts, _ = facts_from_files(view.scan(complete=True))
    assert facts["pythons"] == ("3.11",)


def test_upper_file_replaces_lower_content():
    view = OverlayView()
    view.add_layer(layer(**{"usr__lib__os-release": b"ID=ubuntu\nVERSION_ID=22.04\n"}))
    view.add_layer(base_layer())
    facts, _ = facts_from_files(view.scan(complete=True))
    assert (facts["os_id"], facts["os_version"]) == ("ubuntu", "22.04")


def test_cuda_symlink_chain_and_absolute_targets():
    view = OverlayView()
    view.add_layer(layer(**{
        "usr__local__cuda": ("sym", "/etc/alternatives/cuda"),
        "etc__alternatives__cuda": ("sym", "/usr/local/cuda-12.1"),
        "usr__local__cuda-12.1__version.json": b'{"cuda": {"version": "12.1.1"}}',
        "usr__local__cuda-12.1__bin__nvcc": b"ELF",
    }))
    scan = view.scan(complete=True)
    assert scan.nvcc == "/usr/local/cuda/bin/nvcc"
    facts, _ = facts_from_files(scan)
    assert facts["cuda_version"] == "12.1.1" and facts["has_nvcc"] is True


def test_symlink_loop_does_not_hang():
    view = OverlayView()
    view.add_layer(layer(a=("sym", "b"), b=("sym", "a")))
    assert view.resolve("a/x") is None
    assert not view.is_file("a")


def test_old_glibc_is_read_from_the_libc_file_name():
    view = OverlayView()
    view.add_layer(layer(**{"lib__x86_64-linux-gnu__libc.so.6": ("sym", "libc-2.31.so"),
                            "lib__x86_64-linux-gnu__libc-2.31.so": b"ELF"}))
    facts, _ = facts_from_files(view.scan(complete=True))
    assert facts["glibc"] == "2.31"


def test_answered_needs_cuda_files_only_for_cuda_images():
    view = OverlayView()
    view.add_layer(base_layer())
    assert view.answered(need_cuda=False)
    assert not view.answered(need_cuda=True)


def test_incomplete_walk_does_not_claim_absence():
    view = OverlayView()
    view.add_layer(layer(**{"usr__lib__os-release": OS_RELEASE}))
    scan = view.scan(complete=False)
    assert scan.apt_get is None and scan.nvcc is None
    assert "has_apt" not in facts_from_files(scan)[0]


def test_dot_slash_and_root_entries_are_normalised():
    view = OverlayView()
    view.add_layer(layer(**{"./": ("dir",), "./usr__bin__apt-get": b"ELF", "./.wh.opt": b""}))
    assert view.is_file("usr/bin/apt-get")


def test_the_system_cudnn_is_read_from_the_layers_and_a_whiteout_removes_it():
    cudnn = layer(**{"usr__lib__x86_64-linux-gnu__libcudnn.so.9.1.0": b"ELF",
                     "usr__lib__x86_64-linux-gnu__libcudnn.so.9": ("sym", "libcudnn.so.9.1.0")})
    view = OverlayView()
    view.add_layer(cudnn)
    view.add_layer(base_layer())
    facts, sources = facts_from_files(view.scan(complete=True))
    assert facts["cudnn_version"] == "9.1.0" and "libcudnn.so.9.1.0" in sources["cudnn_version"]
    removed = OverlayView()
    removed.add_layer(layer(**{"usr__lib__x86_64-linux-gnu__.wh.libcudnn.so.9.1.0": b"",
                               "usr__lib__x86_64-linux-gnu__.wh.libcudnn.so.9": b""}))
    removed.add_layer(cudnn)
    assert "cudnn_version" not in facts_from_files(removed.scan(complete=True))[0]
