"""The run's curves: the text chart `arkor start` prints, and the PNG `arkor jobs show --plot` writes."""

from __future__ import annotations

import io
import math
import struct
import sys
from types import SimpleNamespace

import pytest

from arkor.cli.plots import RunCurves, can_encode_unicode, terminal_report, text_chart, write_png


def test_a_small_series_draws_exactly() -> None:
    lines = text_chart("loss", [("train", [(1, 3.0), (2, 2.0), (3, 1.0)])], width=20, height=3)
    assert lines == [
        "loss  ● train",
        "3 ┤●",
        "  │        ●",
        "1 ┤                ●",
        "  └─────────────────",
        "   1               3",
    ]


def test_ascii_when_unicode_is_off_and_eval_drawn_over_train() -> None:
    lines = text_chart(
        "loss", [("train", [(1, 3.0), (2, 2.0), (3, 1.0)]), ("eval", [(3, 1.0)])], width=20, height=3, unicode=False
    )
    assert lines == [
        "loss",  # the legend does not fit beside the title: on a line of its own
        "* train  o eval",
        "3 +*",
        "  |        *",
        "1 +                o",
        "  +-----------------",
        "   1               3",
    ]


def test_one_point_and_a_flat_line_sit_on_the_middle_row() -> None:
    assert text_chart("loss", [("train", [(5, 0.25)])], width=16, height=3) == [
        "loss  ● train",
        "     │",
        "0.25 ┤●",
        "     │",
        "     └──────────",
        "      5",
    ]
    flat = text_chart("loss", [("train", [(1, 2.0), (2, 2.0), (3, 2.0)])], width=15, height=3)
    assert flat[2] == "2 ┤●     ●    ●" and flat[1] == flat[3] == "  │"


def test_none_nan_and_inf_are_left_out() -> None:
    curves = RunCurves.from_events(
        [
            {"type": "training.log", "step": 1, "loss": None},
            {"type": "training.log", "step": 2, "loss": math.nan, "evalLoss": math.inf},
            {"type": "training.log", "step": 3, "loss": 1.5},
            {"type": "training.log", "step": None, "loss": 9.0},
            {"type": "evaluation.completed", "step": 3, "accuracy": None, "fields": {"a": math.nan, "b": 0.5}},
        ]
    )
    assert curves.loss == [(3.0, 1.5)] and curves.eval_loss == [] and curves.accuracy == []
    assert curves.field_accuracy == {"b": [(3.0, 0.5)]}
    assert text_chart("x", [("train", [(1.0, math.nan)])]) == []
    assert terminal_report(RunCurves()) == []


def test_the_report_fits_the_width_and_shows_accuracy_when_scored() -> None:
    curves = RunCurves()
    for step in range(1, 201):
        curves.add_log(step, loss=3.0 / step, eval_loss=3.2 / step if step % 50 == 0 else None)
    for step, accuracy in ((50, 0.25), (100, 0.5), (200, 1.0)):
        curves.add_evaluation(step, accuracy, {"category": accuracy})
    for width in (30, 57, 100):
        lines = terminal_report(curves, width=width)
        assert max(len(line) for line in lines) <= width, (width, lines)
        assert lines[0].startswith("loss by step") and any(line.startswith("task accuracy") for line in lines)
        assert "100% ┤" in "\n".join(lines) and "  0% ┤" in "\n".join(lines)
    assert not any(line.startswith("task accuracy") for line in terminal_report(RunCurves(loss=[(1.0, 1.0)])))


