"""Fixtures for the SDK conformance suite: a scripted backend, an isolated home, sync/async twins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sdk_scripted_backend import running_backend
from sdk_twins import Twin

from arkor.sdk.state import write_state


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("ARKOR_HOME", str(home / ".arkor"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ARKOR_CLOUD_API_URL", raising=False)
    return home


@pytest.fixture
def backend() -> Any:
    with running_backend() as scripted:
        yield scripted


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    write_state({"orgSlug": "anon-org", "projectSlug": "proj", "projectId": "prj_1"}, folder)
    return folder


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> Twin:
    return Twin(request.param)
