"""jobs/confine.py, the URL checks and credential split of jobs/urls.py, resolver/boundary.py,
and the option allow-list: unit and property tests."""

from __future__ import annotations

import os
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launchbuild.core.findings import Location
from launchbuild.errors import BadInput
from launchbuild.jobs import confine
from launchbuild.jobs.urls import host_of, split_credentials, url_problem
from launchbuild.options import (
    JOB_OPTION_NAMES, OPERATOR_OPTION_NAMES, SPECS_BY_NAME, job_may_set, read_operator_config, resolve_options,
)
from launchbuild.core.sourced import Origin
from launchbuild.resolver.boundary import Credentials, confine_local_paths, take_credentials
from launchbuild.resolver.requirements import IndexOptions, parse_requirement, parse_text

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "job"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("six\n")
    (root / "sub" / "b.txt").write_text("-r ../a.txt\n")
    (tmp_path / "outside.txt").write_text("password hunter2\n")
    os.symlink(root / "a.txt", root / "inner-link.txt")
    os.symlink(tmp_path / "outside.txt", root / "outer-link.txt")
    os.mkfifo(root / "pipe")
    return root


@pytest.mark.parametrize("written, base, reason", [
    ("/etc/passwd", None, "absolute path"),
    ("~/.netrc", None, "home-directory path"),
    ("~root/.netrc", None, "home-directory path"),
    ("../outside.txt", None, "leads outside"),
    ("sub/../../outside.txt", None, "leads outside"),
    ("outer-link.txt", None, "through a symlink"),
    ("pipe", None, "not a regular file"),
    ("sub", None, "is a directory"),
    ("missing.txt", None, "does not exist"),
    ("a\nb.txt", None, "control characters"),
    ("", None, "is empty"),
    ("../../outside.txt", "sub", "leads outside"),
])
def test_confine_refuses_with_one_line_naming_what_was_written(tree: Path, written, base, reason):
    with pytest.raises(BadInput) as err:
        confine.confine(tree, written, base=tree / base if base else None, where="requirements.txt:3", what="-r include")
    message = str(err.value)
    assert reason in message and message.startswith("requirements.txt:3: -r include ")
    assert "\n" not in message and "hunter2" not in message


@pytest.mark.parametrize("written, base", [("a.txt", None), ("inner-link.txt", None), ("../a.txt", "sub"), ("sub/b.txt", None)])
def test_confine_accepts_files_inside_the_tree(tree: Path, written, base):
    path = confine.confine(tree, written, base=tree / base if base else None, where="w")
    assert confine.inside(str(path), os.path.realpath(tree)) and path.is_file()


def test_confine_size_cap_and_read_cap(tree: Path):
    (tree / "big.txt").write_text("x" * 2048)
    with pytest.raises(BadInput, match="larger than"):
        confine.confine(tree, "big.txt", where="w", max_bytes=1024)
    with pytest.raises(BadInput, match="larger than"):
        confine.read_text(tree / "big.txt", where="w", what="file", written="big.txt", max_bytes=1024)


def test_read_text_never_follows_a_link_or_blocks_on_a_fifo(tree: Path):
    with pytest.raises(BadInput):
        confine.read_text(tree / "outer-link.txt", where="w", what="file", written="outer-link.txt")
    with pytest.raises(BadInput, match="not a regular file"):
        confine.read_text(tree / "pipe", where="w", what="file", written="pipe")


def test_includes_are_confined_to_the_root_even_from_a_subfolder(tree: Path):
    parsed = parse_text("-r sub/b.txt\n", "requirements.txt", base_dir=tree, root=tree)
    assert [r.name for r in parsed.requirements] == ["six"]
    with pytest.raises(BadInput, match="outside"):
        parse_text("-r sub/b.txt\n", "requirements.txt", base_dir=tree, root=tree / "sub")


def test_an_included_file_outside_is_never_quoted(tree: Path):
    for text in ("-r ../outside.txt\n", "-r outer-link.txt\n", f"-r {tree.parent}/outside.txt\n"):
        with pytest.raises(BadInput) as err:
            parse_text(text, "requirements.txt", base_dir=tree, root=tree)
        assert "hunter2" not in str(err.value)


