"""Deployments (`/v1/endpoints`) and their API keys: the original's `DeploymentDto`, `DeploymentKeyDto`,
create/update inputs and response envelopes.

Validation that needs no database lives here (slug shape, target union, auth mode, retention coupling,
key label length); the backend adds what needs one (reserved slugs, uniqueness, target existence).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SerializationInfo, model_serializer, model_validator

from ._base import WireModel
from .inference import AdapterRef

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
SLUG_RE = re.compile(SLUG_PATTERN)
SLUG_MIN_LENGTH = 2
SLUG_MAX_LENGTH = 50
KEY_LABEL_MAX_LENGTH = 80
DEFAULT_RETENTION_MODE = "days"
DEFAULT_RETENTION_DAYS = 7

DeploymentAuthMode = Literal["none", "fixed_api_key"]
RetentionMode = Literal["unlimited", "disabled", "days"]


class AdapterDeploymentTarget(WireModel):
    """Serve a job's final adapter or one of its checkpoints."""

    kind: Literal["adapter"]
    adapter: AdapterRef


class BaseModelDeploymentTarget(WireModel):
    """Serve a base model with no adapter."""

    kind: Literal["base_model"]
    base_model: str = Field(min_length=1, max_length=500)


DeploymentTarget = Annotated[AdapterDeploymentTarget | BaseModelDeploymentTarget, Field(discriminator="kind")]


class DeploymentRetention(WireModel):
    """How long request runs are kept: `runRetentionDays` (>= 1) is required iff the mode is `days`."""

    run_retention_mode: RetentionMode
    run_retention_days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _days_iff_days_mode(self) -> DeploymentRetention:
        if self.run_retention_mode == "days" and self.run_retention_days is None:
            raise ValueError("runRetentionDays (>= 1) is required when runRetentionMode is 'days'")
        if self.run_retention_mode != "days" and self.run_retention_days is not None:
            raise ValueError("runRetentionDays is only allowed when runRetentionMode is 'days'")
        return self


class DeploymentCreateRequest(WireModel):
    slug: str = Field(min_length=SLUG_MIN_LENGTH, max_length=SLUG_MAX_LENGTH, pattern=SLUG_PATTERN)
    target: DeploymentTarget
    auth_mode: DeploymentAuthMode
    retention: DeploymentRetention | None = None


class DeploymentUpdateRequest(WireModel):
    """A partial update; the slug cannot change (a request naming it is rejected by the backend)."""

    target: DeploymentTarget | None = None
    auth_mode: DeploymentAuthMode | None = None
    enabled: bool | None = None
    retention: DeploymentRetention | None = None


class Deployment(WireModel):
    """`DeploymentDto`."""

    read_required: ClassVar[frozenset[str]] = frozenset({"id", "slug"})  # what a client needs of a peer's answer

    id: str
    slug: str
    org_id: str
    project_id: str
    target: DeploymentTarget
    auth_mode: DeploymentAuthMode
    url_format: Literal["openai_compat"] = "openai_compat"
    enabled: bool
    custom_domain: str | None = None
    run_retention_mode: str | None = None  # open enum on read
    run_retention_days: int | None = None
    created_at: str
    updated_at: str
    url: str | None = None  # extension: the backend path serving it, e.g. /d/<slug>/v1

    @model_serializer(mode="wrap")
    def _keep_custom_domain(self, handler: Any, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        data["customDomain" if info.by_alias else "custom_domain"] = self.custom_domain  # reserved: always present
        return data


class DeploymentKey(WireModel):
    """`DeploymentKeyDto`: never carries the plaintext."""

    read_required: ClassVar[frozenset[str]] = frozenset({"id"})  # what a client needs of a peer's answer

    id: str
    label: str
    prefix: str
    enabled: bool
    created_at: str
    last_used_at: str | None = None

    @model_serializer(mode="wrap")
    def _keep_last_used(self, handler: Any, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        data["lastUsedAt" if info.by_alias else "last_used_at"] = self.last_used_at  # null until first use
        return data


class CreatedDeploymentKey(WireModel):
    """The one response that carries a key's plaintext."""

    read_required: ClassVar[frozenset[str]] = frozenset({"id", "plaintext"})  # what a client needs of a peer's answer

    id: str
    label: str
    plaintext: str
    prefix: str
    created_at: str
    enabled: bool = True


class DeploymentKeyCreateRequest(WireModel):
    label: str = Field(min_length=1, max_length=KEY_LABEL_MAX_LENGTH)


class DeploymentListResponse(WireModel):
    deployments: list[Deployment]


class DeploymentResponse(WireModel):
    deployment: Deployment


class DeploymentKeyListResponse(WireModel):
    keys: list[DeploymentKey]


class DeploymentKeyCreateResponse(WireModel):
    key: CreatedDeploymentKey
