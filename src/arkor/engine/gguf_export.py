"""Write a Llama-family transformers model as a GGUF file with the `gguf` package's `GGUFWriter`.

Names and metadata follow llama.cpp's `llama` architecture: tensor names come from
`gguf.get_tensor_name_map` (the package's own HF -> GGUF table), Q/K weights are permuted from
Hugging Face's rotate-half layout to the interleaved layout llama.cpp expects, 2-D weights are written
as f16 (or f32) and 1-D norms as f32, and the tokenizer goes in as a `gpt2` BPE vocabulary with its
merges, special token ids and chat template (`gguf.SpecialVocab`). A tied LM head is omitted
(llama.cpp then reuses `token_embd`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from arkor.errors import ConfigError

logger = logging.getLogger(__name__)

_SMOLLM_MARKERS = ("<|im_start|>", "<|im_end|>")


def permute_qk(weight: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """HF rotate-half rows -> GGUF interleaved rows (llama.cpp's convert_hf_to_gguf `permute`)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def _rope_theta(config: Any) -> float:
    params = getattr(config, "rope_parameters", None) or {}
    return float(params.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


def _vocab(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[int]]:
    import gguf

    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = {token.content: token.special for token in tokenizer.added_tokens_decoder.values()}
    tokens, types = [], []
    for index in range(vocab_size):
        token = by_id.get(index)
        if token is None:
            tokens.append(f"[PAD{index}]")
            types.append(gguf.TokenType.UNUSED)
        elif token in added:
            tokens.append(token)
            types.append(gguf.TokenType.CONTROL if added[token] else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(token)
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def write_llama_gguf(model: Any, hf_dir: Path, path: Path, *, dtype: str = "f16", name: str = "model") -> Path:
    """Write `model` (a LlamaForCausalLM, weights in memory) and the tokenizer saved in `hf_dir` to `path`."""
    import gguf
    from transformers import AutoTokenizer

    config = model.config
    if config.model_type != "llama":
        raise ConfigError(f"GGUF export supports model_type 'llama' only, got {config.model_type!r}.", field="gguf")
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    tokenizer = AutoTokenizer.from_pretrained(str(hf_dir))
    vocab_size = max(config.vocab_size, len(tokenizer.get_vocab()))

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(vocab_size)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32)

    tokens, types = _vocab(tokenizer, vocab_size)
    writer.add_tokenizer_model("gpt2")
    vocab = tokenizer.get_vocab()
    writer.add_tokenizer_pre("smollm" if all(m in vocab for m in _SMOLLM_MARKERS) else "default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = gguf.SpecialVocab(hf_dir, load_merges=True, n_vocab=vocab_size)
    if not special.merges:
        raise ConfigError(f"The tokenizer in {hf_dir} has no BPE merges; GGUF export needs a BPE tokenizer.",
                          field="gguf")
    special.add_to_gguf(writer)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    written = 0
    for hf_name, tensor in model.state_dict().items():
        if hf_name.endswith("rotary_emb.inv_freq") or (tied and hf_name == "lm_head.weight"):
            continue
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConfigError(f"Cannot map tensor {hf_name!r} to a GGUF llama tensor name.", field="gguf")
        data = tensor.detach().to("cpu").float().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = permute_qk(data, n_head, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = permute_qk(data, n_head, n_kv)
        if dtype == "f16" and data.ndim >= 2:
            data = data.astype(np.float16)
        writer.add_tensor(gguf_name, np.ascontiguousarray(data))
        written += 1

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    logger.info("wrote %s (%d tensors, %s)", path, written, dtype)
    return path
