"""Small helpers shared by the backend's modules: ids, secrets, hashing and timestamps."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

# No 0/O, 1/l/I: ids are read aloud and typed from screenshots.
_ID_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"


def new_id(prefix: str, length: int = 16) -> str:
    """An opaque id such as `job_k3x9...` (prefix + `_` + non-confusable characters)."""
    return f"{prefix}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_token(prefix: str = "ark") -> str:
    """A bearer secret; only its sha256 is ever stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_now() -> str:
    """Fixed-width ISO-8601 UTC with microseconds, so strings sort like times."""
    return format_time(utc_now())


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
