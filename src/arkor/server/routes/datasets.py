"""`POST /v1/datasets`: upload a dataset file; rows are validated first (line-numbered errors),
and files are content-addressed so uploading the same bytes again stores nothing new."""

from __future__ import annotations

import logging
from pathlib import Path, PurePath
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from arkor.errors import ArkorError, DatasetValidationError
from arkor.protocol import DATASET_FILE_EXTENSIONS, DatasetIssue, DatasetUploadResponse

from .._util import iso_now, new_id
from ..deps import ScopeDep, ServicesDep
from ..errors import ApiError
from ..models import DatasetRow
from ..uploads import place, receive_file

logger = logging.getLogger(__name__)
router = APIRouter(tags=["datasets"])

_EXTENSIONS = DATASET_FILE_EXTENSIONS


def validate_dataset_file(path: Path, filename: str, fmt: str | None) -> tuple[int, str]:
    """(rows, format) of a dataset file; raises DatasetValidationError with every problem found."""
    from arkor.engine.data import detect_format, validate_rows
    from arkor.engine.data.formats import canonical_format
    from arkor.engine.data.sources import read_file

    read = read_file(path, label=filename, extension=PurePath(filename).suffix)
    if read.issues:
        raise DatasetValidationError(read.issues, summary=f"{filename} could not be parsed")
    chosen = canonical_format(fmt) if fmt and fmt != "auto" else None
    chosen = chosen or detect_format(read.rows, source_label=filename)
    validate_rows(read.rows, chosen, source_label=filename)
    return len(read.rows), chosen


def _issue_wire(issue: Any) -> dict:
    return DatasetIssue(line=issue.line, field=issue.field, message=issue.message, path=issue.path).to_wire()


@router.post(
    "/v1/datasets",
    summary="Upload a dataset file (raw body); 400 with line-numbered issues when rows are invalid",
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def upload_dataset(
    request: Request,
    services: ServicesDep,
    scope: ScopeDep,
    x_arkor_filename: Annotated[str | None, Header(alias="X-Arkor-Filename", max_length=255)] = None,
    dataset_format: Annotated[str | None, Query(alias="format", max_length=40)] = None,
) -> JSONResponse:
    filename = PurePath((x_arkor_filename or "dataset.jsonl").replace("\\", "/")).name or "dataset.jsonl"
    suffix = PurePath(filename).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ApiError(400, f"X-Arkor-Filename {filename!r} must end in one of {', '.join(_EXTENSIONS)}", param="X-Arkor-Filename")
    datasets_dir = services.settings.data_dir / "datasets"
    tmp, sha256, size = await receive_file(request.stream(), datasets_dir, suffix=suffix, max_bytes=services.settings.max_upload_bytes)
    try:
        if size == 0:
            raise ApiError(400, f"{filename} is empty", param="body")
        try:
            rows, fmt = await services.pools.run("validation", validate_dataset_file, tmp, filename, dataset_format)
        except DatasetValidationError as exc:
            summary = str(exc).splitlines()[0].rstrip(":")  # the issues travel in `details`
            raise ApiError(400, summary, code="invalid_dataset", details=[_issue_wire(i) for i in exc.issues]) from None
        except (ArkorError, ValueError) as exc:
            raise ApiError(400, str(exc), code="invalid_dataset") from None
        final = datasets_dir / f"{sha256}{suffix}"
        if final.exists():
            tmp.unlink(missing_ok=True)
        else:
            place(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    row, created = await anyio.to_thread.run_sync(_store, services, scope.org.id, sha256, filename, size, rows, fmt, final)
    body = DatasetUploadResponse(
        dataset_id=row.id, filename=row.filename, rows=row.rows, format=row.format, size=row.size, sha256=row.sha256, created=created
    )
    return JSONResponse(body.to_wire(), status_code=201 if created else 200)


def _store(services, org_id: str, sha256: str, filename: str, size: int, rows: int, fmt: str, path: Path):  # type: ignore[no-untyped-def]
    def existing() -> DatasetRow | None:
        with services.db.read() as session:
            return session.execute(
                select(DatasetRow).where(DatasetRow.org_id == org_id, DatasetRow.sha256 == sha256)
            ).scalar_one_or_none()

    found = existing()
    if found is not None:
        return found, False
    row = DatasetRow(
        id=new_id("ds"), org_id=org_id, sha256=sha256, filename=filename, size=size, rows=rows, format=fmt,
        path=str(path.resolve()), created_at=iso_now(),
    )
    try:
        with services.db.write() as session:
            session.add(row)
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found, False
    return row, True
