"""The SDK against a backend that answers every route it calls with the original's minimal shapes
(reference 1.6, 1.14, 2), plus fields it has never heard of. Only what the original requires is
required; before, `Trainer.start()` raised `ValidationError: job.config.datasetSource Field required`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sdk_scripted_backend import encode_frame

from arkor import create_trainer
from arkor.protocol import JobConfig, JobCreateRequest
from arkor.sdk.client import AsyncCloudApiClient, CloudApiClient
from arkor.sdk.credentials import request_anonymous_token
from arkor.sdk.infer import InferResponse
from arkor.sdk.state import ensure_project_state
from arkor.sdk.trainer import TrainerContext

FUTURE = {"addedLater": {"nested": [1, 2]}}  # a field a newer backend sends
MINIMAL_JOB = {
    "id": "job_1",
    "orgId": "org_1",
    "projectId": "prj_1",
    "name": "t",
    "status": "queued",
    "config": {"model": "m"},
    "createdAt": "2026-01-01T00:00:00Z",
}
SCOPE = {"orgSlug": "anon-org", "projectSlug": "proj"}
DEPLOYMENT = {"id": "dep_1", "slug": "bot", "target": {"kind": "base_model", "baseModel": "m"}, **FUTURE}
KEY = {"id": "key_1", "label": "ci", "prefix": "ark_live_abcd", "enabled": True, "createdAt": "2026-01-01T00:00:00Z"}


def _json(status: int, body: Any, **headers: str):
    return lambda record: (status, headers, json.dumps(body).encode() if body is not None else b"")


def minimal_backend(backend) -> None:
    routes = {
        ("POST", "/v1/auth/anonymous"): _json(
            200,
            {
                "token": "anon-token",
                "anonymousId": "anon_1",
                "kind": "cli",
                "personalOrg": {"slug": "anon-org", "id": "org_1", "name": "A"},
                **FUTURE,
            },
        ),
        ("GET", "/v1/me"): _json(200, {"user": {}, "orgs": [{"id": "org_1", "slug": "anon-org", "name": "A"}]}),
        ("GET", "/v1/projects"): _json(200, {"org": {"slug": "anon-org"}, "projects": []}),
        ("POST", "/v1/projects"): _json(
            201, {"project": {"id": "prj_1", "slug": "proj", "name": "proj", "orgId": "org_1"}}
        ),
        ("POST", "/v1/jobs"): _json(201, {"job": {**MINIMAL_JOB, **FUTURE}}),
        ("GET", "/v1/jobs"): _json(200, {"jobs": [MINIMAL_JOB]}),
        ("GET", "/v1/jobs/job_1"): _json(200, {"job": MINIMAL_JOB}),
        ("POST", "/v1/jobs/job_1/cancel"): _json(204, None),
        ("POST", "/v1/datasets"): _json(201, {"datasetId": "ds_1"}),
        ("GET", "/v1/jobs/job_1/artifacts"): _json(200, {"artifacts": [{"pathname": "final/adapter_config.json"}]}),
        ("GET", "/v1/jobs/job_1/artifacts/final/adapter_config.json"): lambda r: (
            200,
            {"Content-Type": "application/octet-stream"},
            b"{}",
        ),
        ("GET", "/v1/jobs/job_1/checkpoints"): _json(200, {"checkpoints": [{"step": 2, "artifacts": []}]}),
        ("GET", "/v1/endpoints"): _json(200, {"deployments": [DEPLOYMENT]}),
        ("POST", "/v1/endpoints"): _json(201, {"deployment": DEPLOYMENT}),
        ("GET", "/v1/endpoints/dep_1"): _json(200, {"deployment": DEPLOYMENT}),
        ("PATCH", "/v1/endpoints/dep_1"): _json(200, {"deployment": DEPLOYMENT}),
        ("DELETE", "/v1/endpoints/dep_1"): _json(204, None),
        ("GET", "/v1/endpoints/dep_1/keys"): _json(200, {"keys": [{**KEY, "plaintext": "leaked"}]}),
        ("POST", "/v1/endpoints/dep_1/keys"): _json(201, {"key": {**KEY, "plaintext": "ark_live_abcd1234"}}),
        ("DELETE", "/v1/endpoints/dep_1/keys/key_1"): _json(204, None),
    }
    backend.overrides.update(routes)
    # Event frames as the original's backend sends them: no jobId, no timestamp, an end sentinel.
    backend.streams.append(
        [
            encode_frame("training.started", {"type": "training.started"}, id=1),
            encode_frame("training.log", {"type": "training.log", "step": 1, "loss": None}, id=2),
            encode_frame("checkpoint.saved", {"type": "checkpoint.saved", "step": 1}, id=3),
            encode_frame("training.completed", {"type": "training.completed"}, id=4),
        ]
    )
    backend.chat_chunks = [b'data: {"choices":[{"delta":{"content":"ok"}}]}\n\n', b"data: [DONE]\n\n"]


def test_trainer_start_and_wait_read_the_minimal_job(twin, backend, project):
    minimal_backend(backend)
    seen: list[Any] = []
    trainer = twin.trainer(
        backend,
        project,
        on_log=lambda ctx: seen.append(("log", ctx.step, ctx.loss)),
        on_checkpoint=lambda ctx: seen.append(("checkpoint", ctx.step, ctx.artifacts)),
        on_completed=lambda ctx: seen.append(("completed", ctx.metrics, ctx.artifacts)),
    )
    assert twin.call(trainer, "start").job_id == "job_1"
    assert trainer.job.config.model == "m" and trainer.job.config.dataset_source is None
    assert trainer.job.model_extra == FUTURE  # unknown fields are kept, not refused
    result = twin.call(trainer, "wait")
    assert result.job.status == "completed" and result.artifacts == []
    assert seen == [("log", 1, None), ("checkpoint", 1, []), ("completed", {}, [])]
    twin.call(trainer, "cancel")
    assert len(backend.of("POST", "/v1/jobs/job_1/cancel")) == 1


def test_fresh_home_bootstraps_against_the_minimal_backend(backend, tmp_path):
    minimal_backend(backend)
    credentials = request_anonymous_token(backend.url)
    assert credentials == {"token": "anon-token", "anonymousId": "anon_1", "kind": "cli", "orgSlug": "anon-org"}
    credentials["mode"] = "anon"
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "train.jsonl").write_text('{"text": "hello"}\n')
    trainer = create_trainer(
        name="t",
        model="arkor/tiny-test",
        dataset={"type": "file", "path": "train.jsonl"},
        context=TrainerContext(base_url=backend.url, credentials=credentials, cwd=tmp_path / "fresh"),
    )
    assert trainer.start().job_id == "job_1"
    sent = backend.of("POST", "/v1/jobs")[0].json()
    assert sent["config"]["datasetSource"] == {"type": "uploaded", "datasetId": "ds_1", "filename": "train.jsonl"}


def test_every_client_route_reads_the_minimal_shapes(backend, project):
    minimal_backend(backend)
    with CloudApiClient(backend.url, {"mode": "anon", "token": "anon-token"}) as client:
        assert client.get_me().orgs[0].slug == "anon-org"
        assert client.list_projects("anon-org").projects == []
        assert client.create_project(org_slug="anon-org", name="proj", slug="proj").project.id == "prj_1"
        state = ensure_project_state(cwd=project, client=client, credentials={"mode": "anon", "orgSlug": "anon-org"})
        assert client.create_job(scope=SCOPE, name="t", config={"model": "m"}).job.config.model == "m"
        assert [job.id for job in client.list_jobs(SCOPE).jobs] == ["job_1"]
        assert client.get_job("job_1", SCOPE).job.status == "queued"
        assert client.cancel_job("job_1", SCOPE) is None
        assert client.upload_dataset(SCOPE, content=b"{}\n", filename="d.jsonl").dataset_id == "ds_1"
        assert [a.pathname for a in client.list_artifacts("job_1", SCOPE).artifacts] == ["final/adapter_config.json"]
        assert client.download_artifact("job_1", "final/adapter_config.json", SCOPE) == b"{}"
        assert client.list_checkpoints("job_1", SCOPE).checkpoints[0].step == 2
        # Deployments answer typed models (protocol/deployments.py); a newer backend's fields are kept.
        assert client.list_deployments(SCOPE).deployments[0].slug == "bot"
        assert client.create_deployment(SCOPE, {"slug": "bot"}).deployment.id == "dep_1"
        assert client.get_deployment("dep_1", SCOPE).deployment.model_extra["addedLater"] == FUTURE["addedLater"]
        assert client.update_deployment("dep_1", SCOPE, {"enabled": False}).deployment.id == "dep_1"
        assert client.delete_deployment("dep_1", SCOPE) is None
        assert "plaintext" not in client.list_deployment_keys("dep_1", SCOPE).keys[0].to_wire()
        assert client.create_deployment_key("dep_1", SCOPE, label="ci").key.plaintext.startswith("ark_live_")
        assert client.revoke_deployment_key("dep_1", "key_1", SCOPE) is None
        assert InferResponse(client.chat(SCOPE, {"messages": [{"role": "user", "content": "hi"}]})).text() == "ok"
        stream = client.open_event_stream("job_1", SCOPE)
        try:
            assert "training.completed" in stream.read().decode()
        finally:
            stream.close()
    assert state.project_slug == "proj"

    async def run() -> None:
        async with AsyncCloudApiClient(backend.url, {"mode": "anon", "token": "anon-token"}) as client:
            assert (await client.get_job("job_1", SCOPE)).job.config.model == "m"
            assert (await client.list_jobs(SCOPE)).jobs[0].id == "job_1"

    asyncio.run(run())


def test_the_backend_still_validates_strictly_what_it_receives():
    with pytest.raises(Exception, match="datasetSource"):
        JobCreateRequest.model_validate({"name": "t", "config": {"model": "m"}})
    with pytest.raises(Exception, match="learningRate"):
        JobConfig.model_validate(
            {"model": "m", "datasetSource": {"type": "huggingface", "name": "x"}, "learningRate": 5}
        )


def test_a_missing_required_field_is_still_an_error(backend):
    minimal_backend(backend)
    backend.overrides[("GET", "/v1/jobs/job_1")] = _json(
        200, {"job": {k: v for k, v in MINIMAL_JOB.items() if k != "status"}}
    )
    with CloudApiClient(backend.url, {"token": "t"}) as client, pytest.raises(Exception, match="status"):
        client.get_job("job_1", SCOPE)
