"""Trackers: package checks, the metrics each event becomes, failure isolation, config validation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

import pytest

from arkor.engine.reporting import FolderReporter
from arkor.engine.trackers import TrackerConfigError, TrackingReporter, check_trackers_installed, open_trackers
from arkor.engine.trackers.base import hyperparameters
from arkor.engine.worker import run_spec
from arkor.protocol import JobConfig, TrainingCompleted, TrainingLog, WorkerSpec
from arkor.protocol._base import WireModel


@pytest.fixture(autouse=True)
def tracker_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home" / ".arkor"))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "WANDB_API_KEY", "WANDB_MODE", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)


def config(tmp_path: Path, **extra) -> JobConfig:
    data = tmp_path / "data.jsonl"
    data.write_text(
        json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}) + "\n"
    )
    return JobConfig.model_validate(
        {"model": "arkor/tiny-test", "datasetSource": {"type": "file", "path": str(data)}, "maxSteps": 1, **extra}
    )


def hide(monkeypatch, *modules: str) -> None:
    """Make `modules` unimportable, as if their extra were not installed."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    ("tracker", "modules", "message"),
    [
        ("mlflow", ("mlflow",), "report_to: 'mlflow' needs the mlflow package: pip install 'arkor[mlflow]'"),
        ("wandb", ("wandb",), "report_to: 'wandb' needs the wandb package: pip install 'arkor[wandb]'"),
        (
            "tensorboard",
            ("tensorboard", "tensorboardX"),
            "report_to: 'tensorboard' needs the tensorboard package: pip install 'arkor[tensorboard]'",
        ),
    ],
)
def test_a_missing_tracker_package_names_the_extra(monkeypatch, tracker, modules, message):
    hide(monkeypatch, *modules)
    with pytest.raises(TrackerConfigError) as raised:
        check_trackers_installed(["tensorboard", tracker] if tracker != "tensorboard" else [tracker])
    assert str(raised.value) == message and raised.value.field == "report_to"


def test_worker_fails_the_job_before_loading_anything_when_a_tracker_is_missing(tmp_path, monkeypatch):
    hide(monkeypatch, "mlflow")
    spec = WorkerSpec(
        job_id="job_missing", config=config(tmp_path, reportTo=["mlflow"]), output_dir=str(tmp_path / "out")
    )
    assert run_spec(spec) == 0
    events = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events] == ["training.failed"]
    assert events[0]["error"] == "report_to: 'mlflow' needs the mlflow package: pip install 'arkor[mlflow]'"


def test_report_to_is_validated_with_a_did_you_mean():
    from arkor.sdk.config import validate_trainer_input
    from arkor.sdk.errors import TrainerConfigError

    base = {"name": "x", "model": "arkor/tiny-test", "dataset": {"type": "huggingface", "name": "a/b"}}
    with pytest.raises(TrainerConfigError) as raised:
        validate_trainer_input({**base, "report_to": ["tensorbord"]})
    assert "report_to: 'tensorbord' is not a tracker arkor can report to. Did you mean 'tensorboard'?" in str(
        raised.value
    )
    parsed, source = validate_trainer_input({**base, "report_to": "wandb"})
    from arkor.sdk.config import build_job_config

    assert build_job_config(parsed, source).to_wire()["reportTo"] == ["wandb"]
    assert (
        JobConfig.model_validate({"model": "m", "datasetSource": {"type": "huggingface", "name": "a/b"}}).report_to
        is None
    )


def test_hyperparameters_are_flat_and_never_carry_a_dataset_token():
    job = JobConfig.model_validate(
        {
            "model": "m",
            "datasetSource": {"type": "blob", "url": "https://x/y.jsonl", "token": "s3cret"},
            "targetModules": ["q_proj", "v_proj"],
            "learningRate": 1e-3,
        }
    )
    params = hyperparameters(job)
    assert params["datasetSource.url"] == "https://x/y.jsonl" and params["targetModules"] == "q_proj,v_proj"
    assert "s3cret" not in json.dumps(params)


class EvaluationCompleted(WireModel):
    """The wire shape of the engine's task-accuracy event."""

    type: Literal["evaluation.completed"] = "evaluation.completed"
    step: int
    scorer: str
    accuracy: float
    fields: dict
    rows: int


