"""Resolving a job config into a training plan: defaults and cross-field rules."""

import pytest

from arkor.engine.config import DRY_RUN_MAX_STEPS, cpu_training_dtype, resolve_plan
from arkor.errors import ConfigError
from arkor.protocol import JobConfig


def config(**fields) -> JobConfig:
    return JobConfig.model_validate(
        {"model": "arkor/tiny-test", "datasetSource": {"type": "file", "path": "d.jsonl"}, **fields}
    )


def test_defaults_fill_every_knob():
    plan = resolve_plan(config(), device="cpu")
    assert (plan.lora_r, plan.lora_alpha, plan.batch_size, plan.learning_rate) == (16, 16.0, 4, 2e-4)
    # The CPU trains in bf16 where it has bf16 matmul units, else fp32 (engine.config.cpu_training_dtype).
    assert plan.target_modules == "all-linear" and plan.dtype == cpu_training_dtype()
    assert plan.total_steps(train_rows=40) == 10  # one epoch of batch 4


def test_alpha_defaults_to_r_and_epochs_scale_steps():
    plan = resolve_plan(config(loraR=8, numTrainEpochs=2, batchSize=2, gradientAccumulationSteps=2), device="cpu")
    assert plan.lora_alpha == 8.0
    assert plan.total_steps(train_rows=10) == 6  # ceil(10 / 4) * 2


def test_dry_run_caps_steps():
    plan = resolve_plan(config(maxSteps=500, dryRun=True), device="cpu")
    assert plan.total_steps(train_rows=1000) == DRY_RUN_MAX_STEPS


@pytest.mark.parametrize(
    "fields, field, words",
    [
        ({"loadIn4bit": True}, "lora.load_in_4bit", "CUDA"),
        ({"optim": "adamw_8bit"}, "optim", "CUDA"),
        ({"optim": "lion"}, "optim", "adamw_torch"),
        ({"lrSchedulerType": "zigzag"}, "lr_scheduler_type", "cosine"),
    ],
)
def test_cpu_rules_name_the_field(fields, field, words):
    with pytest.raises(ConfigError) as info:
        resolve_plan(config(**fields), device="cpu")
    assert info.value.field == field and words in str(info.value)


def test_cuda_accepts_qlora_and_8bit_optimizers():
    plan = resolve_plan(config(loadIn4bit=True, optim="paged_adamw_8bit"), device="cuda", dtype="bfloat16")
    assert plan.load_in_4bit and plan.dtype == "bfloat16"


def test_the_cpu_training_dtype_can_be_forced_and_a_typo_is_named(monkeypatch):
    from arkor.errors import ConfigError

    monkeypatch.setenv("ARKOR_CPU_DTYPE", "float32")
    assert resolve_plan(config(), device="cpu").dtype == "float32"
    monkeypatch.setenv("ARKOR_CPU_DTYPE", "bfloat16")
    assert resolve_plan(config(), device="cpu").dtype == "bfloat16"
    monkeypatch.setenv("ARKOR_CPU_DTYPE", "fp16")
    with pytest.raises(
        ConfigError, match="ARKOR_CPU_DTYPE='fp16' is not a CPU training dtype; use float32 or bfloat16"
    ):
        resolve_plan(config(), device="cpu")
