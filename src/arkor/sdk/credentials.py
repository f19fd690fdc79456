"""Credentials in `arkor_home()/credentials.json`, the anonymous token, and the backend's base URL.

Shapes (JSON, as the original): anonymous `{mode:"anon", token, anonymousId, arkorCloudApiUrl?,
orgSlug}`; OAuth `{mode:"oauth", accessToken, refreshToken, expiresAt, ...}`. No schema check on
read. Writes are atomic (unique temp file, 0600, rename). A corrupt file reads as None; a file that
exists but cannot be read re-raises, so a temporarily unreadable login is never overwritten.
Base URL: env `ARKOR_CLOUD_API_URL` (an empty value is honoured) > `credentials.arkorCloudApiUrl`
> the embedded local backend (started on demand).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import httpx

from arkor import _env
from arkor.protocol import LENIENT_READ, AnonymousTokenResponse
from arkor.transport import Transport

from ._errors_http import record_deprecation
from .client import client_header_value
from .errors import AnonymousTokenRejectedError

logger = logging.getLogger(__name__)

Credentials = dict[str, Any]
ENV_BASE_URL = "ARKOR_CLOUD_API_URL"


def credentials_path() -> Path:
    return _env.arkor_home() / "credentials.json"


def read_credentials() -> Credentials | None:
    """The stored credentials, or None when absent or not valid JSON. Other read errors propagate."""
    path = credentials_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def write_credentials(credentials: Credentials) -> None:
    """Write atomically with mode 0600 (a chmod failure only warns)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(credentials, indent=2) + "\n")
        try:
            os.chmod(temp, 0o600)
        except OSError as exc:
            _warn(f"arkor: warning: could not set permissions on {path}: {exc}")
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def _warn(message: str) -> None:
    # The original writes these to stderr; through logging a library caller can silence them.
    logger.warning(message)


def _strip(url: str) -> str:
    return url.rstrip("/")


def default_cloud_api_url(credentials: Credentials | None = None) -> str:
    """Where the backend is: env, then the credentials' stamp, then the embedded local backend."""
    if ENV_BASE_URL in os.environ:
        return _strip(os.environ[ENV_BASE_URL])
    if credentials is not None and isinstance(credentials.get("arkorCloudApiUrl"), str):
        return _strip(credentials["arkorCloudApiUrl"])
    from .local_backend import ensure_local_backend

    return _strip(ensure_local_backend())


def request_anonymous_token(
    base_url: str, kind: str = "cli", *, http_client: httpx.Client | None = None
) -> dict[str, Any]:
    """Mint an anonymous identity: `{token, anonymousId, kind, orgSlug}`.

    Raises:
        AnonymousTokenRejectedError: non-2xx answer (status and first 500 chars of the body).
        ApiConnectionError: the backend could not be reached (the URL is named).
    """
    with Transport(base_url, client_name=client_header_value(), timeout=30.0, http_client=http_client) as transport:
        response = transport.send(transport.build_request("POST", "/v1/auth/anonymous", json={"kind": kind}))
    record_deprecation(response, None)
    if not response.is_success:
        raise AnonymousTokenRejectedError(response.status_code, response.text)
    parsed = AnonymousTokenResponse.model_validate(response.json(), context=LENIENT_READ)
    return {
        "token": parsed.token,
        "anonymousId": parsed.anonymous_id,
        "kind": parsed.kind,
        "orgSlug": parsed.personal_org.slug,
    }


def ensure_credentials() -> Credentials:
    """Existing credentials, else a fresh anonymous identity (persisted).

    A corrupt file is replaced with a warning; an unreadable one raises (never overwritten).
    """
    existing = read_credentials()
    if existing is not None:
        return existing
    path = credentials_path()
    if path.exists():
        _warn(f"arkor: warning: {path} could not be parsed and is being replaced. Run `arkor login` to sign in again.")
    from_env = ENV_BASE_URL in os.environ
    base_url = default_cloud_api_url()
    minted = request_anonymous_token(base_url, "cli")
    credentials: Credentials = {
        "mode": "anon",
        "token": minted["token"],
        "anonymousId": minted["anonymousId"],
        "orgSlug": minted["orgSlug"],
    }
    # The embedded backend listens on a new port each start, so only an explicit URL is stamped.
    if from_env:
        credentials["arkorCloudApiUrl"] = base_url
    write_credentials(credentials)
    return credentials
