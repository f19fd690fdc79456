"""`/v1/endpoints` CRUD and keys on a real backend: the original's shapes, validation and tenancy."""

from __future__ import annotations

import hashlib

from serving_helpers import Api, Served
from sqlalchemy import select

from arkor.server.models import DeploymentKeyRow


def final_target(job_id: str) -> dict:
    return {"kind": "adapter", "adapter": {"kind": "final", "jobId": job_id}}


def test_create_get_list_update_delete(served: Served) -> None:
    api = served.api
    created = api.create_deployment("crud-one", final_target(served.job_id), "fixed_api_key")
    assert created.status_code == 201, created.text
    deployment = created.json()["deployment"]
    assert deployment["slug"] == "crud-one" and deployment["urlFormat"] == "openai_compat"
    assert deployment["enabled"] is True and deployment["customDomain"] is None
    assert deployment["runRetentionMode"] == "days" and deployment["runRetentionDays"] == 7
    assert deployment["target"] == final_target(served.job_id)
    assert {"id", "orgId", "projectId", "authMode", "createdAt", "updatedAt"} <= deployment.keys()
    dep_id = deployment["id"]

    assert api.http.get(f"/v1/endpoints/{dep_id}", params=api.scope).json()["deployment"]["id"] == dep_id
    assert dep_id in [d["id"] for d in api.http.get("/v1/endpoints", params=api.scope).json()["deployments"]]

    patched = api.http.patch(
        f"/v1/endpoints/{dep_id}",
        params=api.scope,
        json={
            "enabled": False,
            "authMode": "none",
            "retention": {"runRetentionMode": "unlimited"},
            "target": {"kind": "adapter", "adapter": {"kind": "checkpoint", "jobId": served.job_id, "step": 2}},
        },
    )
    assert patched.status_code == 200, patched.text
    updated = patched.json()["deployment"]
    assert updated["enabled"] is False and updated["authMode"] == "none"
    assert updated["runRetentionMode"] == "unlimited" and updated.get("runRetentionDays") is None
    assert updated["target"]["adapter"] == {"kind": "checkpoint", "jobId": served.job_id, "step": 2}

    slug_change = api.http.patch(f"/v1/endpoints/{dep_id}", params=api.scope, json={"slug": "other"})
    assert slug_change.status_code == 400 and "slug" in slug_change.json()["error"]

    assert api.http.delete(f"/v1/endpoints/{dep_id}", params=api.scope).status_code == 204
    assert api.http.get(f"/v1/endpoints/{dep_id}", params=api.scope).status_code == 404


def test_slug_rules_and_uniqueness(served: Served) -> None:
    api = served.api
    target = {"kind": "base_model", "baseModel": "arkor/tiny-test"}
    for bad in ("a", "-ab", "ab-", "Ab", "a_b", "x" * 51):
        response = api.create_deployment(bad, target)
        assert response.status_code == 400, (bad, response.text)
        assert "slug" in response.json()["error"]
    for reserved in ("www", "api", "admin", "app", "studio"):
        response = api.create_deployment(reserved, target)
        assert response.status_code == 400 and "reserved" in response.json()["error"], reserved
    assert api.create_deployment("ab", target).status_code == 201
    taken = api.create_deployment("ab", target)
    assert taken.status_code == 409 and taken.json()["error"] == "Slug already taken"
    # Slugs name public URLs, so another org cannot take one either.
    other = Api(served.api.url, project="other")
    assert other.create_deployment("ab", target).status_code == 409


