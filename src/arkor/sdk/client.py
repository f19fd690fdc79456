"""`CloudApiClient` / `AsyncCloudApiClient`: the training backend's HTTP API, one method per route.

Each route is written once as a request builder plus a parser (`_route`); the sync and async
clients differ only in how they send. Every request carries `X-Arkor-Client: arkor/<version>`;
scoped routes take `scope` (a `ProjectState` or a mapping with `orgSlug`/`projectSlug`) as query
parameters. Non-2xx answers raise `CloudApiError`; a backend that cannot be reached raises
`ApiConnectionError` (`ApiTimeoutError` when it did not answer in time).

HTTP itself (timeouts, retries, error mapping) is `arkor.transport`'s: reads, deletes and a job
create that carries an idempotency key are retried on connection failures and 408/429/502/503/504
(honouring `Retry-After`); other writes only when the connection never opened. Event streams are
never retried here: `wait()` owns their reconnects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from arkor import __version__
from arkor.protocol import (
    LENIENT_READ,
    ArtifactListResponse,
    CheckpointListResponse,
    DatasetUploadResponse,
    DeploymentKeyCreateResponse,
    DeploymentKeyListResponse,
    DeploymentListResponse,
    DeploymentResponse,
    JobListResponse,
    JobResponse,
    MeResponse,
    ProjectListResponse,
    ProjectResponse,
)
from arkor.transport import (
    CLIENT_HEADER,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    NO_RETRY,
    AsyncTransport,
    RetryPolicy,
    Transport,
)

from ._errors_http import DeprecationNotice, error_from_body, record_deprecation

__all__ = [
    "CLIENT_HEADER",
    "DEFAULT_TIMEOUT",
    "AsyncCloudApiClient",
    "CloudApiClient",
    "bearer_token",
    "client_header_value",
    "scope_params",
]


def client_header_value() -> str:
    return f"arkor/{__version__}"


def bearer_token(credentials: Mapping[str, Any] | None) -> str | None:
    """The bearer token of stored credentials: `token` (anonymous) or `accessToken` (OAuth)."""
    if not credentials:
        return None
    token = credentials.get("accessToken") if credentials.get("mode") == "oauth" else credentials.get("token")
    return token or credentials.get("token") or credentials.get("accessToken")


def scope_params(scope: Any) -> dict[str, str]:
    """`{orgSlug, projectSlug}` query parameters of a ProjectState or a mapping (either spelling)."""
    if isinstance(scope, Mapping):
        org = scope.get("orgSlug", scope.get("org_slug"))
        project = scope.get("projectSlug", scope.get("project_slug"))
    else:
        org, project = scope.org_slug, scope.project_slug
    return {"orgSlug": str(org), "projectSlug": str(project)}


def _json(model: Any = None) -> Callable[[httpx.Response], Any]:
    """Parse an answer leniently, as the original's decoders do: only what the SDK needs is required."""

    def parse(response: httpx.Response) -> Any:
        data = response.json() if response.content else {}
        return model.model_validate(data, context=LENIENT_READ) if model is not None else data

    return parse


def _none(response: httpx.Response) -> None:
    return None


def _bytes(response: httpx.Response) -> bytes:
    return response.content


def _route(builder: Callable[..., tuple[httpx.Request, Callable[[httpx.Response], Any]]]) -> Any:
    """Make a method from a request builder; the client's `_send` decides sync vs async."""

    @functools.wraps(builder)
    def method(self: _BaseClient, *args: Any, **kwargs: Any) -> Any:
        request, parse = builder(self, *args, **kwargs)
        return self._send(request, parse)

    return method


