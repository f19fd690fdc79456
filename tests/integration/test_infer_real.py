"""The inference engine on the real bundled SmolLM2 (slow: loads the converted model)."""

from __future__ import annotations

import pytest

from arkor.engine.infer import InferenceEngine
from arkor.engine.models import DEFAULT_MODEL
from arkor.protocol.inference import InferenceChatRequest


@pytest.mark.slow
def test_smollm2_answers_a_simple_question_streaming_and_not():
    engine = InferenceEngine()
    request = InferenceChatRequest(
        messages=[{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
        temperature=0,
        max_tokens=24,
    )
    completion = engine.complete(request, model_id=DEFAULT_MODEL)
    answer = completion.choices[0].message.content
    assert answer.strip()
    assert "<|im_end|>" not in answer and "<|im_start|>" not in answer
    assert completion.usage.completion_tokens <= 24

    chunks = list(engine.stream(request, model_id=DEFAULT_MODEL))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == answer
    assert chunks[-1].choices[0].finish_reason == completion.choices[0].finish_reason
    assert engine.base_loads == 1
