"""Validating an untrusted dataset file in one streaming pass, with bounded memory.

`scan_dataset` is what the backend runs on an upload: rows are read one at a time (`iter_file` with
`RowLimits`), the format is detected from the first `DETECT_ROWS` rows, every row is checked, and only
a bounded number of issues is kept (the count of all of them is reported). The result matches what
the worker's full read (`prepare_dataset`) would say about the same file.
"""

from __future__ import annotations

from pathlib import Path

from arkor.errors import DatasetIssue, DatasetValidationError

from .formats import DETECT_ROWS, canonical_format, detect_format
from .readers import RowLimits, SourceRow, iter_file
from .validate import row_issues

# Issues kept for the answer; beyond this they are counted, not stored.
MAX_KEPT_ISSUES = 200


class _Issues:
    def __init__(self) -> None:
        self.kept: list[DatasetIssue] = []
        self.total = 0
        self.lines: set[int] = set()

    def add(self, issue: DatasetIssue) -> None:
        self.total += 1
        if issue.line is not None and len(self.lines) < 10 * MAX_KEPT_ISSUES:
            self.lines.add(issue.line)
        if len(self.kept) < MAX_KEPT_ISSUES:
            self.kept.append(issue)

    def summary_tail(self) -> str:
        return f" (first {MAX_KEPT_ISSUES} shown)" if self.total > len(self.kept) else ""


def scan_dataset(path: Path, *, label: str, extension: str, fmt: str | None, limits: RowLimits) -> tuple[int, str]:
    """(rows, format) of a valid dataset file.

    Raises:
        DatasetTooLarge: a limit in `limits` was passed (the message names its setting).
        DatasetValidationError: rows that cannot be parsed, an undetectable format, or invalid rows.
    """
    chosen = canonical_format(fmt) if fmt and fmt != "auto" else None
    parse = _Issues()
    invalid = _Issues()
    head: list[SourceRow] = []
    rows = 0

    def check(row: SourceRow) -> None:
        for field_path, message in row_issues(row.data, chosen):  # type: ignore[arg-type]
            invalid.add(DatasetIssue(message, line=row.line, field=field_path, path=label))

    for item in iter_file(path, label=label, extension=extension, limits=limits):
        if isinstance(item, DatasetIssue):
            parse.add(item)
            continue
        rows += 1
        if chosen is not None:
            check(item)
            continue
        head.append(item)
        if len(head) >= DETECT_ROWS:
            chosen = detect_format(head, source_label=label)
            for row in head:
                check(row)
            head = []
    if parse.total:
        raise DatasetValidationError(parse.kept, summary=f"{label} could not be parsed{parse.summary_tail()}")
    if chosen is None:
        chosen = detect_format(head, source_label=label)  # raises for an empty file
        for row in head:
            check(row)
    if rows == 0:
        raise DatasetValidationError([DatasetIssue("dataset has no rows", path=label)], summary="Dataset is empty")
    if invalid.total:
        raise DatasetValidationError(
            invalid.kept,
            summary=f"{label}: {invalid.total} problem(s) in {len(invalid.lines)} of {rows} row(s); fix them and retry"
            + invalid.summary_tail(),
        )
    return rows, chosen
