"""On a real Ray head (the session's, from tests/integration/conftest.py; replicas from the scale tests' fixtures): the job's actor is killed mid-run; the job is
re-queued, a new actor gets the checkpoint by value and goes on from it, and the job completes."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path

_SCALE = Path(__file__).parents[1] / "scale"
sys.path.insert(0, str(_SCALE))
_spec = importlib.util.spec_from_file_location("scale_conftest", _SCALE / "conftest.py")
_scale_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_scale_conftest)  # type: ignore[union-attr]
make_replica = _scale_conftest.make_replica

from scale_data import chat_rows  # noqa: E402
from server_helpers import Api, events_of  # noqa: E402

TINY = "arkor/tiny-test"
STEPS = 12


def test_a_killed_ray_actor_resumes_in_a_new_actor_from_its_checkpoint(make_replica, ray_head) -> None:  # type: ignore[no-untyped-def]
    replica = make_replica("solo")
    api = Api(replica.url)
    upload = api.http.post(
        "/v1/datasets", params=api.scope, content=chat_rows(16), headers={"X-Arkor-Filename": "t.jsonl"}
    )
    assert upload.status_code == 201, upload.text
    job = api.submit(
        TINY,
        datasetSource={"type": "uploaded", "datasetId": upload.json()["datasetId"]},
        maxSteps=STEPS,
        loggingSteps=1,
        saveSteps=2,
        batchSize=2,
        seed=3,
    )
    seen = []
    while not any(e["type"] == "checkpoint.saved" for e in seen):
        frames = api.frames(job["id"], last_event_id=len(seen) or None, limit=1, timeout=180)
        seen += events_of(frames)
        assert seen and seen[-1]["type"] not in ("training.completed", "training.failed"), (seen[-1], replica.log())
    first_pid = ray_head.probe(job["id"])
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)

    rest = events_of(api.frames(job["id"], last_event_id=len(seen), timeout=240))
    events = seen + rest
    assert events[-1]["type"] == "training.completed", (events[-1], replica.log())
    assert api.job(job["id"])["status"] == "completed"
    resumed = [e for e in events if e["type"] == "training.resumed"]
    assert len(resumed) == 1 and "Ray worker died" in resumed[0]["reason"], resumed
    assert resumed[0]["step"] >= 2  # the checkpoint seen before the kill (or a newer one)
    # the new actor (on any node) got that checkpoint shipped and went on from it, not from step 0
    assert events[-1]["metrics"]["resumedFromStep"] == resumed[0]["step"]
    assert [e["step"] for e in events if e["type"] == "training.log"] == list(range(1, STEPS + 1))
    assert [e["type"] for e in events].count("training.started") == 1
    assert ray_head.probe(job["id"]) is None  # the finished actor is gone
