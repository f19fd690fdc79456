"""`max_time`: a wall-clock budget for the optimizer loop, and an LR schedule that ends with it.

The budget clock runs while the loop trains (steps, checkpoints) and is paused while the model is
evaluated (eval loss, task accuracy), so asking for evaluation does not cost training. A run stops
after the last step that fits: when the time spent plus one more step (the longest of recent steps,
the first one left out: length-grouped batches make steps uneven, and a guess from a typical step
would let a long one run past the budget), and the checkpoint save due before it (as long as the last one took), would
pass the budget. The LR schedule is the plan's (`lr_scheduler_type`,
`warmup_steps`), driven by progress = the larger of steps done / step limit and time spent /
budget, so it reaches its end by the time the budget does, whichever limit comes first.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from ..config import TrainingPlan

SCHEDULE_RESOLUTION = 10_000  # virtual steps the shape of a schedule is sampled at
RECENT_STEPS = 5


class TimeBudget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0
        self._recent: list[float] = []
        self._steps = 0
        self._checkpoint_s: float | None = None
        self._since: float | None = None

    def resume(self) -> None:
        self._since = time.monotonic()

    def pause(self) -> None:
        if self._since is not None:
            self.spent += time.monotonic() - self._since
            self._since = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The clock stopped for the block (and running again after it, if it was running before)."""
        running = self._since is not None
        self.pause()
        try:
            yield
        finally:
            if running:
                self.resume()

    def elapsed(self) -> float:
        running = time.monotonic() - self._since if self._since is not None else 0.0
        return self.spent + running

    def record_step(self, seconds: float) -> None:
        # The first step pays one-off costs (thread pools, allocator, autograd set-up; several times a
        # normal step): predicting from it would stop a short budget far too early.
        self._steps += 1
        if self._steps > 1:
            self._recent = (self._recent + [seconds])[-RECENT_STEPS:]

    def record_checkpoint(self, seconds: float) -> None:
        self._checkpoint_s = seconds

    def fraction(self) -> float:
        return min(1.0, self.elapsed() / self.seconds)

    def room_for_another_step(self, *, checkpoint_first: bool = False) -> bool:
        """Whether one more step fits; `checkpoint_first`: a checkpoint is saved before it. Until one
        has been timed, a checkpoint is guessed to take as long as a step."""
        step = max(self._recent, default=0.0)
        checkpoint = (self._checkpoint_s if self._checkpoint_s is not None else step) if checkpoint_first else 0.0
        return self.elapsed() + checkpoint + step <= self.seconds


class BudgetedSchedule:
    """Sets each param group's LR before a step from (step, progress); `get_last_lr()` as torch's."""

    def __init__(self, optimizer: Any, plan: TrainingPlan, total_steps: int, budget: TimeBudget) -> None:
        import torch
        from transformers import get_scheduler

        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.warmup_steps = plan.warmup_steps
        self.total_steps = total_steps
        self.budget = budget
        probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        self._shape = get_scheduler(
            plan.lr_scheduler_type, probe, num_warmup_steps=0, num_training_steps=SCHEDULE_RESOLUTION
        ).lr_lambdas[0]
        self._last = list(self.base_lrs)

    def factor(self, step: int) -> float:
        """LR multiplier for the `step`-th update (1-based)."""
        warm = min(1.0, step / self.warmup_steps) if self.warmup_steps else 1.0
        progress = max((step - 1) / self.total_steps, self.budget.fraction())
        return warm * self._shape(int(min(1.0, progress) * SCHEDULE_RESOLUTION))

    def before_step(self, step: int) -> None:
        factor = self.factor(step)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * factor
        self._last = [group["lr"] for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Nothing: the LR is set before each update instead."""

    def get_last_lr(self) -> list[float]:
        return self._last

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs (saved with each resumable checkpoint): the budget already spent."""
        return {
            "last_lrs": list(self._last),
            "spent_s": self.budget.elapsed(),
            "recent_steps": list(self.budget._recent),
            "checkpoint_s": self.budget._checkpoint_s,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._last = list(state["last_lrs"])
        self.budget.spent = float(state["spent_s"])  # the time an interrupted run trained still counts
        self.budget._recent = list(state.get("recent_steps", []))
        self.budget._checkpoint_s = state.get("checkpoint_s")
