"""The operator's package-host allow-list (`--allow-index-host`, `allow-index-host` in the
operator config) against a real `launchbuild serve` and a real `launchbuild check`: every
kind of dependency file the resolver reads that can name a host is held to it, the answer
is 400 (exit 2) naming the host and the file, it comes before any connection to that host
(a holding server on 127.0.0.1 would see one), and a URL's credentials are never echoed.
An allowed host is contacted; a request or a job's own config cannot widen the list."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import httpx
import pytest

from tests.helpers_serve import HoldingGitServer, launchbuild_exe, start_server, tar_gz

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
SECRET = "Sx-index-secret-7f3a"
SHA = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"
OPTIONS = {"python": "3.11", "entrypoint": "python train.py", "python-base-image": PYTHON_STANDIN}


def error_of(response: httpx.Response, status: int, exit_code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["exit_code"] == exit_code, body
    message = body["error"]["message"]
    assert "\n" not in message and "Traceback" not in message, message
    return message


def job_files(kind: str, base: str) -> tuple[dict[str, str], str, str]:
    """(files, the file the answer names, what named the host) for one kind of input; `base`
    is the hostile index URL with credentials in it."""
    pep621 = '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    cases: dict[str, tuple[dict[str, str], str, str]] = {
        "index-url": ({"requirements.txt": f"--index-url {base}/simple\nsix==1.16.0\n"}, "requirements.txt", "--index-url"),
        "short -i": ({"requirements.txt": f"-i {base}/simple\nsix==1.16.0\n"}, "requirements.txt", "--index-url"),
        "extra-index-url": ({"requirements.txt": f"--extra-index-url {base}/simple\nsix==1.16.0\n"},
                            "requirements.txt", "--extra-index-url"),
        "find-links": ({"requirements.txt": f"--find-links {base}/wheels\nsix==1.16.0\n"}, "requirements.txt",
                       "--find-links"),
        "included file": ({"requirements.txt": "-r more.txt\nsix==1.16.0\n", "more.txt": f"--extra-index-url {base}/s\n"},
                          "requirements.txt or a file it includes", "--extra-index-url"),
        "url requirement": ({"requirements.txt": f"six @ {base}/six-1.16.0-py2.py3-none-any.whl\n"}, "requirements.txt",
                            "requirement URL"),
        "vcs requirement": ({"requirements.txt": f"six @ git+{base}/six.git@{'0123456789abcdef' * 2}01234567\n"},
                            "requirements.txt", "requirement URL"),
        "uv index": ({"pyproject.toml": pep621 + f'dependencies = ["six==1.16.0"]\n[[tool.uv.index]]\nname = "m"\n'
                      f'url = "{base}/simple"\n'}, "pyproject.toml", "index"),
        "uv source url": ({"pyproject.toml": pep621 + f'dependencies = ["six"]\n[tool.uv.sources]\n'
                           f'six = {{ url = "{base}/six-1.16.0-py2.py3-none-any.whl" }}\n'}, "pyproject.toml",
                          "[tool.uv.sources] url"),
        "uv.lock": ({"pyproject.toml": pep621 + 'dependencies = ["six==1.16.0"]\n',
                     "uv.lock": 'version = 1\nrequires-python = ">=3.11"\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n'
                     'source = { virtual = "." }\ndependencies = [{ name = "six" }]\n\n[package.metadata]\n'
                     'requires-dist = [{ name = "six", specifier = "==1.16.0" }]\n\n[[package]]\nname = "six"\n'
                     f'version = "1.16.0"\nsource = {{ registry = "{base}/simple" }}\nwheels = [{{ url = '
                     f'"{base}/six-1.16.0-py2.py3-none-any.whl", hash = "sha256:{SHA}", size = 11053 }}]\n'},
                    "uv.lock", "index"),
        "poetry source": ({"pyproject.toml": '[tool.poetry]\nname = "app"\nversion = "0.1.0"\ndescription = ""\n'
                           'authors = ["x <x@example.com>"]\n[tool.poetry.dependencies]\npython = "^3.11"\n'
                           'six = { version = "1.16.0", source = "m" }\n[[tool.poetry.source]]\nname = "m"\n'
                           f'url = "{base}/simple"\npriority = "explicit"\n'}, "pyproject.toml", "--extra-index-url"),
        "Pipfile source": ({"Pipfile": f'[[source]]\nurl = "{base}/simple"\nverify_ssl = true\nname = "m"\n\n'
                            '[packages]\nsix = "==1.16.0"\n\n[requires]\npython_version = "3.11"\n'}, "Pipfile",
                           "--index-url"),
        "Pipfile.lock source": ({"Pipfile.lock": json.dumps({
            "_meta": {"hash": {"sha256": "x"}, "pipfile-spec": 6, "requires": {"python_version": "3.11"},
                      "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True},
                                  {"name": "m", "url": f"{base}/simple", "verify_ssl": True}]},
            "default": {"six": {"hashes": [f"sha256:{SHA}"], "index": "m", "version": "==1.16.0"}}, "develop": {}})},
            "Pipfile.lock", "index"),
        "pylock index": ({"pylock.toml": f'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "six"\n'
                          f'version = "1.16.0"\nindex = "{base}/simple"\n[[packages.wheels]]\n'
                          f'url = "{base}/six-1.16.0-py2.py3-none-any.whl"\nhashes = {{ sha256 = "{SHA}" }}\n'},
                         "pylock.toml", "index"),
        "environment.yml pip": ({"environment.yml": "name: app\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                                 f"    - --extra-index-url {base}/simple\n    - six==1.16.0\n"}, "environment.yml",
                                "--extra-index-url"),
    }
    files, shown, what = cases[kind]
    return {"train.py": "import six\n", **files}, shown, what


KINDS = ["index-url", "short -i", "extra-index-url", "find-links", "included file", "url requirement",
         "vcs requirement", "uv index", "uv source url", "uv.lock", "poetry source", "Pipfile source",
         "Pipfile.lock source", "pylock index", "environment.yml pip"]


@pytest.fixture(scope="module")
def hostile():
    """A package host on 127.0.0.1 that is off the list: it records any connection and holds it."""
    server = HoldingGitServer()
    yield server
    server.release()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, standin_images):
    tmp = tmp_path_factory.mktemp("serve-index-hosts")
    srv = start_server(tmp, "--allow-index-host", "pypi.org", "--allow-index-host", "files.pythonhosted.org")
    yield srv
    assert srv.stop() == 0


def post(srv, route: str, files: dict[str, str], options: dict | None = None) -> httpx.Response:
    request = {"source": {"archive": "source"}, "options": options or OPTIONS}
    return httpx.post(srv.url + route, headers=srv.headers, timeout=300,
                      files={"request": (None, json.dumps(request)), "source": ("code.tar.gz", tar_gz(files))})


def assert_refused(message: str, port: int, shown: str, what: str) -> None:
    assert f"{shown}: package host '127.0.0.1:{port}' ({what})" in message, message
    assert "index allow-list" in message
    assert SECRET not in message and "user" not in message and "/simple" not in message


@pytest.mark.docker
@pytest.mark.parametrize("route", ["/v1/checks", "/v1/builds"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_input_naming_a_host_off_the_list_is_400_before_any_connection(guarded, hostile, route, kind):
    files, shown, what = job_files(kind, f"http://user:{SECRET}@127.0.0.1:{hostile.port}")
    message = error_of(post(guarded, route, files), 400, 2)
    # A build upload is checked as soon as it is unpacked (every dependency file in it), a check
    # by its resolver: the same answer.
    assert_refused(message, hostile.port, shown, what)
    assert not hostile.connected.is_set()  # the answer came before anything reached the host


@pytest.mark.docker
def test_userinfo_naming_an_allowed_host_does_not_fool_the_list(guarded, hostile):
    files = {"train.py": "import six\n",
             "requirements.txt": f"--index-url http://pypi.org:{SECRET}@127.0.0.1:{hostile.port}/simple\nsix==1.16.0\n"}
    message = error_of(post(guarded, "/v1/checks", files), 400, 2)
    assert_refused(message, hostile.port, "requirements.txt", "--index-url")
    assert "pypi.org:" not in message.split("allowed index hosts")[0]
    assert not hostile.connected.is_set()


def test_a_request_cannot_set_or_widen_the_list(guarded, hostile):
    for options in ({**OPTIONS, "allow-index-host": ["127.0.0.1"]}, {**OPTIONS, "allow-index-host": "127.0.0.1"}):
        message = error_of(post(guarded, "/v1/checks", {"train.py": "print(1)\n"}, options), 400, 2)
        assert "'allow-index-host'" in message and "operator" in message
    files = {"train.py": "print(1)\n", "launchbuild.toml": 'allow-index-host = ["127.0.0.1"]\n',
             "requirements.txt": f"--index-url http://127.0.0.1:{hostile.port}/simple\nsix\n"}
    message = error_of(post(guarded, "/v1/checks", files), 400, 2)
    assert "'allow-index-host'" in message and "operator" in message
    assert not hostile.connected.is_set()


@pytest.mark.docker
@pytest.mark.network
def test_an_allowed_index_host_is_used_and_a_server_without_a_list_allows_any(tmp_path, standin_images):
    """PyPI on the list: a job naming it explicitly checks as usual. No list: a host the guarded
    server refuses is contacted (held until released, so the test knows the connection happened)."""
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    guarded = start_server(tmp_path / "a", "--allow-index-host", "pypi.org")
    try:
        files = {"train.py": "import six\n", "requirements.txt": "--index-url https://pypi.org/simple\nsix==1.16.0\n"}
        response = post(guarded, "/v1/checks", files)
        assert response.status_code == 200, response.text
        assert response.json()["verdict"] == "pass"
    finally:
        assert guarded.stop() == 0
    holder = HoldingGitServer()
    open_server = start_server(tmp_path / "b")
    try:
        files = {"train.py": "import six\n",
                 "requirements.txt": f"--index-url http://127.0.0.1:{holder.port}/simple\nsix==1.16.0\n"}
        answer: dict = {}
        t = threading.Thread(target=lambda: answer.setdefault("r", post(open_server, "/v1/checks", files)))
        t.start()
        assert holder.connected.wait(120), "with no list, the job's index was never contacted"
        holder.release()
        t.join(300)
        assert "allow-list" not in answer["r"].text
    finally:
        holder.release()
        assert open_server.stop() == 0


def test_a_bad_entry_stops_the_server_at_start(tmp_path):
    for args in (["--allow-index-host", "not a host"],
                 ["--config", str(_config(tmp_path, 'allow-index-host = ["https://pypi.org/simple"]\n'))]):
        proc = subprocess.run([launchbuild_exe(), "serve", "--insecure-no-auth", "--port", "0",
                               "--state-dir", str(tmp_path / "state"), *args],
                              capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
        assert proc.returncode == 2, proc.stderr
        last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
        assert "is not a host or host:port" in last and "Traceback" not in proc.stderr


def _config(tmp_path, text: str):
    path = tmp_path / "operator.toml"
    path.write_text(text)
    return path


@pytest.mark.docker
def test_the_operator_configs_list_holds_for_the_server_and_for_the_cli(tmp_path, hostile, standin_images):
    config = _config(tmp_path, 'allow-index-host = ["pypi.org"]\n')
    files, shown, what = job_files("extra-index-url", f"http://user:{SECRET}@127.0.0.1:{hostile.port}")
    (tmp_path / "srv").mkdir()
    srv = start_server(tmp_path / "srv", "--config", str(config))
    try:
        assert_refused(error_of(post(srv, "/v1/checks", files), 400, 2), hostile.port, shown, what)
    finally:
        assert srv.stop() == 0
    job = tmp_path / "job"
    job.mkdir()
    for name, text in files.items():
        (job / name).write_text(text)
    proc = subprocess.run([launchbuild_exe(), "check", str(job), "--config", str(config), "--python", "3.11",
                           "--entrypoint", "python train.py", "--python-base-image", PYTHON_STANDIN, "-q"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert_refused(errors[0], hostile.port, shown, what)
    assert SECRET not in proc.stdout + proc.stderr
    assert not hostile.connected.is_set()
