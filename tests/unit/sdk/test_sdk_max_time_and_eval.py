"""create_trainer's time budget and task-accuracy fields, and `on_evaluation` (pure, no network)."""

from __future__ import annotations

import pytest

from arkor import TrainerConfigError, create_trainer
from arkor.protocol import parse_duration, parse_event
from arkor.sdk._wait_flow import WaitState, fold_event
from arkor.sdk.callbacks import TrainerCallbacks

BASE = dict(name="n", model="arkor/tiny-test", dataset={"type": "huggingface", "name": "x"})


@pytest.mark.parametrize(
    "text,seconds", [("90s", 90), ("3m", 180), ("1h30m", 5400), ("2.5m", 150), (45, 45), (" 3M ", 180)]
)
def test_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


def test_max_time_and_eval_fields_reach_the_wire(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "eval.jsonl").write_text('{"prompt": "p", "completion": "c"}\n')
    monkeypatch.chdir(tmp_path)  # a relative eval file is checked where it will be read from
    trainer = create_trainer(
        **BASE,
        max_time="3m",
        eval_dataset={"type": "file", "path": "data/eval.jsonl"},
        eval_scorer="triage",
        eval_rows=12,
    )
    wire = trainer._config.to_wire()
    assert wire["maxTime"] == "3m" and wire["evalScorer"] == "triage" and wire["evalRows"] == 12
    assert wire["evalDataset"] == {"type": "file", "path": "data/eval.jsonl"}


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("3 minutes", 'is not a duration; write it like "90s", "3m" or "1h30m"'),
        (-5, "must be more than zero seconds"),
        ("0s", "must be more than zero seconds"),
        (True, "must be a duration"),
    ],
)
def test_bad_max_time_is_a_clear_error(value, fragment):
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(**BASE, max_time=value)
    message = str(info.value)
    assert "max_time:" in message and fragment in message and "Value error" not in message


def test_a_missing_eval_file_is_named_at_construction(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(**BASE, eval_dataset={"type": "file", "path": "data/eval.jsonl"})
    assert "eval_dataset.path: file not found" in str(info.value)


def test_bad_eval_dataset_names_its_field():
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(**BASE, eval_dataset={"type": "s3"})
    assert "eval_dataset" in str(info.value) and "A dataset is one of" in str(info.value)


def test_evaluation_event_shape_and_on_evaluation_context():
    data = {
        "type": "evaluation.completed",
        "step": 20,
        "scorer": "triage",
        "accuracy": 0.9,
        "fields": {"category": 1.0, "urgency": 0.9},
        "rows": 24,
    }
    assert parse_event(data).to_wire() == data
    with pytest.raises(ValueError):
        parse_event({**data, "accuracy": 1.5})

    def on_evaluation(ctx):
        return ctx

    callbacks = TrainerCallbacks(on_evaluation=on_evaluation)
    from arkor.protocol import JobConfig, TrainingJob

    job = TrainingJob(
        id="j",
        org_id="o",
        project_id="p",
        name="n",
        status="running",
        created_at="t",
        config=JobConfig.model_validate({"model": "m", "datasetSource": {"type": "file", "path": "x"}}),
    )
    callback, ctx, terminal = fold_event(WaitState(job=job), data, callbacks, lambda *a: None)
    assert callback is on_evaluation and not terminal
    assert (ctx.step, ctx.accuracy, ctx.fields, ctx.scorer, ctx.rows, ctx.job) == (
        20,
        0.9,
        {"category": 1.0, "urgency": 0.9},
        "triage",
        24,
        job,
    )


def test_torch_compile_reaches_the_wire_and_a_wrong_value_or_spelling_is_named():
    assert create_trainer(**BASE, torch_compile=True)._config.to_wire()["torchCompile"] is True
    assert "torchCompile" not in create_trainer(**BASE)._config.to_wire()
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(**BASE, torch_compile="fast")
    assert "torch_compile:" in str(info.value)
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(**BASE, torch_compiled=True)
    assert "torch_compiled: is not a known field. Did you mean `torch_compile`?" in str(info.value)
