"""Resumable checkpoints on the tiny model: a run stopped at a step and resumed ends with the same adapter
and loss curve as an uninterrupted one; checkpoints are complete or absent; keep-last-K; disk faults."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from arkor.engine.reporting import FolderReporter
from arkor.engine.train import resume_state
from arkor.engine.train.run import StopRequested, run_training
from arkor.protocol import JobConfig, ResumeInfo

TINY = "arkor/tiny-test"
# CPU float32, same ops in the same order on the same thread count: the resumed run repeats the
# uninterrupted one bit for bit. A small tolerance still allows for a BLAS that picks another kernel
# for a differently aligned buffer after a reload (seen as ~1e-7 relative drift in fp32 sums).
ATOL = 1e-6


def _dataset(path: Path, rows: int = 12) -> Path:
    colours = ["red", "blue", "green"]
    with path.open("w") as handle:
        for i in range(rows):
            handle.write(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": f"Colour of item {i}?"},
                            {"role": "assistant", "content": colours[i % 3]},
                        ]
                    }
                )
                + "\n"
            )
    return path


def _config(tmp_path: Path, **overrides) -> JobConfig:
    data = tmp_path / "data.jsonl"
    if not data.exists():
        _dataset(data)
    return JobConfig.model_validate(
        {
            "model": TINY,
            "datasetSource": {"type": "file", "path": str(data)},
            "maxSteps": 7,
            "batchSize": 4,
            "learningRate": 3e-2,
            "loraR": 4,
            "loraDropout": 0.1,
            "loggingSteps": 1,
            "saveSteps": 2,
            "seed": 7,
            **overrides,
        }
    )


class _StopAfter(FolderReporter):
    """Asks the run to stop once it logged `step` (the run then ends at the next step boundary)."""

    def __init__(self, job_id: str, output_dir: Path, step: int, stop: threading.Event) -> None:
        super().__init__(job_id, output_dir)
        self.stop_at, self.stop = step, stop

    def emit(self, event):  # type: ignore[no-untyped-def]
        payload = super().emit(event)
        if payload.get("type") == "training.log" and payload["step"] >= self.stop_at:
            self.stop.set()
        return payload


def _adapter(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def _losses(events: list[dict]) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in events if e["type"] == "training.log"}


def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    config = _config(tmp_path)
    straight = FolderReporter("job_a", tmp_path / "a")
    assert run_training("job_a", config, tmp_path / "a", straight, device="cpu") == "completed"

    out = tmp_path / "b"
    stop = threading.Event()
    first = _StopAfter("job_b", out, 5, stop)
    with pytest.raises(StopRequested) as stopped:
        run_training("job_b", config, out, first, device="cpu", stop_requested=stop)
    assert stopped.value.step == 5
    # step 6 would be next; the newest checkpoint is step 4, so steps 5 is trained again but not reported
    assert resume_state.find_resumable(out)[0] == 4
    second = FolderReporter("job_b", out)
    resume = ResumeInfo(step=4, logged_through_step=5, started_reported=True)
    assert run_training("job_b", config, out, second, device="cpu", resume=resume) == "completed"

    assert [e["type"] for e in second.events][0] == "training.log"  # not announced as a new run
    assert [e["step"] for e in second.events if e["type"] == "training.log"] == [6, 7]
    resumed = {**_losses(first.events), **_losses(second.events)}
    expected = _losses(straight.events)
    assert sorted(resumed) == sorted(expected) == list(range(1, 8))
    assert all(abs(resumed[s] - expected[s]) <= ATOL for s in expected), (resumed, expected)
    a, b = _adapter(tmp_path / "a" / "final"), _adapter(out / "final")
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst <= ATOL, worst
    completed = second.events[-1]
    assert completed["type"] == "training.completed" and completed["metrics"]["steps"] == 7
    # the resumed run's metrics cover the whole run, not just the part after the resume
    assert completed["metrics"]["trainSamples"] == straight.events[-1]["metrics"]["trainSamples"]


def test_checkpoint_layout_keep_last_and_half_written_folders(tmp_path: Path) -> None:
    config = _config(tmp_path, maxSteps=9, saveSteps=2, saveTotalLimit=2, loraDropout=0.0)
    out = tmp_path / "run"
    assert run_training("job_c", config, out, FolderReporter("job_c", out), device="cpu") == "completed"
    kept = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert kept == ["step-6", "step-8"]  # keep-last-2; the final adapter is separate
    folder = out / "checkpoints" / "step-8"
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in folder.iterdir()}
    assert {p.name for p in (folder / "trainer_state").iterdir()} == {"state.pt", "loop.json", "COMPLETE"}
    from peft import PeftConfig

    assert PeftConfig.from_pretrained(str(folder)).r == 4  # still a plain PEFT folder

    # A truncated file, a missing marker, a crash's temp folder: none is ever picked.
    with (folder / "adapter_model.safetensors").open("r+b") as handle:
        handle.truncate(10)
    assert resume_state.find_resumable(out)[0] == 6
    (out / "checkpoints" / "step-6" / "trainer_state" / "COMPLETE").unlink()
    partial = out / "checkpoints" / f".partial-step-10-{uuid.uuid4().hex[:8]}"
    shutil.copytree(out / "final", partial)
    assert resume_state.find_resumable(out) is None
    resume_state.prune(out, keep=2)
    assert not partial.exists()


def test_a_full_disk_during_a_checkpoint_fails_the_run_with_what_to_free(tmp_path: Path, monkeypatch) -> None:
    config = _config(tmp_path, maxSteps=5, saveSteps=2, loraDropout=0.0)
    out = tmp_path / "run"
    calls = {"n": 0}
    real_fsync = resume_state._fsync_file

    def failing_fsync(path: Path) -> None:  # the second checkpoint hits a full disk mid-write
        if "step-4" in str(path):
            calls["n"] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_fsync(path)

    monkeypatch.setattr(resume_state, "_fsync_file", failing_fsync)
    reporter = FolderReporter("job_d", out)
    assert run_training("job_d", config, out, reporter, device="cpu") == "failed"
    failed = reporter.events[-1]
    assert failed["type"] == "training.failed" and calls["n"] == 1
    assert failed["error"].startswith("Saving the checkpoint of step 4 failed: the disk holding ")
    assert "is full (No space left on device). Free at least " in failed["error"]
    assert "lower saveTotalLimit or raise saveSteps" in failed["error"] and "arkor jobs resume JOB" in failed["error"]
    # the previous checkpoint is intact and nothing half-written is left
    assert resume_state.find_resumable(out)[0] == 2
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-2"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a tmpfs needs root")
def test_a_real_full_tmpfs_during_a_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "small"
    out.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(out)], capture_output=True).returncode:
        pytest.skip("tmpfs mount not permitted here")
    try:
        config = _config(tmp_path, maxSteps=3, saveSteps=1, loraDropout=0.0, loraR=64)
        reporter = FolderReporter("job_e", out)
        assert run_training("job_e", config, out, reporter, device="cpu") == "failed"
        error = reporter.events[-1]["error"]
        assert "failed: the disk holding " in error and "is full" in error and "Free at least" in error, error
        assert not list((out / "checkpoints").glob(".partial-*"))
    finally:
        subprocess.run(["umount", str(out)], check=False)
