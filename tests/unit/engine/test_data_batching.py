"""Length-grouped batching and collation (no tokenizer: synthetic examples)."""

from __future__ import annotations

import random

import pytest

from arkor.engine.data import IGNORE_INDEX, TokenizedExample, collate, iter_batches, padding_fraction
from arkor.engine.data.batching import random_order_batches


def _examples(count: int = 500, seed: int = 0) -> list[TokenizedExample]:
    rng = random.Random(seed)
    examples = []
    for index in range(count):
        length = rng.randint(8, 300)
        examples.append(TokenizedExample(input_ids=[index] * length, labels=[index] * length, line=index + 1))
    return examples


def _lines(batches) -> list[list[int]]:
    return [[example.line for example in batch] for batch in batches]


def test_every_example_appears_once_per_epoch() -> None:
    examples = _examples(203)
    for epoch in range(3):
        batches = list(iter_batches(examples, batch_size=8, seed=1, epoch=epoch))
        seen = sorted(line for batch in _lines(batches) for line in batch)
        assert seen == list(range(1, 204))
        assert sorted(len(batch) for batch in batches) == [3] + [8] * 25


def test_batches_are_deterministic_per_seed_and_epoch() -> None:
    examples = _examples()
    first = _lines(iter_batches(examples, batch_size=4, seed=7, epoch=0))
    assert first == _lines(iter_batches(examples, batch_size=4, seed=7, epoch=0))
    assert first != _lines(iter_batches(examples, batch_size=4, seed=7, epoch=1))
    assert first != _lines(iter_batches(examples, batch_size=4, seed=8, epoch=0))


def test_length_grouping_cuts_padding_against_random_order() -> None:
    examples = _examples()
    grouped = padding_fraction(list(iter_batches(examples, batch_size=8, seed=0, epoch=0)))
    shuffled = padding_fraction(random_order_batches(examples, batch_size=8, seed=0))
    assert shuffled > 0.3
    assert grouped < 0.05
    assert grouped < shuffled / 5


def test_batch_order_is_shuffled_not_sorted_by_length() -> None:
    batches = list(iter_batches(_examples(), batch_size=4, seed=3, epoch=0))
    widths = [max(len(example.input_ids) for example in batch) for batch in batches]
    assert widths != sorted(widths) and widths != sorted(widths, reverse=True)


def test_collate_right_pads_and_masks_pads_by_position() -> None:
    import torch

    pad = 2  # the same id as the labelled end-of-turn token below, as with SmolLM2's <|im_end|>
    examples = [
        TokenizedExample(input_ids=[5, 6, 2], labels=[IGNORE_INDEX, 6, 2]),
        TokenizedExample(input_ids=[7, 2, 9, 10, 2], labels=[IGNORE_INDEX, IGNORE_INDEX, 9, 10, 2]),
    ]
    batch = collate(examples, pad)
    assert batch["input_ids"].tolist() == [[5, 6, 2, 2, 2], [7, 2, 9, 10, 2]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["labels"].tolist() == [[-100, 6, 2, -100, -100], [-100, -100, 9, 10, 2]]
    assert all(tensor.dtype == torch.long for tensor in batch.values())


def test_collate_rejects_missing_pad_and_empty_batch() -> None:
    with pytest.raises(ValueError, match="pad token"):
        collate([TokenizedExample(input_ids=[1], labels=[1])], None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        collate([], 0)
