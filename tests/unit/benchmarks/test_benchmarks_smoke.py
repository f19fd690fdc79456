"""The benchmark scripts stay runnable: each one's core function runs end to end on the tiny test
model for 2 steps, and the FLOPs/token accounting they report is checked on known inputs."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _common  # noqa: E402
import quality  # noqa: E402
import train_throughput  # noqa: E402

TINY = "arkor/tiny-test"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "arkor-home"))


def test_count_tokens_counts_non_pad_and_shifted_labels():
    import torch

    attention = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    labels = torch.tensor([[-100, -100, 7, 8], [-100, 5, -100, -100]])
    # Loss-bearing = targets of a prediction: labels[:, 1:] that are not -100.
    assert _common.count_tokens(attention, labels) == (6, 3)


def test_lora_model_flops_counts_body_per_token_and_head_per_loss_token():
    assert (
        _common.lora_model_flops(body_params=10, head_params=100, tokens=3, loss_tokens=2) == 4 * 10 * 3 + 4 * 100 * 2
    )


def test_matmul_params_splits_body_and_head_and_skips_lora_factors():
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    expected_body = 4 * 16 * 16 + 3 * 16 * 32  # q,k,v,o + gate,up,down
    assert _common.matmul_params(model) == (expected_body, 64 * 16)
    wrapped = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear"))
    assert _common.matmul_params(wrapped) == (expected_body, 64 * 16)


def test_print_table_aligns_columns(capsys):
    _common.print_table(["a", "bb"], [[1.23456, None], ["long name", 3]])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| a         | bb |"
    assert lines[2] == "| 1.235     | -  |"
    assert len({len(line) for line in lines}) == 1


def throughput_spec(work_dir, **overrides) -> dict:
    """A `train_throughput` spec for the tiny model: batch 2, LoRA r4, a short matmul-peak probe."""
    return {
        "model": TINY,
        "steps": 2,
        "batch_size": 2,
        "lr": 2e-4,
        "seed": 0,
        "lora_r": 4,
        "lora_alpha": 4,
        "targets": "all-linear",
        "peak_seconds": 0.1,
        "work_dir": str(work_dir),
        "eval_rows": 3,
        **overrides,
    }


def test_train_throughput_runs_all_three_trainers_for_two_steps(tmp_path):
    spec = throughput_spec(tmp_path)
    runs = [("arkor", "auto"), ("trl", "float32"), ("transformers", "float32"), ("transformers", "bfloat16")]
    report = train_throughput.run_benchmark(spec, runs, in_process=True)

    assert [r["trainer"] for r in report["results"]] == ["arkor", "trl", "transformers", "transformers"]
    assert [r["dtype"] for r in report["results"][1:]] == ["float32", "float32", "bfloat16"]
    assert report["eval_rows"] == 3
    for result in report["results"]:
        assert result["steps"] == 2, result
        # Every adapter is scored on the same held-out rows by the same plain-peft function.
        assert math.isfinite(result["eval_loss"]) and result["eval_loss"] > 0, result
        assert result["tokens"] > result["loss_tokens"] > 0, result
        assert math.isfinite(result["final_loss"]) and result["final_loss"] > 0, result
        assert result["wall_s"] > 0 and result["matmul_peak_gflops"] > 0 and result["mfu"] > 0, result
    trl = report["results"][1]
    assert trl["tokens_per_s_vs_trl"] == pytest.approx(1.0)
    # The two Hugging Face trainers draw the same batches from the same pre-tokenized rows.
    assert report["results"][2]["tokens"] == trl["tokens"]
    # Ratios are to each baseline's faster precision.
    fastest = max(report["results"][2:], key=lambda r: r["tokens_per_s"])
    assert fastest["tokens_per_s_vs_transformers"] == pytest.approx(1.0)


def test_rounds_report_the_median_run_of_each_trainer_and_their_spread(tmp_path, capsys):
    trials = [{"tokens_per_s": v, "wall_s": w} for v, w in ((300.0, 1), (250.0, 2), (340.0, 3))]
    assert train_throughput.median_trial(trials) == {
        "tokens_per_s": 300.0,
        "wall_s": 1,
        "tokens_per_s_rounds": [300.0, 250.0, 340.0],
    }
    assert train_throughput.median_trial(trials[:2])["tokens_per_s"] == 250.0  # the lower middle of an even count

    spec = throughput_spec(tmp_path, steps=1, peak_seconds=0.05, eval_rows=0, rounds=2)
    report = train_throughput.run_benchmark(spec, [("arkor", "auto")], in_process=True)
    (result,) = report["results"]
    assert len(result["tokens_per_s_rounds"]) == 2 and result["tokens_per_s"] in result["tokens_per_s_rounds"]
    train_throughput.print_report(report)
    assert "each row the median of 2 rounds" in capsys.readouterr().out


def test_quality_scores_base_and_fine_tuned_on_held_out_rows(tmp_path):
    results = quality.run_quality(
        TINY,
        ["triage"],
        eval_rows=2,
        work_dir=tmp_path,
        handwritten_rows=2,
        overrides={"maxSteps": 2, "maxTime": None, "evalSteps": 1, "evalRows": 2},
    )

    (result,) = results
    assert result["template"] == "triage" and result["eval_rows"] == 2 and result["steps"] == 2
    assert (tmp_path / "triage" / "final" / "adapter_model.safetensors").is_file()
    for summary in (result["base"], result["fine_tuned"], result["fine_tuned_schema"], result["handwritten"]):
        assert set(summary) >= {"valid_json", "category", "urgency", "next_action", "exact_fields"}
        assert all(0.0 <= value <= 1.0 for value in summary.values())
    # The template's own recipe was used (its scorer and eval file), with the overrides on top.
    assert result["config"]["evalScorer"] == "triage" and "maxTime" not in result["config"]
    assert [e["step"] for e in result["evaluations"]] == [1, 2] and result["handwritten_rows"] == 2
    # The tiny model answers nonsense, so every scored row is a miss, kept row by row.
    assert [miss["row"] for miss in result["misses"]["eval"]] == [0, 1]
    assert len(result["misses"]["handwritten"]) == 2


def test_quality_counts_each_fields_confusions():
    right = '{"category":"bug","urgency":"low","summary":"s","next_action":"refund"}'
    misses = [
        {"predicted": right.replace('"low"', '"medium"'), "expected": right, "fields": ["urgency"]},
        {"predicted": right.replace('"low"', '"medium"'), "expected": right, "fields": ["urgency"]},
        {"predicted": "no json", "expected": right, "fields": ["valid_json", "category"]},
    ]
    assert quality.confusions(misses) == "urgency medium->low x2, valid_json x1, category (none)->bug x1"


def test_compile_step_times_the_engine_step_per_mode():
    import compile_step

    results = compile_step.run(TINY, steps=3, warmup=1, modes=("eager",))
    assert [r["mode"] for r in results] == ["eager"]
    assert results[0]["first_step_s"] > 0 and results[0]["steady_step_s"] > 0
    assert results[0]["speed_vs_eager"] == 1.0
