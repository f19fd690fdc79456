"""Reading a dataset source into line-numbered rows.

Owns the three sources a worker can read: `file` (JSONL, JSON array, CSV, Parquet, see `readers`; a
relative path is taken from `base_dir`), `huggingface` (through the `datasets` library, failing fast and
clearly when the hub cannot be reached and the dataset is not cached) and `blob` (see `blob`). With a
`DatasetAccess` (a worker a backend launched) each is checked against it where it is opened (`access`).
`read_source` returns unparsable rows as issues next to the good rows, so they are reported together
with validation issues.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from arkor.errors import ConfigError, DatasetIssue, DatasetValidationError
from arkor.protocol import (
    BlobDatasetSource,
    DatasetAccess,
    FileDatasetSource,
    HuggingfaceDatasetSource,
    UploadedDatasetSource,
)

from .access import allowed_file_path, check_hub_name, redact_url
from .blob import blob_cache_path, download_blob
from .readers import (
    SUPPORTED_EXTENSIONS,
    DatasetTooLarge,
    RowLimits,
    SourceRead,
    SourceRow,
    extension_of,
    iter_file,
    read_file,
)

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "DatasetTooLarge",
    "RowLimits",
    "SourceRead",
    "SourceRow",
    "blob_cache_path",
    "download_blob",
    "iter_file",
    "load_rows",
    "read_file",
    "read_source",
    "redact_url",
    "source_label",
]

logger = logging.getLogger(__name__)

# How long to wait for a TCP connection to the hub before calling it unreachable.
HUB_PROBE_TIMEOUT_S = 3.0


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


def read_source(
    source: Any, *, base_dir: Path | None = None, split: str | None = None, access: DatasetAccess | None = None
) -> SourceRead:
    """Read every row of `source`. `split` overrides a Hugging Face source's own split. `access` is the
    launching backend's policy (None: a local run, any path may be read).

    Raises:
        DatasetValidationError: the source cannot be read at all (missing file, unknown extension,
            download failed, hub unreachable).
        ConfigError: the source type cannot be read by a worker (`uploaded` must be resolved first), or
            `access` does not allow it.
    """
    roots = access.file_roots if access is not None else None
    if isinstance(source, FileDatasetSource):
        path = allowed_file_path(source.path, roots, base_dir=base_dir)
        return read_file(path, label=source.path)
    if isinstance(source, HuggingfaceDatasetSource):
        check_hub_name(source.name, roots, probe_local=True)
        return _read_huggingface(source, split=split)
    if isinstance(source, BlobDatasetSource):
        local = download_blob(source.url, token=source.token, access=access)
        return read_file(local, label=redact_url(source.url), extension=extension_of(source.url, default=local.suffix))
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
            [
                DatasetIssue(
                    f'{reason}. Use a \'file\' source instead, e.g. {{"type": "file", "path": "data/train.jsonl"}}.',
                    path=label,
                )
            ],
            summary=f"Cannot load Hugging Face dataset '{source.name}'",
        ) from None
    rows = [SourceRow(line=index + 1, data=dict(row)) for index, row in enumerate(dataset)]
    return SourceRead(rows=rows, label=label)
