"""`arkor jobs resume JOB --follow` hands the resumed job to the same follower as `arkor jobs logs -f`
(it once called a function that did not exist and died with a NameError after resuming)."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from click.testing import CliRunner

import arkor.cli.jobs as jobs


class _Client:
    def resume_job(self, job_id: str, state: Any) -> SimpleNamespace:
        return SimpleNamespace(job=SimpleNamespace(status="queued", to_wire=lambda: {"id": job_id}))


def test_resume_follow_prints_the_events_of_the_resumed_job(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    @contextmanager
    def client():  # type: ignore[no-untyped-def]
        yield _Client()

    followed: list[str] = []

    def follow_job(client: Any, job_id: str, state: Any, print_event: Any, **_: Any) -> None:
        followed.append(job_id)
        print_event({"type": "training.completed", "timestamp": "T", "artifacts": []})

    monkeypatch.setattr(jobs, "project_scope", lambda: "scope")
    monkeypatch.setattr(jobs, "_session", lambda: SimpleNamespace(client=client()))
    monkeypatch.setattr(jobs, "follow_job", follow_job)
    result = CliRunner().invoke(jobs.jobs_group, ["resume", "job_x", "--follow"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert followed == ["job_x"]
    assert result.output.splitlines() == [
        "Resumed job job_x (status=queued); it goes on from its last checkpoint.",
        "T training.completed 0 artifacts",
    ]
