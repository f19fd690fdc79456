"""The embedded backend's port is stable across restarts: ARKOR_BACKEND_PORT (default 4848), a free
fallback when it is taken that later starts come back to, and `--port` to pin one. No test here
uses the real default port."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from arkor.sdk import local_backend


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    local_backend.server_dir().mkdir(parents=True)
    return tmp_path / "home"


def test_the_preferred_port_then_a_remembered_fallback(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preferred = _free_port()
    monkeypatch.setenv("ARKOR_BACKEND_PORT", str(preferred))
    assert local_backend.choose_port() == preferred
    assert local_backend.choose_port() == preferred  # same port every start
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", preferred))
        squatter.listen()
        fallback = local_backend.choose_port()
        assert fallback not in (0, preferred)
        assert json.loads(local_backend.port_state_path().read_text()) == {"preferred": preferred, "port": fallback}
    # The preferred port is free again, but URLs handed out since point at the fallback: keep it.
    assert local_backend.choose_port() == fallback
    # A different preference is honoured (the memory belonged to the old one).
    other = _free_port()
    monkeypatch.setenv("ARKOR_BACKEND_PORT", str(other))
    assert local_backend.choose_port() == other


def test_default_port_and_zero_and_bad_values(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARKOR_BACKEND_PORT", raising=False)
    assert local_backend.preferred_port() == local_backend.DEFAULT_PORT == 4848
    monkeypatch.setenv("ARKOR_BACKEND_PORT", "0")
    assert local_backend.choose_port() == 0
    for bad in ("http", "70000", "-1"):
        monkeypatch.setenv("ARKOR_BACKEND_PORT", bad)
        with pytest.raises(local_backend.LocalBackendError, match="ARKOR_BACKEND_PORT=.* is not a port number"):
            local_backend.choose_port()


def test_a_pinned_port_is_remembered_and_a_taken_one_is_an_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKOR_BACKEND_PORT", str(_free_port()))
    pinned = _free_port()
    assert local_backend.choose_port(pinned) == pinned
    assert local_backend.choose_port() == pinned
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", pinned))
        squatter.listen()
        with pytest.raises(local_backend.LocalBackendError, match=f"Port {pinned} is already in use"):
            local_backend.choose_port(pinned)


def test_a_taken_fallback_goes_back_to_the_preferred_port_for_good(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preferred = _free_port()
    monkeypatch.setenv("ARKOR_BACKEND_PORT", str(preferred))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", preferred))
        squatter.listen()
        fallback = local_backend.choose_port()
    with socket.socket() as other:
        other.bind(("127.0.0.1", fallback))
        other.listen()
        assert local_backend.choose_port() == preferred
    assert local_backend.choose_port() == preferred  # no flip-flop back to the old fallback
