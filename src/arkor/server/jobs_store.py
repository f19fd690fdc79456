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
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from arkor.errors import ConfigError
from arkor.model_families import last_layers_problem
from arkor.protocol import (
    BlobDatasetSource,
    FileDatasetSource,
    HuggingfaceDatasetSource,
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
from .model_access import check_model_reference
from .models import DatasetRow, JobRow
from .settings import ServerSettings


def job_wire(row: JobRow) -> TrainingJob:
    return TrainingJob(
        id=row.id,
        org_id=row.org_id,
        project_id=row.project_id,
        name=row.name,
        status=row.status,  # type: ignore[arg-type]
        config=public_config(JobConfig.model_validate(row.config)),
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
    )


def list_project_jobs(db: Database, project_id: str, limit: int) -> list[JobRow]:
    """The project's newest `limit` jobs, newest first."""
    with db.read() as session:
        return list(
            session.execute(
                select(JobRow)
                .where(JobRow.project_id == project_id)
                .order_by(JobRow.created_at.desc(), JobRow.id.desc())
                .limit(limit)
            ).scalars()
        )


def job_status(db: Database, job_id: str) -> str | None:
    """The job's status; None when there is no such job."""
    with db.read() as session:
        return session.execute(select(JobRow.status).where(JobRow.id == job_id)).scalar_one_or_none()


def jobs_by_status(db: Database) -> dict[str, int]:
    """How many jobs there are in each status."""
    with db.read() as session:
        return {
            status: count
            for status, count in session.execute(select(JobRow.status, func.count()).group_by(JobRow.status))
        }


def parse_job_request(body: Any) -> JobCreateRequest:
    """The request, or a 400 naming every bad field (unknown config keys get a did-you-mean)."""
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object with `name` and `config`", code="invalid_request")
    config = body.get("config")
    if isinstance(config, dict):
        unknown = unknown_config_keys(config)
        if unknown:
            raise ApiError(
                400, " ".join(unknown), code="unknown_field", param=unknown[0].split(" ")[0], details=unknown
            )
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
    settings: ServerSettings,
) -> CreatedJob:
    """Insert a queued job, or return the job an earlier request with the same Idempotency-Key made."""
    if idempotency_key is not None:
        existing = _by_idempotency_key(db, scope, idempotency_key)
        if existing is not None:
            return _replay(existing, fingerprint, idempotency_key)
    _check_dataset(db, scope, request.config, settings)
    check_model_reference(settings, request.config.model, param="config.model", any_hub_repo=True)
    if problem := last_layers_problem(request.config.model, request.config.lora_last_layers):
        raise ApiError(400, f"config.loraLastLayers: {problem}", code="invalid_request", param="config.loraLastLayers")
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
        existing = _by_idempotency_key(db, scope, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, fingerprint, idempotency_key or "")
    return CreatedJob(row=row, replayed=False)


def _by_idempotency_key(db: Database, scope: Scope, key: str) -> JobRow | None:
    """Keys are scoped to (org, project): the same key in another project is a different request."""
    with db.read() as session:
        return session.execute(
            select(JobRow).where(
                JobRow.org_id == scope.org.id, JobRow.project_id == scope.project.id, JobRow.idempotency_key == key
            )
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


def public_config(config: JobConfig) -> JobConfig:
    """The config as callers may read it back: a blob source's token is a credential, never echoed."""
    updates = {}
    for key in ("dataset_source", "eval_dataset"):
        source = getattr(config, key)
        if isinstance(source, BlobDatasetSource) and source.token:
            updates[key] = source.model_copy(update={"token": None})
    return config.model_copy(update=updates) if updates else config


def _refused(exc: ConfigError, param: str) -> ApiError:
    return ApiError(400, str(exc), code="dataset_source_refused", param=param)


def _check_dataset(db: Database, scope: Scope, config: JobConfig, settings: ServerSettings) -> None:
    """A job names only data its org may read: its own uploads, files under ARKOR_FILE_DATASET_ROOTS
    (never the backend's own data dir), hub ids, and public blob URLs. The answers for a refused path are
    the same whether or not it exists. The training set and the optional task-accuracy set follow the
    same rules."""
    _check_dataset_source(db, scope, config.dataset_source, "datasetSource", settings)
    if config.eval_dataset is not None:
        _check_dataset_source(db, scope, config.eval_dataset, "evalDataset", settings)


def _check_dataset_source(db: Database, scope: Scope, source: object, key: str, settings: ServerSettings) -> None:
    from arkor.engine.data.access import allowed_file_path, blob_addresses, check_hub_name, file_refusal

    roots = settings.roots(settings.file_dataset_roots)
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
        data_dir = settings.data_dir.resolve()
        try:
            if not os.path.isabs(source.path):
                raise file_refusal(source.path, field_name=f"config.{key}.path")
            resolved = allowed_file_path(source.path, roots, field_name=f"config.{key}.path")
            if resolved == data_dir or resolved.is_relative_to(data_dir):
                raise file_refusal(source.path, field_name=f"config.{key}.path")
        except ConfigError as exc:
            raise _refused(exc, f"config.{key}.path") from None
        if not resolved.is_file():  # under an allowed root: saying so reveals nothing the operator hid
            raise ApiError(
                400,
                f"config.{key}.path {source.path!r} is not a file on the backend's machine; upload the "
                "file with POST /v1/datasets instead",
                param=f"config.{key}.path",
            )
    elif isinstance(source, HuggingfaceDatasetSource):
        try:
            check_hub_name(source.name, roots, field_name=f"config.{key}.name")
        except ConfigError as exc:
            raise _refused(exc, f"config.{key}.name") from None
    elif isinstance(source, BlobDatasetSource):
        try:
            blob_addresses(source.url, allow_private=settings.blob_allow_private, field_name=f"config.{key}.url")
        except ConfigError as exc:
            raise _refused(exc, f"config.{key}.url") from None