_written = st.text(alphabet=string.ascii_letters + string.digits + "./~-_\\ \n\x00" + "é", max_size=30)


@SETTINGS
@given(_written)
def test_confine_property_inside_or_bad_input(written: str):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "job"
        root.mkdir()
        (root / "a.txt").write_text("x")
        try:
            path = confine.confine(root, written, where="w")
        except BadInput as exc:
            assert "\n" not in str(exc)
            return
        assert confine.inside(str(path), os.path.realpath(root)) and path.is_file()


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://pypi.org/simple", "http://127.0.0.1:8000/simple/", "https://u:p@host.example/x?a=1&b=2;c=(d)'!*$",
    "https://[::1]:8080/simple", "https://download.pytorch.org/whl/cu121",
])
def test_good_urls(url):
    assert url_problem(url) is None


@pytest.mark.parametrize("url", [
    "", "ftp://x/simple", "file:///etc/passwd", "https:///x", "https://x:0/", "https://x:70000/", "https://a b/",
    "https://x/`id`", "https://x/a|b", "https://x/<a>", 'https://x/"', "https://x/{a}", "https://x/a\\b",
    "https://x/${HOME}", "https://x/\n", "https://x/\x7f", "javascript:alert(1)", "https://ex_ample.com/",
])
def test_bad_urls(url):
    assert url_problem(url) is not None


@SETTINGS
@given(st.text(max_size=60))
def test_url_problem_property(url: str):
    problem = url_problem(url)
    if problem is None:
        assert not any(c in url for c in " \t\n\r\"`<>\\^{|}") and url.lower().startswith(("http://", "https://"))


@pytest.mark.parametrize("url, clean, cred", [
    ("https://u:p@h/x", "https://h/x", ("u", "p")),
    ("https://TOKEN@h:8080/x", "https://h:8080/x", ("TOKEN", "")),
    ("https://u:p%40ss@h/x@y", "https://h/x@y", ("u", "p@ss")),
    ("https://h/x", "https://h/x", None),
    ("https://u:p@h?x=1", "https://h?x=1", ("u", "p")),
])
def test_split_credentials(url, clean, cred):
    assert split_credentials(url) == (clean, cred)


@SETTINGS
@given(st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=1, max_size=12),
       st.text(alphabet=string.ascii_letters + string.digits + "-._~!$&'()*+,;=", max_size=12),
       st.sampled_from(["/simple", "/x@y", "", "?a=b@c"]))
def test_split_credentials_property(user, password, path):
    clean, cred = split_credentials(f"https://{user}:{password}@host.example{path}")
    assert clean == f"https://host.example{path}" and cred == (user, password)
    assert host_of(clean) == "host.example"


def test_take_credentials_cleans_every_url_and_hides_them():
    loc = Location("requirements.txt", 1)
    reqs = (parse_requirement("pkg @ https://bob:TOK1@files.example/pkg-1.0-py3-none-any.whl", loc),)
    index = IndexOptions(index_url="https://bob:TOK2@idx.example/simple",
                         extra_index_urls=("https://TOK3@extra.example/simple",),
                         find_links=("https://bob:TOK1@files.example/wheels/", "/local/wheels"))
    clean, clean_reqs, _, creds = take_credentials(index, reqs, ())
    text = repr((clean, clean_reqs, creds)) + str(creds) + "\n".join(clean.as_lines()) + clean_reqs[0].text
    for token in ("TOK1", "TOK2", "TOK3", "bob"):
        assert token not in text
    assert creds.hosts == ("extra.example", "files.example", "idx.example")
    assert "password TOK2" in creds.netrc_text() and set(creds.secret_values()) >= {"TOK1", "TOK2", "TOK3"}
    assert not Credentials() and "Credentials(hosts=[], vcs=0)" == repr(Credentials())


def test_local_requirements_outside_every_root_are_refused(tmp_path):
    (tmp_path / "job").mkdir()
    inside_line = parse_requirement("./wheels/x-1.0-py3-none-any.whl", Location("r.txt", 1), base_dir=tmp_path / "job")
    outside_line = parse_requirement("../x-1.0-py3-none-any.whl", Location("r.txt", 2), base_dir=tmp_path / "job")
    confine_local_paths([inside_line], [tmp_path / "job"])
    with pytest.raises(BadInput, match="r.txt:2: local requirement"):
        confine_local_paths([outside_line], [tmp_path / "job"])


