"""Cross-replica event notification: PostgreSQL LISTEN/NOTIFY on channel `arkor_events`.

Several backend replicas share one PostgreSQL database. A worker posts its events to whichever replica
its report URL reaches; SSE clients may be connected to any other. So:

- `notify_in(session, job_id, seq)` runs inside the transaction that appends the events
  (`EventLog.notify`): `pg_notify` is transactional, so the note goes out exactly when the rows are
  committed, never before. Payload: `<replica id>|<job id>|<newest seq>` (tiny; the rows stay in the
  database, the single source of truth).
- A listener thread per replica holds one autocommit connection with `LISTEN arkor_events` and, for
  each note from another replica, tells the local `Broadcaster` that the job has events up to `seq`;
  its streams then read the missing rows from the database. Exactly-once delivery stays the stream's
  job (it yields by `seq` and never goes back), so a note that arrives twice or early is harmless.
- If the listening connection drops, it reconnects with backoff and then, for every job with an open
  stream here, reads the newest seq from the database and relays it: notes lost while disconnected
  cannot lose events.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from .db import Database
    from .events import Broadcaster

logger = logging.getLogger(__name__)

CHANNEL = "arkor_events"
_POLL_S = 1.0
_MAX_BACKOFF_S = 10.0


def _libpq_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresFanout:
    """Publishes this replica's new events to the others and relays theirs to local streams."""

    def __init__(self, db: Database, broadcaster: Broadcaster) -> None:
        self.db = db
        self.dsn = _libpq_dsn(db.url)
        self.broadcaster = broadcaster
        self.replica_id = secrets.token_hex(6)
        self.received_total = 0
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def notify_in(self, session: Session, job_id: str, seq: int) -> None:
        """Announce `job_id`'s events up to `seq` when `session`'s transaction commits."""
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": f"{self.replica_id}|{job_id}|{seq}"},
        )

    def start(self, *, wait_s: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._listen_forever, name="arkor-fanout", daemon=True)
        self._thread.start()
        if not self._listening.wait(wait_s):
            logger.warning(
                "event fan-out is not listening yet; streams on this replica see other replicas' events once it is"
            )

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=_POLL_S * 3)

    def _listen_forever(self) -> None:
        import psycopg

        backoff = 0.5
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    backoff = 0.5
                    self._catch_up()  # anything committed while we were not listening
                    while not self._stopping.is_set():
                        for note in connection.notifies(timeout=_POLL_S):
                            self._relay(note.payload)
            except Exception as exc:  # the database restarted or the network dropped: listen again
                if self._stopping.is_set():
                    return
                self._listening.clear()
                logger.warning(
                    "event fan-out lost its PostgreSQL connection (%s); reconnecting in %.1f s", exc, backoff
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _catch_up(self) -> None:
        from .models import EventRow

        jobs = self.broadcaster.subscribed_jobs()
        if not jobs:
            return
        with self.db.read() as session:
            newest = session.execute(
                select(EventRow.job_id, func.max(EventRow.seq))
                .where(EventRow.job_id.in_(jobs))
                .group_by(EventRow.job_id)
            ).all()
        for job_id, seq in newest:
            self.broadcaster.remote_events(job_id, int(seq))

    def _relay(self, payload: str) -> None:
        try:
            replica, job_id, seq = payload.split("|")
            newest = int(seq)
        except ValueError:
            logger.warning("ignoring malformed fan-out note %r", payload)
            return
        if replica == self.replica_id:
            return  # our own events were published locally already
        self.received_total += 1
        self.broadcaster.remote_events(job_id, newest)