class _BaseClient:
    """Request building, shared by both clients."""

    _transport: Transport | AsyncTransport

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        on_deprecation: Callable[[DeprecationNotice], Any] | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.credentials = credentials
        self._on_deprecation = on_deprecation
        self._options: dict[str, Any] = {
            "client_name": client_header_value(),
            "token": token or bearer_token(credentials),
            "timeout": timeout,
            "retry": retry,
        }
        self._base_url = base_url.rstrip("/")

    @property
    def base_url(self) -> str:
        """The backend's base URL, without a trailing slash."""
        return self._base_url

    @property
    def token(self) -> str | None:
        """The bearer token sent with every request (None: anonymous routes only)."""
        return self._transport.token

    def build_request(
        self,
        method: str,
        path: str,
        *,
        scope: Any = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """A request to this backend (header, token and timeout set); send it with `send_stream`."""
        query = dict(scope_params(scope)) if scope is not None else {}
        query.update(params or {})
        return self._transport.build_request(method, path, params=query, json=json, content=content, headers=headers)

    def _check(self, response: httpx.Response, body_text: str) -> None:
        record_deprecation(response, self._on_deprecation)
        if not response.is_success:
            raise error_from_body(response.status_code, body_text)

    def _send(self, request: httpx.Request, parse: Callable[[httpx.Response], Any]) -> Any:
        raise NotImplementedError

    # -- routes (reference 1.14 plus arkor's extensions) --------------------------------------

    @_route
    def get_me(self):  # type: ignore[no-untyped-def]
        return self.build_request("GET", "/v1/me"), _json(MeResponse)

    @_route
    def list_projects(self, org_slug: str):  # type: ignore[no-untyped-def]
        return self.build_request("GET", "/v1/projects", params={"orgSlug": org_slug}), _json(ProjectListResponse)

    @_route
    def create_project(self, *, org_slug: str, name: str, slug: str):  # type: ignore[no-untyped-def]
        req = self.build_request(
            "POST", "/v1/projects", params={"orgSlug": org_slug}, json={"name": name, "slug": slug}
        )
        return req, _json(ProjectResponse)

    @_route
    def create_job(self, *, scope: Any, name: str, config: Any, idempotency_key: str | None = None):  # type: ignore[no-untyped-def]
        wire_config = config.to_wire() if hasattr(config, "to_wire") else config
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        req = self.build_request(
            "POST", "/v1/jobs", scope=scope, json={"name": name, "config": wire_config}, headers=headers
        )
        return req, _json(JobResponse)

    @_route
    def list_jobs(self, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request("GET", "/v1/jobs", scope=scope), _json(JobListResponse)

    @_route
    def get_job(self, job_id: str, scope: Any, *, events: bool = False):  # type: ignore[no-untyped-def]
        """The job; with `events=True` its `events` too (every event the backend stored, as JSON)."""
        params = {"events": "true"} if events else None
        return self.build_request("GET", f"/v1/jobs/{_seg(job_id)}", scope=scope, params=params), _json(JobResponse)

    @_route
    def cancel_job(self, job_id: str, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request("POST", f"/v1/jobs/{_seg(job_id)}/cancel", scope=scope), _none

    @_route
    def resume_job(self, job_id: str, scope: Any):  # type: ignore[no-untyped-def]
        """Re-queue a failed or cancelled job to go on from its last checkpoint (409 otherwise)."""
        return self.build_request("POST", f"/v1/jobs/{_seg(job_id)}/resume", scope=scope), _json(JobResponse)

    @_route
    def list_artifacts(self, job_id: str, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request("GET", f"/v1/jobs/{_seg(job_id)}/artifacts", scope=scope), _json(ArtifactListResponse)

    @_route
    def download_artifact(self, job_id: str, pathname: str, scope: Any):  # type: ignore[no-untyped-def]
        path = "/".join(_seg(part) for part in pathname.split("/"))
        return self.build_request("GET", f"/v1/jobs/{_seg(job_id)}/artifacts/{path}", scope=scope), _bytes

    @_route
    def list_checkpoints(self, job_id: str, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request("GET", f"/v1/jobs/{_seg(job_id)}/checkpoints", scope=scope), _json(
            CheckpointListResponse
        )

    @_route
    def upload_dataset(self, scope: Any, *, content: bytes, filename: str):  # type: ignore[no-untyped-def]
        req = self.build_request(
            "POST",
            "/v1/datasets",
            scope=scope,
            content=content,
            headers={"X-Arkor-Filename": filename, "Content-Type": "application/octet-stream"},
        )
        return req, _json(DatasetUploadResponse)

    @_route
    def list_deployments(self, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request("GET", "/v1/endpoints", scope=scope), _json(DeploymentListResponse)

    @_route
    def get_deployment(self, deployment_id: str, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request("GET", f"/v1/endpoints/{_seg(deployment_id)}", scope=scope), _json(DeploymentResponse)

    @_route
    def create_deployment(self, scope: Any, body: Any):  # type: ignore[no-untyped-def]
        """Create an endpoint from a `DeploymentCreateRequest` (or its wire mapping)."""
        return self.build_request("POST", "/v1/endpoints", scope=scope, json=_body(body)), _json(DeploymentResponse)

    @_route
    def update_deployment(self, deployment_id: str, scope: Any, body: Any):  # type: ignore[no-untyped-def]
        """Change an endpoint with a `DeploymentUpdateRequest` (or its wire mapping)."""
        req = self.build_request("PATCH", f"/v1/endpoints/{_seg(deployment_id)}", scope=scope, json=_body(body))
        return req, _json(DeploymentResponse)

    @_route
    def delete_deployment(self, deployment_id: str, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request("DELETE", f"/v1/endpoints/{_seg(deployment_id)}", scope=scope), _none

    @_route
    def list_deployment_keys(self, deployment_id: str, scope: Any):  # type: ignore[no-untyped-def]
        def parse(response: httpx.Response) -> Any:
            data = _json()(response)
            for key in data.get("keys", []) if isinstance(data, dict) else []:
                if isinstance(key, dict):
                    key.pop("plaintext", None)  # shown once at creation only
            return DeploymentKeyListResponse.model_validate(data, context=LENIENT_READ)

        return self.build_request("GET", f"/v1/endpoints/{_seg(deployment_id)}/keys", scope=scope), parse

    @_route
    def create_deployment_key(self, deployment_id: str, scope: Any, *, label: str):  # type: ignore[no-untyped-def]
        req = self.build_request(
            "POST", f"/v1/endpoints/{_seg(deployment_id)}/keys", scope=scope, json={"label": label}
        )
        return req, _json(DeploymentKeyCreateResponse)

    @_route
    def revoke_deployment_key(self, deployment_id: str, key_id: str, scope: Any):  # type: ignore[no-untyped-def]
        return self.build_request(
            "DELETE", f"/v1/endpoints/{_seg(deployment_id)}/keys/{_seg(key_id)}", scope=scope
        ), _none

    # -- streamed routes: the caller owns (and closes) the response ------------------------------

    def event_stream_request(self, job_id: str, scope: Any, *, last_event_id: str | None = None) -> httpx.Request:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return self.build_request("GET", f"/v1/jobs/{_seg(job_id)}/events/stream", scope=scope, headers=headers)

    def chat_request(self, scope: Any, body: Mapping[str, Any]) -> httpx.Request:
        return self.build_request("POST", "/v1/inference/chat", scope=scope, json=dict(body))


def _body(body: Any) -> dict[str, Any]:
    return body.to_wire() if hasattr(body, "to_wire") else dict(body)


def _seg(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


class CloudApiClient(_BaseClient):
    """Blocking client. Use as a context manager or call `close()`."""

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, Any] | None = None,
        *,
        http_client: httpx.Client | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, credentials, **options)
        self._transport: Transport = Transport(self._base_url, http_client=http_client, **self._options)

    def _send(self, request: httpx.Request, parse: Callable[[httpx.Response], Any]) -> Any:
        response = self._transport.send(request)
        self._check(response, response.text)
        return parse(response)

    def send_stream(self, request: httpx.Request, *, retry: bool = True) -> httpx.Response:
        """Send and return the open response; the caller closes it.

        Args:
            retry: False sends once (a stream whose reader reconnects itself).

        Raises:
            CloudApiError: a non-2xx answer (the response is closed).
            ApiConnectionError: the backend could not be reached.
        """
        response = self._transport.send(request, stream=True, retry=None if retry else NO_RETRY)
        if not response.is_success:
            try:
                text = response.read().decode("utf-8", "replace")
            finally:
                response.close()
            self._check(response, text)
        record_deprecation(response, self._on_deprecation)
        return response

    def open_event_stream(self, job_id: str, scope: Any, *, last_event_id: str | None = None) -> httpx.Response:
        return self.send_stream(self.event_stream_request(job_id, scope, last_event_id=last_event_id), retry=False)

    def chat(self, scope: Any, body: Mapping[str, Any]) -> httpx.Response:
        return self.send_stream(self.chat_request(scope, body))

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> CloudApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncCloudApiClient(_BaseClient):
    """asyncio client with the same methods, each a coroutine."""

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, Any] | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, credentials, **options)
        self._transport: AsyncTransport = AsyncTransport(self._base_url, http_client=http_client, **self._options)

    async def _send(self, request: httpx.Request, parse: Callable[[httpx.Response], Any]) -> Any:  # type: ignore[override]
        response = await self._transport.send(request)
        self._check(response, response.text)
        return parse(response)

    async def send_stream(self, request: httpx.Request, *, retry: bool = True) -> httpx.Response:
        """`CloudApiClient.send_stream`, awaited."""
        response = await self._transport.send(request, stream=True, retry=None if retry else NO_RETRY)
        if not response.is_success:
            try:
                text = (await response.aread()).decode("utf-8", "replace")
            finally:
                await response.aclose()
            self._check(response, text)
        record_deprecation(response, self._on_deprecation)
        return response

    async def open_event_stream(self, job_id: str, scope: Any, *, last_event_id: str | None = None) -> httpx.Response:
        return await self.send_stream(
            self.event_stream_request(job_id, scope, last_event_id=last_event_id), retry=False
        )

    async def chat(self, scope: Any, body: Mapping[str, Any]) -> httpx.Response:
        return await self.send_stream(self.chat_request(scope, body))

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncCloudApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
