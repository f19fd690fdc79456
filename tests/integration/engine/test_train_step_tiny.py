"""The engine's optimizer step on the tiny model: accumulation is one large batch, clipping holds."""

from __future__ import annotations

import random

import pytest

from arkor.engine.config import resolve_plan
from arkor.engine.data import TokenizedExample, collate
from arkor.engine.train.setup import build_optimizer, load_lora_model
from arkor.engine.train.step import MAX_GRAD_NORM, train_step
from arkor.protocol import JobConfig

TINY = "arkor/tiny-test"


def plan_for(**overrides):
    config = JobConfig.model_validate(
        {"model": TINY, "datasetSource": {"type": "huggingface", "name": "x"}, "loraR": 4, **overrides}
    )
    return resolve_plan(config, device="cpu", dtype="float32")


def examples(count: int) -> list[TokenizedExample]:
    """Rows of different lengths whose second half is labelled, so batches pad differently."""
    rng = random.Random("train-step")
    rows = []
    for length in (rng.randint(6, 14) for _ in range(count)):
        ids = [rng.randint(10, 400) for _ in range(length)]
        rows.append(TokenizedExample(ids, [-100] * (length // 2) + ids[length // 2 :]))
    return rows


def fresh_model(plan):
    import torch

    torch.manual_seed(0)
    model = load_lora_model(plan)
    with torch.no_grad():  # non-zero B, so every LoRA factor gets a gradient on the first step
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.05)
    model.train()
    return model, build_optimizer(model, plan)


def trainable(model) -> list:
    return [p for p in model.parameters() if p.requires_grad]


def test_two_micro_batches_update_the_adapter_as_one_batch_of_both_does():
    import torch

    plan = plan_for(learningRate=1e-2)
    rows = examples(4)
    whole, whole_opt = fresh_model(plan)
    split, split_opt = fresh_model(plan)
    one = train_step(whole, whole_opt, [collate(rows, 0)], plan)
    two = train_step(split, split_opt, [collate(rows[:2], 0), collate(rows[2:], 0)], plan)
    assert one.samples == two.samples == 4
    assert one.tokens == two.tokens == sum(len(r.input_ids) for r in rows)
    assert two.loss == pytest.approx(one.loss, rel=1e-5)
    moved = [not torch.equal(a, b) for a, b in zip(trainable(whole), trainable(fresh_model(plan)[0]))]
    assert all(moved)  # the step changed every LoRA factor
    for a, b in zip(trainable(whole), trainable(split)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_the_gradient_norm_is_clipped_before_the_update():
    import torch

    from arkor.engine.train.loss import labelled_token_loss_sum

    plan = plan_for(optim="sgd")
    batch = collate(examples(4), 0)
    unclipped, _ = fresh_model(plan)
    loss_sum, count = labelled_token_loss_sum(unclipped, batch["input_ids"], batch["attention_mask"], batch["labels"])
    (loss_sum / count).backward()
    raw_norm = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainable(unclipped)])))
    assert raw_norm > 1.2 * MAX_GRAD_NORM  # so clipping has something to do

    model, _ = fresh_model(plan)
    params = trainable(model)
    norms: list[float] = []

    class Recorder(torch.optim.SGD):
        def step(self, closure=None):  # type: ignore[override]
            norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))))
            return super().step(closure)

    result = train_step(model, Recorder(params, lr=1e-3), [batch], plan)
    assert result.loss > 0
    assert norms == [pytest.approx(MAX_GRAD_NORM, rel=1e-4)]  # scaled down to the limit, not below
    assert all(p.grad is None for p in params)  # gradients are cleared for the next step


def test_adamw_takes_the_fused_kernel_on_cpu():
    plan = plan_for()
    model, optimizer = fresh_model(plan)
    assert type(optimizer).__name__ == "AdamW" and optimizer.defaults["fused"] is True
