"""Requirements-file parser: pip syntax, includes, locations, and only BadInput on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.errors import BadInput
from launchbuild.resolver.requirements import parse_file, parse_text


@pytest.mark.parametrize(
    "line, kind, name, specifier, marker",
    [
        ("requests>=2.31", "named", "requests", ">=2.31", None),
        ("Requests[socks]==2.31.0 ; python_version < '3.12'", "named", "requests", "==2.31.0",
         'python_version < "3.12"'),
        ("Foo_Bar.baz~=1.0", "named", "foo-bar-baz", "~=1.0", None),
        ("pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl", "url", "pkg", "", None),
        ("https://example.invalid/dist/attrs-23.1.0-py3-none-any.whl", "url", "attrs", "", None),
        ("git+https://example.invalid/org/repo.git@v1.2#egg=mylib", "vcs", "mylib", "", None),
        ("mylib @ git+https://example.invalid/org/repo.git@abc123", "vcs", "mylib", "", None),
        ("certifi @ file:///croot/certifi_1700501669400/work/certifi", "path", "certifi", "", None),
    ],
)
def test_requirement_forms(line, kind, name, specifier, marker):
    parsed = parse_text(line + "\n", "requirements.txt")
    (req,) = parsed.requirements
    assert (req.kind, req.name, req.specifier, req.marker) == (kind, name, specifier, marker)
    assert req.location.path == "requirements.txt" and req.location.line == 1


def test_comments_continuations_hashes_and_line_numbers():
    text = (
        "# top comment\n"
        "\n"
        "six==1.16.0 \\\n"
        "    --hash=sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926 \\\n"
        "    --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n"
        "idna  # trailing comment\n"
        "attrs @ https://example.invalid/a.whl#sha256=abc\n"
    )
    parsed = parse_text(text, "req.txt")
    six, idna, attrs = parsed.requirements
    assert six.location.line == 3 and len(six.hashes) == 2 and six.pinned_version == "1.16.0"
    assert idna.location.line == 6 and idna.text == "idna"
    assert attrs.url.endswith("#sha256=abc")  # a URL fragment is not a comment


def test_index_options_are_collected():
    text = (
        "--index-url https://mirror.invalid/simple\n"
        "--extra-index-url=https://extra.invalid/simple\n"
        "-f ./wheels\n"
        "--pre\n"
        "--trusted-host mirror.invalid\n"
        "--only-binary :all:\n"
        "numpy\n"
    )
    parsed = parse_text(text, "r.txt", base_dir=Path("/src"))
    o = parsed.options
    assert o.index_url == "https://mirror.invalid/simple"
    assert o.extra_index_urls == ("https://extra.invalid/simple",)
    assert o.find_links == ("/src/wheels",)
    assert o.pre and o.trusted_hosts == ("mirror.invalid",) and o.only_binary == (":all:",)
    assert [r.name for r in parsed.requirements] == ["numpy"]


def test_includes_are_relative_to_the_including_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "requirements.txt").write_text("-r sub/base.txt\n-c constraints.txt\nrich\n")
    (tmp_path / "sub" / "base.txt").write_text("-r ../extra.txt\nclick\n")
    (tmp_path / "extra.txt").write_text("six\n")
    (tmp_path / "constraints.txt").write_text("click<9\n")
    parsed = parse_file(tmp_path / "requirements.txt")
    assert [r.name for r in parsed.requirements] == ["six", "click", "rich"]
    assert [c.name for c in parsed.constraints] == ["click"]
    assert parsed.requirements[1].location == type(parsed.requirements[1].location)(
        str((tmp_path / "sub" / "base.txt").resolve()), 2)
    assert len(parsed.files) == 4


def test_local_paths_and_editables_are_made_absolute(tmp_path):
    parsed = parse_text("-e ./mypkg\n./libs/other\n", "r.txt", base_dir=tmp_path)
    editable, other = parsed.requirements
    assert editable.editable and editable.kind == "path" and editable.url == str(tmp_path / "mypkg")
    assert other.kind == "path" and other.url == str(tmp_path / "libs" / "other")


@pytest.mark.parametrize("line", ["lib @ file:./libs/lib", "lib @ file:libs/lib", "file:./libs/lib", "file:libs/lib"])
def test_a_relative_file_url_is_the_files_folders_never_the_working_directorys(tmp_path, monkeypatch, line):
    monkeypatch.chdir("/")  # another working directory: the answer must not change
    [req] = parse_text(line + "\n", "r.txt", base_dir=tmp_path).requirements
    assert req.kind == "path" and req.url.replace("file://", "") == str(tmp_path / "libs" / "lib")
    assert str(tmp_path / "libs" / "lib") in req.text


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("requests>=>2\n", "invalid requirement"),
        ("--bogus-option x\n", "unknown option"),
        ("-r\n", "needs a value"),
        ("six --hash=md6:zz\n", "malformed hash"),
        ("six --hash=sha256:abc\n", "a sha256 digest has 64 hex digits, this one 3"),
        ("six --hash=sha512:" + "a" * 64 + "\n", "a sha512 digest has 128 hex digits, this one 64"),
        ("six --hash=sha256:" + "a" * 65 + "\n", "this one 65"),
        ("six --frobnicate\n", "unsupported option"),
        ("-r https://example.invalid/r.txt\n", "remote include"),
        ("-r missing.txt\n", "cannot read"),
        ("pkg 'unterminated\n", "invalid requirement"),
    ],
)
def test_bad_lines_are_bad_input_with_location(tmp_path, text, fragment):
    with pytest.raises(BadInput) as err:
        parse_text(text, "requirements.txt", base_dir=tmp_path)
    assert fragment in str(err.value)
    assert "requirements.txt:1" in str(err.value) or "missing.txt" in str(err.value)


def test_include_cycle_is_bad_input(tmp_path):
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(BadInput, match="cycle"):
        parse_file(tmp_path / "a.txt")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_parser_raises_only_bad_input(text):
    try:
        parsed = parse_text(text, "fuzz.txt")
    except BadInput:
        return
    for req in parsed.requirements:
        assert req.location.path == "fuzz.txt" and req.location.line >= 1


_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}([-_.][A-Za-z0-9]{1,5})?", fullmatch=True)
_versions = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_names, _versions), min_size=1, max_size=20))
def test_freeze_lines_round_trip(pins):
    text = "".join(f"{n}=={v}\n" for n, v in pins)
    parsed = parse_text(text, "frozen.txt")
    assert [(r.location.line, r.pinned_version) for r in parsed.requirements] == [
        (i, v) for i, (_, v) in enumerate(pins, start=1)
    ]


@pytest.mark.parametrize("spec", [
    # A TOML or YAML string holding a line break: each would be an option line of its own in
    # the backend's input (`-r /etc/x` read on the host, its content printed in the error).
    "https://example.invalid/six-1.17.0-py3-none-any.whl ; python_version > '3'\n-r /etc/hostname",
    "./sub ; python_version > '3'\n-r /etc/hostname",
    "six ; python_version > '3'\r--index-url https://evil.invalid/simple",
    "git+https://example.invalid/r.git ; python_version > '3'\u2028-r /etc/hostname",
    "six\x00",
])
def test_a_requirement_with_a_line_break_or_control_character_is_refused(tmp_path, spec):
    from launchbuild.core.findings import Location
    from launchbuild.resolver.requirements import parse_requirement

    with pytest.raises(BadInput, match="line break or a control character"):
        parse_requirement(spec, Location("pyproject.toml", 3), base_dir=tmp_path)


@pytest.mark.parametrize("line", [
    "https://example.invalid/six-1.17.0-py3-none-any.whl ; not a marker",
    "git+https://example.invalid/r.git#egg=r ; python_version >> '3'",
    "./wheels/six-1.17.0-py3-none-any.whl ; os_name",
])
def test_the_marker_of_a_url_path_or_vcs_line_must_be_pep508(tmp_path, line):
    with pytest.raises(BadInput, match="invalid marker") as err:
        parse_text(line + "\n", "requirements.txt", base_dir=tmp_path)
    assert "requirements.txt:1" in err.value.message


def test_the_marker_of_a_url_line_is_kept_as_pep508_writes_it(tmp_path):
    (req,) = parse_text("https://example.invalid/six-1.17.0-py3-none-any.whl ; python_version > '3'\n",
                        "requirements.txt", base_dir=tmp_path).requirements
    assert req.marker == 'python_version > "3"' and req.text.endswith('; python_version > "3"')


def test_a_utf8_bom_is_not_part_of_the_first_requirement(tmp_path):
    # Notepad writes one; pip strips it. It was "invalid requirement '\ufeffsix==1.17.0'", exit 2.
    (tmp_path / "requirements.txt").write_bytes(b"\xef\xbb\xbfsix==1.17.0\r\n-r more.txt\r\n")
    (tmp_path / "more.txt").write_bytes(b"\xef\xbb\xbfidna\r\n")
    parsed = parse_file(tmp_path / "requirements.txt", root=tmp_path)
    assert [r.text for r in parsed.requirements] == ["six==1.17.0", "idna"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3", ""]),
       st.text(alphabet="0123456789abcdefABCDEFxz", max_size=140))
def test_a_hash_is_taken_only_whole(algorithm, digest):
    import hashlib

    from launchbuild.resolver.requirement_options import parse_hashes

    value = f"{algorithm}:{digest}"
    whole = (algorithm in hashlib.algorithms_guaranteed and algorithm != "sha3"
             and all(c in "0123456789abcdefABCDEF" for c in digest) and digest
             and len(digest) == 2 * hashlib.new(algorithm).digest_size)
    try:
        assert parse_hashes(f"--hash={value}", "r.txt:1") == (value,) and whole
    except BadInput as exc:
        assert not whole and "\n" not in str(exc)
