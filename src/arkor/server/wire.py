"""The JSON answer of a route: a protocol model as its own wire JSON (`to_wire()`: camelCase, no
None values), sent as is. Routes also declare the model as their `response_model`, so the OpenAPI
document names the shape; a returned response is not serialised a second time by FastAPI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi.responses import JSONResponse


class WireShape(Protocol):
    def to_wire(self) -> dict[str, Any]: ...


def wire(body: WireShape, *, status_code: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.to_wire(), status_code=status_code, headers=headers)