# --- the option allow-list -------------------------------------------------------------------


def test_every_option_is_either_job_or_operator():
    assert JOB_OPTION_NAMES | OPERATOR_OPTION_NAMES == set(SPECS_BY_NAME)
    assert not JOB_OPTION_NAMES & OPERATOR_OPTION_NAMES
    for never in ("ca-bundle", "push", "engine", "uid", "offline", "resolver", "torch-index-url",
                  "kubernetes-namespace", "kubernetes-context-store", "kubernetes-builder"):
        assert not job_may_set(never)
    for allowed in ("python", "entrypoint", "base-image", "python-base-image", "ignore", "strict"):
        assert job_may_set(allowed)


@pytest.mark.parametrize("name", sorted(OPERATOR_OPTION_NAMES))
def test_a_job_config_naming_an_operator_option_is_refused_and_not_applied(tmp_path, name):
    (tmp_path / "launchbuild.toml").write_text(f'{name} = "x"\n')
    with pytest.raises(BadInput) as err:
        resolve_options({}, source_dir=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert f"'{name}' is an operator option" in str(err.value) and "launchbuild.toml" in str(err.value)


def test_operator_config_layers_below_the_job_for_job_options_and_sets_operator_options(tmp_path):
    config = tmp_path / "ops" / "config.toml"
    config.parent.mkdir()
    config.write_text('push = "127.0.0.1:5055/team/x"\npython = "3.10"\nca-bundle = "corp.pem"\n')
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "launchbuild.toml").write_text('python = "3.11"\n')
    options = resolve_options({}, source_dir=tmp_path / "job", env={}, operator_config=config)
    assert options.values["push"].origin is Origin.OPERATOR_CONFIG and options["push"] == "127.0.0.1:5055/team/x"
    assert options.values["python"].origin is Origin.CONFIG_FILE and options["python"] == "3.11"
    assert options["ca-bundle"] == str(config.parent / "corp.pem")
    flagged = resolve_options({"push": "127.0.0.1:5055/other"}, env={}, operator_config=config)
    assert flagged.values["push"].origin is Origin.FLAG


