"""The `max_time` budget and its LR schedule (no model: a fake clock drives the budget)."""

from __future__ import annotations

import pytest

from arkor.engine.config import TrainingPlan, resolve_plan
from arkor.engine.train.budget import BudgetedSchedule, TimeBudget
from arkor.errors import ConfigError
from arkor.protocol import JobConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr("arkor.engine.train.budget.time.monotonic", fake)
    return fake


def optimizer(lr: float = 1e-3):
    import torch

    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def test_budget_stops_before_a_step_that_would_not_fit_and_pauses(clock):
    budget = TimeBudget(10.0)
    budget.resume()
    clock.now += 3.0
    budget.record_step(3.0)  # the first step's one-off cost does not predict the next ones
    assert budget.room_for_another_step()
    for _ in range(2):
        clock.now += 2.0
        budget.record_step(2.0)
    clock.now += 1.0
    assert budget.room_for_another_step()  # 8 s spent, one more 2 s step fits exactly
    budget.pause()
    clock.now += 100.0  # scoring while paused costs nothing
    assert budget.elapsed() == pytest.approx(8.0)
    budget.resume()
    clock.now += 1.0
    assert not budget.room_for_another_step()


def test_uneven_steps_are_guessed_at_the_longest_recent_one(clock):
    # A run that stopped on a typical step's guess trained 180.01 s on a 180 s budget: the step
    # after a short one was a long one.
    budget = TimeBudget(10.0)
    budget.resume()
    for seconds in (3.0, 1.0, 2.5, 1.0):
        clock.now += seconds
        budget.record_step(seconds)
    clock.now += 0.6  # 8.1 s spent: a 1 s step would fit, the 2.5 s one seen two steps ago would not
    assert not budget.room_for_another_step()


def test_a_checkpoint_due_before_the_next_step_counts_against_the_budget(clock):
    budget = TimeBudget(10.0)
    budget.resume()
    for seconds in (3.0, 2.0, 2.0):
        clock.now += seconds
        budget.record_step(seconds)
    assert budget.room_for_another_step()  # 7 s spent, a 2 s step fits
    assert not budget.room_for_another_step(checkpoint_first=True)  # an untimed checkpoint is guessed at a step
    budget.record_checkpoint(0.5)
    assert budget.room_for_another_step(checkpoint_first=True)  # 7 + 0.5 + 2 fits
    budget.record_checkpoint(1.5)
    assert not budget.room_for_another_step(checkpoint_first=True)


def test_paused_block_spends_nothing_and_keeps_a_stopped_clock_stopped(clock):
    budget = TimeBudget(10.0)
    budget.resume()
    clock.now += 2.0
    with budget.paused():
        clock.now += 5.0
    assert budget.elapsed() == 2.0
    clock.now += 1.0
    assert budget.elapsed() == 3.0  # running again after the block
    budget.pause()
    with pytest.raises(RuntimeError), budget.paused():
        raise RuntimeError("an evaluation failed")
    clock.now += 4.0
    assert budget.elapsed() == 3.0  # it was stopped before the block, so it stays stopped


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_decays_to_its_end_when_the_budget_does(clock, kind):
    opt = optimizer()
    plan = TrainingPlan(model_id="m", lr_scheduler_type=kind, warmup_steps=2, learning_rate=1e-3)
    budget = TimeBudget(100.0)
    schedule = BudgetedSchedule(opt, plan, total_steps=10_000, budget=budget)
    budget.resume()
    schedule.before_step(1)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5e-3)  # warmup: step 1 of 2
    clock.now += 50.0
    schedule.before_step(3)
    middle = opt.param_groups[0]["lr"]
    assert 0.3e-3 < middle < 0.7e-3  # half the budget spent: half way down the schedule
    clock.now += 49.0
    schedule.before_step(4)
    assert opt.param_groups[0]["lr"] < 0.02e-3
    assert schedule.get_last_lr() == [opt.param_groups[0]["lr"]]


def test_schedule_follows_steps_when_they_run_out_first(clock):
    opt = optimizer()
    plan = TrainingPlan(model_id="m", lr_scheduler_type="linear", learning_rate=1e-3)
    budget = TimeBudget(3600.0)
    schedule = BudgetedSchedule(opt, plan, total_steps=10, budget=budget)
    budget.resume()
    schedule.before_step(10)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1e-3)


def test_a_resumed_run_keeps_the_budget_spent_and_the_step_and_checkpoint_times(clock):
    plan = TrainingPlan(model_id="m", lr_scheduler_type="linear", learning_rate=1e-3)
    budget = TimeBudget(10.0)
    budget.resume()
    for seconds in (3.0, 2.0, 2.0):
        clock.now += seconds
        budget.record_step(seconds)
    budget.record_checkpoint(1.5)
    saved = BudgetedSchedule(optimizer(), plan, total_steps=100, budget=budget).state_dict()
    resumed = TimeBudget(10.0)
    BudgetedSchedule(optimizer(), plan, total_steps=100, budget=resumed).load_state_dict(saved)
    resumed.resume()
    assert resumed.elapsed() == pytest.approx(7.0)
    assert resumed.room_for_another_step()  # 7 + 2 fits
    assert not resumed.room_for_another_step(checkpoint_first=True)  # 7 + 1.5 + 2 does not


def config(**extra):
    return JobConfig.model_validate(
        {"model": "arkor/tiny-test", "datasetSource": {"type": "file", "path": "x"}, **extra}
    )


def test_plan_reads_max_time_and_eval_scorer():
    plan = resolve_plan(config(maxTime="1m30s", evalDataset={"type": "file", "path": "e"}), device="cpu")
    assert plan.max_time_s == 90 and plan.eval_scorer == "json_fields"
    with pytest.raises(ConfigError, match="eval_scorer='bleu' is not a scorer; use one of triage"):
        resolve_plan(config(evalDataset={"type": "file", "path": "e"}, evalScorer="bleu"), device="cpu")
    with pytest.raises(ConfigError, match="eval_scorer needs an eval_dataset"):
        resolve_plan(config(evalScorer="triage"), device="cpu")


def test_wire_config_rejects_a_bad_max_time():
    with pytest.raises(ValueError, match="is not a duration"):
        config(maxTime="3 minutes")
