"""Deployment store: create/read/update/delete deployments and their API keys, scoped to the caller's
org and project, plus what serving needs (find by slug, check a key, resolve the target to a model
and adapter folder).

Rules (the original's): slugs are 2-50 chars of `^[a-z0-9][a-z0-9-]*[a-z0-9]$`, unique across all
orgs (they name a public URL), reserved labels rejected, immutable; a target (a job's final adapter,
a checkpoint, or a base model) must exist in the caller's org; keys are `ark_live_` + random, returned
once, stored as sha256 with a short prefix for display; revoking a key disables it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError

from arkor.protocol import (
    CreatedDeploymentKey,
    Deployment,
    DeploymentCreateRequest,
    DeploymentKey,
    DeploymentUpdateRequest,
    JobConfig,
)
from arkor.protocol.deployments import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_RETENTION_MODE,
    AdapterDeploymentTarget,
    BaseModelDeploymentTarget,
    DeploymentRetention,
)

from ._util import iso_now, new_id
from .adapters import adapter_folder, has_adapter
from .deps import find_job
from .errors import ApiError, not_found
from .models import DeploymentKeyRow, DeploymentRow, JobRow

if TYPE_CHECKING:
    from .app import Services
    from .deps import Scope

KEY_PREFIX = "ark_live_"
KEY_DISPLAY_LENGTH = 17  # "ark_live_" + 8 characters, enough to tell keys apart
# Labels that would shadow product hostnames (`<slug>.arkor.app`) or invite phishing.
RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "app",
        "apps",
        "admin",
        "administrator",
        "studio",
        "dashboard",
        "console",
        "docs",
        "doc",
        "blog",
        "status",
        "help",
        "support",
        "mail",
        "email",
        "smtp",
        "ftp",
        "cdn",
        "static",
        "assets",
        "auth",
        "login",
        "logout",
        "signup",
        "account",
        "accounts",
        "billing",
        "internal",
        "root",
        "system",
        "arkor",
        "dev",
        "staging",
        "prod",
        "test",
        "localhost",
        "ns1",
        "ns2",
        "v1",
        "v2",
        "d",
        "healthz",
        "metrics",
    }
)


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def deployment_wire(row: DeploymentRow) -> Deployment:
    # The row stores `target` as JSON and `auth_mode` as text: validating makes them the wire's types again.
    return Deployment.model_validate(
        {
            "id": row.id,
            "slug": row.slug,
            "org_id": row.org_id,
            "project_id": row.project_id,
            "target": row.target,
            "auth_mode": row.auth_mode,
            "enabled": row.enabled,
            "custom_domain": None,
            "run_retention_mode": row.run_retention_mode,
            "run_retention_days": row.run_retention_days,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "url": f"/d/{row.slug}/v1",
        }
    )


def key_wire(row: DeploymentKeyRow) -> DeploymentKey:
    return DeploymentKey(
        id=row.id,
        label=row.label,
        prefix=row.prefix,
        enabled=row.enabled,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


# ----- targets -----------------------------------------------------------------------------------


def _job_in_org(services: Services, org_id: str, job_id: str, field: str) -> JobRow:
    with services.db.read() as session:
        job = find_job(session, job_id, org_id=org_id)
    if job is None:
        raise ApiError(404, f"Job `{job_id}` not found", code="not_found", param=field)
    return job


def validate_target(services: Services, org_id: str, target: Any) -> dict[str, Any]:
    """The target as stored (wire dict), after checking it exists in the org."""
    if isinstance(target, BaseModelDeploymentTarget):
        from .model_access import check_model_reference

        check_model_reference(services.settings, target.base_model, param="target.baseModel")
        return target.to_wire()
    assert isinstance(target, AdapterDeploymentTarget)
    ref = target.adapter
    job = _job_in_org(services, org_id, ref.job_id, "target.adapter.jobId")
    if ref.kind == "checkpoint":
        folder = adapter_folder(services, job.id, ref.step)
        if not has_adapter(folder):
            raise ApiError(
                404,
                f"Checkpoint step {ref.step} of job `{job.id}` not found",
                code="not_found",
                param="target.adapter.step",
            )
    elif job.status in ("failed", "cancelled"):
        raise ApiError(
            400,
            f"Job `{job.id}` is {job.status}; it has no final adapter to serve. Deploy one of its checkpoints instead.",
            code="invalid_request",
            param="target.adapter",
        )
    return {"kind": "adapter", "adapter": ref.model_copy(update={"job_id": job.id}).to_wire()}


def _retention(retention: DeploymentRetention | None) -> tuple[str, int | None]:
    if retention is None:
        return DEFAULT_RETENTION_MODE, DEFAULT_RETENTION_DAYS
    return retention.run_retention_mode, retention.run_retention_days


# ----- deployments -------------------------------------------------------------------------------


def check_slug(slug: str) -> None:
    if slug in RESERVED_SLUGS:
        raise ApiError(400, f"slug {slug!r} is reserved; pick another", code="slug_reserved", param="slug")


def create_deployment(services: Services, scope: Scope, body: DeploymentCreateRequest) -> DeploymentRow:
    check_slug(body.slug)
    target = validate_target(services, scope.org.id, body.target)
    mode, days = _retention(body.retention)
    now = iso_now()
    row = DeploymentRow(
        id=new_id("dep"),
        org_id=scope.org.id,
        project_id=scope.project.id,
        slug=body.slug,
        target=target,
        auth_mode=body.auth_mode,
        enabled=True,
        run_retention_mode=mode,
        run_retention_days=days,
        created_at=now,
        updated_at=now,
    )
    try:
        with services.db.write() as session:
            if session.execute(select(DeploymentRow.id).where(DeploymentRow.slug == body.slug)).first():
                raise ApiError(409, "Slug already taken", code="slug_taken", param="slug")
            session.add(row)
    except IntegrityError:
        raise ApiError(409, "Slug already taken", code="slug_taken", param="slug") from None
    return row


def list_deployments(services: Services, scope: Scope) -> list[DeploymentRow]:
    with services.db.read() as session:
        return list(
            session.execute(
                select(DeploymentRow)
                .where(DeploymentRow.org_id == scope.org.id, DeploymentRow.project_id == scope.project.id)
                .order_by(DeploymentRow.created_at)
            ).scalars()
        )


def get_deployment(services: Services, scope: Scope, deployment_id: str) -> DeploymentRow:
    """The deployment if it lives in the scope's project; 404 otherwise (whoever owns it)."""
    with services.db.read() as session:
        row = session.get(DeploymentRow, deployment_id)
    if row is None or row.org_id != scope.org.id or row.project_id != scope.project.id:
        raise not_found(f"Deployment `{deployment_id}`")
    return row


