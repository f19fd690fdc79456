"""Reading dataset files (JSONL, JSON array, CSV, Parquet) into line-numbered rows, one at a time.

Every row remembers where it came from (`SourceRow.line`) so a later validation problem can be
reported as `file:line`:

- JSONL: the physical line (empty lines are skipped, not renumbered);
- CSV: the physical line where the record starts (the header is line 1);
- Parquet, JSON arrays (and Hugging Face datasets): the row's index + 1.

Rows that cannot be parsed at all (bad JSON, a line that is not an object) come out as `DatasetIssue`s
next to the good rows. Readers stream: with `RowLimits` (an untrusted upload) memory stays bounded by
one row (one Parquet row group), and a limit passed raises `DatasetTooLarge` naming its setting.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arkor.errors import ConfigError, DatasetIssue, DatasetValidationError

from .formats import type_name

SUPPORTED_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")


@dataclass
class SourceRow:
    """One row of a dataset and the 1-based line (or row number) it came from."""

    line: int
    data: dict[str, Any]


@dataclass
class SourceRead:
    """What reading a source produced: the parsed rows, the rows that could not be parsed, and the
    label that names the source in messages (the path as the user wrote it, a hub id, or a URL)."""

    rows: list[SourceRow]
    label: str
    issues: list[DatasetIssue] = field(default_factory=list)


@dataclass(frozen=True)
class RowLimits:
    """Bounds on an untrusted dataset file; each exceeded one is a `DatasetTooLarge` naming its setting."""

    max_rows: int
    max_row_bytes: int
    max_decoded_bytes: int


class DatasetTooLarge(ConfigError):
    """A dataset past one of the `RowLimits`; the message names the limit and the setting that raises it."""


def _too_many_rows(label: str, limits: RowLimits) -> DatasetTooLarge:
    return DatasetTooLarge(
        f"{label} has more than {limits.max_rows:,} rows, the limit of this backend "
        "(ARKOR_MAX_DATASET_ROWS); split the dataset, or raise ARKOR_MAX_DATASET_ROWS on the server"
    )


def _row_too_big(label: str, line: int | None, limits: RowLimits, what: str = "a row") -> DatasetTooLarge:
    where = f"{label}:{line}" if line else label
    return DatasetTooLarge(
        f"{where}: {what} is larger than {limits.max_row_bytes:,} bytes, the limit of this backend "
        "(ARKOR_MAX_DATASET_ROW_BYTES); shorten it, or raise ARKOR_MAX_DATASET_ROW_BYTES on the server"
    )


def _too_big_decoded(label: str, limits: RowLimits) -> DatasetTooLarge:
    return DatasetTooLarge(
        f"{label} decodes to more than {limits.max_decoded_bytes:,} bytes, the limit of this backend "
        "(ARKOR_MAX_DATASET_DECODED_BYTES); split the dataset, or raise "
        "ARKOR_MAX_DATASET_DECODED_BYTES on the server"
    )


class _Budget:
    """Counts rows and decoded bytes against `RowLimits` (no limits: counts nothing)."""

    def __init__(self, label: str, limits: RowLimits | None) -> None:
        self.label, self.limits = label, limits
        self.rows = 0
        self.decoded = 0

    def row(self, size: int, line: int | None) -> None:
        if self.limits is None:
            return
        self.rows += 1
        self.decoded += size
        if size > self.limits.max_row_bytes:
            raise _row_too_big(self.label, line, self.limits)
        if self.rows > self.limits.max_rows:
            raise _too_many_rows(self.label, self.limits)
        if self.decoded > self.limits.max_decoded_bytes:
            raise _too_big_decoded(self.label, self.limits)


def read_file(path: Path, *, label: str | None = None, extension: str | None = None) -> SourceRead:
    """Read a JSONL / JSON / CSV / Parquet file; the format is taken from `extension` or the file name."""
    label = label or str(path)
    rows: list[SourceRow] = []
    issues: list[DatasetIssue] = []
    for item in iter_file(path, label=label, extension=extension):
        (rows if isinstance(item, SourceRow) else issues).append(item)  # type: ignore[arg-type]
    return SourceRead(rows=rows, label=label, issues=issues)


def iter_file(
    path: Path, *, label: str, extension: str | None = None, limits: RowLimits | None = None
) -> Iterator[SourceRow | DatasetIssue]:
    """The file's rows (and unparsable rows as issues) one at a time, in file order. With `limits`, memory
    stays bounded by one row (one Parquet row group) and a limit passed raises `DatasetTooLarge`."""
    ext = (extension or path.suffix).lower()
    if not path.is_file():
        raise DatasetValidationError(
            [DatasetIssue(f"file not found (looked for {path})", path=label)],
            summary="Dataset file not found",
        )
    budget = _Budget(label, limits)
    if ext in (".jsonl", ".ndjson"):
        return _iter_jsonl(path, label, budget)
    if ext == ".json":
        return _iter_json(path, label, budget)
    if ext == ".csv":
        return _iter_csv(path, label, budget)
    if ext in (".parquet", ".pq"):
        return _iter_parquet(path, label, budget)
    raise DatasetValidationError(
        [
            DatasetIssue(
                f"unsupported file type '{ext or '(none)'}'; use one of {', '.join(SUPPORTED_EXTENSIONS)}", path=label
            )
        ],
        summary="Dataset file type not supported",
    )


def _row_or_issue(value: Any, line: int, label: str) -> SourceRow | DatasetIssue:
    if isinstance(value, dict):
        return SourceRow(line=line, data=value)
    return DatasetIssue(f"row must be a JSON object (got {type_name(value)})", line=line, path=label)


def _bounded_lines(handle: Any, label: str, budget: _Budget) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of a binary handle; a line longer than the row limit is refused before it is
    read whole. A UTF-8 BOM on the first line is dropped."""
    cap = budget.limits.max_row_bytes + 1 if budget.limits else -1
    number = 0
    while True:
        raw = handle.readline(cap)
        if not raw:
            return
        number += 1
        if budget.limits and len(raw) >= cap and not raw.endswith(b"\n"):
            raise _row_too_big(label, number, budget.limits, "a line")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield number, raw


