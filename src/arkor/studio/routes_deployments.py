"""Studio's `/api/deployments*` routes: a checked proxy to the backend's `/v1/endpoints`.

Bodies are checked here before anything is created, so a bad create never bootstraps an orphan
project. Reads and mutations without project state answer 404 without minting credentials; only
create bootstraps an anonymous project. A 204 from upstream becomes `200 {}`.

Every deployment answered to the page carries `endpointUrl`: the absolute OpenAI base URL
(`<backend base URL>/d/<slug>/v1`). The backend only knows its own path (`url`), and the page runs
on Studio's origin, so only this proxy can say where clients must point.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from arkor.protocol import WireModel
from arkor.sdk.errors import CloudApiError

from .backend import NO_STATE_MESSAGE, Connection, connect, connect_with_project, error, error_response

router = APIRouter()

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
AUTH_MODES = ("none", "fixed_api_key")


def _project_dir(request: Request) -> Any:
    return request.app.state.studio.project_dir


async def _parse(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        raise _BadBody("Invalid JSON body") from None


class _BadBody(Exception):
    pass


def create_body_problems(body: Any) -> list[str]:
    """Problems of a create body, each `<path>: <message>` (empty when it is fine)."""
    if not isinstance(body, dict):
        return ["(root): must be a JSON object"]
    problems = []
    slug = body.get("slug")
    if not isinstance(slug, str) or not (2 <= len(slug) <= 50) or not _SLUG.match(slug):
        problems.append("slug: 2-50 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
    target = body.get("target")
    if not isinstance(target, dict) or target.get("kind") not in ("adapter", "base_model"):
        problems.append("target: must be {kind: 'adapter', adapter: {...}} or {kind: 'base_model', baseModel}")
    elif target["kind"] == "base_model" and not (isinstance(target.get("baseModel"), str) and target["baseModel"]):
        problems.append("target.baseModel: required for a base_model target")
    elif target["kind"] == "adapter":
        adapter = target.get("adapter")
        if (
            not isinstance(adapter, dict)
            or adapter.get("kind") not in ("final", "checkpoint")
            or not adapter.get("jobId")
        ):
            problems.append("target.adapter: must be {kind: 'final'|'checkpoint', jobId[, step]}")
        elif adapter["kind"] == "checkpoint" and not isinstance(adapter.get("step"), int):
            problems.append("target.adapter.step: required (an integer) for a checkpoint")
    if body.get("authMode") not in AUTH_MODES:  # required upstream too; checked here so nothing is bootstrapped
        problems.append(f"authMode: required, one of {', '.join(AUTH_MODES)}")
    return problems


def with_endpoint_urls(result: Any, base_url: str) -> Any:
    """The upstream answer with `endpointUrl` added to each deployment it carries."""
    if not isinstance(result, dict):
        return result
    deployments = result.get("deployments")
    found = deployments if isinstance(deployments, list) else [result.get("deployment")]
    for deployment in found:
        if isinstance(deployment, dict) and isinstance(deployment.get("slug"), str):
            path = deployment.get("url") or f"/d/{deployment['slug']}/v1"
            deployment["endpointUrl"] = base_url.rstrip("/") + path if path.startswith("/") else path
    return result


def _as_json(result: Any) -> Any:
    """The SDK's typed answer as the page reads it: the fields the backend sent, nulls included."""
    if isinstance(result, WireModel):
        return result.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return result


async def _call(request: Request, call: Any, *, bootstrap: bool = False, empty_list: bool = False) -> Response:
    try:
        connection: Connection | None
        if bootstrap:
            connection = await connect_with_project(_project_dir(request))
        else:
            connection = await connect(_project_dir(request), mint=False)
            if connection is None or connection.state is None:
                if connection is not None:
                    await connection.client.aclose()
                if empty_list:
                    return JSONResponse({"deployments": [], "scopeMissing": True})
                return error(404, NO_STATE_MESSAGE)
        async with connection.client as client:
            result = with_endpoint_urls(_as_json(await call(client, connection.state)), client.base_url)
        return JSONResponse(result if result is not None else {})
    except Exception as exc:
        return error_response(exc)


@router.get("/api/deployments")
async def list_deployments(request: Request) -> Response:
    async def call(client: Any, state: Any) -> Any:
        try:
            return await client.list_deployments(state)
        except CloudApiError as exc:
            if exc.status != 404:
                raise
            # A list has no id to miss: 404 means this backend does not serve endpoints (yet).
            return {"deployments": [], "unavailable": f"This training backend does not serve endpoints: {exc.message}"}

    return await _call(request, call, empty_list=True)


@router.post("/api/deployments")
async def create_deployment(request: Request) -> Response:
    try:
        body = await _parse(request)
    except _BadBody as exc:
        return error(400, str(exc))
    problems = create_body_problems(body)
    if problems:
        return error(400, "Invalid deployment create body: " + "; ".join(problems))
    return await _call(request, lambda c, s: c.create_deployment(s, body), bootstrap=True)


@router.get("/api/deployments/{deployment_id}")
async def get_deployment(request: Request, deployment_id: str) -> Response:
    return await _call(request, lambda c, s: c.get_deployment(deployment_id, s))


@router.patch("/api/deployments/{deployment_id}")
async def update_deployment(request: Request, deployment_id: str) -> Response:
    try:
        body = await _parse(request)
    except _BadBody as exc:
        return error(400, str(exc))
    if not isinstance(body, dict):
        return error(400, "Deployment update body must be a JSON object.")
    if "authMode" in body and body["authMode"] not in AUTH_MODES:
        return error(400, f"authMode: must be one of {', '.join(AUTH_MODES)}")
    return await _call(request, lambda c, s: c.update_deployment(deployment_id, s, body))


@router.delete("/api/deployments/{deployment_id}")
async def delete_deployment(request: Request, deployment_id: str) -> Response:
    return await _call(request, lambda c, s: c.delete_deployment(deployment_id, s))


@router.get("/api/deployments/{deployment_id}/keys")
async def list_keys(request: Request, deployment_id: str) -> Response:
    return await _call(request, lambda c, s: c.list_deployment_keys(deployment_id, s))


@router.post("/api/deployments/{deployment_id}/keys")
async def create_key(request: Request, deployment_id: str) -> Response:
    try:
        body = await _parse(request)
    except _BadBody as exc:
        return error(400, str(exc))
    label = body.get("label") if isinstance(body, dict) else None
    label = label.strip() if isinstance(label, str) else ""
    if not (1 <= len(label) <= 80):
        return error(400, "Key create body must include a non-empty `label` string (1-80 chars).")
    return await _call(request, lambda c, s: c.create_deployment_key(deployment_id, s, label=label))


@router.delete("/api/deployments/{deployment_id}/keys/{key_id}")
async def revoke_key(request: Request, deployment_id: str, key_id: str) -> Response:
    return await _call(request, lambda c, s: c.revoke_deployment_key(deployment_id, key_id, s))
