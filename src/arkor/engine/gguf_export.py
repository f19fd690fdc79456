"""Write a merged transformers model as a GGUF file llama.cpp (and transformers' GGUF loader) reads.

Architectures (`GGUF_WRITER_LAYOUTS`; a model family in `arkor.model_families` names the one its
model_type is written as): llama.cpp's `llama` (Llama family: SmolLM2, the tiny test model) and `gemma3`
(Gemma-3 text models such as google/gemma-3-270m). Tensor names come from the `gguf` package's own
HF -> GGUF table (`gguf.get_tensor_name_map`); the conversions are llama.cpp's convert_hf_to_gguf's:
Llama Q/K rows are permuted from Hugging Face's rotate-half layout to the interleaved one, Gemma's
RMSNorm weights are stored as `1 + w` (Gemma scales by `1 + w`, llama.cpp by the stored weight).

Tensor types (`GGUF_TYPES`): f32, f16, bf16 and the block quantisations the `gguf` package can write
itself (q8_0, q5_1, q5_0, q4_1, q4_0). Norms and other 1-D tensors stay f32; a matrix whose rows do
not split into whole blocks is written f16; with a 4/5-bit type the token embedding (also the LM
head when tied) is q8_0, as llama.cpp keeps it at higher precision. K-quants (q4_k_m, q5_k_m, q6_k)
need llama.cpp's `llama-quantize`: the `gguf` package has no writer for them.

The tokenizer goes in with its special token ids, add-BOS flag and chat template (`gguf.SpecialVocab`):
a byte-level BPE (`gpt2`, with merges) for Llama models, a SentencePiece-style vocabulary (`llama`:
tokens, scores, types) for Gemma.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gguf import TokenType

from arkor.errors import ConfigError
from arkor.model_families import gguf_architectures

logger = logging.getLogger(__name__)

_SMOLLM_MARKERS = ("<|im_start|>", "<|im_end|>")

# --gguf-type name -> (GGML tensor type name, llama.cpp file type name)
GGUF_TYPES: dict[str, tuple[str, str]] = {
    "f16": ("F16", "MOSTLY_F16"),
    "f32": ("F32", "ALL_F32"),
    "bf16": ("BF16", "MOSTLY_BF16"),
    "q8_0": ("Q8_0", "MOSTLY_Q8_0"),
    "q5_1": ("Q5_1", "MOSTLY_Q5_1"),
    "q5_0": ("Q5_0", "MOSTLY_Q5_0"),
    "q4_1": ("Q4_1", "MOSTLY_Q4_1"),
    "q4_0": ("Q4_0", "MOSTLY_Q4_0"),
}
# Types llama.cpp has but only its own `llama-quantize` writes.
LLAMA_QUANTIZE_ONLY: tuple[str, ...] = ("q2_k", "q3_k_m", "q4_k_m", "q4_k_s", "q5_k_m", "q5_k_s", "q6_k")


def check_gguf_type(gguf_type: str) -> str:
    """The lower-cased type, or a ConfigError that says which types are writable and what to do otherwise."""
    name = gguf_type.lower()
    if name in GGUF_TYPES:
        return name
    if name in LLAMA_QUANTIZE_ONLY:
        raise ConfigError(
            f"GGUF type {gguf_type!r} is a llama.cpp k-quant that only llama.cpp's llama-quantize writes. Export "
            f"with --gguf-type f16 and run `llama-quantize model.gguf model-{name}.gguf {name.upper()}`, or pick "
            f"one of {', '.join(GGUF_TYPES)}.",
            field="gguf_type",
        )
    raise ConfigError(
        f"GGUF type {gguf_type!r} is not supported; use one of {', '.join(GGUF_TYPES)}.", field="gguf_type"
    )


def permute_qk(weight: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """HF rotate-half rows -> GGUF interleaved rows (llama.cpp's convert_hf_to_gguf `permute`)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (
        weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def _rope_theta(config: Any, layer_type: str = "full_attention") -> float:
    params = getattr(config, "rope_parameters", None) or {}
    if isinstance(params.get(layer_type), dict):  # per layer type (Gemma-3 in transformers 5)
        params = params[layer_type]
    return float(params.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


@dataclass(frozen=True)
class _TensorPlan:
    """How one tensor is stored: its GGML type, and whether it is the token embedding / LM head."""

    default: Any  # gguf.GGMLQuantizationType for 2-D weights
    embedding: Any  # for token_embd / output

    @classmethod
    def for_type(cls, gguf_type: str) -> _TensorPlan:
        import gguf

        kind = gguf.GGMLQuantizationType[GGUF_TYPES[gguf_type][0]]
        low_bit = gguf_type.startswith(("q4", "q5"))
        return cls(kind, gguf.GGMLQuantizationType.Q8_0 if low_bit else kind)

    def encode(self, gguf_name: str, data: np.ndarray) -> tuple[np.ndarray, Any]:
        """(bytes or float array, GGML type) of a float32 tensor."""
        import gguf
        from gguf import quants

        T = gguf.GGMLQuantizationType
        if data.ndim < 2:
            return data.astype(np.float32), T.F32
        kind = self.embedding if gguf_name in ("token_embd.weight", "output.weight") else self.default
        if kind == T.F32:
            return data.astype(np.float32), T.F32
        if kind == T.F16:
            return data.astype(np.float16), T.F16
        block = gguf.GGML_QUANT_SIZES[kind][0]
        if data.shape[-1] % block:
            return data.astype(np.float16), T.F16
        return quants.quantize(np.ascontiguousarray(data, dtype=np.float32), kind), kind


def _bpe_vocab(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[TokenType]]:
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


def _sentencepiece_vocab(
    hf_dir: Path, tokenizer: Any, vocab_size: int
) -> tuple[list[str], list[float], list[TokenType]]:
    """Tokens, scores and types of a SentencePiece-style vocabulary (Gemma) from its tokenizer.json.

    A Unigram model carries its scores; for a BPE model the rank stands in (earlier = preferred), as
    llama.cpp's SentencePiece tokenizer only compares them."""
    import gguf

    model = json.loads((hf_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    if model.get("type") == "Unigram":
        pieces = {index: (piece, float(score)) for index, (piece, score) in enumerate(model["vocab"])}
    else:
        pieces = {index: (piece, -float(index)) for piece, index in model["vocab"].items()}
    added = {index: token for index, token in tokenizer.added_tokens_decoder.items()}
    tokens, scores, types = [], [], []
    for index in range(vocab_size):
        if index in added:
            tokens.append(added[index].content)
            scores.append(-1000.0)
            types.append(gguf.TokenType.CONTROL if added[index].special else gguf.TokenType.USER_DEFINED)
        elif index in pieces:
            piece, score = pieces[index]
            tokens.append(piece)
            scores.append(score)
            is_byte = len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">")
            types.append(gguf.TokenType.BYTE if is_byte else gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{index}]")
            scores.append(-1000.0)
            types.append(gguf.TokenType.UNUSED)
    return tokens, scores, types


def _write_common(writer: Any, config: Any, *, n_head: int, n_kv: int, head_dim: int, vocab_size: int) -> None:
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(vocab_size)


def write_gguf(model: Any, hf_dir: Path, path: Path, *, gguf_type: str = "f16", name: str = "model") -> Path:
    """Write `model` (Llama or Gemma-3 text, weights in memory) and the tokenizer saved in `hf_dir` to `path`."""
    import gguf
    from transformers import AutoTokenizer

    gguf_type = check_gguf_type(gguf_type)
    config = model.config
    architectures = gguf_architectures()  # the model families' HF model_type -> GGUF architecture
    if config.model_type not in architectures:
        raise ConfigError(
            f"GGUF export supports model types {', '.join(architectures)}; got {config.model_type!r}.", field="gguf"
        )
    arch = architectures[config.model_type].gguf_name
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    tokenizer = AutoTokenizer.from_pretrained(str(hf_dir))
    vocab_size = max(config.vocab_size, len(tokenizer.get_vocab()))

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(name)
    _write_common(writer, config, n_head=n_head, n_kv=n_kv, head_dim=head_dim, vocab_size=vocab_size)
    writer.add_file_type(gguf.LlamaFileType[GGUF_TYPES[gguf_type][1]])
    if gguf_type.startswith("q"):
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    if arch == "llama":
        writer.add_rope_dimension_count(head_dim)
        tokens, types = _bpe_vocab(tokenizer, vocab_size)
        writer.add_tokenizer_model("gpt2")
        vocab = tokenizer.get_vocab()
        writer.add_tokenizer_pre("smollm" if all(m in vocab for m in _SMOLLM_MARKERS) else "default")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        special = gguf.SpecialVocab(hf_dir, load_merges=True, n_vocab=vocab_size)
        if not special.merges:
            raise ConfigError(
                f"The tokenizer in {hf_dir} has no BPE merges; GGUF export needs a BPE tokenizer.", field="gguf"
            )
    else:
        writer.add_sliding_window(config.sliding_window)
        tokens, scores, types = _sentencepiece_vocab(hf_dir, tokenizer, vocab_size)
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_add_space_prefix(False)
        special = gguf.SpecialVocab(hf_dir, load_merges=False, n_vocab=vocab_size)
    special.add_to_gguf(writer)
    if special.chat_template is None and getattr(tokenizer, "chat_template", None):
        writer.add_chat_template(tokenizer.chat_template)

    names = gguf.get_tensor_name_map(
        gguf.MODEL_ARCH.LLAMA if arch == "llama" else gguf.MODEL_ARCH.GEMMA3, config.num_hidden_layers
    )
    tied = bool(getattr(config, "tie_word_embeddings", False))
    plan = _TensorPlan.for_type(gguf_type)
    written = 0
    for hf_name, tensor in model.state_dict().items():
        if hf_name.endswith("rotary_emb.inv_freq") or (tied and hf_name == "lm_head.weight"):
            continue
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConfigError(f"Cannot map tensor {hf_name!r} to a GGUF {arch} tensor name.", field="gguf")
        data = tensor.detach().to("cpu").float().numpy()
        if arch == "llama" and hf_name.endswith("q_proj.weight"):
            data = permute_qk(data, n_head, n_head)
        elif arch == "llama" and hf_name.endswith("k_proj.weight"):
            data = permute_qk(data, n_head, n_kv)
        elif arch == "gemma3" and hf_name.endswith("norm.weight"):
            data = data + 1.0
        encoded, kind = plan.encode(gguf_name, data)
        writer.add_tensor(
            gguf_name, np.ascontiguousarray(encoded), raw_dtype=kind if encoded.dtype == np.uint8 else None
        )
        written += 1

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    logger.info("wrote %s (%s, %d tensors, %s)", path, arch, written, gguf_type)
    return path


def write_llama_gguf(model: Any, hf_dir: Path, path: Path, *, dtype: str = "f16", name: str = "model") -> Path:
    """Kept for callers of the Llama-only writer: `write_gguf` with `gguf_type=dtype`."""
    return write_gguf(model, hf_dir, path, gguf_type=dtype, name=name)
