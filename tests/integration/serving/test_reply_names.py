"""Deployment replies name the model as the endpoint (its slug, the id `/v1/models` lists), streamed
and not, never the base model behind it; a deployment may name its job by a unique id prefix."""

from __future__ import annotations

import json

from serving_helpers import Served

MESSAGES = [{"role": "user", "content": "hi"}]


def test_replies_name_the_endpoint_and_targets_take_an_id_prefix(served: Served) -> None:
    prefix = served.job_id[:9]
    created = served.api.create_deployment(
        "named-reply", {"kind": "adapter", "adapter": {"kind": "final", "jobId": prefix}}
    )
    assert created.status_code == 201, created.text
    assert created.json()["deployment"]["target"]["adapter"]["jobId"] == served.job_id  # stored in full
    http = served.api.http
    url = f"{served.server.url}/d/named-reply/v1"
    listed = http.get(f"{url}/models").json()["data"]
    assert [m["id"] for m in listed] == ["named-reply"]
    plain = http.post(f"{url}/chat/completions", json={"model": "anything", "messages": MESSAGES, "max_tokens": 3})
    assert plain.status_code == 200, plain.text
    assert plain.json()["model"] == "named-reply"
    with http.stream(
        "POST",
        f"{url}/chat/completions",
        json={"model": "anything", "messages": MESSAGES, "max_tokens": 3, "stream": True},
    ) as response:
        frames = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
    chunks = [json.loads(frame) for frame in frames if frame != "[DONE]"]
    assert chunks and {chunk["model"] for chunk in chunks} == {"named-reply"}
