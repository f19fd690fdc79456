"""Reading a dataset source into line-numbered rows.

Owns the three sources a worker can read: `file` (JSONL, JSON array, CSV, Parquet; a relative path is
taken from `base_dir`), `huggingface` (through the `datasets` library, failing fast and clearly when the
hub cannot be reached and the dataset is not cached) and `blob` (an http(s) URL downloaded once into
`cache_dir()/datasets/`, atomically). Every row remembers where it came from (`SourceRow.line`) so a
later validation problem can be reported as `file:line`:

- JSONL: the physical line (empty lines are skipped, not renumbered);
- CSV: the physical line where the record starts (the header is line 1);
- Parquet, JSON arrays and Hugging Face datasets: the row's index + 1.

Rows that cannot be parsed at all (bad JSON, a line that is not an object) become `DatasetIssue`s;
`read_source` returns them next to the good rows so they are reported together with validation issues.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from arkor._env import cache_dir
from arkor.errors import ConfigError, DatasetIssue, DatasetValidationError
from arkor.protocol import (
    BlobDatasetSource,
    FileDatasetSource,
    HuggingfaceDatasetSource,
    UploadedDatasetSource,
)

from .formats import type_name

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
# A blob download gives up after this long without bytes (seconds); a dataset is not a stream.
BLOB_TIMEOUT_S = 60.0
# How long to wait for a TCP connection to the hub before calling it unreachable.
HUB_PROBE_TIMEOUT_S = 3.0


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


def source_label(source: Any) -> str:
    """How messages name a source: the path as given, `hub-id[subset]/split`, or the URL."""
    if isinstance(source, FileDatasetSource):
        return source.path
    if isinstance(source, HuggingfaceDatasetSource):
        label = source.name + (f"[{source.subset}]" if source.subset else "")
        return f"{label}/{source.split}" if source.split else label
    if isinstance(source, BlobDatasetSource):
        return redact_url(source.url)
    if isinstance(source, UploadedDatasetSource):
        return source.filename or source.dataset_id
    return str(source)


def read_source(source: Any, *, base_dir: Path | None = None, split: str | None = None) -> SourceRead:
    """Read every row of `source`. `split` overrides a Hugging Face source's own split.

    Raises:
        DatasetValidationError: the source cannot be read at all (missing file, unknown extension,
            download failed, hub unreachable).
        ConfigError: the source type cannot be read by a worker (`uploaded` must be resolved first).
    """
    if isinstance(source, FileDatasetSource):
        path = Path(source.path).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        return read_file(path, label=source.path)
    if isinstance(source, HuggingfaceDatasetSource):
        return _read_huggingface(source, split=split)
    if isinstance(source, BlobDatasetSource):
        local = download_blob(source.url, token=source.token)
        return read_file(local, label=redact_url(source.url),
                         extension=_extension_of(source.url, default=local.suffix))
    if isinstance(source, UploadedDatasetSource):
        raise ConfigError(
            f"dataset_source of type 'uploaded' ({source.dataset_id}) must be resolved by the backend into a "
            "'file' source before a worker runs; pass a 'file' source with the stored path instead.",
            field="dataset_source",
        )
    raise ConfigError(f"dataset_source has an unknown type: {source!r}", field="dataset_source")


def load_rows(source: Any, *, base_dir: Path | None = None, split: str | None = None) -> list[SourceRow]:
    """Every row of `source`, line-numbered. Raises DatasetValidationError listing unparsable lines."""
    read = read_source(source, base_dir=base_dir, split=split)
    if read.issues:
        raise DatasetValidationError(read.issues, summary=f"{read.label} could not be parsed")
    return read.rows


# ---------------------------------------------------------------------------------------------- files


def read_file(path: Path, *, label: str | None = None, extension: str | None = None) -> SourceRead:
    """Read a JSONL / JSON / CSV / Parquet file; the format is taken from `extension` or the file name."""
    label = label or str(path)
    ext = (extension or path.suffix).lower()
    if not path.is_file():
        raise DatasetValidationError(
            [DatasetIssue(f"file not found (looked for {path})", path=label)],
            summary="Dataset file not found",
        )
    if ext in (".jsonl", ".ndjson"):
        return _read_jsonl(path, label)
    if ext == ".json":
        return _read_json(path, label)
    if ext == ".csv":
        return _read_csv(path, label)
    if ext in (".parquet", ".pq"):
        return _read_parquet(path, label)
    raise DatasetValidationError(
        [DatasetIssue(f"unsupported file type '{ext or '(none)'}'; use one of {', '.join(SUPPORTED_EXTENSIONS)}",
                      path=label)],
        summary="Dataset file type not supported",
    )


def _row_or_issue(value: Any, line: int, label: str, rows: list[SourceRow], issues: list[DatasetIssue]) -> None:
    if isinstance(value, dict):
        rows.append(SourceRow(line=line, data=value))
    else:
        issues.append(DatasetIssue(f"row must be a JSON object (got {type_name(value)})", line=line, path=label))


def _read_jsonl(path: Path, label: str) -> SourceRead:
    rows: list[SourceRow] = []
    issues: list[DatasetIssue] = []
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        for line_number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                issues.append(DatasetIssue(f"invalid JSON: {exc.msg} (column {exc.colno})",
                                           line=line_number, path=label))
                continue
            _row_or_issue(value, line_number, label, rows, issues)
    return SourceRead(rows=rows, label=label, issues=issues)


def _read_json(path: Path, label: str) -> SourceRead:
    """A `.json` file holding an array of objects; anything else is read as JSONL (many tools write
    JSONL with a .json name)."""
    text = path.read_text(encoding="utf-8-sig")
    if not text.lstrip().startswith("["):
        return _read_jsonl(path, label)
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        return SourceRead(rows=[], label=label,
                          issues=[DatasetIssue(f"invalid JSON: {exc.msg} (column {exc.colno})",
                                               line=exc.lineno, path=label)])
    rows: list[SourceRow] = []
    issues: list[DatasetIssue] = []
    for index, value in enumerate(values):
        _row_or_issue(value, index + 1, label, rows, issues)
    return SourceRead(rows=rows, label=label, issues=issues)


def _read_csv(path: Path, label: str) -> SourceRead:
    rows: list[SourceRow] = []
    issues: list[DatasetIssue] = []
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return SourceRead(rows=[], label=label)
        names = [name.strip() for name in header]
        # reader.line_num counts physical lines consumed; a quoted cell may span several, so the
        # record starts one line after where the previous record ended.
        previous_end = reader.line_num
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                issues.append(DatasetIssue(
                    f"has {len(record)} columns but the header has {len(names)} ({', '.join(names)})",
                    line=start, path=label))
                continue
            rows.append(SourceRow(line=start, data=dict(zip(names, record))))
    return SourceRead(rows=rows, label=label, issues=issues)


def _read_parquet(path: Path, label: str) -> SourceRead:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise DatasetValidationError(
            [DatasetIssue(f"not a readable Parquet file: {exc}", path=label)], summary="Dataset file unreadable"
        ) from exc
    return SourceRead(rows=[SourceRow(line=index + 1, data=row) for index, row in enumerate(table.to_pylist())],
                      label=label)


# ----------------------------------------------------------------------------------------------- blob


def _extension_of(url: str, *, default: str = ".jsonl") -> str:
    suffix = Path(urlparse(url).path).suffix.lower()
    return suffix if suffix in SUPPORTED_EXTENSIONS or suffix == ".pq" else (default or ".jsonl")


def redact_url(url: str) -> str:
    """The URL without query, fragment or user info, for messages: presigned URLs carry secrets there."""
    parts = urlparse(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def blob_cache_path(url: str) -> Path:
    """Where a blob URL's bytes are kept: `cache_dir()/datasets/<sha256(url)><ext>`."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return cache_dir() / "datasets" / f"{digest}{_extension_of(url)}"


