"""CLI end-to-end fixtures: one isolated home (and embedded backend) per test module, stopped at teardown."""

from __future__ import annotations

import pytest
from cli_helpers import make_arkor


@pytest.fixture(scope="module")
def arkor(tmp_path_factory: pytest.TempPathFactory):
    runner = make_arkor(tmp_path_factory.mktemp("home"))
    yield runner
    runner.stop_backend()
