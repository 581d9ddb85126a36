"""netbounds.Deadline without timing: the watchdog's action is called directly."""

from __future__ import annotations

import socket

import pytest

from launchbuild import netbounds


def test_firing_shuts_every_registered_socket_down_and_marks_expired():
    a, b = socket.socketpair()
    deadline = netbounds.Deadline(30)
    deadline.register(a)
    deadline._fire()  # what the timer does at the deadline
    assert deadline.expired
    a.settimeout(5)
    assert a.recv(10) == b""  # a blocked or future read returns at once: EOF, not a hang
    a.close()
    b.close()


def test_a_socket_registered_after_the_deadline_is_shut_down_at_once():
    a, b = socket.socketpair()
    deadline = netbounds.Deadline(30)
    deadline._fire()
    deadline.register(a)
    a.settimeout(5)
    assert a.recv(10) == b""
    a.close()
    b.close()


def test_arming_again_starts_a_new_operation():
    deadline = netbounds.Deadline(30)
    deadline._fire()
    deadline.arm(30)
    assert not deadline.expired and 0 < deadline.remaining() <= 30
    deadline.cancel()


@pytest.mark.parametrize("raw, expected", [("", 30.0), ("2.5", 2.5), ("abc", 30.0), ("-1", 30.0), ("0", 30.0),
                                           ("1e9", 30.0), ("nan", 30.0), ("  7 ", 7.0)])
def test_operator_deadline_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(netbounds.DEADLINE_ENV, raw)
    assert netbounds.default_seconds() == expected


def test_blob_budget_grows_with_the_declared_size_and_ignores_garbage():
    assert netbounds.blob_seconds(0, 30) == 30
    assert netbounds.blob_seconds(netbounds.MIN_RATE_BYTES_S * 10, 30) == 40
    for garbage in (None, "5", True, -1, {"a": 1}):
        assert netbounds.blob_seconds(garbage, 30) == 30