def download_blob(url: str, *, token: str | None = None) -> Path:
    """Download `url` once (later calls reuse the cached file). The token is sent as a bearer token
    and never appears in messages. The file appears in the cache only when complete."""
    scheme = urlparse(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"dataset_source.url must be an http(s) URL (got {redact_url(url)!r})",
                          field="dataset_source.url")
    target = blob_cache_path(url)
    if target.is_file():
        logger.info("Using cached download of %s (%s)", redact_url(url), target)
        return target
    import httpx

    target.parent.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    handle, partial = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, httpx.stream(
            "GET", url, headers=headers, follow_redirects=True, timeout=BLOB_TIMEOUT_S
        ) as response:
            if response.status_code >= 400:
                hint = " (check dataset_source.token)" if response.status_code in (401, 403) else ""
                raise DatasetValidationError(
                    [DatasetIssue(f"download failed: HTTP {response.status_code}{hint}", path=redact_url(url))],
                    summary="Could not download the blob dataset",
                )
            for chunk in response.iter_bytes():
                out.write(chunk)
        os.replace(partial, target)
    except httpx.HTTPError as exc:
        raise DatasetValidationError(
            [DatasetIssue(f"download failed: {type(exc).__name__}: {exc}", path=redact_url(url))],
            summary="Could not download the blob dataset",
        ) from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    logger.info("Downloaded %s to %s", redact_url(url), target)
    return target


