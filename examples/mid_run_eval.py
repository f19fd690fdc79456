"""Mid-run evaluation: ask every checkpoint the same fixed prompt, before the run finishes.

Run: python examples/mid_run_eval.py   (uses the local backend unless ARKOR_CLOUD_API_URL is set)
"""

from __future__ import annotations

import logging
from typing import Any

from arkor import create_trainer

logger = logging.getLogger(__name__)

PROMPT = [{"role": "user", "content": "My invoice is wrong, who do I talk to?"}]


def make_trainer(answers: list[tuple[int, str]] | None = None, **overrides: Any):
    """A trainer that records `(step, answer)` for every checkpoint into `answers`."""
    answers = answers if answers is not None else []

    def on_checkpoint(ctx) -> None:
        # Guard the side effect: a raising callback would end wait() (it is never retried).
        try:
            reply = ctx.infer(messages=PROMPT, max_tokens=32, temperature=0)
            answers.append((ctx.step, reply.text()))
            logger.info("step %s answers: %s", ctx.step, answers[-1][1])
        except Exception:  # noqa: BLE001
            logger.exception("mid-run eval failed at step %s", ctx.step)

    options: dict[str, Any] = dict(
        name="mid-run-eval", model="arkor/tiny-test",
        dataset={"type": "huggingface", "name": "arkorlab/triage-demo"},
        max_steps=20, save_steps=5, on_checkpoint=on_checkpoint,
    )
    options.update(overrides)
    return create_trainer(**options)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    collected: list[tuple[int, str]] = []
    result = make_trainer(collected).wait()
    print(f"status={result.job.status}; evaluated {len(collected)} checkpoint(s)")
