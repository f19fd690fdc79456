"""Security tests: real servers on loopback, each test with its own HOME/ARKOR_HOME (helpers: security_http_helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home" / ".arkor"))
