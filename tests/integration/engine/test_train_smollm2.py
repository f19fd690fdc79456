"""The whole engine path on the real bundled SmolLM2: train a few LoRA steps, then chat with the adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arkor.engine.models import DEFAULT_MODEL
from arkor.engine.worker import run_spec
from arkor.protocol import InferenceChatRequest, JobConfig, WorkerSpec
from arkor.templates.scoring import data_dir


@pytest.mark.slow
def test_smollm2_trains_and_chats_with_its_adapter(tmp_path: Path) -> None:
    from arkor.engine.infer import InferenceEngine

    config = JobConfig.model_validate(
        {
            "model": DEFAULT_MODEL,
            "datasetSource": {"type": "file", "path": str(data_dir("triage") / "train.jsonl")},
            "maxSteps": 3,
            "batchSize": 2,
            "learningRate": 4e-4,
            "maxLength": 256,
            "loggingSteps": 1,
        }
    )
    spec = WorkerSpec(job_id="job_smollm2", config=config, output_dir=str(tmp_path / "out"))
    assert run_spec(spec) == 0
    events = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "training.completed", events[-1]
    started = events[0]["metadata"]
    assert started["model"] == DEFAULT_MODEL and started["totalParams"] > 100_000_000
    losses = [e["loss"] for e in events if e["type"] == "training.log"]
    assert len(losses) == 3 and all(0 < loss < 10 for loss in losses)

    engine = InferenceEngine()
    request = InferenceChatRequest(
        messages=[{"role": "user", "content": "My card was charged twice for one order."}],
        temperature=0,
        max_tokens=12,
        stream=False,
    )
    reply = engine.complete(request, model_id=DEFAULT_MODEL, adapter_dir=tmp_path / "out" / "final")
    assert (reply.choices[0].message.content or "").strip()
    assert reply.usage.completion_tokens > 0
