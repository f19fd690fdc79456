"""Suite-wide: no test's embedded backend listens on the real default port (4848), which a developer's
own backend may hold. `0` keeps the old any-free-port behaviour; tests of the stable port set their own."""

from __future__ import annotations

import os


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    os.environ["ARKOR_BACKEND_PORT"] = "0"


# What a test needs besides Python, read from where it lives and the fixtures it uses, so
# `-m "not browser and not ray and not postgres"` (make test-fast) keeps only what runs anywhere.
_BROWSER_FOLDERS = ("tests/e2e/studio/",)
_RAY_FIXTURES = {"ray_head"}
_POSTGRES_FIXTURES = {"postgres"}


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    import pytest

    root = str(config.rootpath)
    for item in items:
        where = str(item.path)[len(root) + 1 :].replace(os.sep, "/")
        fixtures = set(getattr(item, "fixturenames", ()))  # includes the fixtures' own fixtures
        if where.startswith(_BROWSER_FOLDERS):
            item.add_marker(pytest.mark.browser)
        if fixtures & _RAY_FIXTURES:
            item.add_marker(pytest.mark.ray)
        if fixtures & _POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
