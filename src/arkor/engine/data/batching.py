"""Batches with little padding: length grouping and right-padding collation.

`iter_batches` shuffles the examples (seeded by seed and epoch), cuts the shuffled order into
mega-chunks of `MEGA_CHUNK_BATCHES * batch_size`, sorts each chunk by length so that neighbours have
similar lengths, cuts it into batches, and shuffles the order of all batches. Every example appears
exactly once per epoch; the result depends only on (examples, batch_size, seed, epoch). Randomness
stays (which examples meet, batch order), but a batch pads only to its own longest row, which is
close to its shortest.

`collate` right-pads a batch to its longest row: padded positions get attention 0 and label -100
(masked by position, never by token id: the pad token is often the end-of-turn token, which is
labelled where it ends an assistant turn).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from .render import IGNORE_INDEX, TokenizedExample

# How many batches' worth of examples are sorted together; larger means less padding, less randomness.
MEGA_CHUNK_BATCHES = 50

Batch = list[TokenizedExample]
"""A list of examples the trainer collates into tensors with `collate`."""


def _rng(seed: int, epoch: int) -> random.Random:
    # A string seed is hashed with SHA-512 by `random`, so the stream is the same in every process
    # (unlike hash() of a tuple, which is salted per process for strings).
    return random.Random(f"arkor-batches:{seed}:{epoch}")


def iter_batches(examples: Sequence[TokenizedExample], *, batch_size: int, seed: int, epoch: int) -> Iterator[Batch]:
    """Length-grouped batches of `examples` for one epoch (the last batch may be smaller)."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive (got {batch_size})")
    rng = _rng(seed, epoch)
    order = list(range(len(examples)))
    rng.shuffle(order)
    chunk = MEGA_CHUNK_BATCHES * batch_size
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        # Sort by length (index breaks ties deterministically), longest first.
        group = sorted(order[start : start + chunk], key=lambda i: (-len(examples[i].input_ids), i))
        batches += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    for indices in batches:
        yield [examples[i] for i in indices]


def collate(examples: Sequence[TokenizedExample], pad_id: int) -> dict[str, Any]:
    """`input_ids`, `attention_mask` and `labels` (long tensors, batch x longest row), right-padded."""
    import torch

    if pad_id is None:
        raise ValueError("collate needs a pad token id (the tokenizer has no pad or eos token)")
    if not examples:
        raise ValueError("collate needs at least one example")
    width = max(len(example.input_ids) for example in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for row, example in enumerate(examples):
        length = len(example.input_ids)
        input_ids[row, :length] = torch.tensor(example.input_ids, dtype=torch.long)
        attention_mask[row, :length] = 1
        labels[row, :length] = torch.tensor(example.labels, dtype=torch.long)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def padding_fraction(batches: Sequence[Sequence[TokenizedExample]]) -> float:
    """Share of the padded token grid that is padding (0.0 = none)."""
    real = padded = 0
    for batch in batches:
        if not batch:
            continue
        lengths = [len(example.input_ids) for example in batch]
        real += sum(lengths)
        padded += max(lengths) * len(lengths)
    return 0.0 if padded == 0 else (padded - real) / padded


def random_order_batches(examples: Sequence[TokenizedExample], *, batch_size: int, seed: int) -> list[Batch]:
    """Plain shuffled batches, the baseline that length grouping is measured against."""
    order = list(range(len(examples)))
    _rng(seed, 0).shuffle(order)
    return [[examples[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]
