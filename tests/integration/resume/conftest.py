"""Fixtures for the resume tests: real backends on 127.0.0.1 (temp data dir, SQLite), the scripted fake
worker (fast mechanics) or the real worker on the tiny model (chaos, determinism)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))  # server_helpers.Api, the fake worker

from server_helpers import backend_factory  # noqa: E402

from arkor.server.runner import BackgroundServer  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[Callable[..., BackgroundServer]]:
    # the tests' datasets live in tmp_path (the data dir under it stays refused)
    yield from backend_factory(tmp_path / "data", sse_ping_interval_s=1, file_dataset_roots=str(tmp_path))


@pytest.fixture
def backend(make_backend: Callable[..., BackgroundServer]) -> BackgroundServer:
    return make_backend()


@pytest.fixture
def api(backend: BackgroundServer):  # type: ignore[no-untyped-def]
    from server_helpers import Api

    return Api(backend.url)
