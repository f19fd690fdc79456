"""Session fixtures for the scale-out tests: one PostgreSQL cluster for the whole session (127.0.0.1,
temp dir, stopped at the end; the Ray head is `tests/integration/conftest.py`'s), and backend replicas per test.

They skip only when the binaries are not installed (`.ci/services.sh` installs PostgreSQL;
`pip install '.[ray,postgres,s3]'` and `moto[server]` the rest)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))  # server_helpers.Api

from scale_services import RAY_ENV, MotoS3, Postgres, RayHead, Replica  # noqa: E402


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg is not installed: pip install '.[postgres]'")
    try:
        server = Postgres()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def pg_database(postgres: Postgres) -> str:
    """A fresh database for one test (so job queues of tests never mix)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex}"
    dsn = postgres.url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def make_replica(tmp_path: Path, ray_head: RayHead) -> Iterator[Callable[..., Replica]]:
    replicas: list[Replica] = []

    def start(name: str, *, database_url: str | None = None, port: int | None = None, **env: str) -> Replica:
        settings_env = {
            **RAY_ENV,
            "ARKOR_HOME": str(tmp_path / "home"),
            "ARKOR_EXECUTOR": "ray",
            "RAY_ADDRESS": ray_head.address,
            "ARKOR_WATCHDOG_INTERVAL_S": "0.5",
            "ARKOR_SSE_PING_INTERVAL_S": "1",
            "ARKOR_CANCEL_GRACE_S": "5",
            "ARKOR_HEARTBEAT_TIMEOUT_S": "120",
            "ARKOR_LOG": "INFO",
            **({"ARKOR_DATABASE_URL": database_url} if database_url else {}),
            **env,
        }
        replica = Replica(name, tmp_path, settings_env, port=port)
        replicas.append(replica)
        return replica

    yield start
    for replica in replicas:
        replica.stop()


@pytest.fixture
def moto_s3(tmp_path: Path) -> Iterator[MotoS3]:
    for module in ("moto", "s3fs"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install 'moto[server]' '.[s3]'")
    server = MotoS3(tmp_path)
    yield server
    server.stop()
