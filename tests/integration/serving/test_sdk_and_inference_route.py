"""The SDK's `infer` body (tools, toolChoice, responseFormat, structuredOutputs) round-trips through the
real backend's `/v1/inference/chat`, and the same constraints hold there as on deployments."""

from __future__ import annotations

import json
import re

import jsonschema
from serving_helpers import Served

from arkor.sdk.client import CloudApiClient
from arkor.sdk.errors import CloudApiError
from arkor.sdk.infer import InferResponse
from arkor.sdk.trainer import _infer_body

SCHEMA = {
    "type": "object",
    "properties": {"label": {"enum": ["bug", "billing"]}, "n": {"type": "integer", "minimum": 0, "maximum": 9}},
    "required": ["label", "n"],
    "additionalProperties": False,
}
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {
            "type": "object",
            "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 99}},
            "required": ["id"],
            "additionalProperties": False,
        },
    },
}
MESSAGES = [{"role": "user", "content": "Ticket 12: the invoice is wrong"}]


def test_sdk_infer_round_trips_tools_and_structured_outputs(served: Served) -> None:
    api = served.api
    adapter = {"kind": "checkpoint", "jobId": served.job_id, "step": 2}
    with CloudApiClient(api.url, {"token": api.token}) as client:

        def infer(**kwargs) -> InferResponse:
            return InferResponse(
                client.chat(api.scope, _infer_body(adapter, messages=MESSAGES, temperature=1.0, **kwargs))
            )

        def completion(**kwargs) -> dict:
            response = client.chat(
                api.scope, _infer_body(adapter, messages=MESSAGES, temperature=1.0, stream=False, **kwargs)
            )
            response.read()
            return response.json()

        # Streamed (the SDK default): InferResponse.json() parses the assembled content.
        jsonschema.validate(
            infer(
                max_tokens=120,
                response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA, "strict": True}},
            ).json(),
            SCHEMA,
        )

        streamed = "".join(infer(max_tokens=20, structured_outputs={"regex": r"[A-Z]{2}-[0-9]{3}"}))
        assert re.fullmatch(r"[A-Z]{2}-[0-9]{3}", streamed)
        assert completion(max_tokens=10, structured_outputs={"choice": ["yes", "no"]})["choices"][0]["message"][
            "content"
        ] in ("yes", "no")
        grammar = completion(max_tokens=10, structured_outputs={"grammar": 'start: "ok" | "no"'})
        assert grammar["choices"][0]["message"]["content"] in ("ok", "no")

        tool_reply = completion(
            max_tokens=40, tools=[TOOL], tool_choice={"type": "function", "function": {"name": "lookup"}}
        )
        choice = tool_reply["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        call = choice["message"]["tool_calls"][0]
        assert call["id"].startswith("call_") and call["function"]["name"] == "lookup"
        jsonschema.validate(json.loads(call["function"]["arguments"]), TOOL["function"]["parameters"])

        for bad, needle in (
            ({"response_format": {"type": "json_object"}, "structured_outputs": {"regex": "a"}}, "not both"),
            ({"structured_outputs": {"regex": "a", "choice": ["b"]}}, "exactly one"),
        ):
            try:
                completion(**bad)
            except CloudApiError as error:
                assert error.status == 400 and needle in str(error)
            else:
                raise AssertionError(f"{bad} was accepted")
