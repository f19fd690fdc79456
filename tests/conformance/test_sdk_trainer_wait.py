"""Trainer.start/wait/cancel conformance (reference 1.3, 1.4, 6 "SDK unit", 8), sync and async twins."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sdk_scripted_backend import Broken, Hang, event, happy_stream

from arkor import AbortController, CloudApiError, TrainerStreamError


def test_callback_order_and_job_status_progression(twin, backend, project):
    backend.streams.append(happy_stream())
    seen = []

    async def on_checkpoint(ctx):  # async callbacks are awaited in both twins
        seen.append(("checkpoint", ctx.step, ctx.adapter, ctx.job.status, [a.pathname for a in ctx.artifacts]))

    trainer = twin.trainer(
        backend,
        project,
        on_started=lambda ctx: seen.append(("started", ctx.job.status, ctx.job.started_at)),
        on_log=lambda ctx: seen.append(("log", ctx.step, ctx.loss, ctx.eval_loss, ctx.learning_rate, ctx.job.status)),
        callbacks={
            "on_checkpoint": on_checkpoint,
            "on_completed": lambda ctx: seen.append(("completed", ctx.job.status, ctx.metrics)),
        },
    )
    result = twin.call(trainer, "wait")
    assert seen == [
        ("started", "running", "2026-01-01T00:00:01Z"),
        ("log", 1, 2.5, None, 0.001, "running"),
        (
            "checkpoint",
            1,
            {"kind": "checkpoint", "jobId": "job_1", "step": 1},
            "running",
            ["checkpoints/step-1/adapter_model.safetensors"],
        ),
        ("completed", "completed", {"trainLoss": 2.0}),
    ]
    assert result.job.status == "completed"
    assert [a.pathname for a in result.artifacts] == ["final/adapter.json"]
    assert result.raise_for_status() is result


def test_failed_run_resolves(twin, backend, project):
    backend.streams.append([event("training.started", 1), event("training.failed", 2, error="boom")])
    failures = []
    trainer = twin.trainer(
        backend,
        project,
        on_failed=lambda ctx: failures.append((ctx.error, ctx.job.status)),
        on_completed=lambda ctx: failures.append("completed?!"),
    )
    result = twin.call(trainer, "wait")
    assert failures == [("boom", "failed")]
    assert (result.job.status, result.job.error, result.artifacts) == ("failed", "boom", [])
    from arkor import JobFailedError

    with pytest.raises(JobFailedError, match="boom"):
        result.raise_for_status()


def test_cancelled_event_ends_wait_with_status_cancelled(twin, backend, project):
    backend.streams.append([event("training.started", 1), event("training.cancelled", 2)])
    result = twin.call(twin.trainer(backend, project), "wait")
    assert result.job.status == "cancelled"


def test_end_is_terminal_and_keeps_stale_status(twin, backend, project):
    backend.streams.append([event("training.started", 1), b"event: end\ndata: \n\n", event("training.completed", 3)])
    completed = []
    result = twin.call(twin.trainer(backend, project, on_completed=completed.append), "wait")
    assert result.job.status == "running" and result.artifacts == [] and completed == []


def test_callback_exception_rejects_without_reconnect(twin, backend, project):
    backend.streams.extend([happy_stream(), happy_stream()])

    def on_log(ctx):
        raise KeyError("from callback")

    with pytest.raises(KeyError, match="from callback"):
        twin.call(twin.trainer(backend, project, on_log=on_log), "wait")
    assert len(backend.of("GET", "/v1/jobs/job_1/events/stream")) == 1
    assert twin.sleeps == []


def test_reconnect_delays_then_gives_up_with_original_message(twin, backend, project):
    backend.streams.extend([503, 503, 503])
    trainer = twin.trainer(backend, project, context={"max_reconnect_attempts": 2})
    with pytest.raises(TrainerStreamError) as info:
        twin.call(trainer, "wait")
    assert str(info.value) == "Trainer SSE stream failed 3 consecutive times; giving up."
    assert twin.sleeps == [10, 20]
    assert isinstance(info.value.__cause__, CloudApiError) and info.value.__cause__.status == 503


@pytest.mark.parametrize("status", [401, 403, 410, 426])
def test_permanent_statuses_reject_immediately(twin, backend, project, status):
    backend.streams.append(status)
    with pytest.raises(CloudApiError) as info:
        twin.call(twin.trainer(backend, project), "wait")
    assert info.value.status == status and twin.sleeps == []


@pytest.mark.parametrize("status", [404, 500, 503])
def test_transient_statuses_are_retried(twin, backend, project, status):
    backend.streams.extend([status, happy_stream()])
    result = twin.call(twin.trainer(backend, project), "wait")
    assert result.job.status == "completed" and twin.sleeps == [10]


def test_clean_eof_after_progress_reconnects_at_base_delay_with_last_event_id(twin, backend, project):
    backend.streams.extend([[event("training.started", 1), b": comment\n\n"], [event("training.completed", 2)]])
    trainer = twin.trainer(backend, project, context={"max_reconnect_attempts": 0})
    assert twin.call(trainer, "wait").job.status == "completed"
    opens = backend.of("GET", "/v1/jobs/job_1/events/stream")
    assert "last-event-id" not in opens[0].headers and opens[1].headers["last-event-id"] == "1"
    assert twin.sleeps == [10]


@pytest.mark.parametrize(
    "stream",
    [[], [b"event: ping\nid: 7\ndata: \n\n"], [b"data: {not json\n\n"]],
    ids=["empty", "ping-only", "garbage-only"],
)
def test_streams_without_progress_count_toward_the_budget(twin, backend, project, stream):
    backend.streams.extend([list(stream), list(stream)])
    trainer = twin.trainer(backend, project, context={"max_reconnect_attempts": 1})
    with pytest.raises(TrainerStreamError, match="failed 2 consecutive times"):
        twin.call(trainer, "wait")
    assert twin.sleeps == [10]


def test_ping_id_is_remembered_for_resume(twin, backend, project):
    backend.streams.extend(
        [[event("training.started", 1), b"event: ping\nid: 5\ndata: \n\n"], [event("training.completed", 6)]]
    )
    twin.call(twin.trainer(backend, project), "wait")
    assert backend.of("GET", "/v1/jobs/job_1/events/stream")[1].headers["last-event-id"] == "5"


def test_counter_resets_on_data(twin, backend, project):
    backend.streams.extend([503, [event("training.started", 1)], 503, [event("training.completed", 2)]])
    trainer = twin.trainer(backend, project, context={"max_reconnect_attempts": 1})
    assert twin.call(trainer, "wait").job.status == "completed"
    assert twin.sleeps == [10, 10, 10]  # failure, clean EOF, failure again at attempt 0


def test_mid_stream_body_error_recovers(twin, backend, project):
    backend.streams.extend([Broken([event("training.started", 1)]), [event("training.completed", 2)]])
    started = []
    result = twin.call(twin.trainer(backend, project, on_started=started.append), "wait")
    assert result.job.status == "completed" and len(started) == 1
    assert backend.of("GET", "/v1/jobs/job_1/events/stream")[1].headers["last-event-id"] == "1"


def test_malformed_and_unknown_frames_are_skipped(twin, backend, project):
    backend.streams.append(
        [
            b"data: {oops\n\n",
            b'event: status\ndata: {"type":"status"}\n\n',
            event("training.mystery", 1),
            event("training.completed", 2),
        ]
    )
    assert twin.call(twin.trainer(backend, project), "wait").job.status == "completed"


def test_jitter_is_clamped_to_the_maximum(twin, backend, project):
    backend.streams.extend([503, 503, 503, happy_stream()])
    trainer = twin.trainer(backend, project, context={"random": lambda: 1.0, "max_reconnect_delay_ms": 20})
    twin.call(trainer, "wait")
    assert twin.sleeps == [12.5, 20, 20]  # 10*1.25; then 20*1.25 and 40->20*1.25, both clamped to 20


def test_abort_during_backoff_rejects_with_reason_and_never_cancels(twin, backend, project):
    controller = AbortController()
    backend.streams.extend([503, happy_stream()])
    twin.on_sleep = lambda: controller.abort(RuntimeError("stop waiting"))
    trainer = twin.trainer(backend, project, abort_signal=controller.signal)
    with pytest.raises(RuntimeError, match="stop waiting"):
        twin.call(trainer, "wait")
    assert not [p for p in backend.paths("POST") if p.endswith("/cancel")]


def test_abort_while_reading_a_hanging_stream(twin, backend, project):
    controller = AbortController()
    backend.streams.append(Hang([event("training.started", 1)]))
    trainer = twin.trainer(
        backend,
        project,
        abort_signal=controller.signal,
        on_started=lambda ctx: threading.Timer(0.05, controller.abort).start(),
    )
    from arkor.sdk.abort import AbortError

    with pytest.raises(AbortError):
        twin.call(trainer, "wait")


def test_start_is_idempotent_and_sends_an_idempotency_key(twin, backend, project):
    trainer = twin.trainer(backend, project)
    first, second = twin.call(trainer, "start"), twin.call(trainer, "start")
    assert first.job_id == second.job_id == "job_1"
    posts = backend.of("POST", "/v1/jobs")
    assert len(posts) == 1 and posts[0].headers["idempotency-key"] == trainer.idempotency_key
    assert posts[0].query == {"orgSlug": "anon-org", "projectSlug": "proj"}


def test_concurrent_async_starts_submit_once(backend, project):
    from sdk_twins import Twin

    trainer = Twin("async").trainer(backend, project)

    async def both():
        return await asyncio.gather(trainer.start_async(), trainer.start_async())

    assert [r.job_id for r in asyncio.run(both())] == ["job_1", "job_1"]
    assert len(backend.of("POST", "/v1/jobs")) == 1


def test_concurrent_sync_starts_submit_once(backend, project):
    from sdk_twins import Twin

    trainer = Twin("sync").trainer(backend, project)
    results = []
    threads = [threading.Thread(target=lambda: results.append(trainer.start().job_id)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["job_1"] * 4 and len(backend.of("POST", "/v1/jobs")) == 1


def test_start_fires_no_callbacks(twin, backend, project):
    backend.streams.append(happy_stream())
    calls = []
    twin.call(twin.trainer(backend, project, on_started=calls.append), "start")
    assert calls == [] and backend.of("GET", "/v1/jobs/job_1/events/stream") == []


def test_cancel_before_start_is_a_noop_and_after_start_posts(twin, backend, project):
    trainer = twin.trainer(backend, project)
    twin.call(trainer, "cancel")
    assert backend.requests == []
    twin.call(trainer, "start")
    twin.call(trainer, "cancel")
    cancels = backend.of("POST", "/v1/jobs/job_1/cancel")
    assert len(cancels) == 1 and cancels[0].query == {"orgSlug": "anon-org", "projectSlug": "proj"}


def test_cancel_rejects_on_409(twin, backend, project):
    backend.overrides[("POST", "/v1/jobs/job_1/cancel")] = lambda r: (409, {}, b'{"error":"already cancelled"}')
    trainer = twin.trainer(backend, project)
    twin.call(trainer, "start")
    with pytest.raises(CloudApiError, match="already cancelled"):
        twin.call(trainer, "cancel")


def test_every_request_carries_the_client_header_and_bearer(twin, backend, project):
    backend.streams.append(happy_stream())
    twin.call(twin.trainer(backend, project), "wait")
    assert backend.requests and all(r.headers["x-arkor-client"].startswith("arkor/") for r in backend.requests)
    assert all(r.headers["authorization"] == "Bearer anon-token" for r in backend.requests)
