"""benchmarks/goals.py: each benchmark's report ends with the goals it checks, met or not."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import goals  # noqa: E402


def _quality_result(template: str, fine_tuned: dict, handwritten: dict, seconds: float = 175.0) -> dict:
    return {"template": template, "fine_tuned": fine_tuned, "handwritten": handwritten, "train_seconds": seconds}


def test_quality_goals_hold_each_field_to_its_own_target():
    lines = goals.quality_goals(
        [
            _quality_result(
                "redaction",
                {"count": 0.96, "tags": 0.95, "redacted": 0.93, "valid_json": 1.0},
                {"count": 0.95, "tags": 0.90, "redacted": 0.5},
                seconds=181.0,
            )
        ]
    )
    met = {line.what: line.met for line in lines}
    assert met == {
        "redaction count": False,  # 96% < 97%
        "redaction tags": True,  # 95% is the target itself
        "redaction redacted": True,
        "redaction training time": False,  # past the 3 minutes
        "redaction count, hand-written": True,
        "redaction tags, hand-written": False,
    }
    assert {line.goal for line in lines} == {1, 2}


def test_time_to_target_goal_reads_a_measured_ratio_or_a_bound():
    def line(**result):
        return goals.time_to_target_goals({"template": "triage", "target": 0.9, **result})[0]

    assert line(speedup=3.01).met and line(speedup=3.01).measured == "3.01x"
    assert not line(speedup=2.2).met
    assert line(speedup=None, speedup_at_least=2.6).met  # TRL never reached it in 2.6x the time
    assert not line(speedup=None, speedup_at_least=1.9).met
    assert not line(speedup=None, speedup_at_least=None).met  # arkor never reached it


def test_throughput_goals_compare_arkor_with_each_baseline():
    report = {
        "results": [
            {
                "trainer": "arkor",
                "mfu": 0.31,
                "tokens_per_s_vs_trl": 2.6,
                "tokens_per_s_vs_transformers": 1.5,
                "eval_loss_vs_trl": 1.03,
                "eval_loss_vs_transformers": 0.97,
            },
            {"trainer": "trl", "mfu": 0.2},
        ]
    }
    met = {line.what: line.met for line in goals.throughput_goals(report)}
    assert met == {
        "tokens/s vs transformers": False,
        "eval loss vs transformers": True,  # lower than the baseline's
        "tokens/s vs trl": True,
        "eval loss vs trl": False,  # 3% above it
        "share of the matmul peak (MFU)": False,
    }
    assert goals.throughput_goals({"results": [{"trainer": "trl", "mfu": 0.2}]}) == []


def test_goal_table_counts_what_was_met(capsys):
    goals.print_goals([goals.GoalLine(3, "x", ">= 2.5x", "3.0x", True), goals.GoalLine(4, "y", ">= 80%", "31%", False)])
    out = capsys.readouterr().out
    assert "Goals: 1 of 2 met" in out and "| 3 " in out and "| no " in out
