"""The one place HTTP errors take shape: `{"error": "<message>", ...}` (the original's flat envelope).

Routes raise `ApiError`; pydantic and FastAPI validation failures become 400s that name the field
(`config.loraR must be greater than 0`); anything unexpected becomes a 500 without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from arkor.protocol import ErrorBody, UpgradeRequiredBody

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status and a message meant for the caller."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(error=message, code=code, param=param, details=details)
        self.headers = headers


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorBody,
        "description": "Refused: `error` says why and what to do; `param` names the field. "
        "Invalid input is 400 (not 422), with one entry per problem in `details`.",
    },
}
"""The documented error answers of every route that raises ApiError (the handlers below shape them)."""

V1_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    426: {"model": UpgradeRequiredBody, "description": "No `X-Arkor-Client: arkor/<version>` header"},
}
"""ERROR_RESPONSES plus the 426 every `/v1` route answers a client that does not say who it is."""


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", code="not_found")


def _field_path(loc: Iterable[Any], prefix: str = "") -> str:
    parts = [str(part) for part in loc if part not in ("body",)]
    text = ""
    for part in parts:
        if part.isdigit():
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return f"{prefix}{text}" if prefix and text else (prefix.rstrip(".") or text)


def _phrase(message: str) -> str:
    # pydantic says "Input should be greater than 0"; a field name reads better with "must be".
    for lead in ("Input should be ", "Value should be "):
        if message.startswith(lead):
            return "must be " + message[len(lead) :]
    if message.startswith("Value error, "):
        return message[len("Value error, ") :]
    if message == "Field required":
        return "is required"
    return message[:1].lower() + message[1:]


def describe_validation_errors(errors: Iterable[Mapping[str, Any]], prefix: str = "") -> tuple[str, list[str]]:
    """(`summary`, every problem) for pydantic errors, each naming its field by its wire name."""
    problems = []
    for error in errors:
        loc = list(error.get("loc", ()))
        # Drop discriminated-union tags (e.g. `file`, `function-after[...]`) pydantic inserts in locations.
        loc = [part for part in loc if not (isinstance(part, str) and ("[" in part or part in _UNION_TAGS))]
        field = _field_path(loc, prefix)
        problems.append(f"{field} {_phrase(str(error.get('msg', 'is invalid')))}".strip())
    summary = problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems)
    return summary, problems


_UNION_TAGS = {"huggingface", "blob", "file", "uploaded", "str", "int", "list[str]"}


def validation_api_error(exc: ValidationError, prefix: str = "") -> ApiError:
    summary, problems = describe_validation_errors(exc.errors(), prefix)
    first_loc = exc.errors()[0].get("loc", ()) if exc.errors() else ()
    return ApiError(
        400, summary, code="invalid_request", param=_field_path(first_loc, prefix) or None, details=problems
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body.to_wire(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for error in exc.errors():
            loc = list(error.get("loc", ()))
            if loc and loc[0] in ("query", "header", "path", "body"):
                loc = loc[1:]
            errors.append({**error, "loc": loc})
        summary, problems = describe_validation_errors(errors)
        body = ErrorBody(error=summary, code="invalid_request", details=problems)
        return JSONResponse(body.to_wire(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return JSONResponse(ErrorBody(error=message).to_wire(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(ErrorBody(error="internal server error", code="internal").to_wire(), status_code=500)