def _unparsable(exc: Exception, line: int, label: str) -> DatasetIssue:
    reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
    return DatasetIssue(f"invalid JSON: {reason}", line=line, path=label)


def _not_utf8(label: str, line: int) -> DatasetIssue:
    return DatasetIssue("is not UTF-8 text; save the file as UTF-8", line=line, path=label)


def _iter_jsonl(path: Path, label: str, budget: _Budget) -> Iterator[SourceRow | DatasetIssue]:
    with path.open("rb") as handle:
        for line_number, raw in _bounded_lines(handle, label, budget):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield _not_utf8(label, line_number)
                continue
            if not text.strip():
                continue
            budget.row(len(text), line_number)
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield DatasetIssue(f"invalid JSON: {exc.msg} (column {exc.colno})", line=line_number, path=label)
                continue
            except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
                yield _unparsable(exc, line_number, label)
                continue
            yield _row_or_issue(value, line_number, label)


def _iter_json(path: Path, label: str, budget: _Budget) -> Iterator[SourceRow | DatasetIssue]:
    """A `.json` file holding an array of objects; anything else is read as JSONL (many tools write
    JSONL with a .json name). An array is one JSON value, so the whole file is held to the row limit."""
    with path.open("rb") as handle:
        start = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"["):
        yield from _iter_jsonl(path, label, budget)
        return
    if budget.limits and path.stat().st_size > budget.limits.max_row_bytes:
        raise _row_too_big(
            label,
            None,
            budget.limits,
            "a JSON array (read as one value; write JSON Lines, one object per line, instead)",
        )
    try:
        values = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        yield _not_utf8(label, 1)
        return
    except json.JSONDecodeError as exc:
        yield DatasetIssue(f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno, path=label)
        return
    except (ValueError, RecursionError) as exc:
        yield _unparsable(exc, 1, label)
        return
    if not isinstance(values, list):
        yield DatasetIssue(f"a JSON dataset must be an array of objects (got {type_name(values)})", line=1, path=label)
        return
    for index, value in enumerate(values):
        budget.row(len(json.dumps(value)) if budget.limits else 0, index + 1)
        yield _row_or_issue(value, index + 1, label)


def _iter_csv(path: Path, label: str, budget: _Budget) -> Iterator[SourceRow | DatasetIssue]:
    # The reader's own field cap is process-wide; lines are bounded by `_bounded_lines` instead.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open("rb") as handle:
        lines = _bounded_lines(handle, label, budget)
        consumed = [0]

        def texts() -> Iterator[str]:
            for _, raw in lines:
                consumed[0] += len(raw)
                yield raw.decode("utf-8")

        reader = csv.reader(texts())
        try:
            header = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield _not_utf8(label, 1)
            return
        names = [name.strip() for name in header]
        # reader.line_num counts physical lines consumed; a quoted cell may span several, so the
        # record starts one line after where the previous record ended.
        previous_end = reader.line_num
        while True:
            before = consumed[0]
            try:
                record = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                yield _not_utf8(label, previous_end + 1)
                return
            except csv.Error as exc:
                yield DatasetIssue(f"is not valid CSV: {exc}", line=previous_end + 1, path=label)
                return
            start = previous_end + 1
            previous_end = reader.line_num
            budget.row(consumed[0] - before, start)
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                yield DatasetIssue(
                    f"has {len(record)} columns but the header has {len(names)} ({', '.join(names)})",
                    line=start,
                    path=label,
                )
                continue
            yield SourceRow(line=start, data=dict(zip(names, record)))


def _iter_parquet(path: Path, label: str, budget: _Budget) -> Iterator[SourceRow | DatasetIssue]:
    import pyarrow.parquet as pq

    def unreadable(exc: Exception) -> DatasetValidationError:
        return DatasetValidationError(
            [DatasetIssue(f"not a readable Parquet file: {exc}", path=label)], summary="Dataset file unreadable"
        )

    try:
        parquet = pq.ParquetFile(path)
        metadata = parquet.metadata
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise unreadable(exc) from None
    limits = budget.limits
    if limits is not None:
        # The footer says how much is coming; refuse before decoding anything.
        if metadata.num_rows > limits.max_rows:
            raise _too_many_rows(label, limits)
        declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if declared > limits.max_decoded_bytes:
            raise _too_big_decoded(label, limits)
    index = 0
    try:
        for group in range(metadata.num_row_groups):
            for batch in parquet.iter_batches(batch_size=256, row_groups=[group], use_threads=False):
                for row in batch.to_pylist():
                    index += 1
                    if limits is not None:
                        budget.row(len(json.dumps(row, default=str)), index)
                    yield SourceRow(line=index, data=row)
    except DatasetTooLarge:
        raise
    except Exception as exc:  # a corrupt page shows only when read
        raise unreadable(exc) from None


def extension_of(url: str, *, default: str = ".jsonl") -> str:
    """The reader a URL's path asks for (its suffix when supported, else `default`)."""
    from urllib.parse import urlparse

    suffix = Path(urlparse(url).path).suffix.lower()
    return suffix if suffix in SUPPORTED_EXTENSIONS or suffix == ".pq" else (default or ".jsonl")
