"""The CPU training step picks its attention kernel by batch length; both kernels give the same loss."""

from __future__ import annotations

import torch

from arkor.engine.models import TINY_TEST_MODEL, load_model
from arkor.engine.train.attention import EAGER_MAX_TOKENS, attention_for, use_attention_for
from arkor.engine.train.loss import labelled_token_loss_sum


def test_short_cpu_batches_use_eager_long_ones_sdpa_and_gpus_keep_their_default():
    assert attention_for("cpu", 90) == "eager"
    assert attention_for("cpu", EAGER_MAX_TOKENS) == "eager"
    assert attention_for("cpu", EAGER_MAX_TOKENS + 1) == "sdpa"
    assert attention_for("cuda", 90) is None


def test_switching_kernels_keeps_the_loss_and_its_gradient():
    model = load_model(TINY_TEST_MODEL)
    torch.manual_seed(0)
    ids = torch.randint(5, 200, (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0  # a right-padded row: the masks must agree between kernels too
    labels = ids.clone()
    labels[:, :4] = -100
    labels[1, 9:] = -100
    results = []
    for kernel in ("sdpa", "eager"):
        model.set_attn_implementation(kernel)
        model.zero_grad()
        loss, count = labelled_token_loss_sum(model, ids, mask, labels)
        loss.backward()
        grad = next(p for p in model.parameters() if p.grad is not None).grad.clone()
        results.append((float(loss), count, grad))
    (sdpa_loss, sdpa_n, sdpa_grad), (eager_loss, eager_n, eager_grad) = results
    assert sdpa_n == eager_n
    assert abs(sdpa_loss - eager_loss) < 1e-4 * max(1.0, abs(sdpa_loss))
    assert torch.allclose(sdpa_grad, eager_grad, atol=1e-5, rtol=1e-4)

    use_attention_for(model, "cpu", 400)
    assert model.config._attn_implementation == "sdpa"
    use_attention_for(model, "cpu", 50)
    assert model.config._attn_implementation == "eager"
