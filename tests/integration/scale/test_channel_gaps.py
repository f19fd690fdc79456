"""The live buffer of a job's stream with several replicas: events another replica stored, or events
published out of order, are a gap (read the database), never skipped."""

from __future__ import annotations

from arkor.protocol import TrainingLog
from arkor.server.events import StoredEvent, _Channel


def _event(seq: int) -> StoredEvent:
    return StoredEvent(job_id="job_x", seq=seq, event=TrainingLog(step=seq))


def _channel(*seqs: int, known: int = 0) -> _Channel:
    channel = _Channel()
    channel.recent.extend(_event(s) for s in seqs)
    channel.known_seq = known
    return channel


def test_contiguous_local_events_are_served_from_the_buffer() -> None:
    assert [e.seq for e in _channel(1, 2, 3).after(1)] == [2, 3]
    assert _channel(1, 2, 3).after(3) == []


def test_a_hole_left_by_another_replica_is_a_gap() -> None:
    assert _channel(1, 2, 5).after(2) is None  # 3 and 4 were stored elsewhere
    assert _channel(4, 3).after(2) is None  # published out of order


def test_a_note_from_another_replica_beyond_the_buffer_is_a_gap() -> None:
    assert _channel(known=3).after(0) is None
    assert _channel(1, 2, known=4).after(2) is None
    assert _channel(1, 2, known=2).after(2) == []
