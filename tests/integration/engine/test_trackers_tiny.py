"""A real tiny training run reporting to TensorBoard, MLflow and W&B (offline), read back with each
library's own reader: what the trainer logged is what the tracker stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arkor.engine.worker import run_spec
from arkor.protocol import JobConfig, WorkerSpec

TINY = "arkor/tiny-test"

pytest.importorskip("tensorboard", reason="the tensorboard extra: pip install 'arkor[tensorboard]'")
pytest.importorskip("mlflow", reason="the mlflow extra: pip install 'arkor[mlflow]'")
pytest.importorskip("wandb", reason="the wandb extra: pip install 'arkor[wandb]'")


@pytest.fixture(autouse=True)
def tracker_env(tmp_path, monkeypatch):
    """Trackers read HOME and their own variables: a clean, local, offline setup per test."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home" / ".arkor"))
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_NAME",
        "WANDB_API_KEY",
        "WANDB_MODE",
        "WANDB_PROJECT",
        "WANDB_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


def write_chat_dataset(path: Path, rows: int) -> Path:
    colours = ["red", "blue", "green", "yellow"]
    with path.open("w") as handle:
        for i in range(rows):
            handle.write(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": f"What colour is item {i}? It is {colours[i % 4]}."},
                            {"role": "assistant", "content": colours[i % 4]},
                        ]
                    }
                )
                + "\n"
            )
    return path


def read_events(spec: WorkerSpec) -> list[dict]:
    return [json.loads(line) for line in (Path(spec.output_dir) / "events.jsonl").read_text().splitlines()]


def tracked_spec(tmp_path: Path, report_to: list[str]) -> WorkerSpec:
    dataset = write_chat_dataset(tmp_path / "data.jsonl", rows=24)
    config = JobConfig.model_validate(
        {
            "model": TINY,
            "datasetSource": {"type": "file", "path": str(dataset)},
            "maxSteps": 4,
            "batchSize": 4,
            "learningRate": 3e-2,
            "loraR": 8,
            "loggingSteps": 1,
            "evalSteps": 2,
            "reportTo": report_to,
        }
    )
    return WorkerSpec(job_id="job_tracked", config=config, output_dir=str(tmp_path / "out"))


def test_one_run_reports_to_all_three_trackers(tmp_path):
    spec = tracked_spec(tmp_path, ["tensorboard", "mlflow", "wandb"])
    assert run_spec(spec) == 0
    events = read_events(spec)
    assert events[-1]["type"] == "training.completed", events[-1]
    logs = [e for e in events if e["type"] == "training.log"]
    losses = {e["step"]: e["loss"] for e in logs}
    evals = {e["step"]: e["evalLoss"] for e in logs if e.get("evalLoss") is not None}
    assert sorted(losses) == [1, 2, 3, 4] and sorted(evals) == [2, 4]
    out = Path(spec.output_dir)

    # TensorBoard: event files read back by tensorboard's own EventAccumulator, published as artifacts.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(out / "tensorboard"))
    accumulator.Reload()
    scalars = accumulator.Tags()["scalars"]
    assert {"train/loss", "train/learning_rate", "train/tokens_per_second", "train/epoch", "eval/loss"} <= set(scalars)
    assert {s.step: pytest.approx(s.value, rel=1e-6) for s in accumulator.Scalars("train/loss")} == losses
    assert {s.step: pytest.approx(s.value, rel=1e-6) for s in accumulator.Scalars("eval/loss")} == evals
    config_text = accumulator.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"reportTo": "tensorboard,mlflow,wandb"' in config_text and '"loraR": 8' in config_text
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(
        accumulator.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    ).session_start_info
    assert start.hparams["loraR"].number_value == 8 and start.hparams["model"].string_value == TINY
    published = {a["pathname"] for a in events[-1]["artifacts"]}
    tb_files = {p.relative_to(out).as_posix() for p in (out / "tensorboard").rglob("*") if p.is_file()}
    assert tb_files and all(name.startswith("tensorboard/events.out.tfevents.") for name in tb_files)
    assert tb_files <= published and "final/adapter_model.safetensors" in published

    # MLflow: the local SQLite store under the job's output, read through MlflowClient.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("arkor")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "job_tracked" and run.info.status == "FINISHED"
    assert run.data.params["loraR"] == "8" and run.data.params["model"] == TINY
    assert run.data.params["datasetSource.type"] == "file"
    history = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "train/loss")}
    assert history == pytest.approx(losses)
    assert {m.step for m in client.get_metric_history(run.info.run_id, "eval/loss")} == set(evals)
    assert {m.step for m in client.get_metric_history(run.info.run_id, "train/learning_rate")} == set(losses)
    adapter_files = {f.path for f in client.list_artifacts(run.info.run_id, "adapter")}
    assert {"adapter/adapter_config.json", "adapter/adapter_model.safetensors"} <= adapter_files

    # W&B: the offline run folder under the job's output, its .wandb records read with wandb's own reader.
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    history_rows, config_keys, artifact_names = read_wandb_run(run_dir)
    wandb_losses = {int(row["_step"]): row["train/loss"] for row in history_rows if "train/loss" in row}
    assert wandb_losses == pytest.approx(losses)
    assert {int(row["_step"]) for row in history_rows if "eval/loss" in row} == set(evals)
    assert {"loraR", "model", "learningRate"} <= config_keys
    assert "job_tracked-adapter" in artifact_names


def wandb_records(path: Path):
    """The protobuf records of a `.wandb` file: a 7-byte header (":W&B", magic, version), then a
    LevelDB-style log (32 KiB blocks; each chunk: crc32, little-endian length, type FULL/FIRST/MIDDLE/LAST)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    position, block, pending = 7, 32 * 1024, b""
    while position + 7 <= len(data):
        room = block - position % block
        if room < 7:  # a block's tail too short for a chunk header is padding
            position += room
            continue
        length = int.from_bytes(data[position + 4 : position + 6], "little")
        kind = data[position + 6]
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


def read_wandb_run(run_dir: Path) -> tuple[list[dict], set[str], set[str]]:
    """(history rows, config keys, logged artifact names) of an offline W&B run, from its .wandb file."""
    (path,) = run_dir.glob("*.wandb")
    rows, config_keys, artifacts = [], set(), set()
    for record in wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            rows.append(
                {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            )
        elif kind in ("run", "config"):
            updates = record.run.config.update if kind == "run" else record.config.update
            config_keys.update(item.key for item in updates)
        elif kind == "artifact":
            artifacts.add(record.artifact.name)
    return rows, config_keys, artifacts


def test_tensorboard_alone_writes_only_its_own_files(tmp_path):
    spec = tracked_spec(tmp_path, ["tensorboard"])
    assert run_spec(spec) == 0
    out = Path(spec.output_dir)
    assert read_events(spec)[-1]["type"] == "training.completed"
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert not (out / "mlflow").exists() and not (out / "wandb").exists()
