"""Model resolution and the converted-model cache: which ids arkor knows (`registry`), GGUF ->
safetensors conversion (`convert`), the tiny test model (`tiny`), the atomic cache (`store`) and
loading (`load`). Importing this package does not import torch or transformers.
"""

from __future__ import annotations

from arkor.engine.models.load import load_model, load_tokenizer, resolve_model_path
from arkor.engine.models.registry import (
    DEFAULT_MODEL,
    GEMMA_CHAT_TEMPLATE,
    MARKER_FILE,
    SUPPORTED_MODELS,
    TINY_TEST_MODEL,
    ModelSpec,
    get_model_spec,
    is_known_model,
    logical_model_id_for_path,
    offline_models,
)

__all__ = [
    "DEFAULT_MODEL",
    "GEMMA_CHAT_TEMPLATE",
    "MARKER_FILE",
    "SUPPORTED_MODELS",
    "TINY_TEST_MODEL",
    "ModelSpec",
    "get_model_spec",
    "is_known_model",
    "load_model",
    "load_tokenizer",
    "logical_model_id_for_path",
    "offline_models",
    "resolve_model_path",
]
