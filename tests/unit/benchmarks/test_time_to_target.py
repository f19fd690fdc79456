"""benchmarks/time_to_target.py (`quality.py --vs trl`): both trainers run on the tiny model, every
adapter is scored, and the first checkpoint at the target is the one reported."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import time_to_target  # noqa: E402


def test_first_checkpoint_at_the_target_is_reported():
    scored = [{"seconds": 10.0, "exact": 0.5}, {"seconds": 20.0, "exact": 0.91}, {"seconds": 30.0, "exact": 0.95}]
    assert time_to_target.first_at(scored, 0.9) == 20.0
    assert time_to_target.first_at(scored, 0.99) is None


def test_the_accuracy_line_crossing_the_target_is_interpolated_between_adapters():
    scored = [{"seconds": 10.0, "exact": 0.5}, {"seconds": 30.0, "exact": 1.0}]
    assert time_to_target.crossing_at(scored, 0.9) == 26.0  # 10 s + 80% of the way to 30 s
    assert time_to_target.crossing_at(scored, 0.25) == 5.0  # from 0% at 0 s to the first adapter
    assert time_to_target.crossing_at([{"seconds": 10.0, "exact": 0.95}], 0.9) < 10.0
    assert time_to_target.crossing_at(scored, 1.01) is None


def test_both_trainers_train_save_and_get_scored(tmp_path):
    result = time_to_target.run(
        "triage",
        "arkor/tiny-test",
        target=0.9,
        every=2,
        budget_s=600.0,
        eval_rows=2,
        settle=3.0,
        overrides={"numTrainEpochs": None, "maxSteps": 8},  # more checkpoints than saveTotalLimit keeps
        work_dir=tmp_path,
    )
    for name in ("arkor", "trl"):
        points = result[name]
        assert [p["step"] for p in points] == [2, 4, 6, 8], name
        assert all(p["seconds"] > 0 and 0.0 <= p["exact"] <= 1.0 for p in points)
        assert all(a["seconds"] < b["seconds"] for a, b in zip(points, points[1:]))
    assert (tmp_path / "arkor" / "final" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "trl" / "step-8" / "adapter_model.safetensors").is_file()
    assert not any(p["past_budget"] for p in result["trl"])  # 8 tiny steps end well inside 600 s
    assert result["trl_budget_s"] >= result["budget_s"]
