"""The tiny test model `arkor/tiny-test`: a 2-layer random Llama (hidden 64) with SmolLM2's real
tokenizer and ChatML template. Seeded, so every build has the same weights; built in seconds and cached
like a converted model. It never needs SmolLM2's full weights: the tokenizer comes from an already
converted SmolLM2 folder when there is one, else straight from the GGUF's metadata.
"""

from __future__ import annotations

import logging
from pathlib import Path

from arkor.engine.models.registry import SMOLLM2_ID, TINY_TEST_MODEL
from arkor.engine.models.store import StageReporter, ensure_built

logger = logging.getLogger(__name__)

TINY_SEED = 1234
TINY_RECIPE = f"tiny-llama-l2-h64-i128-a4-kv2-tied-init0.2-seed{TINY_SEED}"


def _tiny_config(tokenizer):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        # A wider init than the usual 0.02: at hidden size 64 that gives logits with enough range for a
        # LoRA adapter to move the loss within a few steps, which is what the tests need to see.
        initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _smollm2_tokenizer(report: StageReporter):
    from transformers import AutoTokenizer

    from arkor.engine.models.convert import GGUF_RECIPE, locate_gguf
    from arkor.engine.models.store import cached_model_dir

    converted = cached_model_dir(SMOLLM2_ID, GGUF_RECIPE)
    if converted is not None:
        report("reading SmolLM2 tokenizer")
        return AutoTokenizer.from_pretrained(converted)
    report("reading SmolLM2 tokenizer from GGUF")
    gguf_path = locate_gguf(SMOLLM2_ID)
    return AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)


def build_tiny_model(target: Path, report: StageReporter) -> dict:
    """Write the tiny model (config, safetensors, tokenizer, chat template) into `target`."""
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    tokenizer = _smollm2_tokenizer(report)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    report("initialising random weights")
    config = _tiny_config(tokenizer)
    with torch.random.fork_rng(devices=[]):  # seed locally; leave the caller's RNG untouched
        torch.manual_seed(TINY_SEED)
        # transformers wraps `to` with functools.wraps(Module.to): mypy reads the wrapper's unbound signature
        model = LlamaForCausalLM(config).to(torch.float32)  # type: ignore[arg-type]
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    report("saving safetensors")
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return {"source": "tiny", "seed": TINY_SEED, "params": sum(p.numel() for p in model.parameters())}


def tiny_model_path(model_id: str = TINY_TEST_MODEL, *, progress: bool = False) -> Path:
    """The cached tiny model folder of `model_id` (a family whose weights are "tiny"), built on first use.
    Every such id gets the same seeded weights in its own folder, so the folder's marker names that id."""
    return ensure_built(
        model_id, recipe=TINY_RECIPE, builder=build_tiny_model, title=f"Building {model_id}", progress=progress
    )
