"""Public surface: pinned `__all__`, light import, model list in sync with the engine, abort signal."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import arkor

EXPECTED_ALL = sorted(
    [
        "__version__",
        "create_trainer",
        "Trainer",
        "TrainerCallbacks",
        "TrainingResult",
        "StartResult",
        "StartedContext",
        "LogContext",
        "CheckpointContext",
        "EvaluationContext",
        "CompletedContext",
        "FailedContext",
        "InferResponse",
        "AsyncInferResponse",
        "AbortController",
        "AbortSignal",
        "SUPPORTED_MODELS",
        "DEFAULT_MODEL",
        "TINY_TEST_MODEL",
        "create_arkor",
        "is_arkor",
        "run_trainer",
        "Arkor",
        "CloudApiClient",
        "AsyncCloudApiClient",
        "CloudApiError",
        "read_credentials",
        "write_credentials",
        "credentials_path",
        "default_cloud_api_url",
        "request_anonymous_token",
        "ensure_credentials",
        "read_state",
        "write_state",
        "state_path",
        "ProjectState",
        "TrainerConfigError",
        "ProjectStateMismatchError",
        "TrainerStreamError",
        "InferenceStreamError",
        "JobFailedError",
        "JobCancelledError",
        "AnonymousTokenRejectedError",
        "ArkorError",
        "ConfigError",
    ]
)


def test_all_is_pinned_and_every_name_resolves():
    assert sorted(arkor.__all__) == EXPECTED_ALL
    for name in arkor.__all__:
        assert getattr(arkor, name) is not None


def test_import_arkor_and_the_sdk_stay_light():
    code = (
        "import sys, arkor; from arkor import create_trainer, run_trainer, CloudApiClient; "
        "print([m for m in ('torch', 'transformers', 'fastapi', 'ray') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_model_list_matches_the_engine_registry():
    from arkor.engine.models import registry
    from arkor.sdk import models

    assert models.SUPPORTED_MODELS == registry.SUPPORTED_MODELS
    assert models.TINY_TEST_MODEL == registry.TINY_TEST_MODEL and models.DEFAULT_MODEL == registry.DEFAULT_MODEL


def test_abort_signal_from_threads_and_asyncio():
    controller = arkor.AbortController()
    signal = controller.signal
    fired = []
    signal.add_listener(lambda: fired.append(1))

    async def waiter():
        await signal.wait_async()
        return signal.reason

    async def main():
        task = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        threading.Thread(target=controller.abort, args=("because",)).start()
        return await task

    reason = asyncio.run(main())
    assert str(reason) == "because" and signal.aborted and fired == [1]
    controller.abort("again")  # later aborts are ignored
    assert str(signal.reason) == "because" and signal.wait(0)