def update_deployment(
    services: Services, scope: Scope, deployment_id: str, body: DeploymentUpdateRequest, raw: dict[str, Any]
) -> DeploymentRow:
    if "slug" in raw:
        raise ApiError(
            400, "slug cannot be changed; create a new deployment for a new slug", code="invalid_request", param="slug"
        )
    get_deployment(services, scope, deployment_id)
    changes: dict[str, Any] = {}
    if body.target is not None:
        changes["target"] = validate_target(services, scope.org.id, body.target)
    if body.auth_mode is not None:
        changes["auth_mode"] = body.auth_mode
    if body.enabled is not None:
        changes["enabled"] = body.enabled
    if body.retention is not None:
        changes["run_retention_mode"], changes["run_retention_days"] = _retention(body.retention)
    with services.db.write() as session:
        row = session.get(DeploymentRow, deployment_id)
        if row is None:
            raise not_found(f"Deployment `{deployment_id}`")
        for name, value in changes.items():
            setattr(row, name, value)
        if changes:
            row.updated_at = iso_now()
    return row


def delete_deployment(services: Services, scope: Scope, deployment_id: str) -> None:
    get_deployment(services, scope, deployment_id)
    with services.db.write() as session:
        keys = cast(Table, DeploymentKeyRow.__table__)  # a declarative class's table (typed as any FromClause)
        session.execute(keys.delete().where(DeploymentKeyRow.deployment_id == deployment_id))
        row = session.get(DeploymentRow, deployment_id)
        if row is not None:
            session.delete(row)