def test_unicode_only_when_the_stream_can_encode_it() -> None:
    assert can_encode_unicode(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert not can_encode_unicode(io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert not can_encode_unicode(io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))
    assert not can_encode_unicode(object())  # no encoding at all: plain ASCII


def test_start_prints_the_chart_in_ascii_on_an_ascii_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    from arkor.cli import start
    from arkor.sdk.callbacks import TrainerCallbacks
    from arkor.sdk.contexts import EvaluationContext, LogContext, StartResult

    class Trainer:
        callbacks = TrainerCallbacks()

        def start(self) -> StartResult:
            return StartResult(job_id="job_1")

        def wait(self):  # type: ignore[no-untyped-def]
            for step, loss in ((1, 2.0), (2, math.nan), (3, 1.0)):
                self.callbacks.on_log(
                    LogContext(
                        step=step,
                        loss=loss,
                        eval_loss=None,
                        learning_rate=None,
                        epoch=None,
                        samples_per_second=None,
                        tokens_per_second=None,
                        job=None,
                    )
                )  # type: ignore[arg-type]
            self.callbacks.on_evaluation(
                EvaluationContext(step=3, accuracy=1.0, fields={"a": 1.0}, scorer="exact", rows=4, job=None)
            )  # type: ignore[arg-type]
            return SimpleNamespace(job=SimpleNamespace(status="completed", error=None))

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setenv("COLUMNS", "40")
    assert start.run_project_trainer(Trainer()) == 0
    text = raw.getvalue().decode("ascii").splitlines()
    assert text[-1] == "Job job_1 finished with status=completed"
    head = text.index("loss by step  * train")
    gap = text.index("", head)  # the blank line between the two charts
    chart = text[head:gap]
    assert chart[1] == "2 +*" and chart[-3].endswith("*") and chart[-3].startswith("1 +")
    accuracy = text[gap + 1 : -1]
    assert accuracy[:3] == ["task accuracy by step (all fields exact)", "* accuracy", "100% +*"], accuracy
    assert accuracy[-3:] == ["  0% +", "     +" + "-" * 34, "      3"], accuracy
    assert max(len(line) for line in chart + accuracy) <= 40


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_has_one_panel_per_kind_of_series(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    curves = RunCurves()
    for step in range(1, 31):
        curves.add_log(
            step,
            loss=3.0 / step,
            eval_loss=3.3 / step if step % 10 == 0 else None,
            learning_rate=1e-4 * (1 - step / 30),
            tokens_per_second=900 + step,
        )
    for step, accuracy in ((10, 0.2), (20, 0.55), (30, 0.8)):
        curves.add_evaluation(step, accuracy, {"category": min(1.0, accuracy + 0.2), "urgency": accuracy})
    full = _png_size(write_png(curves, tmp_path / "full.png", title="job").read_bytes())
    loss_only = _png_size(write_png(RunCurves(loss=[(1.0, 2.0)]), tmp_path / "one.png", title="job").read_bytes())
    assert full == (800, 1040) and loss_only == (800, 260)
    from matplotlib.image import imread

    pixels = imread(tmp_path / "full.png")
    assert pixels.shape[:2] == (1040, 800) and pixels.std() > 0.05  # drawn, not a blank canvas


def test_png_of_no_steps_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="no logged steps"):
        write_png(RunCurves(), tmp_path / "none.png", title="job")


def test_jobs_show_plot_without_matplotlib_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from arkor.cli.main import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what a missing package looks like to import
    with pytest.raises(SystemExit) as exited:
        main(["jobs", "show", "job_x", "--plot"])
    err = capsys.readouterr().err
    assert exited.value.code == 1, err
    assert err.strip() == (
        "Writing a plot needs matplotlib, which is not installed. Install the plot extra: pip install 'arkor[plot]'"
    )


def test_cli_main_stays_light() -> None:
    import subprocess

    code = "import sys, arkor.cli.main, arkor.cli.start; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_jobs_show_plot_of_a_job_with_no_steps_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    from arkor.cli._common import CliError
    from arkor.cli.jobs import _write_plot

    job = SimpleNamespace(id="job_1", name="n", status="failed", config=SimpleNamespace(model="m"))
    with pytest.raises(
        CliError, match=r"^Job job_1 has no logged steps yet \(status=failed\); there is nothing to plot\.$"
    ):
        _write_plot(
            job, [{"type": "training.started"}, {"type": "training.failed", "error": "x"}], str(tmp_path / "p.png")
        )
    assert not (tmp_path / "p.png").exists()
    _write_plot(job, [{"type": "training.log", "step": 1, "loss": 1.0}], str(tmp_path))  # a folder: default name in it
    assert (tmp_path / "job_1-curves.png").read_bytes()[:4] == b"\x89PNG"