# ---------------------------------------------------------------------------------------- huggingface


def _hub_reachable() -> bool:
    """Whether a TCP connection to the hub opens quickly. Without this, `datasets` retries DNS
    failures for ~25 s before giving up on a machine with no network."""
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    port = urlparse(constants.ENDPOINT).port or 443
    try:
        with socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _hub_offline_mode() -> bool:
    import datasets
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE or datasets.config.HF_HUB_OFFLINE)


def _load_hub_dataset(source: HuggingfaceDatasetSource, split: str, *, offline: bool) -> Any:
    import datasets
    from huggingface_hub import constants

    if not offline:
        return datasets.load_dataset(source.name, source.subset, split=split)
    # `datasets` reads offline mode from module constants set at import time; flip them for this one
    # call so a cached copy is used without any request (the worker is single-threaded here).
    saved = (constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE)
    constants.HF_HUB_OFFLINE = datasets.config.HF_HUB_OFFLINE = True
    try:
        return datasets.load_dataset(source.name, source.subset, split=split)
    finally:
        constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE = saved


def _read_huggingface(source: HuggingfaceDatasetSource, *, split: str | None) -> SourceRead:
    split = split or source.split or "train"
    label = source.name + (f"[{source.subset}]" if source.subset else "") + f"/{split}"
    offline = _hub_offline_mode() or not _hub_reachable()
    try:
        dataset = _load_hub_dataset(source, split, offline=offline)
    except Exception as exc:  # datasets raises many unrelated types; all mean "cannot load"
        if offline:
            reason = (
                f"the Hugging Face hub cannot be reached from here (no network or HF_HUB_OFFLINE is set) "
                f"and '{source.name}' is not in the local datasets cache"
            )
        else:
            reason = f"could not be loaded: {type(exc).__name__}: {exc}"
        raise DatasetValidationError(
            [DatasetIssue(f"{reason}. Use a 'file' source instead, e.g. "
                          "{\"type\": \"file\", \"path\": \"data/train.jsonl\"}.", path=label)],
            summary=f"Cannot load Hugging Face dataset '{source.name}'",
        ) from None
    rows = [SourceRow(line=index + 1, data=dict(row)) for index, row in enumerate(dataset)]
    return SourceRead(rows=rows, label=label)

