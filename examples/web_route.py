"""Start training from a web route: a trainer FACTORY (one trainer = one job), wait in the background.

`start_training()` is framework-free; `create_app()` wraps it in a FastAPI route
(`uvicorn examples.web_route:create_app --factory`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from arkor import create_trainer

logger = logging.getLogger(__name__)
TRAINER_OPTIONS: dict[str, Any] = {}  # extra create_trainer options (tests point it at a backend)


def make_trainer(**overrides: Any):
    options: dict[str, Any] = dict(
        name="support-bot-v1", model="arkor/tiny-test",
        dataset={"type": "huggingface", "name": "arkorlab/triage-demo"}, lora={"r": 16, "alpha": 16}, max_steps=100,
    )
    options.update(TRAINER_OPTIONS, **overrides)
    return create_trainer(**options)


def start_training() -> tuple[dict[str, str], threading.Thread]:
    """Submit a fresh run, follow it in a background thread, answer with its job id at once."""
    trainer = make_trainer()
    job_id = trainer.start().job_id

    def follow() -> None:
        try:
            result = trainer.wait()  # a failed run resolves; use on_failed for alerting
            logger.info("job %s ended: %s", job_id, result.job.status)
        except Exception:  # noqa: BLE001 - transport errors only (abort, reconnect budget)
            logger.exception("wait() for %s raised", job_id)

    thread = threading.Thread(target=follow, name=f"arkor-wait-{job_id}", daemon=True)
    thread.start()
    return {"jobId": job_id}, thread


def create_app():  # pragma: no cover - needs a web server to be useful
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/api/train")
    def train() -> dict[str, str]:
        return start_training()[0]

    return app
