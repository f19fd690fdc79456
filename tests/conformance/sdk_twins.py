"""The sync/async twins the conformance suite runs every trainer test through."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdk_scripted_backend import ScriptedBackend

from arkor.sdk.trainer import TrainerContext, create_trainer

CREDENTIALS = {"mode": "anon", "token": "anon-token", "anonymousId": "anon_1", "orgSlug": "anon-org"}


class Twin:
    """Runs the trainer API the sync way or the async way, recording backoff sleeps (ms)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def _record(self, seconds: float) -> None:
        self.sleeps.append(round(seconds * 1000, 6))
        if self.on_sleep:
            self.on_sleep()

    def context(self, backend: ScriptedBackend, cwd: Path, **overrides: Any) -> TrainerContext:
        async def async_sleep(seconds: float) -> None:
            self._record(seconds)

        options: dict[str, Any] = dict(
            base_url=backend.url,
            credentials=dict(CREDENTIALS),
            cwd=cwd,
            reconnect_delay_ms=10,
            max_reconnect_delay_ms=1000,
            sleep=self._record,
            async_sleep=async_sleep,
            random=lambda: 0.5,
        )
        options.update(overrides)
        return TrainerContext(**options)

    def trainer(self, backend: ScriptedBackend, cwd: Path, context: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("name", "t")
        kwargs.setdefault("model", "arkor/tiny-test")
        kwargs.setdefault("dataset", {"type": "huggingface", "name": "x"})
        return create_trainer(context=self.context(backend, cwd, **(context or {})), **kwargs)

    def call(self, trainer: Any, method: str) -> Any:
        if self.mode == "sync":
            return getattr(trainer, method)()
        return asyncio.run(getattr(trainer, f"{method}_async")())
