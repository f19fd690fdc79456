"""`/v1/endpoints`: deployments (CRUD) and their API keys, scoped to the caller's org and project.

Shapes are the original's (`{deployments}`, `{deployment}`, `{keys}`, `{key}`; DELETE is 204); key
plaintext appears only in the create response. Each enabled deployment is served at
`/d/<slug>/v1/chat/completions` (see `routes/serving.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from arkor.protocol import (
    DeploymentCreateRequest,
    DeploymentKeyCreateRequest,
    DeploymentKeyCreateResponse,
    DeploymentKeyListResponse,
    DeploymentListResponse,
    DeploymentResponse,
    DeploymentUpdateRequest,
)

from .. import deployments as store
from ..deps import ScopeDep, ServicesDep
from ..errors import V1_RESPONSES, validation_api_error
from ..wire import wire

router = APIRouter(tags=["deployments"], responses=V1_RESPONSES)


@router.get("/v1/endpoints", summary="List the project's deployments", response_model=DeploymentListResponse)
def list_endpoints(services: ServicesDep, scope: ScopeDep) -> JSONResponse:
    rows = store.list_deployments(services, scope)
    return wire(DeploymentListResponse(deployments=[store.deployment_wire(r) for r in rows]))


@router.post(
    "/v1/endpoints",
    status_code=201,
    summary="Create a deployment (409 `Slug already taken`; 400 for a reserved slug or a missing target)",
    response_model=DeploymentResponse,
)
def create_endpoint(services: ServicesDep, scope: ScopeDep, body: DeploymentCreateRequest) -> JSONResponse:
    row = store.create_deployment(services, scope, body)
    return wire(DeploymentResponse(deployment=store.deployment_wire(row)), status_code=201)


@router.get("/v1/endpoints/{deployment_id}", summary="One deployment", response_model=DeploymentResponse)
def get_endpoint(services: ServicesDep, scope: ScopeDep, deployment_id: str) -> JSONResponse:
    row = store.get_deployment(services, scope, deployment_id)
    return wire(DeploymentResponse(deployment=store.deployment_wire(row)))


@router.patch(
    "/v1/endpoints/{deployment_id}",
    summary="Partial update: target, authMode, enabled, retention (the slug is immutable)",
    response_model=DeploymentResponse,
)
def update_endpoint(
    services: ServicesDep,
    scope: ScopeDep,
    deployment_id: str,
    raw: dict[str, Any] = Body(..., description="DeploymentUpdateRequest"),
) -> JSONResponse:
    try:
        body = DeploymentUpdateRequest.model_validate(raw)
    except ValidationError as exc:
        raise validation_api_error(exc) from None
    row = store.update_deployment(services, scope, deployment_id, body, raw)
    return wire(DeploymentResponse(deployment=store.deployment_wire(row)))


@router.delete(
    "/v1/endpoints/{deployment_id}",
    status_code=204,
    summary="Delete a deployment and its keys",
    response_class=Response,
)
def delete_endpoint(services: ServicesDep, scope: ScopeDep, deployment_id: str) -> Response:
    store.delete_deployment(services, scope, deployment_id)
    return Response(status_code=204)


@router.get(
    "/v1/endpoints/{deployment_id}/keys",
    summary="The deployment's API keys (never their plaintext)",
    response_model=DeploymentKeyListResponse,
)
def list_endpoint_keys(services: ServicesDep, scope: ScopeDep, deployment_id: str) -> JSONResponse:
    rows = store.list_keys(services, scope, deployment_id)
    return wire(DeploymentKeyListResponse(keys=[store.key_wire(r) for r in rows]))


@router.post(
    "/v1/endpoints/{deployment_id}/keys",
    status_code=201,
    summary="Issue an API key; the plaintext is in this response only",
    response_model=DeploymentKeyCreateResponse,
)
def create_endpoint_key(
    services: ServicesDep, scope: ScopeDep, deployment_id: str, body: DeploymentKeyCreateRequest
) -> JSONResponse:
    key = store.create_key(services, scope, deployment_id, body.label)
    return wire(DeploymentKeyCreateResponse(key=key), status_code=201)


@router.delete(
    "/v1/endpoints/{deployment_id}/keys/{key_id}",
    status_code=204,
    summary="Revoke a key (it stays listed with enabled=false)",
    response_class=Response,
)
def revoke_endpoint_key(services: ServicesDep, scope: ScopeDep, deployment_id: str, key_id: str) -> Response:
    store.revoke_key(services, scope, deployment_id, key_id)
    return Response(status_code=204)
