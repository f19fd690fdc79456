"""`max_time` and task accuracy while training, end to end on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

from arkor.engine.worker import run_spec
from arkor.protocol import JobConfig, WorkerSpec, parse_event

TINY = "arkor/tiny-test"
COLOURS = ["red", "blue", "green", "yellow"]


def write_json_answers(path: Path, rows: int = 24) -> Path:
    with path.open("w") as handle:
        for i in range(rows):
            colour = COLOURS[i % len(COLOURS)]
            handle.write(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": f"What colour is item {i}? It is {colour}."},
                            {"role": "assistant", "content": json.dumps({"colour": colour, "item": i})},
                        ]
                    }
                )
                + "\n"
            )
    return path


def run(tmp_path: Path, **overrides) -> list[dict]:
    data = write_json_answers(tmp_path / "train.jsonl")
    config = {
        "model": TINY,
        "datasetSource": {"type": "file", "path": str(data)},
        "batchSize": 4,
        "learningRate": 3e-2,
        "loraR": 8,
        "loggingSteps": 1,
        **overrides,
    }
    spec = WorkerSpec(job_id="job_t", config=JobConfig.model_validate(config), output_dir=str(tmp_path / "out"))
    assert run_spec(spec) == 0
    return [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]


def test_max_time_ends_the_run_with_a_final_adapter_and_a_decayed_lr(tmp_path):
    events = run(tmp_path, maxSteps=100_000, maxTime="10s", lrSchedulerType="linear")
    completed = events[-1]
    assert completed["type"] == "training.completed"
    metrics = completed["metrics"]
    assert metrics["stoppedBy"] == "max_time" and 0 < metrics["steps"] < 100_000
    logs = [e for e in events if e["type"] == "training.log"]
    assert logs[-1]["step"] == metrics["steps"]
    # The schedule is driven by the budget, not by the 100k-step limit: a step-driven linear decay
    # would still be above 0.9999 of the base LR here, the budget-driven one has moved by the share
    # of the budget spent (how far depends on the machine's speed, so only the direction is checked).
    assert len(logs) >= 2
    assert all(later["learningRate"] < earlier["learningRate"] for earlier, later in zip(logs, logs[1:]))
    assert logs[-1]["learningRate"] < 0.999 * 3e-2
    assert "final/adapter_model.safetensors" in {a["pathname"] for a in completed["artifacts"]}
    checkpoint = json.loads((tmp_path / "out" / "final" / "arkor-checkpoint.json").read_text())
    assert checkpoint["step"] == metrics["steps"]


def test_eval_dataset_is_scored_at_each_eval_step(tmp_path):
    eval_file = write_json_answers(tmp_path / "eval.jsonl", rows=6)
    events = run(
        tmp_path,
        maxSteps=6,
        evalSteps=3,
        evalDataset={"type": "file", "path": str(eval_file)},
        evalScorer="json_fields",
        evalRows=4,
    )
    scored = [e for e in events if e["type"] == "evaluation.completed"]
    assert [e["step"] for e in scored] == [3, 6]
    for event in scored:
        assert set(event) == {"type", "jobId", "timestamp", "step", "scorer", "accuracy", "fields", "rows"}
        assert event["scorer"] == "json_fields" and event["rows"] == 4
        assert set(event["fields"]) == {"colour", "item"}
        assert all(0.0 <= v <= 1.0 for v in event["fields"].values()) and 0.0 <= event["accuracy"] <= 1.0
        assert event["accuracy"] <= min(event["fields"].values())  # all-exact is never above any field
        parse_event(event)  # what the backend's ingestion validates
    # The eval file, not a slice of the training rows, gives the eval loss: no training row is held out.
    started = events[0]["metadata"]
    assert started["datasetRows"] == 24 and started["evalRows"] == 6
    assert any(e.get("evalLoss") is not None for e in events if e["type"] == "training.log")


def test_scoring_is_bounded_by_max_length_whatever_the_eval_file_holds(tmp_path):
    from arkor.engine.config import TrainingPlan
    from arkor.engine.models import load_tokenizer
    from arkor.engine.train.task_eval import TaskScorer

    huge = "word " * 5000
    rows = [[{"role": "user", "content": huge}, {"role": "assistant", "content": huge}]] * 3
    scorer = TaskScorer(rows, load_tokenizer(TINY), TrainingPlan(model_id=TINY, max_length=64, eval_rows=2))
    assert len(scorer) == 2 and all(len(p) <= 64 for p in scorer.prompts) and scorer.max_new_tokens == 64


def test_evaluating_does_not_spend_the_time_budget(tmp_path, monkeypatch):
    import time

    from arkor.engine.train import run as train_run

    real_evaluate = train_run._evaluate

    def slow_evaluate(*args, **kwargs):
        time.sleep(0.5)  # an eval pass far longer than a tiny training step
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_run, "_evaluate", slow_evaluate)
    eval_file = write_json_answers(tmp_path / "eval.jsonl", rows=4)
    events = run(
        tmp_path, maxSteps=12, maxTime="10s", evalSteps=1, evalDataset={"type": "file", "path": str(eval_file)}
    )
    metrics = events[-1]["metrics"]
    evals = sum(1 for e in events if e["type"] == "training.log" and e.get("evalLoss") is not None)
    assert evals == metrics["steps"] >= 1
    # Had the budget counted the eval passes, the training seconds would hold all of them.
    assert metrics["trainSeconds"] < 0.5 * evals


def test_a_slow_checkpoint_save_does_not_carry_the_run_past_its_budget(tmp_path, monkeypatch):
    import time

    from arkor.engine.train import resume_state

    real_save = resume_state.save_checkpoint

    def slow_save(*args, **kwargs):
        time.sleep(0.5)  # a save far longer than a tiny training step, as on a slow disk
        return real_save(*args, **kwargs)

    monkeypatch.setattr(resume_state, "save_checkpoint", slow_save)
    events = run(tmp_path, maxSteps=100_000, maxTime="3s", saveSteps=1)
    metrics = events[-1]["metrics"]
    assert metrics["stoppedBy"] == "max_time"
    assert sum(1 for e in events if e["type"] == "checkpoint.saved") >= 2
    # Stopping only when one more *step* would not fit lets the save before it run over by up to 0.5 s.
    assert metrics["trainSeconds"] <= 3.0
