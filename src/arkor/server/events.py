"""The durable per-job event log and its live stream.

Invariants:
- An event is committed (with the next gap-free per-job `seq`) before anyone is told about it.
- The SSE stream replays rows with `seq > Last-Event-ID` from the database, then tails live events
  through the in-process `Broadcaster`; events are de-duplicated by `seq`, and any gap in what the
  broadcaster holds is filled from the database, so a reader sees every event exactly once.
- With several replicas (PostgreSQL), `fanout.PostgresFanout` tells the broadcaster about events other
  replicas stored (`remote_events`); the channel then reports a gap and the stream reads the database.
- After a terminal event the stream sends `event: end` and closes (unless the job was resumed after
  it and has newer events); an idle stream sends `event: ping`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arkor.protocol import JobEventBase, is_terminal, parse_event
from arkor.protocol.sse import encode_frame

from ._util import iso_now
from .db import Database
from .models import EventRow, JobRow

logger = logging.getLogger(__name__)

_RECENT_EVENTS_KEPT = 512
_REPLAY_BATCH = 1000


@dataclass(frozen=True)
class StoredEvent:
    job_id: str
    seq: int
    event: JobEventBase

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def payload(self) -> dict[str, Any]:
        """The event's wire JSON (what the stream's `data:` carries)."""
        return self.event.to_wire()

    def frame(self) -> bytes:
        return encode_frame(self.event.type, self.event.to_wire(), id=self.seq)


class EventLog:
    """Appends and reads the `events` table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.appended_total = 0
        self.notify: Callable[[Session, str, int], None] | None = None
        """Called inside the appending transaction with (session, job id, newest seq): cross-replica fan-out."""

    def append(self, session: Session, job_id: str, events: list[JobEventBase]) -> list[StoredEvent]:
        """Add events to `job_id` inside the caller's write transaction; returns them with their seq.

        Each is stamped with the job's id (and the time, when it came without one). The job row is
        locked first (FOR UPDATE on PostgreSQL; SQLite's write lock is already held), so concurrent
        appends to one job take turns and seqs stay gap-free and unique.
        """
        session.execute(select(JobRow.id).where(JobRow.id == job_id).with_for_update())
        seq = self.last_seq(session, job_id)
        stored = []
        now = iso_now()
        for event in events:
            seq += 1
            event = event.model_copy(update={"job_id": job_id, "timestamp": event.timestamp or now})
            session.add(EventRow(job_id=job_id, seq=seq, type=event.type, payload=event.to_wire(), created_at=now))
            stored.append(StoredEvent(job_id=job_id, seq=seq, event=event))
        self.appended_total += len(stored)
        if stored and self.notify is not None:
            self.notify(session, job_id, stored[-1].seq)
        return stored

    @staticmethod
    def last_seq(session: Session, job_id: str) -> int:
        """The job's highest seq (= how many events it has; seqs are gap-free from 1)."""
        return session.execute(select(func.max(EventRow.seq)).where(EventRow.job_id == job_id)).scalar() or 0

    def read_after(self, job_id: str, after_seq: int, limit: int = 1000) -> list[StoredEvent]:
        with self.db.read() as session:
            rows = session.execute(
                select(EventRow.seq, EventRow.payload)
                .where(EventRow.job_id == job_id, EventRow.seq > after_seq)
                .order_by(EventRow.seq)
                .limit(limit)
            ).all()
        # Leniently: a row of a type this version does not know (written by a newer replica) still streams.
        return [StoredEvent(job_id=job_id, seq=seq, event=parse_event(payload, lenient=True)) for seq, payload in rows]


class _Channel:
    """Live events of one job for the subscribers currently reading it (loop thread only)."""

    def __init__(self) -> None:
        self.recent: collections.deque[StoredEvent] = collections.deque(maxlen=_RECENT_EVENTS_KEPT)
        self.wakeup = asyncio.Event()
        self.subscribers = 0
        self.known_seq = 0
        """The newest seq another replica said it stored (see `Broadcaster.remote_events`)."""

    def after(self, seq: int) -> list[StoredEvent] | None:
        """Events newer than `seq` held here, or None when some of them were never seen here.

        What is held need not be contiguous (another replica may have stored events in between, or
        two threads published out of order), so anything but an unbroken run from `seq + 1` is a gap.
        """
        newer = [event for event in self.recent if event.seq > seq]
        expected = seq + 1
        for event in newer:
            if event.seq != expected:
                return None
            expected += 1
        if self.known_seq >= expected:
            return None
        return newer


