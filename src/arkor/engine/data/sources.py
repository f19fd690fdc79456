"""Reading a dataset source into line-numbered rows.

Owns the three sources a worker can read: `file` (JSONL, JSON array, CSV, Parquet; a relative path is
taken from `base_dir`), `huggingface` (through the `datasets` library, failing fast and clearly when the
hub cannot be reached and the dataset is not cached) and `blob` (an http(s) URL downloaded once into
`cache_dir()/datasets/`, atomically, reused only for the same URL, token and tenant).

A worker a backend launches gets a `DatasetAccess` with its spec: `file` paths must then lie under its
roots (symlinks resolved), and blob downloads reach public addresses only (each redirect and each
resolved address is checked and the connection goes to the checked address), within a byte cap and a
deadline. The backend runs the same checks when a job is created. Readers stream: a row never costs
more than its own size, and `RowLimits` bound rows, one row's bytes and the decoded total. Every row remembers where it came from (`SourceRow.line`) so a
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
import ipaddress
import json
import logging
import os
import re
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urljoin, urlparse, urlsplit

from arkor._env import cache_dir
from arkor.errors import ConfigError, DatasetIssue, DatasetValidationError
from arkor.protocol import (
    BlobDatasetSource,
    DatasetAccess,
    FileDatasetSource,
    HuggingfaceDatasetSource,
    UploadedDatasetSource,
)

from .formats import type_name

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
# Blob download defaults when no DatasetAccess says otherwise (a local run): the whole download's deadline
# (seconds) and its size cap.
BLOB_TIMEOUT_S = 300.0
BLOB_MAX_BYTES = 2 * 1024**3
BLOB_MAX_REDIRECTS = 5
FILE_ROOTS_SETTING = "ARKOR_FILE_DATASET_ROOTS"
BLOB_PRIVATE_SETTING = "ARKOR_BLOB_ALLOW_PRIVATE"
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


def read_source(source: Any, *, base_dir: Path | None = None, split: str | None = None,
                access: DatasetAccess | None = None) -> SourceRead:
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


# ------------------------------------------------------------------------------------- access checks


def _under(path: Path, roots: Sequence[str | Path]) -> bool:
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if path == real_root or path.is_relative_to(real_root):
            return True
    return False


def file_refusal(path: str, *, field_name: str = "dataset_source.path") -> ConfigError:
    """The one answer for a path outside the roots: the same whether or not the path exists."""
    return ConfigError(
        f"{field_name} {path!r} is not in a folder this backend lets jobs read ({FILE_ROOTS_SETTING}). "
        "Upload the file with POST /v1/datasets and use {\"type\": \"uploaded\", \"datasetId\": ...} (the SDK "
        f"does this for a local path), or have the operator add its folder to {FILE_ROOTS_SETTING}.",
        field=field_name,
    )


def allowed_file_path(path: str, roots: Sequence[str | Path] | None, *, base_dir: Path | None = None,
                      field_name: str = "dataset_source.path") -> Path:
    """The path to open for a `file` source. With `roots`, the path with symlinks resolved, which must lie
    under one of them (else `file_refusal`); without, the path as given (relative to `base_dir`)."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = (base_dir or Path.cwd()) / candidate
    if roots is None:
        return candidate
    try:
        resolved = Path(os.path.realpath(candidate))
    except (OSError, ValueError):
        raise file_refusal(path, field_name=field_name) from None
    if not _under(resolved, roots):
        raise file_refusal(path, field_name=field_name)
    return resolved


# A hub repo id: `name` or `namespace/name`, letters, digits, `-`, `_`, `.` (no `..`).
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?")


