"""Fixtures for backend integration tests: a real uvicorn server on 127.0.0.1 with a temporary data dir
and SQLite database (the worker is the scripted fake unless a test says otherwise)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from server_helpers import Api, backend_factory

from arkor.server.runner import BackgroundServer


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[Callable[..., BackgroundServer]]:
    yield from backend_factory(tmp_path / "data", sse_ping_interval_s=1)


@pytest.fixture
def backend(make_backend: Callable[..., BackgroundServer]) -> BackgroundServer:
    return make_backend()


@pytest.fixture
def api(backend: BackgroundServer) -> Api:
    return Api(backend.url)
