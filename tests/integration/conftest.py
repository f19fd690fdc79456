"""Fixtures more than one integration package needs: one Ray head for the whole session (2 CPUs,
127.0.0.1, temp dir, stopped at the end), shared by the scale-out tests and the executor contract tests.
It skips only when Ray is not installed (`pip install '.[ray]'`)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "scale"))  # scale_services.RayHead

from scale_services import RayHead  # noqa: E402


@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed: pip install '.[ray]'")
    head = RayHead()
    yield head
    head.stop()
