"""The real backend the SDK integration tests train against: a loopback server with the real worker
(the tiny model), its own ARKOR_HOME, and ARKOR_CLOUD_API_URL pointing the SDK at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from arkor.server.runner import BackgroundServer
from arkor.server.settings import ServerSettings


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    running = BackgroundServer(
        ServerSettings(
            data_dir=tmp_path / "data",
            worker_command=None,
            heartbeat_timeout_s=120,
            cancel_grace_s=10,
        )
    ).start()
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", running.url)
    yield running
    running.stop()
