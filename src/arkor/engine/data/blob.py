"""Downloading a `blob` dataset (an http(s) URL) once into `cache_dir()/datasets/`, atomically.

A download is reused only for the same URL, the same token and the same tenant (`DatasetAccess.
cache_scope`). Redirects are followed by hand so each hop's host is checked (`blob_addresses`); the
connection goes to the checked address, with the host name for TLS and `Host`, so a second DNS answer
cannot point it elsewhere. The token goes to the URL's own origin only and never into a message; the
size is capped and the whole download has a deadline; failures do not echo what the origin said.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from arkor._env import cache_dir
from arkor.errors import ConfigError, DatasetIssue, DatasetValidationError
from arkor.protocol import DatasetAccess

from .access import blob_addresses, local_access, redact_url
from .readers import extension_of

logger = logging.getLogger(__name__)

# Defaults when no DatasetAccess says otherwise (a local run): the size cap and the whole download's
# deadline (seconds).
BLOB_MAX_BYTES = 2 * 1024**3
BLOB_TIMEOUT_S = 300.0
BLOB_MAX_REDIRECTS = 5


def blob_cache_path(url: str, *, token: str | None = None, scope: str | None = None) -> Path:
    """Where a blob's bytes are kept: `cache_dir()/datasets/<sha256(url, token, scope)><ext>`. A download
    is reused only for the same URL with the same credentials for the same tenant: a cached private
    file must never answer a request that could not have fetched it."""
    key = json.dumps([url, hashlib.sha256((token or "").encode()).hexdigest(), scope or ""])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return cache_dir() / "datasets" / f"{digest}{extension_of(url)}"


def _download_failed(url: str, reason: str) -> DatasetValidationError:
    return DatasetValidationError(
        [DatasetIssue(f"download failed: {reason}", path=redact_url(url))],
        summary="Could not download the blob dataset",
    )


def download_blob(url: str, *, token: str | None = None, access: DatasetAccess | None = None) -> Path:
    """Download `url` once (later calls with the same token and scope reuse the cached file). The token
    is sent as a bearer token to the URL's own origin only and never appears in messages. Redirects are
    followed by hand so each hop's host is checked; the connection goes to the checked address (with
    the host name for TLS and `Host`), so a second DNS answer cannot point it elsewhere. The file appears
    in the cache only when complete."""
    access = access or local_access()
    max_bytes = access.blob_max_bytes or BLOB_MAX_BYTES
    timeout = access.blob_timeout_s or BLOB_TIMEOUT_S
    target = blob_cache_path(url, token=token, scope=access.cache_scope)
    blob_addresses(url, allow_private=access.blob_allow_private)  # scheme and host, before any cache answer
    if target.is_file():
        logger.info("Using cached download of %s (%s)", redact_url(url), target)
        return target
    import httpx

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    deadline = time.monotonic() + timeout
    too_slow = f"the host could not be reached, or did not send the file within ARKOR_BLOB_TIMEOUT_S ({timeout:g} s)"
    current, origin = url, _origin(url)
    try:
        with os.fdopen(handle, "wb") as out:
            for _hop in range(BLOB_MAX_REDIRECTS + 1):
                host, port, addresses = blob_addresses(current, allow_private=access.blob_allow_private)
                headers = {"Authorization": f"Bearer {token}"} if token and _origin(current) == origin else {}
                location = _fetch_hop(
                    httpx,
                    current,
                    host,
                    port,
                    addresses[0],
                    headers,
                    out,
                    max_bytes=max_bytes,
                    deadline=deadline,
                    too_slow=too_slow,
                )
                if location is None:
                    break
                current = location
            else:
                raise _download_failed(url, f"more than {BLOB_MAX_REDIRECTS} redirects")
        os.replace(partial, target)
    except ConfigError as exc:  # a redirect to a refused host
        raise _download_failed(url, f"a redirect was refused: {exc}") from None
    except (httpx.HTTPError, OSError):
        raise _download_failed(url, too_slow) from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    logger.info("Downloaded %s to %s", redact_url(url), target)
    return target


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _fetch_hop(
    httpx: Any,
    url: str,
    host: str,
    port: int,
    address: str,
    headers: dict[str, str],
    out: Any,
    *,
    max_bytes: int,
    deadline: float,
    too_slow: str,
) -> str | None:
    """GET `url` from `address`; writes the body to `out` and returns None, or returns the redirect target."""
    parts = urlsplit(url)
    pinned_host = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{pinned_host}:{port}").geturl()
    default_port = 443 if parts.scheme.lower() == "https" else 80
    headers = {**headers, "Host": host if port == default_port else f"{host}:{port}"}
    remaining = max(0.1, deadline - time.monotonic())
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    with httpx.Client(timeout=httpx.Timeout(remaining), follow_redirects=False, trust_env=False) as client:
        with client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
            if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
                return urljoin(url, response.headers["location"])
            if response.status_code >= 300:
                hint = " (check dataset_source.token)" if response.status_code in (401, 403) else ""
                raise _download_failed(url, f"HTTP {response.status_code}{hint}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _download_failed(url, _over_cap(max_bytes))
            written = 0
            for chunk in response.iter_bytes():
                written += len(chunk)
                if written > max_bytes:
                    raise _download_failed(url, _over_cap(max_bytes))
                if time.monotonic() > deadline:
                    raise _download_failed(url, too_slow)
                out.write(chunk)
    return None


def _over_cap(max_bytes: int) -> str:
    return (
        f"the file is larger than {max_bytes:,} bytes, the limit of ARKOR_BLOB_MAX_BYTES; "
        "raise it on the server, or upload a smaller file"
    )
