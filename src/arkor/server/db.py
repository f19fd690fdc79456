"""The database handle: engine, sessions and schema migrations.

SQLite (the default) runs in WAL mode with a busy timeout; write transactions start with
`BEGIN IMMEDIATE` so two writers queue on the lock instead of failing with "database is locked"
when a read snapshot tries to upgrade. PostgreSQL (any other URL) uses plain transactions.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

_MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Database:
    """One engine plus two session factories: `read()` and `write()` (both commit on success)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            kwargs["pool_size"] = 20
            kwargs["max_overflow"] = 40
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._read_factory = sessionmaker(self.engine, expire_on_commit=False)
        write_bind = self.engine.execution_options(arkor_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._write_factory = sessionmaker(write_bind, expire_on_commit=False)
        self._migrate_lock = threading.Lock()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._read_factory() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction holds the write lock from its first statement; commits on exit."""
        with self._write_factory() as session:
            with session.begin():
                yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        from alembic import command
        from alembic.config import Config

        with self._migrate_lock, self.engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS_DIR))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        logger.debug("database schema at head (%s)", self.engine.url.render_as_string(hide_password=True))

    def ping(self) -> None:
        """Run a trivial query (raises when the database cannot be reached)."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy (below) emit BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("arkor_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