def test_default_operator_config_is_found_under_xdg(tmp_path):
    (tmp_path / "launchbuild").mkdir()
    (tmp_path / "launchbuild" / "config.toml").write_text('engine = "classic"\n')
    options = resolve_options({}, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert options["engine"] == "classic" and options.values["engine"].origin is Origin.OPERATOR_CONFIG


@pytest.mark.parametrize("content, needle", [
    (b'bogus = 1\n', "unknown launchbuild option 'bogus'"),
    (b'push = \n', "not valid TOML"),
    (b'\xff\xfe', "not UTF-8"),
    (b'uid = "root"\n', "uid"),
])
def test_bad_operator_config_is_one_line(tmp_path, content, needle):
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    with pytest.raises(BadInput) as err:
        resolve_options({}, env={}, operator_config=path)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_missing_or_special_operator_config(tmp_path):
    with pytest.raises(BadInput, match="not a file"):
        read_operator_config(tmp_path / "nope.toml")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(BadInput, match="not a file"):
        read_operator_config(tmp_path / "fifo")


_keys = st.sampled_from(sorted(SPECS_BY_NAME) + ["bogus", "tool"])
_values = st.one_of(st.text(max_size=8), st.booleans(), st.integers(-3, 3), st.lists(st.text(max_size=4), max_size=2))


@SETTINGS
@given(st.one_of(st.binary(max_size=60), st.dictionaries(_keys, _values, max_size=4).map(
    lambda d: "".join(f'"{k}" = {_toml(v)}\n' for k, v in d.items()).encode())))
def test_operator_config_property(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(data)
        try:
            resolve_options({}, env={}, operator_config=path)
        except BadInput as exc:
            assert "\n" not in str(exc).split(" (")[0]


def _toml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


@pytest.mark.parametrize("text", [
    "--index-url https://ops:TOKSECRET@x.invalid/simple extra\n",
    "--extra-index-url https://TOKSECRET@x.invalid/a|b\n",
    "-r https://ops:TOKSECRET@x.invalid/r.txt\n",
    "six @ https://ops:TOKSECRET@x.invalid/six.whl --bogus\n",
])
def test_parser_errors_never_carry_url_credentials_for_api_callers(text):
    with pytest.raises(BadInput) as err:
        parse_text(text, "requirements.txt")
    assert "TOKSECRET" not in str(err.value) and "requirements.txt" in str(err.value)


def test_index_credentials_need_a_secret_channel():
    import dataclasses

    from launchbuild.builder.plan import CaMode, Frontend
    from launchbuild.jobs.model import SourceKind
    from tests.helpers_builder import seed_plan

    plan = dataclasses.replace(seed_plan(SourceKind.CODE, False), frontend=Frontend.CLASSIC, installer="pip",
                               ca_mode=CaMode.NONE, index_credentials=True)
    with pytest.raises(BadInput, match="BuildKit secret"):
        plan.validate()


def test_files_holding_the_credentials_stay_out_of_the_code_copy(tmp_path):
    from launchbuild.builder.api import _withhold_credentials
    from launchbuild.builder.context import scan

    (tmp_path / "requirements.txt").write_text("--index-url https://bob:T%2FOK@h.example/simple\nsix\n")
    (tmp_path / "train.py").write_text("print(1)\n")
    creds = Credentials((("h.example", "bob", "T/OK"),))
    kept = {e.path for e in _withhold_credentials(scan(tmp_path), tmp_path, creds)}
    assert kept == {"train.py"}
    assert {e.path for e in _withhold_credentials(scan(tmp_path), tmp_path, None)} == {"train.py", "requirements.txt"}


def test_a_vcs_token_stays_in_its_url_for_git_but_is_a_secret_to_withhold():
    loc = Location("requirements.txt", 1)
    reqs = (parse_requirement("gitpkg @ git+https://ci-bot:VCSTOK@git.example/org/pkg.git@v1", loc),
            parse_requirement("other @ git+https://ONLYTOKEN@git.example/org/other.git", loc))
    _, clean_reqs, _, creds = take_credentials(IndexOptions(), reqs, ())
    assert clean_reqs == reqs  # git on the host clones with it as written
    assert creds and not creds.for_indexes and creds.netrc_text() == ""
    assert set(creds.secret_values()) == {"VCSTOK", "ONLYTOKEN"}
    assert "VCSTOK" not in repr(creds) and "ONLYTOKEN" not in str(creds)


@pytest.mark.parametrize("text, secret", [
    ("gitpkg @ git+https://VCSTOK1@git.example/org/pkg.git@v1", "VCSTOK1"),  # a token as the user
    ("gitpkg @ git+http://bot:VCSTOK2@git.example/pkg.git", "VCSTOK2"),
    ("--trusted-host value 'ops:VCSTOK3@idx.example:8443' is not a plain host", "VCSTOK3"),  # no scheme at all
    ("x (a:VCSTOK4@host) y", "VCSTOK4"),
])
def test_redact_text_masks_vcs_tokens_and_bare_user_password_pairs(text, secret):
    from launchbuild.jobs.urls import redact_text

    assert secret not in redact_text(text)


@pytest.mark.parametrize("text", ["git@github.com:org/repo.git", "ssh://git@host:22/x.git", "user@example.com"])
def test_redact_text_keeps_what_is_not_a_secret(text):
    from launchbuild.jobs.urls import redact_text

    assert redact_text(text) == text


def test_a_locks_index_credentials_leave_the_loaded_input():
    from launchbuild.resolver.boundary import take_input_credentials
    from launchbuild.resolver.requirements import ParsedRequirements
    from launchbuild.resolver.sources import LoadedInput

    loaded = LoadedInput("pyproject", "pyproject.toml", ParsedRequirements(),
                         read=("uv indexes: https://ops:LOCKTOK@idx.example/simple; sources for none",),
                         extra_index_urls=("https://ops:LOCKTOK@idx.example/simple",))
    clean, creds = take_input_credentials(loaded)
    assert "LOCKTOK" not in repr(clean) and clean.extra_index_urls == ("https://idx.example/simple",)
    assert creds.hosts == ("idx.example",) and "password LOCKTOK" in creds.netrc_text()
