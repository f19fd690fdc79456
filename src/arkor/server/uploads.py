"""Receiving file bodies: stream a request into a file with its sha256, and safe artifact paths."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from .errors import ApiError

UPLOAD_PREFIX = ".upload-"  # temp files a crashed server leaves are removed at start by this name


def upload_too_large(max_bytes: int) -> ApiError:
    return ApiError(
        413,
        f"upload is larger than the limit of {max_bytes:,} bytes (ARKOR_MAX_UPLOAD_BYTES); "
        "raise ARKOR_MAX_UPLOAD_BYTES on the server, or send a smaller file",
        code="upload_too_large",
    )


async def receive_file(
    chunks: AsyncIterator[bytes], folder: Path, *, suffix: str, max_bytes: int, too_large: ApiError | None = None
) -> tuple[Path, str, int]:
    """Stream the body to a private (0600) temp file in `folder`, never holding more than one chunk;
    returns (path, sha256, size). Past `max_bytes`: `too_large` (default: a 413 naming ARKOR_MAX_UPLOAD_BYTES)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{UPLOAD_PREFIX}{secrets.token_hex(8)}{suffix}"
    digest = hashlib.sha256()
    size = 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise too_large or upload_too_large(max_bytes)
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def safe_pathname(pathname: str) -> PurePosixPath:
    """A relative artifact path with no `..`, no absolute root, no empty or hidden-temp parts."""
    if not pathname or "\\" in pathname or "\x00" in pathname or pathname.startswith("/"):
        raise ApiError(
            400,
            f"artifact path {pathname!r} must be a relative path like final/adapter_model.safetensors",
            param="pathname",
        )
    path = PurePosixPath(pathname)
    if path.is_absolute() or any(part in ("", ".", "..") for part in pathname.split("/")) or len(pathname) > 500:
        raise ApiError(
            400, f"artifact path {pathname!r} must be relative and must not contain '.' or '..' parts", param="pathname"
        )
    return path


def place(tmp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
