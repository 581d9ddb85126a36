"""The operator's package-host allow-list (`allow-index-host`), pure: entry parsing, host
matching (HOST: every port, HOST:PORT: that port), every place a loaded input names a host,
and the refusal line, which names the host and the file and never a URL's userinfo.
Property tests: whatever URL a job writes, it is allowed exactly when its host is listed,
or refused with one BadInput line holding no credential."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.errors import BadInput
from launchbuild.options import OPERATOR_OPTION_NAMES, resolve_options
from launchbuild.resolver.index_hosts import allowed_hosts, check_job_hosts, is_allowed, job_urls
from launchbuild.resolver.requirements import IndexOptions, parse_text
from launchbuild.resolver.sources import LoadedInput, ParsedRequirements

labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
hosts = st.builds(lambda parts: ".".join(parts), st.lists(labels, min_size=2, max_size=3))
secrets = st.builds(lambda s: "Sx" + s, st.text(string.ascii_letters + string.digits, min_size=4, max_size=14))  # never a host label (those are lower-case)


def loaded(text: str = "", **fields) -> LoadedInput:
    parsed = parse_text(text, "requirements.txt", base_dir=Path("/nonexistent")) if text else ParsedRequirements()
    return LoadedInput("requirements", "requirements.txt", parsed, **fields)


def test_the_option_is_the_operators_and_empty_means_any_host():
    assert "allow-index-host" in OPERATOR_OPTION_NAMES
    assert resolve_options({}, env={})["allow-index-host"] == []
    assert allowed_hosts([]) is None and allowed_hosts(None) is None
    check_job_hosts(loaded("--index-url https://anything.example/simple\nsix\n"), None)


def test_the_operator_config_and_the_environment_set_it(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('allow-index-host = ["pypi.org", "127.0.0.1:8080"]\n')
    assert resolve_options({}, env={}, operator_config=config)["allow-index-host"] == ["pypi.org", "127.0.0.1:8080"]
    env = {"LAUNCHBUILD_ALLOW_INDEX_HOST": "pypi.org,mirror.example"}
    assert resolve_options({}, env=env)["allow-index-host"] == ["pypi.org", "mirror.example"]


@pytest.mark.parametrize("entry", ["", "bad host", "http://x.example", "x.example:0", "x.example:70000", "x/y", "-x.org"])
def test_a_bad_entry_is_one_bad_input_line(entry):
    with pytest.raises(BadInput) as err:
        allowed_hosts(["pypi.org", entry], "operator config")
    assert "operator config" in err.value.message and "\n" not in str(err.value)


@settings(max_examples=200)
@given(allowed=hosts, other=hosts, port=st.integers(1, 65535), user=secrets, password=secrets)
def test_a_url_is_allowed_exactly_when_its_host_is(allowed, other, port, user, password):
    by_host = allowed_hosts([allowed.upper()])
    assert is_allowed(f"https://{allowed}/simple", by_host)
    assert is_allowed(f"http://{user}:{password}@{allowed}:{port}/simple", by_host)
    assert is_allowed(f"git+https://{allowed}/team/repo.git@v1", by_host)
    assert is_allowed(f"https://{other}/simple", by_host) == (other == allowed)
    by_port = allowed_hosts([f"{allowed}:{port}"])
    assert is_allowed(f"https://{allowed}:{port}/simple", by_port)
    assert not is_allowed(f"https://{allowed}/simple", by_port)
    assert not is_allowed(f"https://{allowed}:{port % 65535 + 1}/simple", by_port)
    # The userinfo is never the host: "allowed@other" goes to other.
    assert is_allowed(f"https://{allowed}@{other}/simple", by_host) == (other == allowed)


@settings(max_examples=200)
@given(host=hosts, user=secrets, password=secrets, option=st.sampled_from(["--index-url", "--extra-index-url",
                                                                          "--find-links", "-i", "-f"]))
def test_a_refusal_names_the_host_and_the_file_and_never_the_credentials(host, user, password, option):
    job = loaded(f"{option} https://{user}:{password}@{host}:8443/simple?token={password}\nsix==1.16.0\n")
    with pytest.raises(BadInput) as err:
        check_job_hosts(job, allowed_hosts(["pypi.org"]))
    text = str(err.value)
    assert f"'{host}:8443'" in text and "requirements.txt" in text and "\n" not in text
    assert password not in text and user not in text


@settings(max_examples=300)
@given(url=st.text(max_size=80))
def test_any_index_url_is_allowed_or_one_bad_input_line(url):
    job = loaded(extra_index_urls=(url,))
    try:
        check_job_hosts(job, allowed_hosts(["pypi.org"]))
    except BadInput as exc:
        assert "\n" not in str(exc) and "requirements.txt" in str(exc)


def test_every_place_a_loaded_input_names_a_host_is_collected(tmp_path):
    text = ("--index-url https://a.example/simple\n--extra-index-url https://b.example/simple\n"
            "--find-links https://c.example/wheels\nfoo @ https://d.example/foo-1.0-py3-none-any.whl\n"
            "bar @ git+https://e.example/team/bar.git@0123456789abcdef0123456789abcdef01234567\nsix==1.16.0\n")
    found = {(u.split("/")[2], what) for u, what in job_urls(loaded(text, extra_index_urls=("https://f.example/s",)))}
    assert found == {("a.example", "--index-url"), ("b.example", "--extra-index-url"), ("c.example", "--find-links"),
                     ("d.example", "requirement URL"), ("e.example", "requirement URL"), ("f.example", "index")}


def test_a_project_uv_resolves_itself_has_its_uv_urls_and_url_dependencies_collected(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\ndependencies = ["foo @ https://d.example/foo.whl", "six"]\n'
        '[project.optional-dependencies]\nx = ["baz @ https://g.example/baz.whl"]\n'
        '[dependency-groups]\ndev = ["qux @ https://h.example/qux.whl"]\n'
        '[[tool.uv.index]]\nname = "a"\nurl = "https://a.example/simple"\n'
        '[tool.uv]\nextra-index-url = ["https://b.example/simple"]\nfind-links = ["https://c.example/w"]\n'
        '[tool.uv.sources]\nbar = { git = "https://e.example/bar.git" }\nzed = { url = "https://f.example/zed.whl" }\n'
        'local = { path = "./local" }\n')
    job = LoadedInput("pyproject", "pyproject.toml", ParsedRequirements(), project_file="pyproject.toml",
                      project_root=tmp_path)
    assert {u.split("/")[2] for u, _ in job_urls(job)} == {f"{c}.example" for c in "abcdefgh"}
    with pytest.raises(BadInput, match=r"pyproject.toml: package host 'a.example' \(\[\[tool.uv.index\]\]\)"):
        check_job_hosts(job, allowed_hosts(["pypi.org"]))
    check_job_hosts(job, allowed_hosts([f"{c}.example" for c in "abcdefgh"]))


def test_local_find_links_folders_are_no_host():
    job = LoadedInput("requirements", "requirements.txt", ParsedRequirements(options=IndexOptions(
        find_links=("/job/wheels", "file:///job/wheels"))))
    check_job_hosts(job, allowed_hosts(["pypi.org"]))
