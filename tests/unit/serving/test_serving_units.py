"""Pure parts of serving: OpenAI request mapping, deployment wire validation, key presentation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from arkor.protocol import Deployment, DeploymentCreateRequest, DeploymentKey, DeploymentUpdateRequest
from arkor.server.routes.serving import OpenAIError, chat_request_from_openai

MESSAGES = [{"role": "user", "content": "hi"}]


def test_openai_body_maps_onto_the_inference_request() -> None:
    request = chat_request_from_openai(
        {
            "model": "gpt-4o",
            "messages": MESSAGES,
            "max_completion_tokens": 7,
            "top_p": 0.5,
            "user": "u1",
            "structured_outputs": {"regex": "a+"},
        }
    )
    assert request.max_tokens == 7 and request.top_p == 0.5 and request.stream is False
    assert request.structured_outputs is not None and request.structured_outputs.regex == "a+"
    assert chat_request_from_openai({"messages": MESSAGES, "stream": True}).stream is True


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([], "JSON object"),
        ({"messages": MESSAGES, "n": 3}, "n=1"),
        ({"messages": []}, "messages"),
        ({"messages": MESSAGES, "temperature": 9}, "temperature"),
    ],
)
def test_bad_openai_bodies_are_openai_400s(body, needle) -> None:
    with pytest.raises(OpenAIError) as info:
        chat_request_from_openai(body)
    assert info.value.status == 400 and needle in info.value.message
    assert info.value.response().status_code == 400


def test_create_request_validation() -> None:
    target = {"kind": "base_model", "baseModel": "m"}
    assert (
        DeploymentCreateRequest.model_validate({"slug": "ok-1", "target": target, "authMode": "none"}).retention is None
    )
    for body in (
        {"slug": "ok", "target": {"kind": "adapter", "adapter": {"kind": "final"}}, "authMode": "none"},
        {"slug": "ok", "target": target, "authMode": "none", "retention": {"runRetentionMode": "forever"}},
        {
            "slug": "ok",
            "target": target,
            "authMode": "none",
            "retention": {"runRetentionMode": "unlimited", "runRetentionDays": 2},
        },
    ):
        with pytest.raises(ValidationError):
            DeploymentCreateRequest.model_validate(body)
    assert DeploymentUpdateRequest.model_validate({"enabled": False}).target is None


def test_reserved_fields_are_always_on_the_wire() -> None:
    deployment = Deployment(
        id="d",
        slug="ab",
        org_id="o",
        project_id="p",
        target={"kind": "base_model", "baseModel": "m"},
        auth_mode="none",
        enabled=True,
        created_at="t",
        updated_at="t",
    )
    wire = deployment.to_wire()
    assert wire["customDomain"] is None and wire["target"] == {"kind": "base_model", "baseModel": "m"}
    assert (
        DeploymentKey(id="k", label="l", prefix="ark_live_x", enabled=True, created_at="t").to_wire()["lastUsedAt"]
        is None
    )