class Broadcaster:
    """Tells the SSE streams of a job about its new events. `publish` may be called from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channels: dict[str, _Channel] = {}
        self._closed = False
        self._lock = threading.Lock()

    @property
    def subscriber_count(self) -> int:
        return sum(channel.subscribers for channel in list(self._channels.values()))

    @property
    def closed(self) -> bool:
        return self._closed

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._closed = False

    def publish(self, events: list[StoredEvent]) -> None:
        loop = self._loop
        if not events or loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._deliver, events)
        except RuntimeError:  # loop closed between the check and the call (shutdown)
            pass

    def remote_events(self, job_id: str, seq: int) -> None:
        """Another replica stored `job_id`'s events up to `seq` (any thread): its streams read them."""
        self._call_soon(self._note_remote, job_id, seq)

    def subscribed_jobs(self) -> list[str]:
        """Jobs with open streams here (a snapshot; any thread)."""
        return list(self._channels)

    def _call_soon(self, callback, *args) -> None:  # type: ignore[no-untyped-def]
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # loop closed meanwhile (shutdown)
            pass

    def _note_remote(self, job_id: str, seq: int) -> None:
        channel = self._channels.get(job_id)
        if channel is None or seq <= channel.known_seq:
            return
        channel.known_seq = seq
        channel.wakeup.set()
        channel.wakeup = asyncio.Event()

    def close(self) -> None:
        """Ends every open stream (server shutdown). Call on the loop thread."""
        self._closed = True
        for channel in self._channels.values():
            channel.wakeup.set()

    def _deliver(self, events: list[StoredEvent]) -> None:
        channel = self._channels.get(events[0].job_id)
        if channel is None:
            return
        channel.recent.extend(events)
        channel.wakeup.set()
        channel.wakeup = asyncio.Event()

    def subscribe(self, job_id: str) -> _Channel:
        channel = self._channels.get(job_id)
        if channel is None:
            channel = self._channels[job_id] = _Channel()
        channel.subscribers += 1
        return channel

    def unsubscribe(self, job_id: str, channel: _Channel) -> None:
        channel.subscribers -= 1
        if channel.subscribers <= 0 and self._channels.get(job_id) is channel:
            del self._channels[job_id]


PING_FRAME = encode_frame("ping", "")
END_FRAME = encode_frame("end", "")


async def stream_job_events(
    *,
    job_id: str,
    after_seq: int,
    log: EventLog,
    broadcaster: Broadcaster,
    ping_interval_s: float,
    job_is_terminal: Callable[[], bool],
) -> AsyncIterator[bytes]:
    """SSE bytes for one job: replay after `after_seq`, then live; `end` after the terminal event."""
    channel = broadcaster.subscribe(job_id)  # before the replay, so nothing falls between the two
    last = after_seq
    from_database = True  # replaying; also whenever the live buffer has a gap
    checked_terminal = False
    try:
        while True:
            pending = None if from_database else channel.after(last)
            if pending is None:
                pending = await anyio.to_thread.run_sync(log.read_after, job_id, last, _REPLAY_BATCH)
                from_database = len(pending) >= _REPLAY_BATCH
            for event in pending:
                if event.seq <= last:
                    continue
                yield event.frame()
                last = event.seq
                if is_terminal(event.event):
                    # A job resumed after this end (`POST /v1/jobs/:id/resume`) has events after it.
                    if not await anyio.to_thread.run_sync(log.read_after, job_id, event.seq, 1):
                        yield END_FRAME
                        return
            if from_database:
                continue
            if pending and any(event.seq > after_seq for event in pending):
                checked_terminal = True
            if not checked_terminal:
                checked_terminal = True
                if await anyio.to_thread.run_sync(job_is_terminal):
                    # A finished job with no terminal event after the cursor: nothing more will come.
                    yield END_FRAME
                    return
                continue  # events may have arrived while we asked the database
            if pending or broadcaster.closed:
                if broadcaster.closed:
                    return
                continue
            wakeup = channel.wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), timeout=ping_interval_s)
            except TimeoutError:
                yield PING_FRAME
    finally:
        broadcaster.unsubscribe(job_id, channel)
