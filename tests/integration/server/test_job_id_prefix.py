"""Job ids are shown shortened, so every job route takes a unique prefix of one (within the caller's
project only) and answers an ambiguous prefix with a 400 that lists the candidates."""

from __future__ import annotations

import os

from server_helpers import Api, events_of


def _unique_prefix(job_id: str, others: list[str]) -> str:
    for length in range(len("job_") + 1, len(job_id)):
        if not any(other.startswith(job_id[:length]) for other in others):
            return job_id[:length]
    return job_id


def test_routes_take_a_unique_prefix_and_list_the_candidates_of_an_ambiguous_one(api: Api, backend) -> None:  # type: ignore[no-untyped-def]
    jobs = [api.submit("fake/fast", maxSteps=2, saveSteps=2) for _ in range(3)]
    ids = [job["id"] for job in jobs]
    for job_id in ids:
        events_of(api.frames(job_id))
    target = ids[0]
    prefix = _unique_prefix(target, ids[1:])
    assert api.http.get(f"/v1/jobs/{prefix}", params=api.scope).json()["job"]["id"] == target
    with_events = api.http.get(f"/v1/jobs/{prefix}", params={**api.scope, "events": "true"}).json()
    assert with_events["events"] and with_events["events"][-1]["type"] == "training.completed"
    assert events_of(api.frames(prefix))[-1]["type"] == "training.completed"
    listing = api.http.get(f"/v1/jobs/{prefix}/artifacts", params=api.scope).json()["artifacts"]
    assert any(a["pathname"] == "final/adapter_config.json" for a in listing)
    assert all(target in a["url"] for a in listing)
    download = api.http.get(f"/v1/jobs/{prefix}/artifacts/final/adapter_config.json", params=api.scope)
    assert download.status_code == 200, download.text
    assert api.http.get(f"/v1/jobs/{prefix}/checkpoints", params=api.scope).json()["checkpoints"]
    cancelled = api.http.post(f"/v1/jobs/{prefix}/cancel", params=api.scope)
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "job_finished"  # found it: it already ended

    ambiguous = api.http.get("/v1/jobs/job_", params=api.scope)
    assert ambiguous.status_code == 400, ambiguous.text
    body = ambiguous.json()
    assert body["code"] == "ambiguous_id" and sorted(body["details"]) == sorted(ids)
    assert "job_" in body["error"] and all(job_id in body["error"] for job_id in ids)

    # LIKE wildcards in the path are plain characters, not patterns; ids are case-sensitive on every database.
    for pattern in ("jo_", "job%", "%", prefix.upper()):
        assert api.http.get(f"/v1/jobs/{pattern}", params=api.scope).status_code == 404, pattern


def test_a_prefix_never_reaches_another_tenants_jobs(api: Api, backend) -> None:  # type: ignore[no-untyped-def]
    job = api.submit("fake/fast", maxSteps=2, saveSteps=2)
    events_of(api.frames(job["id"]))
    other = Api(backend.url)
    for prefix in (job["id"][:8], "job_"):
        response = other.http.get(f"/v1/jobs/{prefix}", params=other.scope)
        assert response.status_code == 404, response.text
        assert job["id"] not in response.text
    # Another project of the same org does not see it either.
    created = api.http.post(
        "/v1/projects", params={"orgSlug": api.org}, json={"name": "Two", "slug": f"two-{os.getpid()}"}
    )
    assert created.status_code == 201, created.text
    second = {"orgSlug": api.org, "projectSlug": created.json()["project"]["slug"]}
    assert api.http.get(f"/v1/jobs/{job['id'][:8]}", params=second).status_code == 404
