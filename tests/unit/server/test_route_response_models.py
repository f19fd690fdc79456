"""The backend's OpenAPI document is its whole contract: every route declares what it answers, a
`response_model` for JSON, or a `response_class` (file, stream, text) with its content documented,
or 204 for no body. A route added without one fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from arkor.server.app import create_app
from arkor.server.settings import ServerSettings


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(ServerSettings(data_dir=tmp_path / "data"))
    yield app
    app.state.services.db.dispose()


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI 0.165 keeps those as one entry each)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from api_routes(router.routes)


def undeclared_routes(app: FastAPI) -> list[str]:
    """`METHOD path` of each documented route that does not say what it answers."""
    missing = []
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        model = route.response_model  # FastAPI infers `dict` from `-> dict`: that names no shape
        if (isinstance(model, type) and issubclass(model, BaseModel)) or route.status_code == 204:
            continue
        explicit_class = not isinstance(route.response_class, DefaultPlaceholder)
        documented = any(
            status in route.responses and route.responses[status].get("content")
            for status in (200, "200", route.status_code)
        )
        if explicit_class and documented:
            continue
        missing.extend(f"{method} {route.path}" for method in sorted(route.methods))
    return missing


def test_every_route_declares_its_answer(app: FastAPI) -> None:
    documented = {
        (method, route.path.replace(":path}", "}"))
        for route in api_routes(app.routes)
        if route.include_in_schema
        for method in route.methods
    }
    operations = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    assert documented == operations  # the walk sees every route of the document
    assert undeclared_routes(app) == []


def test_the_walk_catches_a_route_without_a_model() -> None:
    app = FastAPI()

    class Shape(BaseModel):
        ok: bool

    @app.get("/bare")
    def bare():  # type: ignore[no-untyped-def]
        return {}

    @app.get("/dict")
    def loose() -> dict:
        return {}

    @app.get("/typed", response_model=Shape)
    def typed() -> dict:
        return {"ok": True}

    @app.get(
        "/file",
        response_class=FileResponse,
        responses={200: {"content": {"application/zip": {}}}},
    )
    def file() -> FileResponse:
        return FileResponse(__file__)

    assert undeclared_routes(app) == ["GET /bare", "GET /dict"]


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    status = next(code for code in operation["responses"] if code.startswith("2"))
    return status, operation["responses"][status]


def test_each_operation_documents_a_success_body_with_a_schema(app: FastAPI) -> None:
    doc = app.openapi()
    vague = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            status, response = _success(operation)
            if status == "204":
                continue
            schemas = [media.get("schema") for media in response.get("content", {}).values()]
            if not schemas or any(not schema for schema in schemas):
                vague.append(f"{method.upper()} {path} ({status})")
    assert vague == []


def test_json_answers_name_their_protocol_model(app: FastAPI) -> None:
    doc = app.openapi()
    cases = {
        ("/v1/me", "get"): "MeResponse",
        ("/v1/jobs", "get"): "JobListResponse",
        ("/v1/jobs/{job_id}/cancel", "post"): "JobCancelResponse",
        ("/healthz", "get"): "HealthResponse",
        ("/internal/jobs/{job_id}/heartbeat", "post"): "HeartbeatResponse",
        ("/d/{slug}/v1/models", "get"): "ModelList",
    }
    for (path, method), model in cases.items():
        _, response = _success(doc["paths"][path][method])
        assert response["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    assert "OpenAIErrorBody" in doc["components"]["schemas"]


def test_errors_are_documented_as_they_are_sent(app: FastAPI) -> None:
    """Invalid input is answered 400 with an ErrorBody (never FastAPI's 422 shape), and OpenAI's
    envelope on the deployments' routes."""
    doc = app.openapi()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {path}"
            if not path.startswith(("/v1/", "/internal/", "/d/")):
                continue  # /healthz and /metrics take no input
            expected = "OpenAIErrorBody" if path.startswith("/d/") else "ErrorBody"
            schema = responses["4XX"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{expected}"}, f"{method} {path}"
            if path.startswith("/v1/"):
                assert "426" in responses, f"{method} {path}"
