"""Security tests: real servers on loopback, each with its own HOME/ARKOR_HOME (see security_http_helpers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home" / ".arkor"))
