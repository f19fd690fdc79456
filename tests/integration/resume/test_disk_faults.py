"""A full disk where the backend stores artifacts: the real worker's checkpoint upload is refused with
507 and the job fails with a message that says what is full and what to do; the checkpoint is never
announced, so a resume can never pick it."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from server_helpers import Api, events_of

from arkor.server.storage import ArtifactStorage


def test_a_full_artifact_store_fails_the_job_with_what_to_free(make_backend, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real_put = ArtifactStorage.put

    def full_disk_put(self, job_id, pathname, tmp):  # type: ignore[no-untyped-def]
        if str(pathname).startswith("checkpoints/step-4/"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_put(self, job_id, pathname, tmp)

    monkeypatch.setattr(ArtifactStorage, "put", full_disk_put)  # the server runs in this process
    server = make_backend(worker_command=None, heartbeat_timeout_s=120, cancel_grace_s=10)
    api = Api(server.url)
    data = tmp_path / "rows.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(
                {"messages": [{"role": "user", "content": f"item {i}?"}, {"role": "assistant", "content": "ok"}]}
            )
            for i in range(8)
        )
    )
    job = api.submit(
        "arkor/tiny-test",
        datasetSource={"type": "file", "path": str(data)},
        maxSteps=6,
        saveSteps=2,
        loggingSteps=1,
        batchSize=2,
    )
    events = events_of(api.frames(job["id"], timeout=300))
    failed = api.job(job["id"])
    assert failed["status"] == "failed", events[-1]
    error = failed["error"]
    assert error.startswith("The backend could not store the artifact checkpoints/step-4/"), error
    assert (
        "is full (No space left on device). Free space there, then resume the job with `arkor jobs resume JOB`" in error
    )
    assert events[-1]["type"] == "training.failed" and events[-1]["error"] == error
    assert [e["step"] for e in events if e["type"] == "checkpoint.saved"] == [2]  # step 4 never announced
    assert not any(e["type"] == "training.resumed" for e in events)  # a full disk is not retried
