"""Post to a Slack/Discord-style webhook when a run completes or fails.

Set WEBHOOK_URL. A failing post is logged, never raised (a raising callback would end wait()).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

import httpx

from arkor import create_trainer

logger = logging.getLogger(__name__)


def notifier(url: str, post: Callable[..., Any] = httpx.post):
    """The `on_completed` / `on_failed` callbacks posting `{"text": ...}` to `url`."""

    def send(text: str) -> None:
        try:
            post(url, json={"text": text}, timeout=10)
        except Exception:  # noqa: BLE001
            logger.exception("webhook post failed")

    def on_completed(ctx) -> None:
        send(f"Training {ctx.job.name} ({ctx.job.id}) completed with {len(ctx.artifacts)} artifact(s).")

    def on_failed(ctx) -> None:
        send(f"Training {ctx.job.name} ({ctx.job.id}) FAILED: {ctx.error}")

    return {"on_completed": on_completed, "on_failed": on_failed}


def make_trainer(url: str, post: Callable[..., Any] = httpx.post, **overrides: Any):
    options: dict[str, Any] = dict(
        name="notify", model="arkor/tiny-test", dataset={"type": "huggingface", "name": "arkorlab/triage-demo"},
        max_steps=20, callbacks=notifier(url, post),
    )
    options.update(overrides)
    return create_trainer(**options)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(make_trainer(os.environ["WEBHOOK_URL"]).wait().job.status)
