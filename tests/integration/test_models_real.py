"""The real bundled SmolLM2: converted once into the shared cache (~/.cache/arkor), then loaded from
safetensors; greedy decoding produces text and the chat template is ChatML. Slow: the first run on a
machine converts the GGUF (about 30 s).
"""

from __future__ import annotations

import pytest

from arkor.engine.models import (
    DEFAULT_MODEL,
    MARKER_FILE,
    load_model,
    load_tokenizer,
    logical_model_id_for_path,
    resolve_model_path,
)


@pytest.mark.slow
def test_smollm2_converts_loads_and_generates():
    import torch

    folder = resolve_model_path(DEFAULT_MODEL, progress=False)
    assert (folder / MARKER_FILE).is_file() and (folder / "model.safetensors").is_file()
    assert logical_model_id_for_path(folder) == DEFAULT_MODEL

    tokenizer = load_tokenizer(DEFAULT_MODEL)
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert tokenizer.pad_token is not None

    model = load_model(DEFAULT_MODEL)
    assert not getattr(model, "is_quantized", False)  # the GGUF quantizer flag was cleared
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == 134_515_008

    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert reply.strip(), "greedy decoding produced no text"
    assert "paris" in reply.lower()
