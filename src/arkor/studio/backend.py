"""How Studio reaches the training backend: credentials, project state, a client, error mapping.

Every request reads the credentials once and derives the base URL from that snapshot (env
`ARKOR_CLOUD_API_URL`, else the credentials' stamp, else the embedded local backend, started on
demand). Read paths never mint credentials or create projects; write paths that need a project
(chat, creating an endpoint) bootstrap one for an anonymous user, as the SDK does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi.responses import JSONResponse

from arkor.sdk.client import AsyncCloudApiClient
from arkor.sdk.credentials import default_cloud_api_url, ensure_credentials, read_credentials
from arkor.sdk.errors import (
    AnonymousTokenRejectedError,
    ApiConnectionError,
    CloudApiError,
    ProjectStateMismatchError,
    ProjectStateMissingError,
)
from arkor.sdk.state import ProjectState, ensure_project_state_async, read_state

logger = logging.getLogger(__name__)

NO_STATE_MESSAGE = (
    "No usable .arkor/state.json for this workspace (missing or invalid). "
    "Run training once (or chat in the Playground) to create the project."
)


@dataclass
class Connection:
    client: AsyncCloudApiClient
    credentials: dict[str, Any]
    state: ProjectState | None


def usable_state(project_dir: Path, credentials: dict[str, Any] | None) -> ProjectState | None:
    """The project state if it belongs to these credentials (a stale anonymous one reads as None)."""
    state = read_state(project_dir)
    if state is None or credentials is None:
        return None
    if credentials.get("mode") != "oauth" and state.org_slug != credentials.get("orgSlug"):
        return None
    return state


async def connect(project_dir: Path, *, mint: bool) -> Connection | None:
    """A client for the backend. With `mint=False` and no credentials on file, None."""
    credentials = await anyio.to_thread.run_sync(ensure_credentials if mint else read_credentials)
    if credentials is None:
        return None
    base_url = await anyio.to_thread.run_sync(default_cloud_api_url, credentials)
    client = AsyncCloudApiClient(base_url, credentials)
    return Connection(client, credentials, usable_state(project_dir, credentials))


async def connect_with_project(project_dir: Path) -> Connection:
    """A client and a project state, bootstrapping an anonymous project when there is none.

    Raises:
        ProjectStateMismatchError: the state belongs to another anonymous org (never overwritten).
    """
    connection = await connect(project_dir, mint=True)
    assert connection is not None
    if connection.state is None:
        connection.state = await ensure_project_state_async(
            cwd=project_dir, client=connection.client, credentials=connection.credentials
        )
    return connection


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def error_response(exc: BaseException) -> JSONResponse:
    """The JSON answer for a failure talking to the backend. Unexpected errors stay opaque."""
    if isinstance(exc, CloudApiError):
        return error(exc.status, exc.message)
    if isinstance(exc, ProjectStateMismatchError):
        return error(409, str(exc))
    if isinstance(exc, ProjectStateMissingError):
        return error(400, str(exc))
    if isinstance(exc, AnonymousTokenRejectedError):
        return error(502, str(exc))
    if isinstance(exc, ApiConnectionError):
        logger.warning("Studio could not reach the backend: %s", exc)
        return error(502, "Studio backend unavailable")
    from arkor.sdk.local_backend import LocalBackendError

    if isinstance(exc, LocalBackendError):
        return error(503, str(exc))
    logger.exception("Studio backend error", exc_info=exc)
    return error(500, "Studio backend error")
