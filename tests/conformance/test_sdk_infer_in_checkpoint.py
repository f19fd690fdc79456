"""`infer` inside on_checkpoint: bound to the checkpoint adapter, arguments forwarded verbatim."""

from __future__ import annotations

import pytest
from sdk_scripted_backend import happy_stream

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
FORMAT = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": True}}


def test_infer_bound_to_checkpoint_and_forwarding(twin, backend, project):
    backend.streams.append(happy_stream())
    texts = []

    def on_checkpoint(ctx):
        texts.append(
            ctx.infer(
                messages=[{"role": "user", "content": "hi"}],
                temperature=0.2,
                top_p=0.9,
                max_tokens=8,
                tools=TOOLS,
                tool_choice="auto",
                response_format=FORMAT,
                structured_outputs={"choice": ["a", "b"]},
            ).text()
        )

    async def on_checkpoint_async(ctx):
        response = await ctx.infer_async(
            messages=[{"role": "user", "content": "hi"}],
            temperature=0.2,
            top_p=0.9,
            max_tokens=8,
            tools=TOOLS,
            tool_choice="auto",
            response_format=FORMAT,
            structured_outputs={"choice": ["a", "b"]},
        )
        texts.append(await response.text())

    twin.call(
        twin.trainer(backend, project, on_checkpoint=on_checkpoint if twin.mode == "sync" else on_checkpoint_async),
        "wait",
    )
    assert texts == ["Hello from e2e"]
    chat = backend.of("POST", "/v1/inference/chat")[0]
    body = chat.json()
    assert chat.query == {"orgSlug": "anon-org", "projectSlug": "proj"}
    assert body["adapter"] == {"kind": "checkpoint", "jobId": "job_1", "step": 1}
    assert (body["temperature"], body["topP"], body["maxTokens"], body["stream"]) == (0.2, 0.9, 8, True)
    assert body["tools"] == TOOLS and body["toolChoice"] == "auto" and body["responseFormat"] == FORMAT
    assert body["structuredOutputs"] == {"choice": ["a", "b"]}


def test_failing_infer_rejects_wait(twin, backend, project):
    from arkor import CloudApiError

    backend.streams.append(happy_stream())
    backend.overrides[("POST", "/v1/inference/chat")] = lambda r: (500, {}, b'{"error":"upstream"}')

    def on_checkpoint(ctx):
        ctx.infer(messages=[{"role": "user", "content": "hi"}]).text()

    with pytest.raises(CloudApiError, match="upstream"):
        twin.call(twin.trainer(backend, project, on_checkpoint=on_checkpoint), "wait")
