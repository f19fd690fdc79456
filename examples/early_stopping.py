"""Early stopping on a diverging loss: abort the local wait AND cancel the backend job.

`abort_signal` only stops waiting; `cancel()` is what stops the training. Do both.
"""

from __future__ import annotations

import logging
from typing import Any

from arkor import AbortController, create_trainer

logger = logging.getLogger(__name__)


class DivergenceGuard:
    """Aborts when the loss exceeds `factor` x the best loss seen, `patience` logs in a row."""

    def __init__(self, controller: AbortController, *, factor: float = 1.5, patience: int = 2) -> None:
        self.controller, self.factor, self.patience = controller, factor, patience
        self.best: float | None = None
        self.strikes = 0

    def on_log(self, ctx) -> None:
        if ctx.loss is None:
            return
        if self.best is None or ctx.loss < self.best:
            self.best, self.strikes = ctx.loss, 0
            return
        self.strikes = self.strikes + 1 if ctx.loss > self.best * self.factor else 0
        if self.strikes >= self.patience:
            # Change state instead of raising: the wait() loop sees the abort and stops.
            self.controller.abort(RuntimeError(f"loss diverged at step {ctx.step}: {ctx.loss:.3f} (best {self.best:.3f})"))


def run(**overrides: Any) -> str:
    """Train; returns the final status, or "stopped-early" after aborting and cancelling."""
    controller = AbortController()
    guard = DivergenceGuard(controller)
    options: dict[str, Any] = dict(
        name="early-stop", model="arkor/tiny-test", dataset={"type": "huggingface", "name": "arkorlab/triage-demo"},
        max_steps=200, logging_steps=1, on_log=guard.on_log, abort_signal=controller.signal,
    )
    options.update(overrides)
    trainer = create_trainer(**options)
    try:
        return trainer.wait().job.status
    except Exception:
        if not controller.signal.aborted:
            raise
        logger.warning("%s; cancelling the backend job", controller.signal.reason)
        try:
            trainer.cancel()
        except Exception:  # noqa: BLE001 - it may have ended meanwhile
            logger.info("cancel failed (the job may already have ended)", exc_info=True)
        return "stopped-early"


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(run())
