"""The targets the benchmarks are held to (issue 12's goals 1-4), and one table saying which a run met.

Each benchmark's report ends with the goal lines it can check: `quality.py` goals 1 and 2 (held-out
accuracy per template field on `eval.jsonl` and on the hand-written file, training time),
`time_to_target.py` goal 3, `train_throughput.py` goal 4. So `make bench` prints goals 1-4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from _common import print_table

TRAINING_SECONDS = 180.0  # goal 1: each template's defaults train within 3 minutes
# Goal 1: per template, the least share of `eval.jsonl` rows each field must get exactly right.
EVAL_FIELDS: dict[str, dict[str, float]] = {
    "triage": {"category": 0.97, "urgency": 0.97, "next_action": 0.97, "valid_json": 1.0},
    "translate": {"detected_language": 0.97},
    "redaction": {"count": 0.97, "tags": 0.95, "redacted": 0.90},
}
# Goal 2: the categorical fields of each template on its hand-written file.
HANDWRITTEN_SHARE = 0.93
HANDWRITTEN_FIELDS: dict[str, tuple[str, ...]] = {
    "triage": ("category", "urgency", "next_action"),
    "translate": ("detected_language",),
    "redaction": ("count", "tags"),
}
TIME_TO_TARGET_SPEEDUP = 2.5  # goal 3: arkor reaches the target at least this many times sooner than TRL
# Goal 4: tokens/s against each baseline's faster precision, utilisation, and an eval loss at most 2%
# above the baseline's (the speed is not bought with a worse fit).
THROUGHPUT_VS = {"transformers": 1.8, "trl": 2.5}
MFU_SHARE = 0.8
EVAL_LOSS_TOLERANCE = 0.02


@dataclass(frozen=True)
class GoalLine:
    goal: int
    what: str
    target: str
    measured: str
    met: bool


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def quality_goals(results: list[dict]) -> list[GoalLine]:
    """Goals 1 and 2 for each template `quality.py` ran."""
    lines = []
    for r in results:
        template = r["template"]
        for field, least in EVAL_FIELDS.get(template, {}).items():
            got = r["fine_tuned"].get(field)
            if got is not None:
                lines.append(GoalLine(1, f"{template} {field}", f">= {_pct(least)}", _pct(got), got >= least))
        seconds = r.get("train_seconds")
        if seconds is not None:
            lines.append(
                GoalLine(
                    1,
                    f"{template} training time",
                    f"<= {TRAINING_SECONDS:.0f} s",
                    f"{seconds:.0f} s",
                    seconds <= TRAINING_SECONDS,
                )
            )
        for field in HANDWRITTEN_FIELDS.get(template, ()):
            got = r["handwritten"].get(field)
            if got is not None:
                lines.append(
                    GoalLine(
                        2,
                        f"{template} {field}, hand-written",
                        f">= {_pct(HANDWRITTEN_SHARE)}",
                        _pct(got),
                        got >= HANDWRITTEN_SHARE,
                    )
                )
    return lines


def time_to_target_goals(result: dict) -> list[GoalLine]:
    """Goal 3: how many times sooner than TRL arkor first reached the target."""
    what = f"{result['template']}: time to {_pct(result['target'])} vs TRL"
    target = f">= {TIME_TO_TARGET_SPEEDUP}x sooner"
    if result.get("speedup"):
        speedup = result["speedup"]
        return [GoalLine(3, what, target, f"{speedup:.2f}x", speedup >= TIME_TO_TARGET_SPEEDUP)]
    if result.get("speedup_at_least"):
        bound = result["speedup_at_least"]
        return [GoalLine(3, what, target, f">= {bound:.2f}x (TRL never got there)", bound >= TIME_TO_TARGET_SPEEDUP)]
    return [GoalLine(3, what, target, "arkor did not reach the target", False)]


def throughput_goals(report: dict) -> list[GoalLine]:
    """Goal 4 for arkor's run in a `train_throughput.py` report."""
    arkor = next((r for r in report["results"] if r["trainer"] == "arkor"), None)
    if arkor is None:
        return []
    lines = []
    for baseline, least in THROUGHPUT_VS.items():
        ratio = arkor.get(f"tokens_per_s_vs_{baseline}")
        if ratio is not None:
            lines.append(GoalLine(4, f"tokens/s vs {baseline}", f">= {least}x", f"{ratio:.2f}x", ratio >= least))
        loss_ratio = arkor.get(f"eval_loss_vs_{baseline}")
        if loss_ratio is not None:
            lines.append(
                GoalLine(
                    4,
                    f"eval loss vs {baseline}",
                    f"at most {_pct(EVAL_LOSS_TOLERANCE)} above",
                    f"{loss_ratio:.3f}x",
                    loss_ratio <= 1.0 + EVAL_LOSS_TOLERANCE,  # a lower loss than the baseline's is no miss
                )
            )
    lines.append(
        GoalLine(
            4,
            "share of the matmul peak (MFU)",
            f">= {_pct(MFU_SHARE)}",
            f"{100 * arkor['mfu']:.1f}%",
            arkor["mfu"] >= MFU_SHARE,
        )
    )
    return lines


def print_goals(lines: list[GoalLine], file: Any = None) -> None:
    if not lines:
        return
    met = sum(line.met for line in lines)
    print(f"\nGoals: {met} of {len(lines)} met", file=file)
    print_table(
        ["goal", "what", "target", "measured", "met"],
        [[line.goal, line.what, line.target, line.measured, "yes" if line.met else "no"] for line in lines],
        file=file,
    )