def check_hub_name(name: str, roots: Sequence[str | Path] | None, *, probe_local: bool = False) -> None:
    """A `huggingface` source's name must be a hub id: `datasets` would read a local path (or an existing
    local folder of that name) from the machine it runs on, so such a name is held to the `file` roots.
    `probe_local` (the worker) also treats a hub-looking name that exists on disk as a path."""
    if roots is None:
        return
    looks_like_id = bool(_HUB_ID.fullmatch(name)) and ".." not in name and not name.lower().endswith(SUPPORTED_EXTENSIONS)
    if looks_like_id and not (probe_local and os.path.lexists(name)):
        return
    allowed_file_path(name, roots, field_name="dataset_source.name")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(text: str) -> bool:
    """Whether an address is on the public internet: not loopback, private, link-local, multicast, reserved,
    unspecified or shared, also when an IPv4 address hides inside an IPv6 one."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public_address(str(inner)):
            return False
    return address.is_global and not (
        address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    )


def _blob_refusal(url: str, host: str) -> ConfigError:
    # One message for "does not resolve" and "resolves to a private address": which one is not told.
    return ConfigError(
        f"dataset_source.url {redact_url(url)!r}: the host {host!r} does not resolve to a public internet address; "
        f"blob URLs must be public http(s) URLs (a backend started with {BLOB_PRIVATE_SETTING}=1 may fetch from "
        "private networks). Or upload the file with POST /v1/datasets.",
        field="dataset_source.url",
    )


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the one DNS lookup a blob hop makes)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def blob_addresses(url: str, *, allow_private: bool) -> tuple[str, int, list[str]]:
    """(host, port, addresses to connect to) for a blob URL; every address the host resolves to must be
    public unless `allow_private`. Raises ConfigError (scheme, host, or the one refusal message)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"dataset_source.url {redact_url(url)!r} is not a valid URL", field="dataset_source.url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"dataset_source.url must be an http(s) URL (got {redact_url(url)!r})",
                          field="dataset_source.url")
    host = parts.hostname
    if not host:
        raise ConfigError(f"dataset_source.url {redact_url(url)!r} has no host", field="dataset_source.url")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError):
        raise _blob_refusal(url, host) from None
    if not addresses or (not allow_private and not all(is_public_address(a) for a in addresses)):
        raise _blob_refusal(url, host)
    return host, port, addresses


# ---------------------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class RowLimits:
    """Bounds on an untrusted dataset file; each exceeded one is a `DatasetTooLarge` naming its setting."""

    max_rows: int
    max_row_bytes: int
    max_decoded_bytes: int


class DatasetTooLarge(ConfigError):
    """A dataset past one of the `RowLimits`; the message names the limit and the setting that raises it."""


def _too_many_rows(label: str, limits: RowLimits) -> DatasetTooLarge:
    return DatasetTooLarge(f"{label} has more than {limits.max_rows:,} rows, the limit of this backend "
                           "(ARKOR_MAX_DATASET_ROWS); split the dataset, or raise ARKOR_MAX_DATASET_ROWS on the server")


def _row_too_big(label: str, line: int | None, limits: RowLimits, what: str = "a row") -> DatasetTooLarge:
    where = f"{label}:{line}" if line else label
    return DatasetTooLarge(f"{where}: {what} is larger than {limits.max_row_bytes:,} bytes, the limit of this backend "
                           "(ARKOR_MAX_DATASET_ROW_BYTES); shorten it, or raise ARKOR_MAX_DATASET_ROW_BYTES on the server")


def _too_big_decoded(label: str, limits: RowLimits) -> DatasetTooLarge:
    return DatasetTooLarge(f"{label} decodes to more than {limits.max_decoded_bytes:,} bytes, the limit of this backend "
                           "(ARKOR_MAX_DATASET_DECODED_BYTES); split the dataset, or raise "
                           "ARKOR_MAX_DATASET_DECODED_BYTES on the server")


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


def iter_file(path: Path, *, label: str, extension: str | None = None,
              limits: RowLimits | None = None) -> Iterator[SourceRow | DatasetIssue]:
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
        [DatasetIssue(f"unsupported file type '{ext or '(none)'}'; use one of {', '.join(SUPPORTED_EXTENSIONS)}",
                      path=label)],
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
        raise _row_too_big(label, None, budget.limits,
                           "a JSON array (read as one value; write JSON Lines, one object per line, instead)")
    try:
        values = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        yield _not_utf8(label, 1)
        return
    except json.JSONDecodeError as exc:
        yield DatasetIssue(f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno, path=label)
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
                    line=start, path=label)
                continue
            yield SourceRow(line=start, data=dict(zip(names, record)))


def _iter_parquet(path: Path, label: str, budget: _Budget) -> Iterator[SourceRow | DatasetIssue]:
    import pyarrow.parquet as pq

    def unreadable(exc: Exception) -> DatasetValidationError:
        return DatasetValidationError(
            [DatasetIssue(f"not a readable Parquet file: {exc}", path=label)], summary="Dataset file unreadable")

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


# ----------------------------------------------------------------------------------------------- blob


def _extension_of(url: str, *, default: str = ".jsonl") -> str:
    suffix = Path(urlparse(url).path).suffix.lower()
    return suffix if suffix in SUPPORTED_EXTENSIONS or suffix == ".pq" else (default or ".jsonl")