def test_training_log_and_task_accuracy_reach_tensorboard_and_mlflow(tmp_path):
    pytest.importorskip("tensorboard", reason="pip install 'arkor[tensorboard]'")
    pytest.importorskip("mlflow", reason="pip install 'arkor[mlflow]'")
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "out"
    job = config(tmp_path, reportTo=["tensorboard", "mlflow"])
    reporter = TrackingReporter(FolderReporter("job_eval", out), open_trackers(job, "job_eval", out))
    reporter.emit(TrainingLog(step=3, loss=1.25, learning_rate=1e-4, epoch=0.5, tokens_per_second=99.0))
    reporter.emit(
        EvaluationCompleted(
            step=3,
            scorer="json-fields",
            accuracy=0.75,
            rows=8,
            fields={"label": 0.875, "priority level": {"accuracy": 0.5}},
        )
    )
    (out / "final").mkdir()
    (out / "final" / "adapter_config.json").write_text("{}")
    reporter.emit(TrainingCompleted(metrics={"steps": 3}))
    reporter.close()

    accumulator = EventAccumulator(str(out / "tensorboard"))
    accumulator.Reload()
    read = {tag: [(s.step, s.value) for s in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    assert read["eval/accuracy"] == [(3, 0.75)] and read["eval/accuracy/label"] == [(3, 0.875)]
    assert read["eval/accuracy/priority level"] == [(3, 0.5)] and read["train/loss"] == [(3, 1.25)]
    completed = json.loads((out / "events.jsonl").read_text().splitlines()[-1])
    assert any(a["pathname"].startswith("tensorboard/events.out.tfevents.") for a in completed["artifacts"])

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("arkor").experiment_id])
    assert run.data.metrics["eval/accuracy"] == 0.75 and run.data.metrics["eval/accuracy/label"] == 0.875
    assert run.info.status == "FINISHED"
    assert [f.path for f in client.list_artifacts(run.info.run_id, "adapter")] == ["adapter/adapter_config.json"]


class BrokenTracker:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def log_metrics(self, metrics, step):
        self.calls += 1
        raise OSError("disk full")

    def log_adapter(self, folder):
        raise AssertionError("a tracker that failed is not called again")

    def finish(self, status):
        raise AssertionError("a tracker that failed is not called again")


def test_a_failing_tracker_is_dropped_and_the_run_goes_on(tmp_path, caplog):
    pytest.importorskip("mlflow", reason="pip install 'arkor[mlflow]'")
    from mlflow.tracking import MlflowClient

    out = tmp_path / "out"
    broken = BrokenTracker()
    trackers = [broken, *open_trackers(config(tmp_path, reportTo=["mlflow"]), "job_broken", out)]
    reporter = TrackingReporter(FolderReporter("job_broken", out), trackers)
    for step in (1, 2):
        reporter.emit(TrainingLog(step=step, loss=2.0 / step))
    reporter.close()  # no terminal event: the run was stopped
    assert broken.calls == 1
    assert "broken tracker failed in log_metrics (OSError: disk full)" in caplog.text
    assert len((out / "events.jsonl").read_text().splitlines()) == 2
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("arkor").experiment_id])
    assert [m.value for m in client.get_metric_history(run.info.run_id, "train/loss")] == [2.0, 1.0]
    assert run.info.status == "KILLED"


def test_mlflow_uses_the_tracking_uri_from_the_environment(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="pip install 'arkor[mlflow]'")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team-runs")
    (tracker,) = open_trackers(config(tmp_path, reportTo=["mlflow"]), "job_env", tmp_path / "out")
    tracker.finish("failed")
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("team-runs").experiment_id])
    assert run.info.run_name == "job_env" and run.info.status == "FAILED"
    assert not (tmp_path / "out" / "mlflow").exists()


def test_create_trainer_takes_report_to_into_the_job_config(tmp_path):
    from arkor.sdk.trainer import create_trainer

    trainer = create_trainer(
        name="t",
        model="arkor/tiny-test",
        dataset={"type": "huggingface", "name": "a/b"},
        report_to=["tensorboard", "mlflow"],
    )
    assert trainer._config.to_wire()["reportTo"] == ["tensorboard", "mlflow"]
    plain = create_trainer(name="t", model="arkor/tiny-test", dataset={"type": "huggingface", "name": "a/b"})
    assert "reportTo" not in plain._config.to_wire()
