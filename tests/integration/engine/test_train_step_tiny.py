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


def test_compiled_layers_train_as_eager_does_and_are_in_place_only_for_the_step():
    """Traced by dynamo and differentiated by AOT autograd, as with inductor, but without generating C++:
    inductor's cold build of even the tiny model takes a minute on 2 cores. `benchmarks/compile_step.py`
    runs the same `CompiledLayers` with inductor on SmolLM2."""
    import torch

    from arkor.engine.train.compiled import CompiledLayers, run_step

    plan = plan_for(learningRate=1e-2)
    batches = [collate(rows, 0) for rows in (examples(4), examples(3), examples(4))]  # lengths differ
    eager, eager_opt = fresh_model(plan)
    compiled_model, compiled_opt = fresh_model(plan)
    layers = CompiledLayers(compiled_model, backend="aot_eager")
    for batch in batches:
        expected = train_step(eager, eager_opt, [batch], plan)
        got = run_step(layers, compiled_opt, lambda b=batch: train_step(compiled_model, compiled_opt, [b], plan))
        assert got.loss == pytest.approx(expected.loss, rel=1e-4)
        assert not any("forward" in vars(layer) for layer in layers.layers)  # eager again outside the step
    assert layers.status() == "compiled"
    for a, b in zip(trainable(eager), trainable(compiled_model)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_a_build_that_fails_runs_the_step_again_eagerly_and_the_rest_of_the_run_too(monkeypatch):
    import torch

    from arkor.engine.train.compiled import CompiledLayers, run_step

    calls = []

    def broken_compile(fn, **_):
        def compiled(*args, **kwargs):
            calls.append(1)
            raise RuntimeError("InductorError: no working C++ compiler found\n(long inductor trace)")

        return compiled

    monkeypatch.setattr(torch, "compile", broken_compile)
    plan = plan_for(learningRate=1e-2)
    batch = collate(examples(4), 0)
    eager, eager_opt = fresh_model(plan)
    model, optimizer = fresh_model(plan)
    layers = CompiledLayers(model)
    expected = train_step(eager, eager_opt, [batch], plan)
    got = run_step(layers, optimizer, lambda: train_step(model, optimizer, [batch], plan))
    assert got.loss == pytest.approx(expected.loss, rel=1e-6) and len(calls) == 1
    assert layers.status() == "eager (compiling failed: RuntimeError: InductorError: no working C++ compiler found)"
    for a, b in zip(trainable(eager), trainable(model)):
        torch.testing.assert_close(a, b)  # the failed try left no gradient behind
    run_step(layers, optimizer, lambda: train_step(model, optimizer, [batch], plan))
    assert len(calls) == 1  # not tried again


def test_an_error_after_a_compiled_step_is_the_steps_own_and_propagates():
    from arkor.engine.train.compiled import CompiledLayers, run_step

    plan = plan_for()
    model, optimizer = fresh_model(plan)
    layers = CompiledLayers(model)
    layers.proven = True

    def failing_step():
        raise ValueError("a bad batch")

    with pytest.raises(ValueError, match="a bad batch"):
        run_step(layers, optimizer, failing_step)
    assert layers.enabled
