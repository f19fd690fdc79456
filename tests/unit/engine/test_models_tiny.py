"""The tiny test model `arkor/tiny-test`: deterministic, small, SmolLM2 tokenizer and ChatML."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from arkor.engine.models import (
    MARKER_FILE,
    TINY_TEST_MODEL,
    load_model,
    load_tokenizer,
    logical_model_id_for_path,
    resolve_model_path,
    tiny,
)


@pytest.fixture(scope="module")
def tiny_dir():
    return resolve_model_path(TINY_TEST_MODEL, progress=False)


@pytest.fixture
def fast_tokenizer(tiny_dir, monkeypatch):
    """Reuse the cached tiny model's tokenizer instead of re-reading the SmolLM2 GGUF (~9 s)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    monkeypatch.setattr(tiny, "_smollm2_tokenizer", lambda report: tokenizer)
    return tokenizer


def test_tiny_folder_has_everything_a_loader_needs(tiny_dir):
    names = {p.name for p in tiny_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", MARKER_FILE} <= names
    assert logical_model_id_for_path(tiny_dir) == TINY_TEST_MODEL


def test_tiny_model_loads_small_fp32_and_tied(tiny_dir):
    model = load_model(TINY_TEST_MODEL)
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (2, 64, 4)
    assert (config.intermediate_size, config.vocab_size) == (128, 49152)
    assert model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert not model.training
    logits = model(torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, 49152)


def test_tiny_tokenizer_renders_chatml_and_has_pad():
    tokenizer = load_tokenizer(TINY_TEST_MODEL)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}], tokenize=False
    )
    assert "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n" in text
    assert tokenizer.pad_token is not None and tokenizer.pad_token_id is not None
    assert len(tokenizer) == 49152


def test_tiny_build_is_deterministic_and_matches_the_cache(tiny_dir, fast_tokenizer, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    tiny.build_tiny_model(first, lambda stage: None)
    tiny.build_tiny_model(second, lambda stage: None)
    weights_a = load_file(first / "model.safetensors")
    weights_b = load_file(second / "model.safetensors")
    cached = load_file(tiny_dir / "model.safetensors")
    assert weights_a.keys() == weights_b.keys() == cached.keys()
    for name in weights_a:
        assert torch.equal(weights_a[name], weights_b[name]), name
        assert torch.equal(weights_a[name], cached[name]), name


def test_tiny_build_leaves_the_global_rng_alone(fast_tokenizer, tmp_path):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    tiny.build_tiny_model(tmp_path, lambda stage: None)
    assert torch.equal(torch.rand(3), expected)


def test_tiny_half_built_cache_is_rebuilt(fast_tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("ARKOR_CACHE_DIR", str(tmp_path))
    half = tmp_path / "models" / "arkor--tiny-test"
    half.mkdir(parents=True)
    (half / "config.json").write_text("{}")  # crashed before the marker
    folder = resolve_model_path(TINY_TEST_MODEL, progress=False)
    assert folder == half
    assert (folder / MARKER_FILE).is_file()
    assert load_model(TINY_TEST_MODEL).config.hidden_size == 64
