"""The training engine end to end on the tiny model: events, loss, adapters, cancel, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from arkor.engine.reporting import FolderReporter
from arkor.engine.worker import run_spec
from arkor.protocol import JobConfig, WorkerExitCode, WorkerSpec

TINY = "arkor/tiny-test"


def write_chat_dataset(path: Path, rows: int = 24) -> Path:
    colours = ["red", "blue", "green", "yellow"]
    with path.open("w") as handle:
        for i in range(rows):
            colour = colours[i % len(colours)]
            handle.write(
                json.dumps(
                    {
                        "messages": [
                            {"role": "system", "content": "Answer with the colour."},
                            {"role": "user", "content": f"What colour is item {i}? It is {colour}."},
                            {"role": "assistant", "content": colour},
                        ]
                    }
                )
                + "\n"
            )
    return path


def make_spec(tmp_path: Path, **overrides) -> WorkerSpec:
    dataset = write_chat_dataset(tmp_path / "data.jsonl")
    config = {
        "model": TINY,
        "datasetSource": {"type": "file", "path": str(dataset)},
        "maxSteps": 8,
        "batchSize": 4,
        "learningRate": 3e-2,
        "loraR": 8,
        "loggingSteps": 1,
        "saveSteps": 4,
        **overrides,
    }
    return WorkerSpec(job_id="job_test", config=JobConfig.model_validate(config), output_dir=str(tmp_path / "out"))


def read_events(spec: WorkerSpec) -> list[dict]:
    path = Path(spec.output_dir) / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tiny_run_emits_full_event_sequence_and_loss_falls(tmp_path):
    spec = make_spec(tmp_path)
    assert run_spec(spec) == 0
    events = read_events(spec)
    types = [e["type"] for e in events]
    assert types[0] == "training.started"
    assert types[-1] == "training.completed"
    assert types.count("training.log") == 8
    assert [e["step"] for e in events if e["type"] == "checkpoint.saved"] == [4]
    started = events[0]["metadata"]
    assert started["device"] == "cpu" and started["trainableParams"] > 0 and started["datasetRows"] == 24
    logs = [e for e in events if e["type"] == "training.log"]
    assert logs[-1]["loss"] < logs[0]["loss"] * 0.7
    assert all(e["tokensPerSecond"] > 0 and e["learningRate"] is not None for e in logs)
    assert all(e["jobId"] == "job_test" and e["timestamp"].endswith("Z") for e in events)
    completed = events[-1]
    names = {a["pathname"] for a in completed["artifacts"]}
    assert {"final/adapter_config.json", "final/adapter_model.safetensors"} <= names
    checkpoint = next(e for e in events if e["type"] == "checkpoint.saved")
    assert "checkpoints/step-4/adapter_model.safetensors" in {a["pathname"] for a in checkpoint["artifacts"]}


def test_adapters_load_with_plain_peft(tmp_path):
    import torch
    from peft import PeftModel

    from arkor.engine.models import load_model

    spec = make_spec(tmp_path, maxSteps=4, saveSteps=2)
    assert run_spec(spec) == 0
    out = Path(spec.output_dir)
    adapter_config = json.loads((out / "final" / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == TINY
    for folder in (out / "final", out / "checkpoints" / "step-2"):
        model = PeftModel.from_pretrained(load_model(TINY), str(folder))
        ids = torch.tensor([[1, 2, 3, 4]])
        assert model(input_ids=ids).logits.shape[-1] > 1000


def test_lora_last_layers_adapts_only_the_top_layers(tmp_path):
    spec = make_spec(tmp_path, maxSteps=2, saveSteps=None, loraLastLayers=1)
    assert run_spec(spec) == 0
    final = Path(spec.output_dir) / "final"
    adapter_config = json.loads((final / "adapter_config.json").read_text())
    assert adapter_config["layers_to_transform"] == [1]  # the tiny model has 2 layers
    from safetensors import safe_open

    with safe_open(str(final / "adapter_model.safetensors"), framework="pt") as tensors:
        names = list(tensors.keys())
    assert names and all(".layers.1." in name for name in names)
    assert {name.split(".layers.1.", 1)[1].split(".lora_")[0] for name in names} >= {
        "self_attn.q_proj",
        "mlp.down_proj",
    }


def test_lora_last_layers_above_the_layer_count_names_the_field(tmp_path):
    spec = make_spec(tmp_path, loraLastLayers=5)
    assert run_spec(spec) == 0
    (failed,) = read_events(spec)
    assert failed["type"] == "training.failed"
    assert "lora.last_layers: 5 is more than the 2 transformer layers" in failed["error"]


def test_lora_last_layers_of_a_local_model_folder_is_checked_once_the_model_is_loaded(tmp_path):
    # A local folder has no registered layer count, so the check waits for its config.
    from arkor.engine.models import resolve_model_path

    folder = str(resolve_model_path(TINY))
    spec = make_spec(tmp_path, model=folder, loraLastLayers=3)
    assert run_spec(spec) == 0
    (failed,) = read_events(spec)
    assert failed["type"] == "training.failed"
    assert f"lora.last_layers: 3 is more than the 2 transformer layers of {folder}" in failed["error"]


def test_eval_split_reports_eval_loss(tmp_path):
    spec = make_spec(tmp_path, maxSteps=4, evalSteps=2, saveSteps=None)
    assert run_spec(spec) == 0
    events = read_events(spec)
    evals = [e for e in events if e["type"] == "training.log" and e.get("evalLoss") is not None]
    assert [e["step"] for e in evals] == [2, 4]
    assert events[0]["metadata"]["evalRows"] >= 1
    assert events[-1]["metrics"]["evalLoss"] is not None


def test_stop_request_ends_at_step_boundary_without_terminal_event(tmp_path):
    spec = make_spec(tmp_path, maxSteps=50)
    stop = threading.Event()

    class StopAfterFirstLog(FolderReporter):
        def emit(self, event):
            payload = super().emit(event)
            if payload["type"] == "training.log":
                stop.set()
            return payload

    import arkor.engine.worker as worker

    original = worker.make_reporter
    worker.make_reporter = lambda job_id, out, target: StopAfterFirstLog(job_id, out)
    try:
        assert run_spec(spec, stop_requested=stop) == WorkerExitCode.STOPPED
    finally:
        worker.make_reporter = original
    types = [e["type"] for e in read_events(spec)]
    assert types.count("training.log") == 1
    assert not {"training.completed", "training.failed"} & set(types)


def test_bad_dataset_fails_with_line_number(tmp_path):
    spec = make_spec(tmp_path)
    path = Path(spec.config.dataset_source.path)
    lines = path.read_text().splitlines()
    bad = json.loads(lines[2])
    bad["messages"][1]["role"] = "robot"
    lines[2] = json.dumps(bad)
    path.write_text("\n".join(lines) + "\n")
    assert run_spec(spec) == 0
    events = read_events(spec)
    assert [e["type"] for e in events] == ["training.failed"]
    assert f"{path}:3" in events[0]["error"] and "role" in events[0]["error"]


def test_unknown_model_fails_clearly(tmp_path):
    spec = make_spec(tmp_path, model="nobody/no-such-model")
    assert run_spec(spec) == 0
    (failed,) = read_events(spec)
    assert failed["type"] == "training.failed"
    assert "nobody/no-such-model" in failed["error"] and "HuggingFaceTB/SmolLM2-135M-Instruct" in failed["error"]


def test_load_in_4bit_on_cpu_is_a_config_error(tmp_path):
    spec = make_spec(tmp_path, loadIn4bit=True)
    assert run_spec(spec) == 0
    (failed,) = read_events(spec)
    assert "load_in_4bit" in failed["error"] and "CUDA" in failed["error"]


def test_worker_process_exits_143_on_sigterm(tmp_path):
    spec = make_spec(tmp_path, maxSteps=500, saveSteps=None)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec.to_wire()))
    proc = subprocess.Popen(
        [sys.executable, "-m", "arkor.engine.worker", "--spec", str(spec_path)], stderr=subprocess.PIPE
    )
    events_path = Path(spec.output_dir) / "events.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "training.log" not in (
        events_path.read_text() if events_path.exists() else ""
    ):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == WorkerExitCode.STOPPED
    types = [json.loads(line)["type"] for line in events_path.read_text().splitlines()]
    assert "training.completed" not in types and "training.failed" not in types


def test_torch_compile_that_cannot_build_trains_eagerly_and_says_why(tmp_path, monkeypatch):
    import torch

    def broken_compile(fn, **_):
        def compiled(*args, **kwargs):
            raise RuntimeError("no working C++ compiler found")

        return compiled

    monkeypatch.setattr(torch, "compile", broken_compile)
    spec = make_spec(tmp_path, maxSteps=3, torchCompile=True)
    assert run_spec(spec) == 0
    completed = read_events(spec)[-1]
    assert completed["type"] == "training.completed" and completed["metrics"]["steps"] == 3
    assert (
        completed["metrics"]["torchCompile"] == "eager (compiling failed: RuntimeError: no working C++ compiler found)"
    )