# ----- keys --------------------------------------------------------------------------------------


def create_key(services: Services, scope: Scope, deployment_id: str, label: str) -> CreatedDeploymentKey:
    get_deployment(services, scope, deployment_id)
    label = label.strip()
    if not label or len(label) > 80:
        raise ApiError(400, "label must be 1-80 characters (after trimming)", code="invalid_request", param="label")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
    row = DeploymentKeyRow(
        id=new_id("key"),
        deployment_id=deployment_id,
        label=label,
        prefix=plaintext[:KEY_DISPLAY_LENGTH],
        key_hash=hash_key(plaintext),
        enabled=True,
        created_at=iso_now(),
        last_used_at=None,
    )
    with services.db.write() as session:
        session.add(row)
    return CreatedDeploymentKey(
        id=row.id, label=row.label, plaintext=plaintext, prefix=row.prefix, created_at=row.created_at
    )


def list_keys(services: Services, scope: Scope, deployment_id: str) -> list[DeploymentKeyRow]:
    get_deployment(services, scope, deployment_id)
    with services.db.read() as session:
        return list(
            session.execute(
                select(DeploymentKeyRow)
                .where(DeploymentKeyRow.deployment_id == deployment_id)
                .order_by(DeploymentKeyRow.created_at)
            ).scalars()
        )


def revoke_key(services: Services, scope: Scope, deployment_id: str, key_id: str) -> None:
    get_deployment(services, scope, deployment_id)
    with services.db.write() as session:
        row = session.get(DeploymentKeyRow, key_id)
        if row is None or row.deployment_id != deployment_id:
            raise not_found(f"Key `{key_id}`")
        row.enabled = False


# ----- serving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingTarget:
    model_id: str
    adapter_dir: Path | None
    label: str  # what `/v1/models` and the completion's `model` call it


def find_by_slug(services: Services, slug: str) -> DeploymentRow | None:
    with services.db.read() as session:
        return session.execute(select(DeploymentRow).where(DeploymentRow.slug == slug)).scalar_one_or_none()


def key_is_valid(services: Services, deployment_id: str, plaintext: str) -> bool:
    """Whether an enabled key of this deployment matches; records lastUsedAt (best effort)."""
    digest = hash_key(plaintext)
    with services.db.read() as session:
        key_id = session.execute(
            select(DeploymentKeyRow.id).where(
                DeploymentKeyRow.deployment_id == deployment_id,
                DeploymentKeyRow.key_hash == digest,
                DeploymentKeyRow.enabled.is_(True),
            )
        ).scalar_one_or_none()
    if key_id is None:
        return False
    try:
        with services.db.write() as session:
            session.execute(
                update(DeploymentKeyRow).where(DeploymentKeyRow.id == key_id).values(last_used_at=iso_now())
            )
    except Exception:  # lastUsedAt is best effort; never fail a request over it
        pass
    return True


def serving_target(services: Services, row: DeploymentRow) -> ServingTarget:
    """The model and adapter folder a deployment serves. Raises LookupError when it is gone."""
    target = row.target
    if target.get("kind") == "base_model":
        return ServingTarget(target["baseModel"], None, target["baseModel"])
    adapter = target["adapter"]
    with services.db.read() as session:
        job = session.get(JobRow, adapter["jobId"])
    if job is None or job.org_id != row.org_id:
        raise LookupError(f"The job `{adapter['jobId']}` this deployment serves no longer exists.")
    step = None if adapter["kind"] == "final" else adapter.get("step")
    folder = adapter_folder(services, job.id, step)
    if not has_adapter(folder):
        which = "final adapter" if adapter["kind"] == "final" else f"checkpoint step {adapter.get('step')}"
        raise LookupError(f"The {which} of job `{job.id}` is not available (the job is {job.status}).")
    return ServingTarget(JobConfig.model_validate(job.config).model, folder, row.slug)
