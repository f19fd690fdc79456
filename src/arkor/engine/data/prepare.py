"""`prepare_dataset`: from a job config to tokenized train and eval examples, or a clear error.

Phases: read the source -> pick the format (`dataset_format`, else detected) -> validate every row
(parse and validation issues reported together, before any training) -> cap rows for a dry run ->
tokenize -> apply the truncation policy -> split off the eval set.

Truncation policy (never silent): rows longer than `max_length` are cut to it and counted in
`stats["truncated_rows"]`. A row that loses every labelled token that way teaches nothing and is
dropped and counted (`stats["dropped_rows"]`) as long as at most `MAX_DROPPED_FRACTION` of the rows are
affected; beyond that it is an error naming the lines, since the data or `max_length` is wrong. A
dataset with no labelled token left at all is always an error.

Eval split (only when `eval_steps` is set): the job's `eval_dataset` when it names one (it is also the
set task accuracy is scored on, so no training row is held out for it); a Hugging Face source with
`dataset_split` uses that split; otherwise `EVAL_FRACTION` of the rows (at least 1, at most `EVAL_MAX_ROWS`) are held out, chosen by
`seed`.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arkor.errors import DatasetIssue, DatasetValidationError
from arkor.protocol import DatasetAccess, HuggingfaceDatasetSource, JobConfig

from ..config import DRY_RUN_MAX_ROWS, TrainingPlan
from .batching import iter_batches, padding_fraction, random_order_batches
from .formats import CHAT_FORMATS, canonical_format, detect_format, to_messages
from .render import TokenizedExample, TokenizedRows, tokenize_rows
from .sources import SourceRead, SourceRow, read_source
from .validate import collect_issues

logger = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = TrainingPlan.max_length
DEFAULT_BATCH_SIZE = TrainingPlan.batch_size
DEFAULT_SEED = TrainingPlan.seed
EVAL_FRACTION = 0.1
EVAL_MAX_ROWS = 100
# Rows that truncation leaves with no label are dropped while they stay at most this share of the data.
MAX_DROPPED_FRACTION = 0.05


@dataclass
class PreparedDataset:
    """Tokenized examples ready for batching, and what was found on the way (`stats` is JSON-ready)."""

    train: list[TokenizedExample]
    eval: list[TokenizedExample]
    format: str
    rows: int
    source_label: str
    stats: dict[str, Any] = field(default_factory=dict)
    # The `eval_dataset` rows as conversations, for task-accuracy scoring (empty without one).
    score_rows: list[list[dict[str, Any]]] = field(default_factory=list)


def prepare_dataset(
    config: JobConfig, tokenizer: Any, *, base_dir: Path | None = None, access: DatasetAccess | None = None
) -> PreparedDataset:
    """Load, validate and tokenize the job's dataset.

    Args:
        config: the job config (`dataset_source`, `dataset_format`, `dataset_split`, `max_length`,
            `train_on_responses_only`, `eval_steps`, `seed`, `dry_run`, `batch_size` are read).
        tokenizer: the model's tokenizer, with its chat template set.
        base_dir: where a relative `file` path is resolved from (default: the working directory).
        access: the launching backend's policy on what the source may read (None: a local run).

    Raises:
        DatasetValidationError: every problem in the data, with file, line and field.
        ConfigError: a setting that cannot work with this data or tokenizer.
    """
    source = config.dataset_source
    read = read_source(source, base_dir=base_dir, access=access)
    fmt = _pick_format(config, read)
    _validate(read, fmt)
    rows = read.rows
    if config.dry_run and len(rows) > DRY_RUN_MAX_ROWS:
        logger.info("dry run: using the first %d of %d rows", DRY_RUN_MAX_ROWS, len(rows))
        rows = rows[:DRY_RUN_MAX_ROWS]

    responses_only = config.train_on_responses_only
    if responses_only is None:
        responses_only = fmt in CHAT_FORMATS
    max_length = config.max_length or DEFAULT_MAX_LENGTH
    seed = config.seed if config.seed is not None else DEFAULT_SEED

    def tokenize(part: list[SourceRow], label: str) -> tuple[list[TokenizedExample], TokenizedRows]:
        tokenized = tokenize_rows(
            part, fmt, tokenizer, train_on_responses_only=responses_only, max_length=max_length, source_label=label
        )
        return apply_truncation_policy(tokenized, max_length=max_length, source_label=label), tokenized

    examples, tokenized = tokenize(rows, read.label)
    eval_examples: list[TokenizedExample] = []
    eval_label = None
    score_rows: list[list[dict[str, Any]]] = []
    eval_read: SourceRead | None
    if config.eval_dataset is not None:
        eval_read = read_source(config.eval_dataset, base_dir=base_dir, access=access)
        _validate(eval_read, fmt)
        eval_rows = eval_read.rows[:DRY_RUN_MAX_ROWS] if config.dry_run else eval_read.rows
        if fmt not in CHAT_FORMATS:
            raise DatasetValidationError(
                [
                    DatasetIssue(
                        f"eval_dataset needs a chat format (messages, prompt_completion, alpaca) to score "
                        f"answers; this dataset is {fmt!r}",
                        path=eval_read.label,
                    )
                ],
                summary=f"{eval_read.label} cannot be scored",
            )
        score_rows = [to_messages(row.data, fmt) for row in eval_rows]
        if config.eval_steps:
            eval_examples, _ = tokenize(eval_rows, eval_read.label)
            eval_label = eval_read.label
    elif config.eval_steps:
        eval_read = _separate_eval_split(config, base_dir, access)
        if eval_read is not None:
            _validate(eval_read, fmt)
            eval_rows = eval_read.rows[:DRY_RUN_MAX_ROWS] if config.dry_run else eval_read.rows
            eval_examples, _ = tokenize(eval_rows, eval_read.label)
            eval_label = eval_read.label
        else:
            examples, eval_examples = hold_out(examples, seed=seed)
            if not eval_examples:
                logger.warning("eval_steps is set but %s has too few rows to hold out an eval split", read.label)
    elif config.dataset_split and not isinstance(source, HuggingfaceDatasetSource):
        logger.info("dataset_split only selects a Hugging Face split; ignored for %s", read.label)

    stats = dataset_stats(
        examples,
        eval_examples,
        tokenized,
        fmt=fmt,
        rows=len(read.rows),
        responses_only=responses_only,
        max_length=max_length,
        batch_size=config.batch_size or DEFAULT_BATCH_SIZE,
        seed=seed,
    )
    if eval_label:
        stats["eval_source"] = eval_label
    if stats["truncated_rows"]:
        logger.warning(
            "%s: %d row(s) longer than max_length=%d were truncated", read.label, stats["truncated_rows"], max_length
        )
    return PreparedDataset(
        train=examples,
        eval=eval_examples,
        format=fmt,
        rows=len(read.rows),
        source_label=read.label,
        stats=stats,
        score_rows=score_rows,
    )


def _pick_format(config: JobConfig, read: SourceRead) -> str:
    fmt = canonical_format(config.dataset_format.type if config.dataset_format else None)
    if fmt is not None:
        return fmt
    if not read.rows and read.issues:
        raise DatasetValidationError(read.issues, summary=f"{read.label}: no row could be parsed")
    return detect_format(read.rows, source_label=read.label)


def _validate(read: SourceRead, fmt: str) -> None:
    issues = read.issues + collect_issues(read.rows, fmt, source_label=read.label)
    if not issues:
        return
    issues.sort(key=lambda issue: issue.line if issue.line is not None else 0)
    total = len(read.rows) + len({issue.line for issue in read.issues})
    bad_rows = len({issue.line for issue in issues if issue.line is not None})
    raise DatasetValidationError(
        issues,
        summary=f"{read.label}: {len(issues)} problem(s) in {bad_rows} of {total} row(s) "
        f"(format {fmt}); fix them and retry",
    )


def _separate_eval_split(config: JobConfig, base_dir: Path | None, access: DatasetAccess | None) -> SourceRead | None:
    source = config.dataset_source
    if isinstance(source, HuggingfaceDatasetSource) and config.dataset_split:
        if config.dataset_split == (source.split or "train"):
            logger.warning("dataset_split %r is the training split; holding out rows instead", config.dataset_split)
            return None
        return read_source(source, base_dir=base_dir, split=config.dataset_split, access=access)
    return None


def apply_truncation_policy(tokenized: TokenizedRows, *, max_length: int, source_label: str) -> list[TokenizedExample]:
    """The examples worth training on, or an error when truncation or masking leaves too little."""
    examples = tokenized.examples
    unlabelled = tokenized.unlabelled
    if examples and len(unlabelled) == len(examples):
        reasons = {reason for _, _, reason in unlabelled}
        why = (
            "every row is longer than max_length and loses all its assistant tokens"
            if reasons == {"truncated"}
            else "no row has an assistant turn that can be trained on"
        )
        raise DatasetValidationError(
            [_unlabelled_issue(entry, max_length, source_label) for entry in unlabelled],
            summary=f"{source_label}: every label is masked ({why}); training would learn nothing. "
            f"Raise max_length (now {max_length}), shorten the rows, or set train_on_responses_only=false",
        )
    if len(unlabelled) > MAX_DROPPED_FRACTION * len(examples):
        raise DatasetValidationError(
            [_unlabelled_issue(entry, max_length, source_label) for entry in unlabelled],
            summary=f"{source_label}: {len(unlabelled)} of {len(examples)} row(s) would have no labelled token "
            f"left after truncation to max_length={max_length}. Raise max_length or shorten those rows",
        )
    if unlabelled:
        logger.warning(
            "%s: dropping %d row(s) with no labelled token left after truncation to max_length=%d (lines %s)",
            source_label,
            len(unlabelled),
            max_length,
            ", ".join(str(line) for line, _, _ in unlabelled[:20]),
        )
    dropped = {line for line, _, _ in unlabelled}
    return [example for example in examples if example.line not in dropped]


def _unlabelled_issue(entry: tuple[int, int, str], max_length: int, source_label: str) -> DatasetIssue:
    line, length, reason = entry
    if reason == "truncated":
        message = f"row is {length} tokens; truncated to max_length={max_length} none of its assistant tokens remain"
    else:
        message = "row has no token to train on"
    return DatasetIssue(message, line=line, path=source_label)


def hold_out(examples: list[TokenizedExample], *, seed: int) -> tuple[list[TokenizedExample], list[TokenizedExample]]:
    """(train, eval): a seeded `EVAL_FRACTION` of the examples (1 to `EVAL_MAX_ROWS`) held out;
    nothing is held out from fewer than 2 examples. Both keep the original order."""
    if len(examples) < 2:
        return list(examples), []
    count = min(EVAL_MAX_ROWS, max(1, round(EVAL_FRACTION * len(examples))))
    chosen = set(random.Random(f"arkor-eval:{seed}").sample(range(len(examples)), count))
    train = [example for index, example in enumerate(examples) if index not in chosen]
    held = [example for index, example in enumerate(examples) if index in chosen]
    return train, held


def dataset_stats(
    train: list[TokenizedExample],
    eval_examples: list[TokenizedExample],
    tokenized: TokenizedRows,
    *,
    fmt: str,
    rows: int,
    responses_only: bool,
    max_length: int,
    batch_size: int,
    seed: int,
) -> dict[str, Any]:
    """What the data looks like to the trainer (JSON-ready; goes into `training.started`)."""
    lengths = [len(example.input_ids) for example in train]
    tokens = sum(lengths)
    grouped = list(iter_batches(train, batch_size=batch_size, seed=seed, epoch=0))
    shuffled = random_order_batches(train, batch_size=batch_size, seed=seed)
    return {
        "format": fmt,
        "rows": rows,
        "train_rows": len(train),
        "eval_rows": len(eval_examples),
        "train_on_responses_only": responses_only,
        "max_length": max_length,
        "truncated_rows": len(tokenized.truncated_lines),
        "dropped_rows": len(tokenized.unlabelled),
        "train_tokens": tokens,
        "train_labelled_tokens": sum(example.num_labels for example in train),
        "mean_tokens_per_row": round(tokens / len(train), 1) if train else 0.0,
        "max_tokens_per_row": max(lengths, default=0),
        "padding_fraction": round(padding_fraction(grouped), 4),
        "padding_fraction_unsorted": round(padding_fraction(shuffled), 4),
    }
