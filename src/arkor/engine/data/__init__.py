"""Datasets for training: sources, formats, validation, rendering with the chat template, batching.

The flow (`prepare_dataset`): read rows from a `file` / `huggingface` / `blob` source with their line
numbers -> pick the format (`dataset_format` or detected from the keys) -> validate every row and
report all problems as `file:line: field message` -> render with the model's chat template, masking
all but the assistant turns when `train_on_responses_only` -> truncate to `max_length` (counted, never
silent) -> hold out an eval split when `eval_steps` is set. `iter_batches` + `collate` then feed the
trainer length-grouped, right-padded batches.

Importing this package does not import torch (only `collate` does, when called).
"""

from .batching import Batch, collate, iter_batches, padding_fraction
from .formats import CHAT_FORMATS, FORMATS, canonical_format, detect_format, to_messages
from .prepare import PreparedDataset, hold_out, prepare_dataset
from .render import IGNORE_INDEX, TokenizedExample, TokenizedRows, assistant_spans, tokenize_rows
from .sources import SourceRow, download_blob, load_rows, read_source, source_label
from .validate import ROLES, collect_issues, validate_rows

__all__ = [
    "Batch",
    "CHAT_FORMATS",
    "FORMATS",
    "IGNORE_INDEX",
    "PreparedDataset",
    "ROLES",
    "SourceRow",
    "TokenizedExample",
    "TokenizedRows",
    "assistant_spans",
    "canonical_format",
    "collate",
    "collect_issues",
    "detect_format",
    "download_blob",
    "hold_out",
    "iter_batches",
    "load_rows",
    "padding_fraction",
    "prepare_dataset",
    "read_source",
    "source_label",
    "to_messages",
    "tokenize_rows",
    "validate_rows",
]
