"""Suite-wide: no test's embedded backend listens on the real default port (4848), which a developer's
own backend may hold. `0` keeps the old any-free-port behaviour; tests of the stable port set their own."""

from __future__ import annotations

import os


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    os.environ["ARKOR_BACKEND_PORT"] = "0"
