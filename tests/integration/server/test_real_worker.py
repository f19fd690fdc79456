"""The backend with the real worker (`python -m arkor.engine.worker`) training the tiny test model,
then chatting with its final adapter and a checkpoint through `/v1/inference/chat`."""

from __future__ import annotations

import json

from server_helpers import Api, events_of

from arkor.protocol.sse import SSEDecoder


def _chat_rows(count: int) -> bytes:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Classify the ticket."},
                {"role": "user", "content": f"My invoice {i} is wrong"},
                {"role": "assistant", "content": "billing" if i % 2 else "bug"},
            ]
        }
        for i in range(count)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode()


def test_real_worker_trains_tiny_model_and_serves_its_adapters(make_backend) -> None:  # type: ignore[no-untyped-def]
    server = make_backend(worker_command=None, heartbeat_timeout_s=120, cancel_grace_s=10)
    api = Api(server.url)
    upload = api.http.post(
        "/v1/datasets", params=api.scope, content=_chat_rows(16), headers={"X-Arkor-Filename": "tickets.jsonl"}
    )
    assert upload.status_code == 201, upload.text
    job = api.submit(
        "arkor/tiny-test",
        datasetSource={"type": "uploaded", "datasetId": upload.json()["datasetId"]},
        maxSteps=4,
        saveSteps=2,
        loggingSteps=1,
        batchSize=2,
    )
    frames = api.frames(job["id"], timeout=600)
    events = events_of(frames)
    types = [e["type"] for e in events]
    assert types[0] == "training.started" and types[-1] == "training.completed", events[-1]
    assert [e["step"] for e in events if e["type"] == "training.log"] == [1, 2, 3, 4]
    checkpoint_steps = [e["step"] for e in events if e["type"] == "checkpoint.saved"]
    assert checkpoint_steps[0] == 2 and all(
        step % 2 == 0 for step in checkpoint_steps
    )  # the last step may be the final adapter only
    assert [int(f.id) for f in frames if f.event != "end"] == list(range(1, len(events) + 1))
    assert api.job(job["id"])["status"] == "completed"

    names = {
        a["pathname"] for a in api.http.get(f"/v1/jobs/{job['id']}/artifacts", params=api.scope).json()["artifacts"]
    }
    assert {
        "final/adapter_config.json",
        "final/adapter_model.safetensors",
        "checkpoints/step-2/adapter_model.safetensors",
    } <= names

    messages = [{"role": "user", "content": "My invoice 3 is wrong"}]
    reply = api.http.post(
        "/v1/inference/chat",
        params=api.scope,
        json={"messages": messages, "adapter": {"kind": "final", "jobId": job["id"]}, "stream": False, "maxTokens": 4},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["object"] == "chat.completion" and reply.json()["usage"]["completion_tokens"] <= 4

    decoder, chunks = SSEDecoder(), []
    with api.http.stream(
        "POST",
        "/v1/inference/chat",
        params=api.scope,
        json={"messages": messages, "adapter": {"kind": "checkpoint", "jobId": job["id"], "step": 2}, "maxTokens": 4},
    ) as response:
        assert response.status_code == 200
        for text in response.iter_text():
            chunks += [frame.data for frame in decoder.feed(text)]
    assert chunks[-1] == "[DONE]"
    assert json.loads(chunks[0])["object"] == "chat.completion.chunk"
    missing = api.http.post(
        "/v1/inference/chat",
        params=api.scope,
        json={"messages": messages, "adapter": {"kind": "checkpoint", "jobId": job["id"], "step": 3}, "stream": False},
    )
    assert missing.status_code == 404 and "step 3" in missing.json()["error"]