def redact_url(url: str) -> str:
    """The URL without query, fragment or user info, for messages: presigned URLs carry secrets there."""
    try:
        parts = urlparse(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "(invalid URL)"
    return f"{parts.scheme}://{host}{parts.path}"


def blob_cache_path(url: str, *, token: str | None = None, scope: str | None = None) -> Path:
    """Where a blob's bytes are kept: `cache_dir()/datasets/<sha256(url, token, scope)><ext>`. A download
    is reused only for the same URL with the same credentials for the same tenant: a cached private
    file must never answer a request that could not have fetched it."""
    key = json.dumps([url, hashlib.sha256((token or "").encode()).hexdigest(), scope or ""])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return cache_dir() / "datasets" / f"{digest}{_extension_of(url)}"


def local_access() -> DatasetAccess:
    """The policy of a run no backend launched: any file; blobs from public hosts unless
    ARKOR_BLOB_ALLOW_PRIVATE=1 is set."""
    allow = os.environ.get(BLOB_PRIVATE_SETTING, "").strip().lower() in ("1", "true", "yes")
    return DatasetAccess(blob_allow_private=allow)


def _download_failed(url: str, reason: str) -> DatasetValidationError:
    return DatasetValidationError([DatasetIssue(f"download failed: {reason}", path=redact_url(url))],
                                  summary="Could not download the blob dataset")


def download_blob(url: str, *, token: str | None = None, access: DatasetAccess | None = None) -> Path:
    """Download `url` once (later calls with the same token and scope reuse the cached file). The token
    is sent as a bearer token to the URL's own origin only and never appears in messages. Redirects are
    followed by hand so each hop's host is checked; the connection goes to the checked address (with
    the host name for TLS and `Host`), so a second DNS answer cannot point it elsewhere. The file appears
    in the cache only when complete."""
    access = access or local_access()
    max_bytes = access.blob_max_bytes or BLOB_MAX_BYTES
    timeout = access.blob_timeout_s or BLOB_TIMEOUT_S
    target = blob_cache_path(url, token=token, scope=access.cache_scope)
    blob_addresses(url, allow_private=access.blob_allow_private)  # scheme and host, before any cache answer
    if target.is_file():
        logger.info("Using cached download of %s (%s)", redact_url(url), target)
        return target
    import httpx

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    deadline = time.monotonic() + timeout
    too_slow = f"the host could not be reached, or did not send the file within ARKOR_BLOB_TIMEOUT_S ({timeout:g} s)"
    current, origin = url, _origin(url)
    try:
        with os.fdopen(handle, "wb") as out:
            for _hop in range(BLOB_MAX_REDIRECTS + 1):
                host, port, addresses = blob_addresses(current, allow_private=access.blob_allow_private)
                headers = {"Authorization": f"Bearer {token}"} if token and _origin(current) == origin else {}
                location = _fetch_hop(httpx, current, host, port, addresses[0], headers, out,
                                      max_bytes=max_bytes, deadline=deadline, too_slow=too_slow)
                if location is None:
                    break
                current = location
            else:
                raise _download_failed(url, f"more than {BLOB_MAX_REDIRECTS} redirects")
        os.replace(partial, target)
    except ConfigError as exc:  # a redirect to a refused host
        raise _download_failed(url, f"a redirect was refused: {exc}") from None
    except (httpx.HTTPError, OSError):
        raise _download_failed(url, too_slow) from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    logger.info("Downloaded %s to %s", redact_url(url), target)
    return target


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _fetch_hop(httpx: Any, url: str, host: str, port: int, address: str, headers: dict[str, str], out: Any, *,
               max_bytes: int, deadline: float, too_slow: str) -> str | None:
    """GET `url` from `address`; writes the body to `out` and returns None, or returns the redirect target."""
    parts = urlsplit(url)
    pinned_host = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{pinned_host}:{port}").geturl()
    default_port = 443 if parts.scheme.lower() == "https" else 80
    headers = {**headers, "Host": host if port == default_port else f"{host}:{port}"}
    remaining = max(0.1, deadline - time.monotonic())
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    with httpx.Client(timeout=httpx.Timeout(remaining), follow_redirects=False, trust_env=False) as client:
        with client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
            if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
                return urljoin(url, response.headers["location"])
            if response.status_code >= 300:
                hint = " (check dataset_source.token)" if response.status_code in (401, 403) else ""
                raise _download_failed(url, f"HTTP {response.status_code}{hint}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _download_failed(url, _over_cap(max_bytes))
            written = 0
            for chunk in response.iter_bytes():
                written += len(chunk)
                if written > max_bytes:
                    raise _download_failed(url, _over_cap(max_bytes))
                if time.monotonic() > deadline:
                    raise _download_failed(url, too_slow)
                out.write(chunk)
    return None


def _over_cap(max_bytes: int) -> str:
    return (f"the file is larger than {max_bytes:,} bytes, the limit of ARKOR_BLOB_MAX_BYTES; "
            "raise it on the server, or upload a smaller file")


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

