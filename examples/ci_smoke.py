"""CI smoke run: a dry run of the trainer that exits non-zero unless the job completed.

`wait()` resolves for failed runs, so checking `result.job.status` is what makes CI fail.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from arkor import create_trainer


def make_trainer(**overrides: Any):
    options: dict[str, Any] = dict(
        name="ci-smoke", model="arkor/tiny-test", dataset={"type": "huggingface", "name": "arkorlab/triage-demo"},
        dry_run=True, max_steps=5,
    )
    options.update(overrides)
    return create_trainer(**options)


def main(trainer: Any = None, err: Callable[[str], Any] = lambda line: print(line, file=sys.stderr)) -> int:
    trainer = trainer or make_trainer()
    try:
        result = trainer.wait()
    except Exception as exc:  # noqa: BLE001 - wait() raised before a terminal status
        err(f"wait() raised: {exc}")
        return 1
    if result.job.status == "completed":
        return 0
    err(f"status={result.job.status}: {result.job.error or 'no error message'}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
