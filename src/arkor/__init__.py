"""arkor: fine-tune open-weight LLMs from ordinary Python code.

Importing arkor stays light: no torch, transformers, fastapi or ray is loaded here. The public SDK
names below are loaded on first use (`from arkor import create_trainer` imports only the SDK).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # trainer
    "create_trainer": "arkor.sdk.trainer",
    "Trainer": "arkor.sdk.trainer",
    "TrainerCallbacks": "arkor.sdk.callbacks",
    "TrainingResult": "arkor.sdk.contexts",
    "StartResult": "arkor.sdk.contexts",
    "StartedContext": "arkor.sdk.contexts",
    "LogContext": "arkor.sdk.contexts",
    "CheckpointContext": "arkor.sdk.contexts",
    "EvaluationContext": "arkor.sdk.contexts",
    "CompletedContext": "arkor.sdk.contexts",
    "FailedContext": "arkor.sdk.contexts",
    "InferResponse": "arkor.sdk.infer",
    "AsyncInferResponse": "arkor.sdk.infer",
    "AbortController": "arkor.sdk.abort",
    "AbortSignal": "arkor.sdk.abort",
    "SUPPORTED_MODELS": "arkor.sdk.models",
    "DEFAULT_MODEL": "arkor.sdk.models",
    "TINY_TEST_MODEL": "arkor.sdk.models",
    # manifest and runner
    "create_arkor": "arkor.sdk.runner",
    "is_arkor": "arkor.sdk.runner",
    "run_trainer": "arkor.sdk.runner",
    "Arkor": "arkor.sdk.runner",
    # backend client
    "CloudApiClient": "arkor.sdk.client",
    "AsyncCloudApiClient": "arkor.sdk.client",
    "CloudApiError": "arkor.sdk.errors",
    # credentials and project state
    "read_credentials": "arkor.sdk.credentials",
    "write_credentials": "arkor.sdk.credentials",
    "credentials_path": "arkor.sdk.credentials",
    "default_cloud_api_url": "arkor.sdk.credentials",
    "request_anonymous_token": "arkor.sdk.credentials",
    "ensure_credentials": "arkor.sdk.credentials",
    "read_state": "arkor.sdk.state",
    "write_state": "arkor.sdk.state",
    "state_path": "arkor.sdk.state",
    "ProjectState": "arkor.sdk.state",
    # errors
    "TrainerConfigError": "arkor.sdk.errors",
    "ProjectStateMismatchError": "arkor.sdk.errors",
    "TrainerStreamError": "arkor.sdk.errors",
    "InferenceStreamError": "arkor.sdk.errors",
    "JobFailedError": "arkor.sdk.errors",
    "JobCancelledError": "arkor.sdk.errors",
    "AnonymousTokenRejectedError": "arkor.sdk.errors",
    "ArkorError": "arkor.errors",
    "ConfigError": "arkor.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from arkor.errors import ArkorError, ConfigError
    from arkor.sdk.abort import AbortController, AbortSignal
    from arkor.sdk.callbacks import TrainerCallbacks
    from arkor.sdk.client import AsyncCloudApiClient, CloudApiClient
    from arkor.sdk.contexts import (
        CheckpointContext,
        CompletedContext,
        EvaluationContext,
        FailedContext,
        LogContext,
        StartedContext,
        StartResult,
        TrainingResult,
    )
    from arkor.sdk.credentials import (
        credentials_path,
        default_cloud_api_url,
        ensure_credentials,
        read_credentials,
        request_anonymous_token,
        write_credentials,
    )
    from arkor.sdk.errors import (
        AnonymousTokenRejectedError,
        CloudApiError,
        InferenceStreamError,
        JobCancelledError,
        JobFailedError,
        ProjectStateMismatchError,
        TrainerConfigError,
        TrainerStreamError,
    )
    from arkor.sdk.infer import AsyncInferResponse, InferResponse
    from arkor.sdk.models import DEFAULT_MODEL, SUPPORTED_MODELS, TINY_TEST_MODEL
    from arkor.sdk.runner import Arkor, create_arkor, is_arkor, run_trainer
    from arkor.sdk.state import ProjectState, read_state, state_path, write_state
    from arkor.sdk.trainer import Trainer, create_trainer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'arkor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
