"""The HTTP contract: tenancy, validation errors, dataset upload, idempotency, the client header,
and the internal worker API's guards."""

from __future__ import annotations

import json

import httpx
from server_helpers import CLIENT_HEADER, Api, events_of


def test_two_orgs_cannot_see_each_other(api: Api, backend) -> None:  # type: ignore[no-untyped-def]
    job = api.submit("fake/fast", maxSteps=2, saveSteps=2)
    events_of(api.frames(job["id"]))  # let it finish, so it has artifacts and checkpoints
    other = Api(backend.url)
    job_id = job["id"]
    for method, path in [
        ("GET", f"/v1/jobs/{job_id}"),
        ("GET", f"/v1/jobs/{job_id}/events/stream"),
        ("GET", f"/v1/jobs/{job_id}/artifacts"),
        ("GET", f"/v1/jobs/{job_id}/artifacts/final/adapter_config.json"),
        ("GET", f"/v1/jobs/{job_id}/checkpoints"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
    ]:
        response = other.http.request(method, path, params=other.scope)
        assert response.status_code == 404, (path, response.text)
        assert job_id in response.json()["error"] and "not found" in response.json()["error"]
    chat = other.http.post(
        "/v1/inference/chat",
        params=other.scope,
        json={
            "messages": [{"role": "user", "content": "hi"}],
            "adapter": {"kind": "final", "jobId": job_id},
            "stream": False,
        },
    )
    assert chat.status_code == 404
    assert other.http.get("/v1/jobs", params=other.scope).json()["jobs"] == []
    # Naming the other org's slug does not help either.
    assert other.http.get("/v1/jobs", params=api.scope).status_code == 404
    assert other.http.get("/v1/projects", params={"orgSlug": api.org}).status_code == 404
    # The owner still sees it all.
    assert api.http.get(f"/v1/jobs/{job_id}/artifacts/final/adapter_config.json", params=api.scope).status_code == 200


def test_missing_or_bad_token_is_401(backend) -> None:  # type: ignore[no-untyped-def]
    http = httpx.Client(base_url=backend.url, headers=CLIENT_HEADER)
    assert http.get("/v1/me").status_code == 401
    response = http.get("/v1/me", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and "token" in response.json()["error"]


def test_missing_client_header_is_426_with_the_original_body(backend) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(backend.url + "/v1/auth/anonymous", json={"kind": "cli"})
    assert response.status_code == 426
    body = response.json()
    assert body["error"] == "sdk_version_unsupported" and body["reason"] == "missing"
    assert body["supportedRange"] and body["upgrade"]
    assert httpx.get(backend.url + "/healthz").json()["ok"] is True


def test_bad_job_config_is_400_naming_the_field(api: Api) -> None:
    def post(config: dict) -> httpx.Response:
        base = {"model": "fake/fast", "datasetSource": {"type": "huggingface", "name": "x"}}
        return api.http.post("/v1/jobs", params=api.scope, json={"name": "run", "config": {**base, **config}})

    response = post({"loraR": 0})
    assert response.status_code == 400 and response.json()["error"] == "config.loraR must be greater than 0"
    response = post({"learningRate": "fast"})
    assert response.status_code == 400 and response.json()["error"].startswith("config.learningRate ")
    response = post({"maxStep": 10})
    assert response.status_code == 400
    assert response.json()["error"] == "config.maxStep is not a known field. Did you mean `maxSteps`?"
    response = post({"datasetSource": {"type": "uploaded", "datasetId": "ds_missing"}})
    assert response.status_code == 400 and "ds_missing" in response.json()["error"]
    response = post({"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "loraLastLayers": 40})
    assert response.status_code == 400 and response.json()["param"] == "config.loraLastLayers"
    assert "40 is more than the 30 transformer layers" in response.json()["error"]
    response = api.http.post("/v1/jobs", params=api.scope, json={"config": {}})
    assert response.status_code == 400 and "name is required" in response.json()["error"]
    assert api.http.get("/v1/jobs", params=api.scope).json()["jobs"] == []


def test_dataset_upload_validates_rows_and_is_content_addressed(api: Api) -> None:
    bad = "\n".join(
        [
            json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}),
            json.dumps({"messages": [{"role": "wizard", "content": "hi"}]}),
            "{not json",
        ]
    ).encode()
    response = api.http.post("/v1/datasets", params=api.scope, content=bad, headers={"X-Arkor-Filename": "chat.jsonl"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert "chat.jsonl" in body["error"]
    assert {issue["line"] for issue in body["details"]} >= {3}

    good = "\n".join(
        json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]})
        for i in range(5)
    ).encode()
    first = api.http.post("/v1/datasets", params=api.scope, content=good, headers={"X-Arkor-Filename": "chat.jsonl"})
    assert first.status_code == 201, first.text
    uploaded = first.json()
    assert uploaded["rows"] == 5 and uploaded["created"] is True and uploaded["size"] == len(good)
    again = api.http.post("/v1/datasets", params=api.scope, content=good, headers={"X-Arkor-Filename": "chat.jsonl"})
    assert (
        again.status_code == 200
        and again.json()["datasetId"] == uploaded["datasetId"]
        and again.json()["created"] is False
    )
    job = api.submit("fake/fast", datasetSource={"type": "uploaded", "datasetId": uploaded["datasetId"]})
    assert api.wait_status(job["id"], {"completed", "failed"})["status"] == "completed"
    wrong_type = api.http.post("/v1/datasets", params=api.scope, content=good, headers={"X-Arkor-Filename": "chat.exe"})
    assert wrong_type.status_code == 400 and "X-Arkor-Filename" in wrong_type.json()["error"]


def test_idempotency_key_replays_the_same_job(api: Api) -> None:
    key = {"Idempotency-Key": "start-1"}
    first = api.submit("fake/fast", headers=key)
    replay = api.http.post(
        "/v1/jobs",
        params=api.scope,
        headers=key,
        json={"name": "run", "config": {"model": "fake/fast", "datasetSource": {"type": "huggingface", "name": "x"}}},
    )
    assert replay.status_code == 201 and replay.json()["job"]["id"] == first["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = api.http.post(
        "/v1/jobs",
        params=api.scope,
        headers=key,
        json={"name": "run", "config": {"model": "fake/slow", "datasetSource": {"type": "huggingface", "name": "x"}}},
    )
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["error"]
    assert len(api.http.get("/v1/jobs", params=api.scope).json()["jobs"]) == 1


def test_internal_api_needs_the_job_token_and_safe_paths(api: Api, backend) -> None:  # type: ignore[no-untyped-def]
    job = api.submit("fake/fast")
    api.wait_status(job["id"], {"completed"})
    internal = httpx.Client(base_url=backend.url)
    event = {"events": [{"type": "training.log", "step": 1}]}
    assert internal.post(f"/internal/jobs/{job['id']}/events", json=event).status_code == 401
    # The job's user token is not a worker token.
    response = internal.post(
        f"/internal/jobs/{job['id']}/events", json=event, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert response.status_code == 401
    for path in ("../../etc/passwd", "a/../../b", "/abs"):
        response = internal.put(f"/internal/jobs/{job['id']}/artifacts/{path}", content=b"x")
        # Without the worker token the request is refused before its path or body is looked at.
        assert response.status_code in (400, 401, 404), (path, response.status_code)


def test_projects_list_and_conflict(api: Api) -> None:
    listed = api.http.get("/v1/projects", params={"orgSlug": api.org}).json()
    assert listed["org"] == {"slug": api.org} and [p["slug"] for p in listed["projects"]] == ["proj"]
    again = api.http.post("/v1/projects", params={"orgSlug": api.org}, json={"name": "x", "slug": "proj"})
    assert again.status_code == 409 and again.json()["error"] == "Slug already taken"
    bad = api.http.post("/v1/projects", params={"orgSlug": api.org}, json={"name": "x", "slug": "Not A Slug"})
    assert bad.status_code == 400 and "slug" in bad.json()["error"]
    me = api.http.get("/v1/me").json()
    assert me["orgs"][0]["slug"] == api.org and me["user"]["anonymous"] is True
    config = api.http.get("/v1/auth/cli/config").json()
    assert config["auth0Domain"] is None and config["clientId"] is None and config["audience"] is None


def test_metrics_count_jobs_and_events(api: Api, backend) -> None:  # type: ignore[no-untyped-def]
    job = api.submit("fake/fast", maxSteps=2)
    api.frames(job["id"])
    text = httpx.get(backend.url + "/metrics").text
    assert 'arkor_jobs{status="completed"} 1' in text
    assert "arkor_events_appended_total" in text and "arkor_sse_subscribers 0" in text
