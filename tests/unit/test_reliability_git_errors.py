"""How a failed `git fetch` is reported, from git's own stderr (samples as git 2.39 prints them)."""

from __future__ import annotations

import pytest

from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.jobs.git_clone import _raise_fetch_error

SHOWN = "git://127.0.0.1:9418/repo.git"


@pytest.mark.parametrize(
    ("stderr", "ref", "error", "words"),
    [
        # reached, then lost mid-transfer
        ("fatal: early EOF\nfatal: fetch-pack: invalid index-pack output\n", None, InfraUnavailable,
         "broke during the fetch (fatal: early EOF)"),
        ("fatal: read error: Connection reset by peer\nfatal: early EOF\nfatal: index-pack failed\n", "abc1234",
         InfraUnavailable, "broke during the fetch (fatal: read error: Connection reset by peer)"),
        ("error: RPC failed; curl 18 transfer closed with outstanding read data remaining\n"
         "fatal: expected flush after ref listing\n", None, InfraUnavailable, "broke during the fetch"),
        ("error: 1234 bytes of body are still expected\nfetch-pack: unexpected disconnect while reading sideband packet\n"
         "fatal: early EOF\n", None, InfraUnavailable, "broke during the fetch"),
        # never reached
        ("fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused\n", None,
         InfraUnavailable, "cannot be reached (fatal: unable to connect to 127.0.0.1:)"),
        ("fatal: unable to access 'https://git.invalid/r.git/': Could not resolve host: git.invalid\n", None,
         InfraUnavailable, "cannot be reached"),
        # the user's to fix, not the network's
        ("fatal: could not read Username for 'https://git.invalid': terminal prompts disabled\n", None, BadInput,
         "access denied"),
        ("fatal: couldn't find remote ref refs/heads/nope\n", "nope", BadInput, "unknown commit, branch or tag 'nope'"),
        # the host answered: there is no such repository (HTTP 404; a host's ssh message)
        ("fatal: repository 'https://git.invalid/org/nope.git/' not found\n", "main", BadInput, "no such repository"),
        ("ERROR: Repository not found.\nfatal: Could not read from remote repository.\n\nPlease make sure you have "
         "the correct access rights\nand the repository exists.\n", None, BadInput, "no such repository"),
        # a path with no repository (file://, or ssh:// to a plain git host), as git 2.x writes it
        ("fatal: '/srv/nope.git' does not appear to be a git repository\nfatal: Could not read from remote "
         "repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n", None,
         BadInput, "no such repository"),
    ],
    ids=["early-eof", "reset", "http-cut", "sideband-cut", "refused", "no-host", "credentials", "unknown-ref",
         "http-404", "ssh-not-found", "path-not-a-repository"],
)
def test_fetch_errors(stderr, ref, error, words):
    with pytest.raises(error) as info:
        _raise_fetch_error(SHOWN, ref, stderr)
    message = str(info.value)
    assert words in message and "\n" not in message
    assert type(info.value) is error


def test_connection_lost_never_shows_credentials():
    stderr = "fatal: early EOF while fetching https://robot:s3cret-token@git.invalid/r.git\n"
    with pytest.raises(InfraUnavailable) as info:
        _raise_fetch_error("https://git.invalid/r.git", None, stderr)
    assert "s3cret-token" not in str(info.value) and "broke during the fetch" in str(info.value)
