"""`arkor start` prints task accuracy (`evaluation.completed`) next to the trainer's own output."""

from __future__ import annotations

from types import SimpleNamespace

from arkor.cli.start import run_project_trainer
from arkor.sdk.callbacks import TrainerCallbacks
from arkor.sdk.contexts import EvaluationContext, StartResult


class FakeTrainer:
    """Just enough of a Trainer: `wait()` delivers one evaluation through the callbacks it holds."""

    def __init__(self, own) -> None:  # type: ignore[no-untyped-def]
        self.callbacks = TrainerCallbacks(on_evaluation=own)

    def start(self) -> StartResult:
        return StartResult(job_id="job_1")

    def wait(self):  # type: ignore[no-untyped-def]
        ctx = EvaluationContext(
            step=20, accuracy=0.9, fields={"category": 1.0, "urgency": 0.9}, scorer="triage", rows=24, job=None
        )  # type: ignore[arg-type]
        self.callbacks.on_evaluation(ctx)
        return SimpleNamespace(job=SimpleNamespace(status="completed", error=None))


def test_start_prints_each_evaluation_and_keeps_the_trainers_callback(capsys):
    seen = []
    assert run_project_trainer(FakeTrainer(seen.append)) == 0
    out = capsys.readouterr().out
    assert "accuracy step=20 90% (category 100%, urgency 90%) on 24 held-out rows [triage]" in out
    assert [ctx.step for ctx in seen] == [20]


def test_jobs_lists_an_evaluation_with_its_fields():
    from arkor.cli.jobs import _format_event

    line = _format_event(
        {
            "type": "evaluation.completed",
            "timestamp": "T",
            "step": 45,
            "accuracy": 0.9,
            "fields": {"category": 1.0, "urgency": 0.875},
            "scorer": "triage",
            "rows": 24,
        }
    )
    assert line == "T evaluation.completed step=45 accuracy=90% (category 100%, urgency 88%)"


def test_make_demo_reads_the_line_arkor_start_prints():
    from arkor.cli.start import format_evaluation
    from arkor.demo import ACCURACY_LINE

    ctx = EvaluationContext(step=45, accuracy=0.83, fields={"category": 0.97}, scorer="triage", rows=24, job=None)  # type: ignore[arg-type]
    match = ACCURACY_LINE.search("  " + format_evaluation(ctx))
    assert match is not None and match.groups() == ("45", "83", "category 97%", "24")


def test_start_warns_when_a_compiled_run_fell_back_to_eager(capsys):
    class FellBack(FakeTrainer):
        def wait(self):  # type: ignore[no-untyped-def]
            return SimpleNamespace(
                job=SimpleNamespace(status="completed", error=None),
                metrics={"torchCompile": "eager (compiling failed: RuntimeError: no working C++ compiler found)"},
            )

    assert run_project_trainer(FellBack(lambda ctx: None)) == 0
    err = capsys.readouterr().err
    assert (
        "Warning: torch_compile=True, but the run trained eager (compiling failed: RuntimeError: no working C++" in err
    )