def test_target_and_retention_validation(served: Served) -> None:
    api = served.api
    missing_job = api.create_deployment("no-job", final_target("job_doesnotexist"))
    assert missing_job.status_code == 404 and "job_doesnotexist" in missing_job.json()["error"]
    missing_step = api.create_deployment(
        "no-step", {"kind": "adapter", "adapter": {"kind": "checkpoint", "jobId": served.job_id, "step": 99}}
    )
    assert missing_step.status_code == 404 and "step 99" in missing_step.json()["error"]
    no_step = api.create_deployment(
        "no-step", {"kind": "adapter", "adapter": {"kind": "checkpoint", "jobId": served.job_id}}
    )
    assert no_step.status_code == 400
    unknown_model = api.create_deployment("bad-model", {"kind": "base_model", "baseModel": "acme/none"})
    assert unknown_model.status_code == 400 and "baseModel" in unknown_model.json()["error"]
    bad_kind = api.create_deployment("bad-kind", {"kind": "weights"})
    assert bad_kind.status_code == 400
    bad_auth = api.create_deployment("bad-auth", final_target(served.job_id), "oauth")
    assert bad_auth.status_code == 400 and "authMode" in bad_auth.json()["error"]
    for retention in (
        {"runRetentionMode": "days"},
        {"runRetentionMode": "days", "runRetentionDays": 0},
        {"runRetentionMode": "disabled", "runRetentionDays": 3},
    ):
        response = api.create_deployment("bad-ret", final_target(served.job_id), retention=retention)
        assert response.status_code == 400, (retention, response.text)
    ok = api.create_deployment(
        "ret-30", final_target(served.job_id), retention={"runRetentionMode": "days", "runRetentionDays": 30}
    )
    assert ok.status_code == 201 and ok.json()["deployment"]["runRetentionDays"] == 30


def test_other_org_sees_404(served: Served) -> None:
    api = served.api
    dep_id = api.create_deployment("mine-only", final_target(served.job_id)).json()["deployment"]["id"]
    stranger = Api(served.api.url, project="proj")
    for method, path in (
        ("GET", f"/v1/endpoints/{dep_id}"),
        ("PATCH", f"/v1/endpoints/{dep_id}"),
        ("DELETE", f"/v1/endpoints/{dep_id}"),
        ("GET", f"/v1/endpoints/{dep_id}/keys"),
        ("POST", f"/v1/endpoints/{dep_id}/keys"),
    ):
        response = stranger.http.request(
            method, path, params=stranger.scope, json={"label": "x"} if method != "GET" else None
        )
        assert response.status_code == 404, (method, path, response.text)
    assert stranger.http.get("/v1/endpoints", params=stranger.scope).json()["deployments"] == []
    # Nor can a stranger deploy our job.
    assert stranger.create_deployment("steal", final_target(served.job_id)).status_code == 404


def test_keys_are_shown_once_and_stored_hashed(served: Served) -> None:
    api = served.api
    dep_id = api.create_deployment("keyed", final_target(served.job_id), "fixed_api_key").json()["deployment"]["id"]
    for label in ("", "   ", "x" * 81):
        assert api.http.post(f"/v1/endpoints/{dep_id}/keys", params=api.scope, json={"label": label}).status_code == 400
    created = api.http.post(f"/v1/endpoints/{dep_id}/keys", params=api.scope, json={"label": " ci "})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key["plaintext"].startswith("ark_live_") and len(key["plaintext"]) > 30
    assert key["label"] == "ci" and key["plaintext"].startswith(key["prefix"]) and 12 <= len(key["prefix"]) < 20

    listed = api.http.get(f"/v1/endpoints/{dep_id}/keys", params=api.scope).json()["keys"]
    assert len(listed) == 1 and "plaintext" not in listed[0]
    assert listed[0] == {
        "id": key["id"],
        "label": "ci",
        "prefix": key["prefix"],
        "enabled": True,
        "createdAt": key["createdAt"],
        "lastUsedAt": None,
    }
    with served.server.app.state.services.db.read() as session:
        stored = session.execute(select(DeploymentKeyRow).where(DeploymentKeyRow.id == key["id"])).scalar_one()
    assert stored.key_hash == hashlib.sha256(key["plaintext"].encode()).hexdigest()
    assert key["plaintext"] not in {stored.key_hash, stored.prefix}

    assert api.http.delete(f"/v1/endpoints/{dep_id}/keys/{key['id']}", params=api.scope).status_code == 204
    revoked = api.http.get(f"/v1/endpoints/{dep_id}/keys", params=api.scope).json()["keys"]
    assert revoked[0]["enabled"] is False
    assert api.http.delete(f"/v1/endpoints/{dep_id}/keys/key_nope", params=api.scope).status_code == 404
