"""Operations endpoints of the backend."""

from __future__ import annotations

from ._base import WireModel


class HealthResponse(WireModel):
    """Answer to `GET /healthz`: the process is up and its database answers."""

    ok: bool = True
    version: str
