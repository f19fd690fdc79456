"""Studio's deployments proxy: create-body checks and the absolute endpoint URL it adds."""

from __future__ import annotations

from arkor.studio.routes_deployments import create_body_problems, with_endpoint_urls

FINAL = {"kind": "adapter", "adapter": {"kind": "final", "jobId": "job_1"}}


def test_create_body_needs_slug_target_and_auth_mode():
    assert create_body_problems({"slug": "my-ep", "target": FINAL, "authMode": "none"}) == []
    problems = create_body_problems({"slug": "my-ep", "target": FINAL})
    assert problems == ["authMode: required, one of none, fixed_api_key"]
    checkpoint = {"kind": "adapter", "adapter": {"kind": "checkpoint", "jobId": "job_1"}}
    assert any(
        p.startswith("target.adapter.step")
        for p in create_body_problems({"slug": "my-ep", "target": checkpoint, "authMode": "none"})
    )


def test_endpoint_url_is_the_backend_base_plus_the_served_path():
    one = with_endpoint_urls({"deployment": {"slug": "a1", "url": "/d/a1/v1"}}, "http://127.0.0.1:9/")
    assert one["deployment"]["endpointUrl"] == "http://127.0.0.1:9/d/a1/v1"
    listed = with_endpoint_urls({"deployments": [{"slug": "b2"}]}, "http://h:1")
    assert listed["deployments"][0]["endpointUrl"] == "http://h:1/d/b2/v1"
    assert with_endpoint_urls(None, "http://h:1") is None and with_endpoint_urls({}, "http://h:1") == {}
