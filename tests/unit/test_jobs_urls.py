"""Credentials never printed: redact_url / redact_text, error messages, job_to_dict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchbuild.errors import BadInput
from launchbuild.jobs.describe import job_to_dict
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.jobs.spec import JobOverrides, load_job
from launchbuild.jobs.urls import redact_text, redact_url

REDACTIONS = [
    ("https://user:s3cret@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
    ("https://ghp_abcdef123456@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
    ("https://oauth2:glpat-xyz@gitlab.com/g/r.git@main", "https://***@gitlab.com/g/r.git@main"),
    ("http://u:p@127.0.0.1:8080/simple", "http://***@127.0.0.1:8080/simple"),
    ("https://u:p@ss@host/x", "https://***@host/x"),  # unescaped '@' in the password
    ("HTTPS://U:P@HOST/X", "HTTPS://***@HOST/X"),
    ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
    ("ssh://deploy:pw@host/repo", "ssh://deploy:***@host/repo"),
    ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ("https://host/x?access_token=abc&page=2", "https://host/x?access_token=***&page=2"),
    ("https://bucket/o?X-Amz-Signature=f00&X-Amz-Credential=AK", "https://bucket/o?X-Amz-Signature=***&X-Amz-Credential=***"),
    ("https://host/org/repo.git", "https://host/org/repo.git"),
    ("file:///srv/repo@main", "file:///srv/repo@main"),
    ("not a url", "not a url"),
    ("", ""),
]


@pytest.mark.parametrize("url,expected", REDACTIONS)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_in_git_stderr() -> None:
    stderr = ("Cloning into 'x'...\nfatal: unable to access 'https://bob:hunter2@git.example.com/r.git/': "
              "The requested URL returned error: 403\nremote: see https://tok3n@git.example.com/help")
    out = redact_text(stderr)
    assert "hunter2" not in out and "bob" not in out and "tok3n" not in out
    assert out.count("https://***@git.example.com") == 2


@settings(max_examples=300, deadline=None)
@given(user=st.text(alphabet=st.characters(blacklist_characters="/@ \t\n\r\x0b\x0c'\"", blacklist_categories=("Cs",)),
                    min_size=1, max_size=20),
       secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~%!$&()*+,;=",
                      min_size=8, max_size=30),
       path=st.text(alphabet="abcdefghij/._-@", max_size=20))
def test_redacted_https_urls_never_contain_the_password(user: str, secret: str, path: str) -> None:
    url = f"https://{user}:{secret}@host.example.com/{path}"
    out = redact_url(url)
    assert secret not in out.split("@host.example.com", 1)[0]
    assert out.startswith("https://***@host.example.com/")


SECRET_URL = "https://alice:tok-SECRET-42@github.com/org/repo.git"


@pytest.mark.parametrize("job_arg,overrides", [
    (SECRET_URL + "@bad ref", JobOverrides()),
    (SECRET_URL + "@main", JobOverrides(ref="dev")),
    (SECRET_URL, JobOverrides(ref="-x")),
    ("ftp://alice:tok-SECRET-42@github.com/org/repo.git", JobOverrides()),
    ("https://alice:tok-SECRET-42@github.com", JobOverrides()),
    ("https://alice:tok-SECRET-42@github.com/org/repo.git@", JobOverrides()),
])
def test_errors_about_secret_urls_never_contain_the_secret(job_arg: str, overrides: JobOverrides) -> None:
    with pytest.raises(BadInput) as err:
        load_job(job_arg, overrides)
    assert "SECRET" not in f"{err.value} {err.value!r}"


def test_spec_with_secret_remote_is_redacted_everywhere(tmp_path: Path) -> None:
    spec = {"source_type": "repo", "source": {"git": {"remote": SECRET_URL, "commit": "main"},
                                              "entrypoint": ["python", "train.py"]}, "runtime": "3.10.12"}
    path = tmp_path / "wandb-job.json"
    path.write_text(json.dumps(spec))
    job = load_job(str(path), JobOverrides())
    assert "SECRET" not in repr(job)
    shown = json.dumps(job_to_dict(job))
    assert "SECRET" not in shown and "https://***@github.com/org/repo.git" in shown
    bad = dict(spec, source={"git": {"remote": SECRET_URL.replace("https", "gopher")}})
    path.write_text(json.dumps(bad))
    with pytest.raises(BadInput) as err:
        load_job(str(path), JobOverrides())
    assert "SECRET" not in str(err.value)


# ---- job_to_dict -----------------------------------------------------------------------------


def test_job_to_dict_every_setting_with_its_origin(tmp_path: Path) -> None:
    (tmp_path / "requirements.frozen.txt").write_text("x==1\n")
    spec = {"source_type": "repo", "runtime": "3.10.12",
            "source": {"git": {"remote": "https://github.com/org/repo.git", "commit": "main"},
                       "entrypoint": ["python", "train.py"], "subdir": "src"},
            "builder": {"cuda": {"base_image": "nvidia/cuda:11.8.0-runtime-ubuntu22.04"}}}
    path = tmp_path / "wandb-job.json"
    path.write_text(json.dumps(spec))
    job = load_job(str(path), JobOverrides(python=Sourced("3.11", Origin.ENV, "LAUNCHBUILD_PYTHON")))
    data = job_to_dict(job)
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == "git" and data["builds_image"] is True and data["name"] == "repo"
    assert data["source"] == {"kind": "git", "remote": "https://github.com/org/repo.git", "ref": "main", "subdir": "src"}
    assert data["python"] == {"value": "3.11", "origin": "environment", "detail": "LAUNCHBUILD_PYTHON"}
    assert data["entrypoint"] == {"value": ["python", "train.py"], "origin": "job spec",
                                  "detail": f"{path}: source.entrypoint"}
    assert data["accelerator_base_image"]["detail"].endswith("builder.cuda.base_image")
    assert data["ref"]["origin"] == "job spec" and data["subdir"]["value"] == "src"
    assert data["python_base_image"] is None
    assert data["frozen_requirements"] == str(tmp_path / "requirements.frozen.txt")
    assert data["spec_path"] == str(path)


@pytest.mark.parametrize("arg,kind,form", [("image:python:3.11-slim", "image", None), (".", "code", "directory")])
def test_job_to_dict_other_sources(arg: str, kind: str, form: str | None) -> None:
    data = job_to_dict(load_job(arg, JobOverrides()))
    assert data["source"]["kind"] == kind and data["source"].get("form") == form
    assert data["entrypoint"] is None and data["builds_image"] is (kind != "image")
