"""A job run by the backend's real worker with `reportTo: ["tensorboard"]`: its TensorBoard event files
are job artifacts like any other, so a remote run's curves download and open locally."""

from __future__ import annotations

import json

import pytest
from server_helpers import Api, events_of


def test_tensorboard_files_are_downloadable_artifacts(make_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorboard", reason="the tensorboard extra: pip install 'arkor[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    server = make_backend(worker_command=None, heartbeat_timeout_s=120, cancel_grace_s=10)
    api = Api(server.url)
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Invoice {i} is wrong"},
                {"role": "assistant", "content": "billing" if i % 2 else "bug"},
            ]
        }
        for i in range(8)
    ]
    upload = api.http.post(
        "/v1/datasets",
        params=api.scope,
        content="\n".join(map(json.dumps, rows)).encode(),
        headers={"X-Arkor-Filename": "tickets.jsonl"},
    )
    assert upload.status_code == 201, upload.text
    job = api.submit(
        "arkor/tiny-test",
        datasetSource={"type": "uploaded", "datasetId": upload.json()["datasetId"]},
        maxSteps=3,
        loggingSteps=1,
        batchSize=2,
        reportTo=["tensorboard"],
    )
    assert job["config"]["reportTo"] == ["tensorboard"]
    events = events_of(api.frames(job["id"], timeout=600))
    assert events[-1]["type"] == "training.completed", events[-1]
    losses = {e["step"]: e["loss"] for e in events if e["type"] == "training.log"}

    listed = api.http.get(f"/v1/jobs/{job['id']}/artifacts", params=api.scope).json()["artifacts"]
    board = [a for a in listed if a["pathname"].startswith("tensorboard/")]
    assert board and {a["pathname"] for a in board} <= {a["pathname"] for a in events[-1]["artifacts"]}
    local = tmp_path / "downloaded"
    for artifact in board:
        response = api.http.get(f"/v1/jobs/{job['id']}/artifacts/{artifact['pathname']}", params=api.scope)
        assert response.status_code == 200
        target = local / artifact["pathname"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.content)
    accumulator = EventAccumulator(str(local / "tensorboard"))
    accumulator.Reload()
    assert {s.step: s.value for s in accumulator.Scalars("train/loss")} == pytest.approx(losses)
