"""CloudApiClient conformance: errors, 426 hints, headers, URL building, deprecation, infer."""

from __future__ import annotations

import asyncio
import json

import pytest
from sdk_scripted_backend import happy_stream

from arkor import AsyncCloudApiClient, CloudApiClient, CloudApiError, __version__
from arkor.sdk._errors_http import latest_deprecation

SCOPE = {"orgSlug": "o/1", "projectSlug": "p 1"}


def _answer(status, body, headers=None):
    return lambda record: (status, headers or {}, body if isinstance(body, bytes) else json.dumps(body).encode())


@pytest.mark.parametrize(
    "body,message",
    [
        (b'{"error":"slug taken"}', "slug taken"),
        (b"plain failure", "plain failure"),
        (b"", "cloud-api 500"),
        (b'{"other":1}', '{"other":1}'),
    ],
)
def test_error_message_extraction(backend, body, message):
    backend.overrides[("GET", "/v1/me")] = _answer(500, body)
    with CloudApiClient(backend.url, {"mode": "anon", "token": "t"}) as client:
        with pytest.raises(CloudApiError) as info:
            client.get_me()
    assert (info.value.status, info.value.message, str(info.value)) == (500, message, message)


def test_426_hint_with_and_without_json(backend):
    backend.overrides[("GET", "/v1/me")] = _answer(
        426,
        {"error": "sdk_version_unsupported", "currentVersion": "0.0.1", "supportedRange": ">=0.1.0", "upgrade": "x"},
    )
    with CloudApiClient(backend.url) as client:
        with pytest.raises(CloudApiError) as rich:
            client.get_me()
        backend.overrides[("GET", "/v1/me")] = _answer(426, b"nope")
        with pytest.raises(CloudApiError) as plain:
            client.get_me()
    assert (
        "0.0.1" in rich.value.message
        and ">=0.1.0" in rich.value.message
        and "pip install --upgrade arkor" in rich.value.message
    )
    assert (
        plain.value.message == "Arkor SDK is no longer supported by the cloud API. Run `pip install --upgrade arkor`."
    )


def test_trailing_slash_stripped_and_ids_encoded(backend):
    backend.streams.append(happy_stream())
    with CloudApiClient(backend.url + "//", {"mode": "oauth", "accessToken": "oauth-token"}) as client:
        client.cancel_job("job/1", SCOPE)
        client.open_event_stream("job_1", SCOPE).close()
    cancel, stream = backend.requests
    assert cancel.path == "/v1/jobs/job%2F1/cancel" and cancel.query == SCOPE
    assert cancel.headers["authorization"] == "Bearer oauth-token"
    assert cancel.headers["x-arkor-client"] == f"arkor/{__version__}"
    assert "last-event-id" not in stream.headers and stream.headers["accept"] == "text/event-stream"


def test_last_event_id_sent_only_when_given(backend):
    backend.streams.extend([happy_stream()])
    with CloudApiClient(backend.url) as client:
        client.open_event_stream("job_1", SCOPE, last_event_id="41").close()
    assert backend.requests[0].headers["last-event-id"] == "41"


def test_deprecation_routed_to_handler_and_never_failing(backend):
    notices = []

    def handler(notice):
        notices.append(notice)
        raise RuntimeError("handler bug")

    backend.overrides[("GET", "/v1/me")] = _answer(
        200,
        {"user": {"id": "u"}, "orgs": []},
        {"Deprecation": "true", "Warning": '299 - "Upgrade soon"', "Sunset": "2027-01-01"},
    )
    with CloudApiClient(backend.url, on_deprecation=handler) as client:
        assert client.get_me().user.id == "u"
    assert notices[0].message == "Upgrade soon" and notices[0].sunset == "2027-01-01"
    assert latest_deprecation() == notices[0]


def test_projects_jobs_and_dataset_routes(backend):
    with CloudApiClient(backend.url) as client:
        project = client.create_project(org_slug="org", name="My Project", slug="my-project").project
        job = client.create_job(
            scope=SCOPE,
            name="n",
            config={"model": "arkor/tiny-test", "datasetSource": {"type": "huggingface", "name": "x"}},
            idempotency_key="k1",
        ).job
        upload = client.upload_dataset(SCOPE, content=b'{"text":"hi"}\n', filename="d.jsonl")
    assert (project.slug, job.id, upload.dataset_id) == ("my-project", "job_1", "ds_1")
    posts = backend.of("POST", "/v1/jobs")
    assert posts[0].headers["idempotency-key"] == "k1" and posts[0].json()["name"] == "n"
    assert backend.of("POST", "/v1/datasets")[0].headers["x-arkor-filename"] == "d.jsonl"


def test_async_client_has_the_same_routes(backend):
    async def go():
        async with AsyncCloudApiClient(backend.url) as client:
            return (await client.get_me()).user.id, await client.list_projects("org")

    user, projects = asyncio.run(go())
    assert user == "u1" and projects.projects == []


def test_chat_infer_deltas_text_and_json(backend):
    with CloudApiClient(backend.url) as client:
        from arkor import InferResponse

        reply = InferResponse(client.chat(SCOPE, {"messages": [{"role": "user", "content": "hi"}]}))
        assert list(reply) == ["Hello", " from", " e2e"]
        assert reply.text() == "Hello from e2e"
        backend.overrides[("POST", "/v1/inference/chat")] = _answer(
            200, {"object": "chat.completion", "choices": [{"message": {"role": "assistant", "content": '{"a": 1}'}}]}
        )
        assert InferResponse(client.chat(SCOPE, {"messages": []})).json() == {"a": 1}
        backend.overrides[("POST", "/v1/inference/chat")] = _answer(400, {"error": "tool_calling_not_configured"})
        with pytest.raises(CloudApiError, match="tool_calling_not_configured"):
            client.chat(SCOPE, {"messages": []})
