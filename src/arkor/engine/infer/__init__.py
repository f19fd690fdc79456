"""Inference: chat completions from a cached base model plus optional PEFT adapters, streamed
token by token, in OpenAI's `chat.completion` / `chat.completion.chunk` shapes, with structured
outputs by constrained decoding.

Modules: `engine` (InferenceEngine, caching, locking), `generate` (token loop, stop hold-back),
`request` (prompt and sampling settings), `shapes` (reply objects), `constraints` (grammars).
Importing this package does not import torch or transformers.
"""

from __future__ import annotations

from arkor.engine.infer.engine import InferenceEngine, adapter_key, get_engine
from arkor.engine.infer.generate import SamplingSettings

__all__ = ["InferenceEngine", "SamplingSettings", "adapter_key", "get_engine"]
