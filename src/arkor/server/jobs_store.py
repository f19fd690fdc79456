"""Job creation and reads: validation of the job request, idempotency, and the wire form of a job.

Kept out of the route module so the HTTP layer only maps requests to these calls.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from arkor.protocol import (
    FileDatasetSource,
    JobConfig,
    JobCreateRequest,
    TrainingJob,
    UploadedDatasetSource,
    unknown_config_keys,
)

from ._util import iso_now, new_id
from .db import Database
from .deps import Scope
from .errors import ApiError, validation_api_error
from .models import DatasetRow, JobRow


def job_wire(row: JobRow) -> TrainingJob:
    return TrainingJob(
        id=row.id,
        org_id=row.org_id,
        project_id=row.project_id,
        name=row.name,
        status=row.status,  # type: ignore[arg-type]
        config=JobConfig.model_validate(row.config),
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
    )


def parse_job_request(body: Any) -> JobCreateRequest:
    """The request, or a 400 naming every bad field (unknown config keys get a did-you-mean)."""
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object with `name` and `config`", code="invalid_request")
    config = body.get("config")
    if isinstance(config, dict):
        unknown = unknown_config_keys(config)
        if unknown:
            raise ApiError(400, " ".join(unknown), code="unknown_field", param=unknown[0].split(" ")[0], details=unknown)
    try:
        return JobCreateRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_api_error(exc) from None


def request_fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class CreatedJob:
    row: JobRow
    replayed: bool


def create_job(
    db: Database,
    scope: Scope,
    request: JobCreateRequest,
    *,
    fingerprint: str,
    idempotency_key: str | None,
    allow_file_datasets: bool,
) -> CreatedJob:
    """Insert a queued job, or return the job an earlier request with the same Idempotency-Key made."""
    if idempotency_key is not None:
        existing = _by_idempotency_key(db, scope.org.id, idempotency_key)
        if existing is not None:
            return _replay(existing, fingerprint, idempotency_key)
    _check_dataset(db, scope, request.config, allow_file_datasets)
    row = JobRow(
        id=new_id("job"),
        org_id=scope.org.id,
        project_id=scope.project.id,
        name=request.name,
        status="queued",
        config=request.config.to_wire(),
        created_at=iso_now(),
        idempotency_key=idempotency_key,
        request_hash=fingerprint if idempotency_key else None,
        cancel_requested=False,
    )
    try:
        with db.write() as session:
            session.add(row)
    except IntegrityError:
        # Two requests with one key raced; the other one won. Answer as its replay.
        existing = _by_idempotency_key(db, scope.org.id, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, fingerprint, idempotency_key or "")
    return CreatedJob(row=row, replayed=False)


def _by_idempotency_key(db: Database, org_id: str, key: str) -> JobRow | None:
    with db.read() as session:
        return session.execute(
            select(JobRow).where(JobRow.org_id == org_id, JobRow.idempotency_key == key)
        ).scalar_one_or_none()


def _replay(existing: JobRow, fingerprint: str, key: str) -> CreatedJob:
    if existing.request_hash != fingerprint:
        raise ApiError(
            422,
            f"Idempotency-Key {key!r} was already used with a different request body (job {existing.id}); "
            "use a new key for a different job",
            code="idempotency_key_reused",
        )
    return CreatedJob(row=existing, replayed=True)


def _check_dataset(db: Database, scope: Scope, config: JobConfig, allow_file_datasets: bool) -> None:
    # The training set and the optional task-accuracy set follow the same rules.
    _check_dataset_source(db, scope, config.dataset_source, "datasetSource", allow_file_datasets)
    if config.eval_dataset is not None:
        _check_dataset_source(db, scope, config.eval_dataset, "evalDataset", allow_file_datasets)


def _check_dataset_source(db: Database, scope: Scope, source: object, key: str, allow_file_datasets: bool) -> None:
    if isinstance(source, UploadedDatasetSource):
        with db.read() as session:
            found = session.execute(
                select(DatasetRow.id).where(DatasetRow.id == source.dataset_id, DatasetRow.org_id == scope.org.id)
            ).scalar_one_or_none()
        if found is None:
            raise ApiError(
                400,
                f"config.{key}.datasetId {source.dataset_id!r} is not a dataset uploaded to this org; "
                "upload it with POST /v1/datasets first",
                param=f"config.{key}.datasetId",
            )
    elif isinstance(source, FileDatasetSource):
        if not allow_file_datasets:
            raise ApiError(
                400,
                f"config.{key} of type 'file' is disabled on this backend; upload the file with "
                "POST /v1/datasets and use {\"type\": \"uploaded\", \"datasetId\": ...}",
                param=f"config.{key}",
            )
        if not os.path.isabs(source.path) or not os.path.isfile(source.path):
            raise ApiError(
                400,
                f"config.{key}.path {source.path!r} is not an absolute path of a file on the backend's "
                "machine; upload the file with POST /v1/datasets instead",
                param=f"config.{key}.path",
            )
