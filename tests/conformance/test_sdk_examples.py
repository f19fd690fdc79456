"""The cookbook examples in examples/ run their logic against the scripted backend."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sdk_scripted_backend import event, happy_stream

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"arkor_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mid_run_eval_asks_every_checkpoint(twin, backend, project):
    backend.streams.append(happy_stream())
    answers: list = []
    trainer = load("mid_run_eval").make_trainer(answers, context=twin.context(backend, project))
    assert trainer.wait().job.status == "completed"
    assert answers == [(1, "Hello from e2e")]


def test_early_stopping_aborts_then_cancels(twin, backend, project):
    logs = [event("training.log", i + 2, step=i + 1, loss=loss) for i, loss in enumerate([1.0, 2.0, 2.5, 3.0])]
    backend.streams.append([event("training.started", 1), *logs, event("training.completed", 9)])
    assert load("early_stopping").run(context=twin.context(backend, project)) == "stopped-early"
    assert len(backend.of("POST", "/v1/jobs/job_1/cancel")) == 1


def test_early_stopping_lets_a_healthy_run_finish(twin, backend, project):
    backend.streams.append(happy_stream())
    assert load("early_stopping").run(context=twin.context(backend, project)) == "completed"
    assert backend.of("POST", "/v1/jobs/job_1/cancel") == []


@pytest.mark.parametrize(
    "ending,expected",
    [
        (event("training.completed", 2, artifacts=[{"pathname": "final/a"}]), "completed with 1 artifact(s)"),
        (event("training.failed", 2, error="OOM"), "FAILED: OOM"),
    ],
)
def test_webhook_posts_on_completion_and_failure(twin, backend, project, ending, expected):
    backend.streams.append([event("training.started", 1), ending])
    posts = []

    def flaky_post(url, json, timeout):
        posts.append((url, json["text"]))
        raise ConnectionError("webhook down")  # must be swallowed

    trainer = load("notify_webhook").make_trainer(
        "https://hooks.example/x", flaky_post, context=twin.context(backend, project)
    )
    trainer.wait()
    assert len(posts) == 1 and expected in posts[0][1]


def test_web_route_uses_a_fresh_trainer_per_request(twin, backend, project):
    backend.streams.extend([happy_stream(), happy_stream()])
    module = load("web_route")
    module.TRAINER_OPTIONS.update(context=twin.context(backend, project))
    (first, t1), (second, t2) = module.start_training(), module.start_training()
    t1.join(10)
    t2.join(10)
    assert first == second == {"jobId": "job_1"}  # the scripted backend always answers job_1
    assert len(backend.of("POST", "/v1/jobs")) == 2
    keys = {r.headers["idempotency-key"] for r in backend.of("POST", "/v1/jobs")}
    assert len(keys) == 2


@pytest.mark.parametrize(
    "stream,code",
    [
        ("completed", 0),
        ("failed", 1),
        ("cancelled", 1),
        ("broken", 1),
    ],
)
def test_ci_smoke_exit_codes(twin, backend, project, stream, code):
    endings = {
        "completed": [happy_stream()],
        "failed": [[event("training.failed", 1, error="bad config")]],
        "cancelled": [[event("training.cancelled", 1)]],
        "broken": [503, 503],
    }
    backend.streams.extend(endings[stream])
    module = load("ci_smoke")
    lines = []
    context = twin.context(backend, project, max_reconnect_attempts=1)
    trainer = module.make_trainer(context=context)
    assert module.main(trainer, err=lines.append) == code
    assert trainer._config.dry_run is True
    if stream == "failed":
        assert lines == ["status=failed: bad config"]
