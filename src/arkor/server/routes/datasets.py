"""`POST /v1/datasets`: upload a dataset file; rows are validated first (line-numbered errors),
and files are content-addressed so uploading the same bytes again stores nothing new."""

from __future__ import annotations

import logging
from pathlib import Path, PurePath
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from arkor.engine.data.readers import DatasetTooLarge, RowLimits
from arkor.errors import ArkorError, DatasetValidationError
from arkor.protocol import DATASET_FILE_EXTENSIONS, DatasetIssue, DatasetUploadResponse

from .. import datasets_store
from ..deps import ScopeDep, ServicesDep
from ..errors import V1_RESPONSES, ApiError
from ..uploads import place, receive_file
from ..wire import wire

logger = logging.getLogger(__name__)
router = APIRouter(tags=["datasets"], responses=V1_RESPONSES)

_EXTENSIONS = DATASET_FILE_EXTENSIONS


def validate_dataset_file(path: Path, filename: str, fmt: str | None, limits: RowLimits) -> tuple[int, str]:
    """(rows, format) of a dataset file, read in one streaming pass within `limits`.

    Raises DatasetValidationError with every problem found, DatasetTooLarge past a limit."""
    from arkor.engine.data.scan import scan_dataset

    return scan_dataset(path, label=filename, extension=PurePath(filename).suffix, fmt=fmt, limits=limits)


def _over_quota(quota: int, used: int) -> ApiError:
    return ApiError(
        413,
        f"this upload would take the org past its storage quota of {quota:,} bytes ({used:,} used) "
        "(ARKOR_ORG_STORAGE_QUOTA_BYTES); delete datasets you no longer need, or raise "
        "ARKOR_ORG_STORAGE_QUOTA_BYTES on the server",
        code="storage_quota_exceeded",
    )


def _issue_wire(issue: Any) -> dict:
    return DatasetIssue(line=issue.line, field=issue.field, message=issue.message, path=issue.path).to_wire()


@router.post(
    "/v1/datasets",
    summary="Upload a dataset file (raw body); 400 with line-numbered issues when rows are invalid",
    response_model=DatasetUploadResponse,
    responses={201: {"model": DatasetUploadResponse, "description": "Stored (200: the org had these bytes already)"}},
    openapi_extra={
        "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    },
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
        raise ApiError(
            400, f"X-Arkor-Filename {filename!r} must end in one of {', '.join(_EXTENSIONS)}", param="X-Arkor-Filename"
        )
    settings = services.settings
    datasets_dir = settings.data_dir / "datasets"
    used = await anyio.to_thread.run_sync(datasets_store.org_usage, services.db, scope.org.id)
    room = settings.org_storage_quota_bytes - used
    if room < settings.max_upload_bytes:
        cap, too_large = max(0, room), _over_quota(settings.org_storage_quota_bytes, used)
    else:
        cap, too_large = settings.max_upload_bytes, None
    tmp, sha256, size = await receive_file(
        request.stream(), datasets_dir, suffix=suffix, max_bytes=cap, too_large=too_large
    )
    limits = RowLimits(
        max_rows=settings.max_dataset_rows,
        max_row_bytes=settings.max_dataset_row_bytes,
        max_decoded_bytes=settings.max_dataset_decoded_bytes,
    )
    try:
        if size == 0:
            raise ApiError(400, f"{filename} is empty", param="body")
        try:
            rows, fmt = await services.pools.run(
                "validation", validate_dataset_file, tmp, filename, dataset_format, limits
            )
        except DatasetTooLarge as exc:
            raise ApiError(413, str(exc), code="dataset_too_large") from None
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
    row, created = await anyio.to_thread.run_sync(
        lambda: datasets_store.add_dataset(
            services.db, scope.org.id, sha256=sha256, filename=filename, size=size, rows=rows, fmt=fmt, path=final
        )
    )
    if (
        created
        and await anyio.to_thread.run_sync(datasets_store.org_usage, services.db, scope.org.id)
        > settings.org_storage_quota_bytes
    ):
        # Two uploads raced past the check above; the later one gives its room back.
        await anyio.to_thread.run_sync(datasets_store.delete_dataset, services.db, row.id)
        raise _over_quota(settings.org_storage_quota_bytes, used)
    body = DatasetUploadResponse(
        dataset_id=row.id,
        filename=row.filename,
        rows=row.rows,
        format=row.format,
        size=row.size,
        sha256=row.sha256,
        created=created,
    )
    return wire(body, status_code=201 if created else 200)
